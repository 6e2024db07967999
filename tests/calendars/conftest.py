"""Helpers for the calendar tests: the fixture calendars, a parser on a fixed clock, sync on a test runtime."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from service import jobs
from service.calendars.base import EventData
from service.calendars.ics import IcsParser, ParsedCalendar
from service.calendars.sync import SyncReport
from service.db import Database
from service.runtime import Runtime
from tests.conftest import NOW

CALENDARS = Path(__file__).resolve().parent.parent / "data" / "calendars"


def parse(name: str | bytes, now: datetime = NOW, zone: str = "America/Phoenix", days: int = 120) -> ParsedCalendar:
    """Parse a fixture calendar (or raw bytes) over the sync window around `now`."""
    data = name if isinstance(name, bytes) else (CALENDARS / name).read_bytes()
    parser = IcsParser("test-calendar", zone, time(9, 0))
    return parser.read(data, now - timedelta(days=3), now + timedelta(days=days))


def local(event: EventData | Any, attr: str = "start") -> str:
    """An instant of a parsed event (or a stored row) as ISO 8601 in its display zone."""
    value = getattr(event, attr) if hasattr(event, attr) else getattr(event, f"{attr}_at")
    return value.astimezone(ZoneInfo(event.timezone)).isoformat()


def by_title(events: list[EventData], prefix: str) -> list[EventData]:
    """The events whose title starts with `prefix`, by start."""
    return sorted((e for e in events if e.title.startswith(prefix)), key=lambda e: e.start)


def calendar_toml(name: str, location: str, extra: str = "") -> str:
    """A [[calendars]] table."""
    return textwrap.dedent(f"""
        [[calendars]]
        name = "{name}"
        ics = "{location}"
        template = "webinar"
        channels = ["x"]
    """) + textwrap.dedent(extra)


@pytest.fixture
def runtime_for(make_config: Callable[..., Any]) -> Iterator[Callable[..., Runtime]]:
    """Build a Runtime on a config with the given [[calendars]] tables; disposed after the test."""
    made: list[Runtime] = []

    def build(calendars: str, **top: Any) -> Runtime:
        cfg = make_config(calendars=calendars, **top)
        rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
        made.append(rt)
        return rt

    yield build
    for rt in made:
        rt.db.dispose()


def sync(rt: Runtime, now: datetime = NOW, **kwargs: Any) -> list[SyncReport]:
    """Run the sync job the CLI and the worker run."""
    return jobs.sync_calendars(rt, now, **kwargs)


def vevent(
    uid: str,
    start: datetime,
    summary: str = "Patient webinar",
    minutes: int = 60,
    status: str | None = None,
    description: str = "RSVP: https://example.org/register/{uid}",
    extra: str = "",
) -> str:
    """One VEVENT in UTC (a little builder for tests that edit a calendar between syncs)."""
    end = start + timedelta(minutes=minutes)
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261101T000000Z",
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{end:%Y%m%dT%H%M%SZ}",
        f"SUMMARY:{summary}",
        "DESCRIPTION:" + description.format(uid=uid).replace("\n", "\\n"),
    ]
    if status:
        lines.append(f"STATUS:{status}")
    if extra:
        lines.extend(extra.strip().splitlines())
    lines.append("END:VEVENT")
    return "\r\n".join(lines)


def make_ics(*events: str, header: str = "") -> bytes:
    """A VCALENDAR around VEVENT texts."""
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//eventpromo tests//EN"]
    if header:
        head.extend(header.strip().splitlines())
    return ("\r\n".join([*head, *events, "END:VCALENDAR"]) + "\r\n").encode()


def days(n: float, hour: int = 17) -> datetime:
    """NOW's date plus n days, at `hour`:00 UTC."""
    return (NOW + timedelta(days=n)).replace(hour=hour, minute=0, second=0, microsecond=0)
