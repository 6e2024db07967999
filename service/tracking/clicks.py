"""Click rows: classify (bot, suspect) and store a batch of hits in the caller's transaction."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from ..models import Click, TrackedLink
from .bots import BotDetector, default_detector
from .visitors import day_salt, referrer_host, visitor_key

log = logging.getLogger(__name__)
RATE_WINDOW_SECONDS = 60.0
_IN_CHUNK = 500


@dataclass(slots=True)
class Hit:
    """One GET of a tracked link as the redirect saw it (no IP: the visitor key stands for it)."""

    at: float  # epoch seconds, UTC
    link_id: int
    visitor_key: str
    referrer_host: str | None
    user_agent: str
    prefetch: bool = False


class SuspectWindow:
    """Each visitor's latest clicks, enough to tell whether a new click is over the per-visitor rate.

    A click is suspect when the same visitor already made `limit` clicks in the minute before it.
    Visitors this window has not seen lately are read from the database first, so the rule holds
    across processes and restarts; with `remember` the window keeps what it saw for the next batch.
    """

    def __init__(self, limit: int, remember: bool = True, seconds: float = RATE_WINDOW_SECONDS):
        self.limit = limit
        self.seconds = seconds
        self.remember = remember
        self._recent: dict[str, deque[float]] = {}

    def prepare(self, session: Session, hits: Sequence[Hit]) -> None:
        """Load from the database the recent clicks of the visitors in `hits` this window does not know."""
        if not self.remember:
            self._recent.clear()
        if not hits:
            return
        oldest = min(h.at for h in hits) - self.seconds
        self._prune(oldest)
        unknown = sorted({h.visitor_key for h in hits if h.visitor_key not in self._recent})
        since = datetime.fromtimestamp(oldest, UTC)
        for key in unknown:
            # Only the visitor's latest `limit` clicks matter: the index (visitor_key, at) read backwards stops
            # there, however many thousands a script left in the window.
            rows = session.exec(
                select(Click.at)
                .where(Click.visitor_key == key, Click.at >= since)
                .order_by(col(Click.at).desc())
                .limit(self.limit)
            ).all()
            window = self._window(key)
            for at in reversed(rows):
                window.append(at.timestamp())

    def check(self, key: str, at: float) -> bool:
        """True when `key` already has `limit` clicks in the minute before `at`; then counts this one too."""
        recent = self._window(key)
        suspect = len(recent) >= self.limit and recent[-self.limit] > at - self.seconds
        recent.append(at)
        return suspect

    def clear(self) -> None:
        """Forget everything (after a rolled-back batch: the database is the truth)."""
        self._recent.clear()

    def _window(self, key: str) -> deque[float]:
        recent = self._recent.get(key)
        if recent is None:
            recent = self._recent[key] = deque(maxlen=self.limit)
        return recent

    def _prune(self, before: float) -> None:
        if len(self._recent) > 10_000:
            self._recent = {k: v for k, v in self._recent.items() if v and v[-1] >= before}


Row = tuple[int, float, bool, bool, str | None, str]  # link_id, at, is_bot, is_suspect, referrer_host, visitor_key


def classify(session: Session, hits: Iterable[Hit], window: SuspectWindow, detector: BotDetector) -> list[Row]:
    """The click rows of `hits` in time order with their bot and suspect flags; hits of deleted links dropped."""
    batch = sorted(hits, key=lambda h: h.at)
    if not batch:
        return []
    link_ids = sorted({h.link_id for h in batch})
    known: set[int] = set()
    for i in range(0, len(link_ids), _IN_CHUNK):
        chunk = link_ids[i : i + _IN_CHUNK]
        found = session.exec(select(TrackedLink.id).where(col(TrackedLink.id).in_(chunk)))
        known.update(link_id for link_id in found if link_id is not None)
    dropped = sum(1 for h in batch if h.link_id not in known)
    if dropped:
        log.warning("dropped %d click(s) of tracked links deleted since", dropped)
    batch = [h for h in batch if h.link_id in known]
    window.prepare(session, batch)
    return [
        (
            h.link_id,
            h.at,
            h.prefetch or detector.is_bot(h.user_agent),
            window.check(h.visitor_key, h.at),
            h.referrer_host,
            h.visitor_key,
        )
        for h in batch
    ]


def store_hits(session: Session, hits: Iterable[Hit], window: SuspectWindow, detector: BotDetector) -> int:
    """Insert the click rows of `hits` (see classify) in one statement; returns how many were stored."""
    rows = classify(session, hits, window, detector)
    if rows:
        _insert_clicks(session, rows)
    return len(rows)


_PG_COPY = "COPY click (link_id, at, is_bot, is_suspect, referrer_host, visitor_key) FROM STDIN"
_PG_COPY = "COPY click (link_id, at, is_bot, is_suspect, referrer_host, visitor_key) FROM STDIN"
_SQLITE_INSERT = (
    "INSERT INTO click (link_id, at, is_bot, is_suspect, referrer_host, visitor_key) VALUES (?, ?, ?, ?, ?, ?)"
)


def sqlite_instant(at: float) -> str:
    """Epoch seconds as the text UTCDateTime stores on SQLite (UTC, no offset, microseconds)."""
    # isoformat() is C-fast where strftime() costs several microseconds a row.
    return datetime.fromtimestamp(at, UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _insert_clicks(session: Session, rows: list[Row]) -> None:
    """Insert click rows straight through the driver (SQLite executemany, PostgreSQL COPY), in the session's
    transaction: the ORM's per-row work cost more than everything else a click needs (a test checks the
    rows read back the same)."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(_SQLITE_INSERT, [(r[0], sqlite_instant(r[1]), *r[2:]) for r in rows])
        return
    raw: Any = conn.connection.dbapi_connection  # psycopg's own connection, for COPY
    if conn.dialect.driver == "psycopg" and raw is not None:
        with raw.cursor() as cur, cur.copy(_PG_COPY) as copy:
            for r in rows:
                copy.write_row((r[0], datetime.fromtimestamp(r[1], UTC), *r[2:]))
        return
    conn.execute(
        insert(Click.__table__),  # type: ignore[attr-defined]
        [
            {
                "link_id": r[0],
                "at": datetime.fromtimestamp(r[1], UTC),
                "is_bot": r[2],
                "is_suspect": r[3],
                "referrer_host": r[4],
                "visitor_key": r[5],
            }
            for r in rows
        ],
    )


def record_click(
    session: Session,
    link_id: int,
    at: datetime,
    ip: str,
    user_agent: str | None,
    referrer: str | None,
    suspect_per_minute: int,
    prefetch: bool = False,
    detector: BotDetector | None = None,
) -> Click | None:
    """Store one click now through the ORM, in the caller's transaction (tests and scripts); returns its row,
    or None when the link does not exist."""
    ua = user_agent or ""
    hit = Hit(
        at=at.timestamp(),
        link_id=link_id,
        visitor_key=visitor_key(day_salt(session, at.astimezone(UTC).date()), ip, ua),
        referrer_host=referrer_host(referrer),
        user_agent=ua,
        prefetch=prefetch,
    )
    rows = classify(session, [hit], SuspectWindow(suspect_per_minute, remember=False), detector or default_detector())
    if not rows:
        return None
    _, _, bot, suspect, ref, key = rows[0]
    click = Click(link_id=link_id, at=at, is_bot=bot, is_suspect=suspect, referrer_host=ref, visitor_key=key)
    session.add(click)
    return click
