"""The variables a step text can use, computed from an event and the post's own time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class EventView:
    """What planning needs of an event, detached from the database row."""

    id: int
    title: str
    start: datetime  # aware UTC
    end: datetime
    timezone: str
    all_day: bool = False
    status: str = "confirmed"
    location: str = ""
    description: str = ""  # plain text, without the Key: value lines
    rsvp_url: str | None = None
    hashtags: str = ""
    speaker: str | None = None
    image_url: str | None = None
    recording_url: str | None = None
    slug: str = ""


def clock(dt: datetime) -> str:
    """`5:30 PM`, `9 AM`: how people in the US write a time."""
    hour = dt.hour % 12 or 12
    suffix = "AM" if dt.hour < 12 else "PM"
    return f"{hour}:{dt.minute:02d} {suffix}" if dt.minute else f"{hour} {suffix}"


def local_text(dt: datetime, zone: str, with_time: bool = True) -> str:
    """`Thu, Dec 10, 5:30 PM MST` in the event's zone, with the zone's abbreviation."""
    local = dt.astimezone(ZoneInfo(zone))
    day = f"{local:%a}, {local:%b} {local.day}"
    if not with_time:
        return day
    return f"{day}, {clock(local)} {local.tzname()}"


def countdown(start: datetime, at: datetime, zone: str) -> str:
    """How far `start` is from the post's time `at`: 'starting now', 'in 2 hours', 'tomorrow', 'in 3 days'."""
    seconds = (start - at).total_seconds()
    if seconds <= 60:
        return "starting now"
    if seconds < 3600:
        minutes = round(seconds / 60)
        return f"starts in {minutes} minutes"
    tz = ZoneInfo(zone)
    days = (start.astimezone(tz).date() - at.astimezone(tz).date()).days
    if days == 0:
        hours = round(seconds / 3600)
        return "starts in 1 hour" if hours == 1 else f"starts in {hours} hours"
    if days == 1:
        return "tomorrow"
    if days == 7:
        return "in one week"
    if days == 14:
        return "in two weeks"
    return f"in {days} days"


def variables(event: EventView, scheduled_at: datetime, rsvp_link: str | None, network: str) -> dict[str, Any]:
    """Everything a step text may use; plain strings only, so the sandbox has nothing to reach into."""
    zone = event.timezone
    local_start = event.start.astimezone(ZoneInfo(zone))
    local_end = event.end.astimezone(ZoneInfo(zone))
    return {
        "title": event.title,
        "start": local_text(event.start, zone, not event.all_day),
        "end": local_text(event.end, zone, not event.all_day),
        "date": local_text(event.start, zone, with_time=False),
        "time": "" if event.all_day else f"{clock(local_start)} {local_start.tzname()}",
        "end_time": "" if event.all_day else f"{clock(local_end)} {local_end.tzname()}",
        "weekday": f"{local_start:%A}",
        "zone": local_start.tzname() or zone,
        "countdown": countdown(event.start, scheduled_at, zone),
        "location": event.location or "online",
        "online": not event.location or "online" in event.location.lower(),
        "speaker": event.speaker or "",
        "hashtags": event.hashtags,
        "rsvp_link": rsvp_link or "",
        "has_rsvp": bool(rsvp_link),
        "image": event.image_url or "",
        "recording_url": event.recording_url or "",
        "description": event.description,
        "all_day": event.all_day,
        "network": network,
    }
