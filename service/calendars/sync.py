"""Sync one calendar source into event rows and re-plan what changed, in the caller's transaction."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from ..campaigns.apply import Templates, events_to_replan, plan_events
from ..config import Config
from ..models import CalendarSource, Event, EventStatus
from .base import CalendarSource as Source
from .base import EventData, FetchResult, SourceState
from .description import parse_description

# How far back the window reaches: events that just ended keep their "recording available" steps.
LOOKBACK = timedelta(days=2)


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

    def as_dict(self) -> dict[str, Any]:
        """The JSON form printed by `eventpromo sync --json`."""
        return asdict(self)


def slugify(title: str, start: datetime, zone: str) -> str:
    """A readable campaign slug for utm_campaign: `living-well-with-mpn-2026-12-10`."""
    from zoneinfo import ZoneInfo

    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].rstrip("-") or "event"
    return f"{words}-{start.astimezone(ZoneInfo(zone)):%Y-%m-%d}"


def _fingerprint(data: EventData) -> str:
    payload = json.dumps(
        [
            data.title,
            data.start.isoformat(),
            data.end.isoformat(),
            data.timezone,
            data.all_day,
            data.status,
            data.description,
            data.location,
            data.url,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def get_source_row(session: Session, cfg: Config, name: str) -> CalendarSource:
    """The source's row, created on first use."""
    cal = cfg.calendar(name)
    row = session.exec(select(CalendarSource).where(CalendarSource.name == name)).first()
    location = cal.google_calendar_id or cal.ics or ""
    if row is None:
        row = CalendarSource(name=name, kind=cal.kind, location=location)
        session.add(row)
        session.flush()
    elif row.kind != cal.kind or row.location != location:
        # The config now points elsewhere: forget validators and tokens of the old location.
        row.kind, row.location = cal.kind, location
        row.etag = row.last_modified = row.content_hash = row.sync_token = None
    return row


def window(cfg: Config, now: datetime) -> tuple[datetime, datetime]:
    """The import window: from shortly before now to the horizon."""
    return now - LOOKBACK, now + timedelta(days=cfg.horizon_days)


def sync_source(
    session: Session,
    cfg: Config,
    source: Source,
    templates: Templates,
    now: datetime,
    force: bool = False,
) -> SyncReport:
    """Fetch one source, upsert its events, cancel vanished ones, re-plan the changed ones.

    Raises CalendarError when the source cannot be read: the caller rolls back, so earlier events stay.
    """
    row = get_source_row(session, cfg, source.name)
    start, end = window(cfg, now)
    state = SourceState(row.etag, row.last_modified, row.content_hash, row.sync_token)
    # A moved window may bring new occurrences of unchanged data: re-read when the day changed.
    if row.horizon_start is None or row.horizon_start.date() != start.date():
        state = SourceState(sync_token=row.sync_token)
    result = source.fetch(state, start, end)
    report = SyncReport(source=source.name)
    report.errors = [{"uid": uid, "message": msg} for uid, msg in result.errors]
    row.last_attempt_at = now
    if result.not_modified:
        report.not_modified = True
        report.unchanged = row.event_count
        assert row.id is not None
        plan_events(session, cfg, templates, events_to_replan(session, templates, row.id, now), now, source.name)
        _succeed(row, result, start, end, now)
        return report

    existing = {(e.uid, e.recurrence_id): e for e in session.exec(select(Event).where(Event.source_id == row.id))}
    seen: set[tuple[str, str]] = set()
    changed: list[Event] = []
    for data in result.events:
        key = (data.uid, data.recurrence_id)
        if key in seen:
            continue
        seen.add(key)
        kind, event = _upsert(session, row, existing.get(key), data, now)
        if kind == "unchanged":
            report.unchanged += 1
            continue
        if kind == "added":
            report.added += 1
        elif kind == "cancelled":
            report.cancelled += 1
        else:
            report.updated += 1
        changed.append(event)

    if result.complete:
        vanished = [
            e for k, e in existing.items() if k not in seen and e.removed_at is None and start <= e.start_at < end
        ]
        if vanished and _suspect(row, len(seen), len(vanished), result, force):
            report.suspect = True
            report.errors.append(
                {
                    "uid": "",
                    "message": f"{source.name}: the calendar suddenly lists {len(seen)} events where it had "
                    f"{row.event_count}; nothing was removed (run `eventpromo sync --force` if this is right)",
                }
            )
        else:
            row.suspect_hash = None
            for e in vanished:
                e.removed_at = now
                e.updated_at = now
                report.removed += 1
                changed.append(e)
    for k in result.deleted:
        gone = existing.get(k)
        if gone is not None and gone.removed_at is None:
            gone.removed_at = now
            gone.updated_at = now
            report.removed += 1
            changed.append(gone)

    session.flush()
    # One batch for every changed event and every event still without a campaign: a handful of queries.
    assert row.id is not None
    unplanned = events_to_replan(session, templates, row.id, now)
    plan_events(session, cfg, templates, list({id(e): e for e in [*changed, *unplanned]}.values()), now, source.name)
    if not report.suspect:
        row.event_count = len(seen) if result.complete else row.event_count + report.added - report.removed
    _succeed(row, result, start, end, now)
    return report


