"""ICS calendars (a file or an http(s) feed) expanded with recurring-ical-events."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
import recurring_ical_events
import requests

from ..errors import FetchError, ParseError
from .base import EventData, FetchResult, SourceState

MAX_FEED_BYTES = 20 * 1024 * 1024
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
_STATUS = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}


def recurrence_key(value: date | datetime) -> str:
    """The stored form of a RECURRENCE-ID: UTC `YYYYMMDDTHHMMSSZ`, or `YYYYMMDD` for a date."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def zone_name(tz: tzinfo | None) -> str | None:
    """The IANA name of a tzinfo, when it has one."""
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if isinstance(key, str):
        try:
            ZoneInfo(key)
            return key
        except (ZoneInfoNotFoundError, ValueError):
            return None
    if tz is not None and tz.utcoffset(None) == timedelta(0) and tz in (UTC,):
        return "UTC"
    return None


class IcsParser:
    """Parses ICS bytes into EventData for one window; one bad VEVENT is reported, not fatal."""

    def __init__(self, source_name: str, default_zone: str, all_day_hour: time):
        self.source_name = source_name
        self.default_zone = default_zone
        self.all_day_hour = all_day_hour

    def parse(
        self, data: bytes, window_start: datetime, window_end: datetime
    ) -> tuple[list[EventData], list[tuple[str, str]]]:
        """Return the instances overlapping the window, and (uid, message) for each one skipped."""
        try:
            calendar = icalendar.Calendar.from_ical(data)
        except ValueError as exc:
            raise ParseError(f"{self.source_name}: not a valid iCalendar file: {exc}") from None
        if isinstance(calendar, list):  # several VCALENDARs in one file: use the first
            calendar = calendar[0]
        cal_zone = self._calendar_zone(calendar)
        try:
            occurrences = recurring_ical_events.of(calendar, skip_bad_series=True).between(window_start, window_end)
        except Exception as exc:  # the library raises many kinds; one broken file must not stop the others
            raise ParseError(f"{self.source_name}: cannot expand events: {type(exc).__name__}: {exc}") from None
        events: list[EventData] = []
        errors: list[tuple[str, str]] = []
        for component in occurrences:
            uid = str(component.get("UID", "")).strip()
            try:
                events.append(self._event(component, cal_zone))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                errors.append((uid or "(no UID)", f"skipped: {exc}"))
        return events, errors

    def _calendar_zone(self, calendar: icalendar.Calendar) -> str:
        name = str(calendar.get("X-WR-TIMEZONE", "") or "")
        try:
            if name:
                ZoneInfo(name)
                return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
        return self.default_zone

    def _instant(self, value: date | datetime, zone: str) -> tuple[datetime, str, bool]:
        """(UTC instant, display zone, all-day) of a DTSTART/DTEND value."""
        if isinstance(value, datetime):
            if value.tzinfo is None:  # floating: the calendar's zone, else the configured one
                return value.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC), zone, False
            return value.astimezone(UTC), zone_name(value.tzinfo) or zone, False
        local = datetime.combine(value, self.all_day_hour, tzinfo=ZoneInfo(zone))
        return local.astimezone(UTC), zone, True

    def _event(self, c: Any, cal_zone: str) -> EventData:
        uid = str(c.get("UID", "")).strip()
        if not uid:
            raise ValueError("event has no UID")
        if "DTSTART" not in c:
            raise ValueError("event has no DTSTART")
        start_raw = c["DTSTART"].dt
        start, zone, all_day = self._instant(start_raw, cal_zone)
        if "DTEND" in c:
            end_raw = c["DTEND"].dt
        elif "DURATION" in c:
            end_raw = start_raw + c["DURATION"].dt
        else:
            end_raw = start_raw + (timedelta(days=1) if all_day else timedelta(0))
        if all_day:
            end = datetime.combine(end_raw if isinstance(end_raw, date) else end_raw.date(), time(0), ZoneInfo(zone))
            end = end.astimezone(UTC)
        else:
            end, _, _ = self._instant(end_raw, zone)
        if end < start:
            raise ValueError(f"ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        rid = c.get("RECURRENCE-ID")
        is_series = any(k in c for k in ("RRULE", "RDATE")) or rid is not None
        recurrence_id = recurrence_key(rid.dt) if (rid is not None and is_series) else ""
        status = _STATUS.get(str(c.get("STATUS", "CONFIRMED")).upper(), "confirmed")
        url = c.get("URL")
        return EventData(
            uid=uid,
            recurrence_id=recurrence_id,
            title=str(c.get("SUMMARY", "") or "").strip(),
            start=start,
            end=end,
            timezone=zone,
            all_day=all_day,
            status=status,
            description=str(c.get("DESCRIPTION", "") or ""),
            location=str(c.get("LOCATION", "") or "").strip(),
            url=str(url).strip() if url else None,
            sequence=int(c.get("SEQUENCE", 0) or 0),
        )


def content_hash(data: bytes) -> str:
    """SHA-256 of a calendar's bytes: equal bytes need no parsing."""
    return hashlib.sha256(data).hexdigest()


class IcsFileSource:
    """A calendar file on disk."""

    def __init__(self, name: str, path: str, parser: IcsParser):
        self.name = name
        self.path = Path(path)
        self.parser = parser

    def fetch(self, state: SourceState, window_start: datetime, window_end: datetime) -> FetchResult:
        """Read the file; unchanged bytes (same hash) are reported as not modified."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise FetchError(f"{self.name}: cannot read {self.path}: {exc.strerror}") from None
        return _parse_result(self.parser, data, state, window_start, window_end)


class IcsUrlSource:
    """An http(s) ICS feed, fetched with conditional GET, timeouts and a size limit."""

    def __init__(self, name: str, url: str, parser: IcsParser, session: requests.Session | None = None):
        if not url.startswith(("http://", "https://")):
            raise FetchError(f"{name}: only http and https feeds are accepted, got {url!r}")
        self.name = name
        self.url = url
        self.parser = parser
        self.session = session or requests.Session()

    def fetch(self, state: SourceState, window_start: datetime, window_end: datetime) -> FetchResult:
        """GET the feed (If-None-Match / If-Modified-Since); 304 or unchanged bytes cost no parsing."""
        headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": "eventpromo calendar sync"}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        try:
            resp = self.session.get(self.url, headers=headers, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), stream=True)
        except requests.RequestException as exc:
            raise FetchError(f"{self.name}: cannot fetch {self.url}: {type(exc).__name__}") from None
        with resp:
            if resp.status_code == 304:
                return FetchResult(not_modified=True, state=state)
            if resp.status_code != 200:
                raise FetchError(f"{self.name}: {self.url} answered HTTP {resp.status_code}")
            data = _read_limited(resp.iter_content(64 * 1024), MAX_FEED_BYTES, self.name)
        result = _parse_result(self.parser, data, state, window_start, window_end)
        result.state = SourceState(
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            content_hash=result.state.content_hash,
            sync_token=None,
        )
        return result


def _read_limited(chunks: Iterable[bytes], limit: int, name: str) -> bytes:
    buf = bytearray()
    for chunk in chunks:
        buf.extend(chunk)
        if len(buf) > limit:
            raise FetchError(f"{name}: feed is larger than {limit // (1024 * 1024)} MB")
    return bytes(buf)


def _parse_result(parser: IcsParser, data: bytes, state: SourceState, start: datetime, end: datetime) -> FetchResult:
    digest = content_hash(data)
    new_state = SourceState(content_hash=digest)
    if state.content_hash == digest:
        return FetchResult(not_modified=True, state=new_state)
    events, errors = parser.parse(data, start, end)
    return FetchResult(events=events, errors=errors, complete=True, state=new_state)
