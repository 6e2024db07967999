"""Jinja filters for the pages: times in the event's zone (always with the zone), relative times."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask

from ..campaigns.apply import event_channels
from ..campaigns.variables import clock
from ..models import Event


def local_time(dt: datetime | None, zone: str) -> str:
    """`Thu Dec 10, 5:30 PM MST` in `zone`."""
    if dt is None:
        return "—"
    local = dt.astimezone(ZoneInfo(zone))
    return f"{local:%a %b} {local.day}, {clock(local)} {local.tzname()}"


def utc_time(dt: datetime | None) -> str:
    """`2026-12-11 00:30 UTC`."""
    return "—" if dt is None else f"{dt:%Y-%m-%d %H:%M} UTC"


def local_input(dt: datetime | None, zone: str) -> str:
    """The value of a `datetime-local` input: `2026-12-10T17:30` in `zone`."""
    return "" if dt is None else f"{dt.astimezone(ZoneInfo(zone)):%Y-%m-%dT%H:%M}"


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400 * 2:
        h, m = divmod(seconds // 60, 60)
        return f"{h} h {m} min" if m and h < 10 else f"{h} h"
    return f"{seconds // 86400} days"


def ago(dt: datetime | None, now: datetime) -> str:
    """`5 min ago` (or `in 5 min` for a time ahead)."""
    if dt is None:
        return "never"
    return f"{_span(now - dt)} ago" if dt <= now else f"in {_span(dt - now)}"


def until(dt: datetime | None, now: datetime) -> str:
    """`in 3 h 20 min`, or `due now` when the time has come."""
    if dt is None:
        return "—"
    return "due now" if dt <= now else f"in {_span(dt - now)}"


def is_web_url(value: str | None) -> bool:
    """True for an http(s) URL: only those become links (calendar text may hold `javascript:`)."""
    return bool(value) and str(value).lower().startswith(("http://", "https://"))


def init_app(app: Flask) -> None:
    """Register the filters and the `channels_of(event, source)` helper."""
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(utc_time, "utc_time")
    app.add_template_filter(local_input, "local_input")
    app.add_template_filter(ago, "ago")
    app.add_template_filter(until, "until")
    app.add_template_test(is_web_url, "web_url")
    app.add_template_filter(is_web_url, "is_web_url")

    @app.context_processor
    def _helpers() -> dict[str, object]:
        from . import current_runtime

        cfg = current_runtime().cfg

        def channels_of(event: Event, source: str) -> list[str]:
            return [c.name for c in event_channels(cfg, event, source)]

        return {"channels_of": channels_of}