def _suspect(row: CalendarSource, count: int, vanished: int, result: FetchResult, force: bool) -> bool:
    """A feed that suddenly lists far fewer events is held back once; the same result again goes through."""
    if force or row.event_count < 4 or count >= row.event_count / 2:
        return False
    digest = hashlib.sha256(repr(sorted((e.uid, e.recurrence_id) for e in result.events)).encode()).hexdigest()
    if row.suspect_hash == digest:
        return False
    row.suspect_hash = digest
    return True


def _succeed(row: CalendarSource, result: FetchResult, start: datetime, end: datetime, now: datetime) -> None:
    row.etag = result.state.etag
    row.last_modified = result.state.last_modified
    row.content_hash = result.state.content_hash
    row.sync_token = result.state.sync_token
    row.horizon_start, row.horizon_end = start, end
    row.last_success_at = now
    row.last_error = None


def _upsert(
    session: Session, row: CalendarSource, event: Event | None, data: EventData, now: datetime
) -> tuple[str, Event]:
    """Insert or update one instance; returns (added | updated | cancelled | unchanged, the row)."""
    digest = _fingerprint(data)
    if event is not None and event.content_hash == digest and event.removed_at is None:
        return "unchanged", event
    details = parse_description(data.description, data.url)
    values: dict[str, Any] = {
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
        "hashtags": details.hashtags,
        "template": details.template,
        "channels": details.channels,
        "image_url": details.image_url,
        "speaker": details.speaker,
        "recording_url": details.recording_url,
        "warnings": details.warnings,
        "sequence": data.sequence,
        "slug": slugify(data.title or "event", data.start, data.timezone),
        "content_hash": digest,
        "removed_at": None,
        "updated_at": now,
    }
    if event is None:
        assert row.id is not None
        event = Event(source_id=row.id, uid=data.uid, recurrence_id=data.recurrence_id, first_seen_at=now, **values)
        session.add(event)
        return ("cancelled" if data.status == EventStatus.CANCELLED else "added"), event
    was_cancelled = event.status == EventStatus.CANCELLED
    for k, v in values.items():
        setattr(event, k, v)
    if data.status == EventStatus.CANCELLED and not was_cancelled:
        return "cancelled", event
    return "updated", event


def record_failure(session: Session, cfg: Config, name: str, message: str, now: datetime) -> None:
    """Note a failed sync on the source row (in a transaction of its own: the sync's was rolled back)."""
    row = get_source_row(session, cfg, name)
    row.last_attempt_at = now
    row.last_error = message
