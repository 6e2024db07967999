"""Sync one calendar source into event rows and re-plan what changed, in the caller's transaction.

Fetching (network, parsing) and applying (database) are separate steps, so an edge can fetch outside its
write transaction; `sync_source` does both in one call.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ..campaigns.apply import Templates, events_to_replan, plan_events
from ..config import Config
from ..models import CalendarSource, Event, EventStatus
from .base import NULL_PROGRESS, EventData, FetchResult, Progress, SourceState
from .base import CalendarSource as Source
from .description import parse_description
from .text import clip

# How far back the window reaches: events that just ended keep their "recording available" steps.
LOOKBACK = timedelta(days=3)
# Removals are only judged this far inside the window: at its edges, sources and we may round differently.
EDGE = timedelta(days=1)
# Bump when what is stored for an event changes meaning: every event is then rewritten once.
FINGERPRINT_VERSION = "2"
_CHUNK = 500
_FIELDS = (
    ("title", "title"),
    ("time", "start_at"),
    ("time", "end_at"),
    ("time zone", "timezone"),
    ("time", "all_day"),
    ("status", "status"),
    ("RSVP", "rsvp_url"),
    ("description", "description"),
    ("location", "location"),
    ("URL", "url"),
)


@dataclass
class SyncReport:
    """What one sync of one source did."""

    source: str
    added: int = 0
    updated: int = 0
    cancelled: int = 0
    removed: int = 0
    unchanged: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    not_modified: bool = False
    suspect: bool = False
    error: str | None = None  # the whole source failed (its earlier events are kept)
    warnings: list[str] = field(default_factory=list)
    # One entry per added / updated / cancelled / removed instance: uid, recurrence_id, title, change, fields.
    changes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form printed by `eventpromo sync --json`."""
        return asdict(self)

    def note(self, change: str, event: Event | dict[str, Any], fields: Sequence[str] = ()) -> None:
        """Count one change and remember what it was (of a row, or of the values of a row about to be inserted)."""
        values = event if isinstance(event, dict) else {k: getattr(event, k) for k in ("uid", "recurrence_id", "title")}
        setattr(self, change, getattr(self, change) + 1)
        self.changes.append(
            {
                "uid": values["uid"],
                "recurrence_id": values["recurrence_id"] or None,
                "title": values["title"],
                "change": change,
                "fields": list(fields),
            }
        )


