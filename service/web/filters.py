"""Jinja filters for the pages: times in the event's zone, with the zone shown."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

from ..campaigns.variables import clock


def local_time(dt: datetime | None, zone: str) -> str:
    """`Thu Dec 10, 5:30 PM MST` in `zone`."""
    if dt is None:
        return "—"
    local = dt.astimezone(ZoneInfo(zone))
    return f"{local:%a %b} {local.day}, {clock(local)} {local.tzname()}"


def utc_time(dt: datetime | None) -> str:
    """`2026-12-11 00:30 UTC`."""
    return "—" if dt is None else f"{dt:%Y-%m-%d %H:%M} UTC"


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(utc_time, "utc_time")
