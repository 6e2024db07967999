"""The variables a step text can use, computed from an event and the post's own time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

# Calendar text is attacker-controlled: cap what reaches a template.
MAX_TITLE = 300
MAX_FIELD = 300
MAX_DESCRIPTION = 2000

# Every name a step text may use, with what it holds (the web page shows this list).
VARIABLES: dict[str, str] = {
    "title": "the event's title",
    "description": "the event's description, without its RSVP:/Hashtags:/... lines",
    "start": "start in the event's zone: 'Thu, Dec 10, 5:30 PM MST'",
    "end": "end in the event's zone: 'Thu, Dec 10, 6:30 PM MST'",
    "date": "the day of the event: 'Thu, Dec 10'",
    "long_date": "the day of the event: 'Thursday, December 10'",
    "long_start": "'Thursday, December 10 at 5:30 PM MST' ('Saturday, December 12' for an all-day event)",
    "time": "start time with the zone: '5:30 PM MST' ('' for an all-day event)",
    "end_time": "end time with the zone: '6:30 PM MST'",
    "weekday": "'Thursday'",
    "zone": "the zone's abbreviation at the start: 'MST'",
    "countdown": "from the post's own time: 'in two weeks', 'in 3 days', 'tomorrow', 'starts in 2 hours', "
    "'starting now', 'happening now', 'earlier today', 'yesterday'",
    "day_phrase": "the day from the post's own time: 'today', 'tomorrow', 'this Thursday', 'on Thu, Dec 10'",
    "location": "the event's location, or 'online'",
    "where": "'online', or 'at' and the location: 'at Desert Vista Cancer Center, Room 210'",
    "online": "true when the event has no location or an online one",
    "speaker": "the Speaker: line ('' without one)",
    "hashtags": "the Hashtags: line: '#MPN #myelofibrosis'",
    "rsvp_link": "this post's tracked link (to the RSVP page, or to the recording for a recording step)",
    "link": "same as rsvp_link",
    "has_rsvp": "true when the post has a link",
    "image": "the Image: line's URL ('' without one)",
    "recording_url": "the Recording: line's URL ('' without one); use it in `when`, post the link with rsvp_link",
    "all_day": "true for an all-day event",
    "network": "the network the post is for: x, bluesky, mastodon, linkedin, ...",
    "step": "the step's label: 'One week out'",
}


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
    local = dt.astimezone(_zone(zone))
    day = f"{local:%a}, {local:%b} {local.day}"
    if not with_time:
        return day
    return f"{day}, {clock(local)} {local.tzname()}"


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _days_apart(start: datetime, at: datetime, zone: str) -> int:
    tz = _zone(zone)
    return (start.astimezone(tz).date() - at.astimezone(tz).date()).days


def time_phrases(start: datetime, at: datetime, zone: str, end: datetime | None = None) -> tuple[str, str]:
    """countdown() and day_phrase() together (the planner needs both for every post time)."""
    days = _days_apart(start, at, zone)
    return countdown(start, at, zone, end, days), day_phrase(start, at, zone, days)


def countdown(start: datetime, at: datetime, zone: str, end: datetime | None = None, days: int | None = None) -> str:
    """How far `start` is from the post's time `at`: 'in 3 days', 'tomorrow', 'starts in 2 hours', 'starting now'."""
    seconds = (start - at).total_seconds()
    if -60 <= seconds <= 60:
        return "starting now"
    if days is None:
        days = _days_apart(start, at, zone)
    if seconds < 0:
        if end is not None and at < end:
            return "happening now"
        return "earlier today" if days == 0 else "yesterday" if days == -1 else f"{-days} days ago"
    if seconds < 3600:
        minutes = round(seconds / 60)
        return "starts in 1 minute" if minutes == 1 else f"starts in {minutes} minutes"
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


