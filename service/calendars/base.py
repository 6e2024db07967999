"""What every calendar source returns, and the small interface it implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class EventData:
    """One event instance as a source sees it; times are aware UTC, `timezone` is the IANA zone for display."""

    uid: str
    # "" for a single event; else the occurrence's original start: UTC "20261222T010000Z",
    # floating "20261222T180000" or a date "20261222".
    recurrence_id: str
    title: str
    start: datetime
    end: datetime
    timezone: str
    all_day: bool = False
    status: str = "confirmed"  # confirmed | tentative | cancelled
    description: str = ""  # plain text or HTML, as stored by the calendar
    location: str = ""
    url: str | None = None
    sequence: int = 0
    # What the source had to guess about this event (an unknown time zone, a missing UID).
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceState:
    """What a source remembers between syncs (stored on its CalendarSource row)."""

    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    sync_token: str | None = None


@dataclass
class FetchResult:
    """The outcome of one fetch.

    `complete` is True when `events` is the whole source inside the window (ICS, a full Google sync):
    instances missing from it were removed. An incremental result (Google with a sync token) lists only
    changes. `not_modified` means nothing changed since `state` and nothing needs parsing.
    """

    events: list[EventData] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (uid, message) of skipped VEVENTs
    complete: bool = True
    not_modified: bool = False
    state: SourceState = field(default_factory=SourceState)
    # Identities deleted by an incremental sync: (uid, recurrence_id); ("uid", "") deletes every instance of uid.
    deleted: list[tuple[str, str]] = field(default_factory=list)
    # Identities the source reports cancelled without their details (a cancelled Google instance).
    cancelled: list[tuple[str, str]] = field(default_factory=list)
    # About the calendar as a whole (an unknown X-WR-TIMEZONE, private events left out).
    warnings: list[str] = field(default_factory=list)


@runtime_checkable
class Progress(Protocol):
    """Where long work reports how far it got (a progress bar in a terminal, or nothing)."""

    def stage(self, label: str, total: int | None = None) -> None:
        """Start a new stage of `total` steps (None: unknown)."""
        ...

    def advance(self, steps: int = 1) -> None:
        """Count `steps` more steps of the current stage as done."""
        ...


class NullProgress:
    """Reports nothing."""

    def stage(self, label: str, total: int | None = None) -> None:
        """Ignore the stage."""

    def advance(self, steps: int = 1) -> None:
        """Ignore the steps."""


NULL_PROGRESS = NullProgress()


class CalendarSource(Protocol):
    """A calendar the service reads; adapters raise FetchError or ParseError, never library errors."""

    name: str

    def fetch(
        self, state: SourceState, window_start: datetime, window_end: datetime, progress: Progress = NULL_PROGRESS
    ) -> FetchResult:
        """Read the events overlapping [window_start, window_end), using `state` to skip unchanged data."""
        ...
