"""Resolving a code: the event's current RSVP (or recording) URL with UTM parameters, cached briefly per process."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from ..db import Database
from ..models import Event, Post, TrackedLink
from .target import redirect_target


@dataclass(frozen=True)
class Redirect:
    """Where a code leads and which link a click counts for."""

    link_id: int
    target: str


def resolve(session: Session, code: str) -> Redirect | None:
    """The redirect of a code (one query), or None: unknown code, no link stored, or not an http(s) URL."""
    row = session.execute(
        sa_select(
            col(TrackedLink.id),
            col(Post.network),
            col(Post.step),
            col(Post.link_kind),
            col(Event.slug),
            col(Event.rsvp_url),
            col(Event.recording_url),
        )
        .join(Post, col(Post.id) == col(TrackedLink.post_id))
        .join(Event, col(Event.id) == col(Post.event_id))
        .where(col(TrackedLink.code) == code)
    ).first()
    if row is None:
        return None
    link_id, network, step, link_kind, slug, rsvp_url, recording_url = row
    url = recording_url if link_kind == "recording" and recording_url else rsvp_url
    target = redirect_target(url, network, slug, step)
    if target is None or link_id is None:
        return None
    return Redirect(link_id=link_id, target=target)


class _SqliteChanges:
    """SQLite's `PRAGMA data_version` on a connection of our own: changes whenever anyone else commits."""

    def __init__(self, path: str):
        self._path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._last: int | None = None

    def changed(self) -> bool:
        """True when another connection (any process) committed since the last call."""
        with self._lock:
            if self._conn is None or self._pid != os.getpid():
                self._conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
                self._pid, self._last = os.getpid(), None
            try:
                version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
                return True
            changed = version != self._last
            self._last = version
            return changed


class LinkCache:
    """Resolved codes (and unknown ones) kept in memory so a redirect costs no query.

    An entry lives `ttl` seconds. On SQLite every entry is also dropped once any other connection
    has committed (PRAGMA data_version, asked at most every CHANGE_CHECK_SECONDS), so a corrected
    RSVP link is followed at once; on PostgreSQL it is followed within `ttl`.
    """

    # Asking SQLite costs ~10 us (a read lock on the WAL index): once per 50 ms, not per request.
    CHANGE_CHECK_SECONDS = 0.05

    def __init__(self, db: Database, ttl: float, max_entries: int = 50_000):
        self._db = db
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[float, Redirect | None]] = {}
        path = db.engine.url.database if db.dialect == "sqlite" else None
        self._changes = _SqliteChanges(path) if path and path != ":memory:" else None
        self._checked = 0.0

    def get(self, code: str) -> Redirect | None:
        """The redirect of `code`, from memory when fresh, else from the database."""
        now = time.monotonic()
        if self._changes is not None and now - self._checked >= self.CHANGE_CHECK_SECONDS:
            self._checked = now
            if self._changes.changed():
                self._entries = {}
        entry = self._entries.get(code)
        if entry is not None and now - entry[0] < self._ttl:
            return entry[1]
        with self._db.session() as session:
            value = resolve(session, code)
        if len(self._entries) >= self._max:
            self._entries = {}
        self._entries[code] = (now, value)
        return value