def day_phrase(start: datetime, at: datetime, zone: str, days: int | None = None) -> str:
    """The event's day as seen from the post's time: 'today', 'tomorrow', 'this Thursday', 'on Thu, Dec 10'."""
    if days is None:
        days = _days_apart(start, at, zone)
    local = start.astimezone(_zone(zone))
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if 1 < days < 7:
        return f"this {local:%A}"
    return f"on {local:%a}, {local:%b} {local.day}"


def _cap(text: str | None, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@lru_cache(maxsize=4096)
def event_values(event: EventView) -> dict[str, Any]:
    """The values that depend only on the event (cached: every post of an event shares them)."""
    zone = event.timezone
    local_start = event.start.astimezone(_zone(zone))
    local_end = event.end.astimezone(_zone(zone))
    location = _cap(event.location, MAX_FIELD)
    online = not location or "online" in location.lower() or "zoom" in location.lower()
    long_date = f"{local_start:%A}, {local_start:%B} {local_start.day}"
    return {
        "title": _cap(event.title, MAX_TITLE),
        "description": _cap(event.description, MAX_DESCRIPTION),
        "start": local_text(event.start, zone, not event.all_day),
        "end": local_text(event.end, zone, not event.all_day),
        "date": local_text(event.start, zone, with_time=False),
        "long_date": long_date,
        "long_start": long_date if event.all_day else f"{long_date} at {clock(local_start)} {local_start.tzname()}",
        "time": "" if event.all_day else f"{clock(local_start)} {local_start.tzname()}",
        "end_time": "" if event.all_day else f"{clock(local_end)} {local_end.tzname()}",
        "weekday": f"{local_start:%A}",
        "zone": local_start.tzname() or zone,
        "location": location or "online",
        "where": "online" if online else f"at {location}",
        "online": online,
        "speaker": _cap(event.speaker, MAX_FIELD),
        "hashtags": _cap(event.hashtags, MAX_FIELD),
        "image": event.image_url or "",
        "recording_url": event.recording_url or "",
        "all_day": event.all_day,
    }


def variables(
    event: EventView, scheduled_at: datetime, rsvp_link: str | None, network: str, step_label: str = ""
) -> dict[str, Any]:
    """Everything a step text may use; plain strings and booleans only, so the sandbox has nothing to reach into."""
    values = dict(event_values(event))
    values["countdown"] = countdown(event.start, scheduled_at, event.timezone, event.end)
    values["day_phrase"] = day_phrase(event.start, scheduled_at, event.timezone)
    values["rsvp_link"] = values["link"] = rsvp_link or ""
    values["has_rsvp"] = bool(rsvp_link)
    values["network"] = network
    values["step"] = step_label
    return values


def time_mentions(start: datetime, zone: str, all_day: bool) -> set[str]:
    """Ways a text may name this start: dates ('Dec 10', '12/10'), weekday, clock times ('5:30 PM', '17:30')."""
    local = start.astimezone(_zone(zone))
    out = {
        f"{local:%b} {local.day}",
        f"{local:%B} {local.day}",
        f"{local.month}/{local.day}",
        f"{local:%A}",
    }
    if not all_day:
        hour12 = local.hour % 12 or 12
        ampm = "AM" if local.hour < 12 else "PM"
        minutes = f":{local.minute:02d}"
        out |= {f"{hour12}{minutes} {ampm}", f"{hour12}{minutes}{ampm}", f"{local.hour}:{local.minute:02d}"}
        if not local.minute:
            out |= {f"{hour12} {ampm}", f"{hour12}{ampm}"}
    return out


def names_old_time(text: str, old_start: datetime, new_start: datetime, zone: str, all_day: bool) -> str | None:
    """The first mention in `text` of the old start that no longer holds for the new one, or None."""
    stale = time_mentions(old_start, zone, all_day) - time_mentions(new_start, zone, all_day)
    for mention in sorted(stale, key=len, reverse=True):
        m = re.search(rf"(?<![\w:/]){re.escape(mention)}(?![\w:/])", text, re.IGNORECASE)
        if m:
            return m.group(0)
    return None