def slugify(title: str, start: datetime, zone: str) -> str:
    """A readable campaign slug for utm_campaign: `living-well-with-mpn-2026-12-10`."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].rstrip("-") or "event"
    return f"{words}-{start.astimezone(ZoneInfo(zone)):%Y-%m-%d}"


def fingerprint(data: EventData) -> str:
    """A hash of everything imported about an instance: equal hashes mean nothing to rewrite."""
    payload = json.dumps(
        [
            FINGERPRINT_VERSION,
            data.title,
            data.start.isoformat(),
            data.end.isoformat(),
            data.timezone,
            data.all_day,
            data.status,
            data.description,
            data.location,
            data.url,
            list(data.warnings),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def window(cfg: Config, now: datetime) -> tuple[datetime, datetime]:
    """The import window: from shortly before now to the horizon."""
    return now - LOOKBACK, now + timedelta(days=cfg.horizon_days)


def get_source_row(session: Session, cfg: Config, name: str, lock: bool = False) -> CalendarSource:
    """The source's row, created on first use; `lock` holds it (PostgreSQL) so one sync of a source runs at a time."""
    cal = cfg.calendar(name)
    location = cal.google_calendar_id or cal.ics or ""
    stmt = select(CalendarSource).where(CalendarSource.name == name)
    row = session.exec(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        try:
            with session.begin_nested():  # another process may create it at the same moment
                row = CalendarSource(name=name, kind=cal.kind, location=location)
                session.add(row)
        except IntegrityError:
            row = session.exec(stmt.with_for_update() if lock else stmt).one()
    elif row.kind != cal.kind or row.location != location:
        # The config now points elsewhere: forget validators and tokens of the old location.
        row.kind, row.location = cal.kind, location
        row.etag = row.last_modified = row.content_hash = row.sync_token = row.suspect_hash = None
    return row


def source_state(row: CalendarSource | None, start: datetime, end: datetime) -> SourceState:
    """What to send the source: nothing when the window moved to another day (new occurrences may be in it)."""
    if row is None or row.horizon_start is None or row.horizon_end is None:
        return SourceState()
    if row.horizon_start.date() != start.date() or row.horizon_end.date() != end.date():
        return SourceState()
    return SourceState(row.etag, row.last_modified, row.content_hash, row.sync_token)


def read_state(session: Session, name: str, cfg: Config, now: datetime) -> SourceState:
    """The state to fetch with, read without locking anything (the fetch runs outside the write transaction)."""
    row = session.exec(select(CalendarSource).where(CalendarSource.name == name)).first()
    cal = cfg.calendar(name)
    if row is not None and (row.kind != cal.kind or row.location != (cal.google_calendar_id or cal.ics or "")):
        row = None
    return source_state(row, *window(cfg, now))


def sync_source(
    session: Session,
    cfg: Config,
    source: Source,
    templates: Templates,
    now: datetime,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> SyncReport:
    """Fetch one source, upsert its events, remove vanished ones, re-plan the changed ones.

    Raises CalendarError when the source cannot be read: the caller rolls back, so earlier events stay.
    """
    row = get_source_row(session, cfg, source.name, lock=True)
    start, end = window(cfg, now)
    result = source.fetch(source_state(row, start, end), start, end, progress)
    return apply_result(session, cfg, source.name, result, templates, now, force=force, progress=progress)


def apply_result(
    session: Session,
    cfg: Config,
    name: str,
    result: FetchResult,
    templates: Templates,
    now: datetime,
    force: bool = False,
    progress: Progress = NULL_PROGRESS,
) -> SyncReport:
    """Write one fetch result: add, update, cancel, remove, re-plan; all in the caller's transaction."""
    return _Applier(session, cfg, name, templates, now, progress).run(result, force)


@dataclass
class _Known:
    """The stored identity and fingerprint of one instance (loaded for all instances, without the full rows)."""

    id: int
    uid: str
    recurrence_id: str
    content_hash: str
    removed: bool
    cancelled: bool
    start_at: datetime


class _Applier:
    """One application of a fetch result to one source's rows."""

    def __init__(
        self, session: Session, cfg: Config, name: str, templates: Templates, now: datetime, progress: Progress
    ):
        self.session = session
        self.cfg = cfg
        self.name = name
        self.templates = templates
        self.now = now
        self.progress = progress
        self.row = get_source_row(session, cfg, name, lock=True)
        self.start, self.end = window(cfg, now)
        self.report = SyncReport(source=name)
        self.changed: list[Event] = []
        self.inserted: list[int] = []  # new rows, loaded chunk by chunk when they are planned

    def run(self, result: FetchResult, force: bool) -> SyncReport:
        report, row = self.report, self.row
        report.errors = [{"uid": uid, "message": msg} for uid, msg in result.errors]
        report.warnings = list(result.warnings)
        row.last_attempt_at = self.now
        if result.not_modified:
            report.not_modified = True
            report.unchanged = row.event_count
            self._plan([])
            self._succeed(result)
            return report

        assert row.id is not None
        columns = (Event.id, Event.uid, Event.recurrence_id, Event.content_hash, Event.removed_at, Event.status)
        stored = self.session.exec(
            sa_select(*columns, Event.start_at).where(col(Event.source_id) == row.id)  # type: ignore[call-overload]
        )
        known = {
            (u, r): _Known(i, u, r, h or "", rm is not None, st == EventStatus.CANCELLED, s)
            for i, u, r, h, rm, st, s in stored
        }
        seen = self._upsert(result.events, known, result.complete)
        seen |= set(result.cancelled)
        verdict = self._judge(result, known, seen, force)
        suspect = verdict is None
        if verdict is not None:
            gone, cancelled = verdict
            self._cancel(cancelled)
            self._remove(gone)
        self.session.flush()
        self._plan(self.changed, self.inserted)
        if suspect:
            # Keep no validators or token: the next sync reads the same data again and can confirm it.
            row.last_success_at = self.now
            row.etag = row.last_modified = row.content_hash = None
            return report
        live = sum(1 for k in known.values() if not k.removed) + report.added - report.removed
        row.event_count = len(seen) if result.complete else max(0, live)
        self._succeed(result)
        return report

    def _upsert(self, events: Iterable[EventData], known: dict[tuple[str, str], _Known], complete: bool) -> set:
        """Insert new instances, rewrite changed ones; returns every identity the source listed."""
        events = list(events)
        self.progress.stage(f"{self.name}: importing", len(events))
        seen: set[tuple[str, str]] = set()
        fresh: list[tuple[EventData, str]] = []
        stale: dict[int, tuple[EventData, str]] = {}
        for data in events:
            key = (data.uid, data.recurrence_id)
            if key in seen:
                continue
            seen.add(key)
            digest = fingerprint(data)
            old = known.get(key)
            if old is None:
                # An incremental result may list changes far outside the window: only what is in it is new.
                if complete or (data.end >= self.start and data.start < self.end):
                    fresh.append((data, digest))
            elif old.content_hash != digest or old.removed:
                stale[old.id] = (data, digest)
            else:
                self.report.unchanged += 1
        self.progress.advance(len(events) - len(fresh) - len(stale))
        for event in self._load(stale):
            data, digest = stale[event.id]  # type: ignore[index]
            was_removed, was_cancelled = event.removed_at is not None, event.status == EventStatus.CANCELLED
            values = _values(data, digest, self.now)
            fields = _changed_fields(event, values)
            for attr, value in values.items():
                setattr(event, attr, value)
            if was_removed:
                self.report.note("added", event, ["restored"])
            elif data.status == EventStatus.CANCELLED and not was_cancelled:
                self.report.note("cancelled", event)
            else:
                self.report.note("updated", event, fields)
            self.changed.append(event)
            self.progress.advance()
        new_rows = []
        for data, digest in fresh:
            values = {
                "source_id": self.row.id,
                "uid": data.uid,
                "recurrence_id": data.recurrence_id,
                "first_seen_at": self.now,
                **_values(data, digest, self.now),
            }
            new_rows.append(values)
            self.report.note("cancelled" if data.status == EventStatus.CANCELLED else "added", values)
        if new_rows:
            # One multi-row INSERT (no ORM object built per event); the rows come back for planning in chunks.
            stmt = insert(Event).returning(col(Event.id), sort_by_parameter_order=True)
            ids = [i for (i,) in self.session.exec(stmt, params=new_rows)]
            self.inserted.extend(ids)
        self.progress.advance(len(new_rows))
        return seen

    def _judge(
        self, result: FetchResult, known: dict[tuple[str, str], _Known], seen: set, force: bool
    ) -> tuple[list[_Known], list[_Known]] | None:
        """What the result removes and cancels without listing it; None when that is suspect and held back.

        A complete result removes what it no longer lists (judged only inside the window, away from its edges);
        an incremental one removes what it deletes and cancels what it reports cancelled (Google).
        """
        failed = {uid for uid, _ in result.errors}  # a series we could not read this time is not gone
        lo, hi = self.start + EDGE, self.end - EDGE
        live = [k for k in known.values() if not k.removed]
        judged = [k for k in live if lo <= k.start_at < hi and k.uid not in failed]
        reported = set(result.cancelled)
        cancelled = [k for k in live if (k.uid, k.recurrence_id) in reported and not k.cancelled]
        if result.complete:
            gone = [k for k in judged if (k.uid, k.recurrence_id) not in seen]
        else:
            deleted = set(result.deleted)
            whole = {uid for uid, rid in deleted if rid == ""}
            gone = [k for k in live if (k.uid, k.recurrence_id) in deleted or k.uid in whole]
        if not gone and not cancelled:
            self.row.suspect_hash = None
            return gone, cancelled
        lost = {k.id for k in (*gone, *cancelled) if lo <= k.start_at < hi}
        if not force and len(judged) >= 2 and len(judged) - len(lost) < len(judged) / 2:
            digest = _result_digest(seen, result.deleted)
            if self.row.suspect_hash != digest:
                self.row.suspect_hash = digest
                self.report.suspect = True
                self.report.errors.append(
                    {
                        "uid": "",
                        "message": f"{self.name}: the calendar suddenly lacks {len(lost)} of {len(judged)} upcoming "
                        "events; nothing was removed or cancelled (the same result on the next sync, or "
                        "`eventpromo sync --force`, applies it)",
                    }
                )
                return None
        self.row.suspect_hash = None
        return gone, cancelled

    def _cancel(self, instances: list[_Known]) -> None:
        """Instances the source says are cancelled without sending their details (Google)."""
        for event in self._load(k.id for k in instances):
            event.status = EventStatus.CANCELLED
            event.updated_at = self.now
            event.content_hash = ""  # the next full listing rewrites it from the source
            self.report.note("cancelled", event)
            self.changed.append(event)

    def _remove(self, instances: list[_Known]) -> None:
        """Mark instances removed from their calendar (their open posts are cancelled by planning)."""
        for event in self._load(k.id for k in instances):
            event.removed_at = self.now
            event.updated_at = self.now
            self.report.note("removed", event)
            self.changed.append(event)

    def _load(self, ids: Iterable[int]) -> list[Event]:
        """Full rows for these ids, a chunk per query (no query per event)."""
        wanted = sorted(ids)
        rows: list[Event] = []
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            rows.extend(self.session.exec(select(Event).where(col(Event.id).in_(chunk)).order_by(col(Event.id))))
        return rows

    def _plan(self, events: list[Event], new_ids: Sequence[int] = ()) -> None:
        """Hand the changed events to the campaign stage in one batch (it reschedules or cancels unpublished posts),
        with every event planning still has to reach (no campaign yet, a failed plan, an edited template set)."""
        assert self.row.id is not None
        self.session.flush()
        replan = events_to_replan(self.session, self.templates, self.row.id, self.now)
        have = {e.id for e in replan}
        # New rows come back from the database: most are in `replan` already (upcoming, no campaign yet).
        missing = [i for i in new_ids if i not in have]
        fresh = [e for k in range(0, len(missing), _CHUNK) for e in self._load(missing[k : k + _CHUNK])]
        todo = list({e.id: e for e in [*events, *fresh, *replan]}.values())
        self.progress.stage(f"{self.name}: planning campaigns", len(todo))
        done = [0]

        def advance(finished: int, _total: int) -> None:
            self.progress.advance(finished - done[0])
            done[0] = finished

        plan_events(self.session, self.cfg, self.templates, todo, self.now, self.name, progress=advance)

    def _succeed(self, result: FetchResult) -> None:
        row = self.row
        row.etag = result.state.etag
        row.last_modified = result.state.last_modified
        row.content_hash = result.state.content_hash
        row.sync_token = result.state.sync_token
        row.horizon_start, row.horizon_end = self.start, self.end
        row.last_success_at = self.now
        row.last_error = None


def _result_digest(seen: set, deleted: Sequence[tuple[str, str]]) -> str:
    payload = repr((sorted(seen), sorted(deleted)))
    return hashlib.sha256(payload.encode()).hexdigest()


def _changed_fields(event: Event, values: dict[str, Any]) -> list[str]:
    """Which of title, time, RSVP, description, ... differ between the stored row and the new values."""
    names: list[str] = []
    for label, attr in _FIELDS:
        if getattr(event, attr) != values[attr] and label not in names:
            names.append(label)
    return names


def _values(data: EventData, digest: str, now: datetime) -> dict[str, Any]:
    """One instance's columns (description lines parsed, text clipped to the columns)."""
    details = parse_description(data.description, data.url)
    return {
        "title": data.title or "(untitled event)",
        "description": data.description,
        "location": data.location,
        "start_at": data.start,
        "end_at": data.end,
        "timezone": data.timezone,
        "all_day": data.all_day,
        "status": data.status if data.status in EventStatus.ALL else EventStatus.CONFIRMED,
        "url": data.url,
        "rsvp_url": details.rsvp_url,
        "hashtags": clip(details.hashtags, 500) or "",
        "template": clip(details.template, 100),
        "channels": details.channels,
        "image_url": details.image_url,
        "speaker": clip(details.speaker, 500),
        "recording_url": details.recording_url,
        "warnings": [*data.warnings, *details.warnings],
        "sequence": data.sequence,
        "slug": slugify(data.title or "event", data.start, data.timezone),
        "content_hash": digest,
        "removed_at": None,
        "updated_at": now,
    }


def record_failure(session: Session, cfg: Config, name: str, message: str, now: datetime) -> None:
    """Note a failed sync on the source row (in a transaction of its own: the sync's was rolled back)."""
    row = get_source_row(session, cfg, name)
    row.last_attempt_at = now
    row.last_error = message
