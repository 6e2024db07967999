"""ICS calendars: parsed with icalendar, expanded with recurring-ical-events; one bad series is skipped, not fatal."""

from __future__ import annotations

import codecs
import hashlib
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import icalendar
import recurring_ical_events
import x_wr_timezone
from icalendar.error import GloballyUniqueTZIDGuessed

from ..errors import FetchError, ParseError
from . import zones
from .base import NULL_PROGRESS, EventData, FetchResult, Progress, SourceState
from .text import clean_line, clean_text, clip_uid

# We read vendor-prefixed TZIDs on purpose (zones.iana_name does the same guess) and say so on the event.
warnings.filterwarnings("ignore", category=GloballyUniqueTZIDGuessed)

# Bump when parsing changes meaning: stored fingerprints then no longer match and everything is re-read.
PARSER_VERSION = "3"
_STATUS = {"CONFIRMED": "confirmed", "TENTATIVE": "tentative", "CANCELLED": "cancelled"}
_PRIVATE = {"PRIVATE", "CONFIDENTIAL"}
_QUOTED = re.compile(r"'((?:[^'\\]|\\.){3,})'")
# A feed is untrusted: FREQ=SECONDLY must not fill the memory. Beyond these, a series / the calendar is refused.
MAX_PER_SERIES = 5_000
MAX_INSTANCES = 100_000
# dateutil walks a rule from its DTSTART: a rule needing more steps than this to cross the window is refused.
MAX_RULE_STEPS = 200_000
_PERIOD = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400}
_PERIOD |= {"MONTHLY": 30 * 86400, "YEARLY": 365 * 86400}
# The BY* parts that multiply a rule's occurrences when they are finer than its FREQ.
_FINER = {"BYSECOND": 1, "BYMINUTE": 60, "BYHOUR": 3600, "BYDAY": 86400, "BYMONTHDAY": 86400, "BYYEARDAY": 86400}
# Errors a broken component raises while we read it; anything else is a bug of ours and should surface.
_EVENT_ERRORS = (ValueError, KeyError, TypeError, AttributeError, OverflowError, IndexError)


def recurrence_key(value: date | datetime) -> str:
    """The stored form of a RECURRENCE-ID: UTC `YYYYMMDDTHHMMSSZ`, floating `YYYYMMDDTHHMMSS`, or `YYYYMMDD`."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.strftime("%Y%m%dT%H%M%S")
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


@dataclass
class ParsedCalendar:
    """Everything one parse found: instances in the window, skipped events, notes about the calendar."""

    events: list[EventData] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def decode(data: bytes) -> tuple[str, str | None]:
    """The calendar's text (folded lines joined) and a note when it was not UTF-8.

    RFC 5545 folds lines by octets, so a UTF-8 character may be split across a fold: unfold the bytes first.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        data = data.decode("utf-16").encode("utf-8")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    data = re.sub(rb"\r?\n[ \t]", b"", data)
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "the calendar is not UTF-8: read as Windows-1252"


def _line_number(raw: bytes, fragment: str) -> int | None:
    """The line of the original file where `fragment` (a line as the parser quoted it) starts."""
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = re.split(r"\r\n|\n|\r", text)
    logical: list[tuple[int, str]] = []
    for i, line in enumerate(lines, start=1):
        if line[:1] in (" ", "\t") and logical:
            logical[-1] = (logical[-1][0], logical[-1][1] + line[1:])
        else:
            logical.append((i, line))
    probe = fragment.replace("\\'", "'")
    for number, line in logical:
        if line == probe or (len(probe) > 20 and line.startswith(probe)):
            return number
    for number, line in logical:
        if probe in line:
            return number
    return None


def _parse_failure(name: str, raw: bytes, exc: Exception) -> ParseError:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    m = _QUOTED.search(message)
    line = _line_number(raw, m.group(1)) if m else None
    where = f" (line {line})" if line else ""
    return ParseError(f"{name}: not a valid iCalendar file{where}: {message[:200]}")


class IcsParser:
    """Parses ICS bytes into EventData for one window; one bad VEVENT or series is reported, not fatal."""

    def __init__(self, source_name: str, default_zone: str, all_day_hour: time):
        self.source_name = source_name
        self.default_zone = default_zone
        self.all_day_hour = all_day_hour

    def fingerprint(self, data: bytes) -> str:
        """Equal fingerprints need no parsing: the bytes and every setting that changes their meaning."""
        settings = f"{PARSER_VERSION}|{self.default_zone}|{self.all_day_hour.isoformat()}|".encode()
        return hashlib.sha256(settings + data).hexdigest()

    def parse(
        self, data: bytes, window_start: datetime, window_end: datetime, progress: Progress = NULL_PROGRESS
    ) -> tuple[list[EventData], list[tuple[str, str]]]:
        """Return the instances overlapping the window, and (uid, message) for each one skipped."""
        parsed = self.read(data, window_start, window_end, progress)
        return parsed.events, parsed.errors

    def read(
        self, data: bytes, window_start: datetime, window_end: datetime, progress: Progress = NULL_PROGRESS
    ) -> ParsedCalendar:
        """Parse and expand; raise ParseError (naming the source, and the line where known) for a broken file."""
        out = ParsedCalendar()
        progress.stage(f"{self.source_name}: parsing")
        calendar = self._calendar(data, out)
        cal_zone = self._calendar_zone(calendar, out)
        unknown = _unknown_tzids(calendar, cal_zone)
        runaway = _runaway_rules(calendar, window_start, window_end)
        damaged = _damaged(calendar)
        out.warnings.extend(f"{self.source_name}: {note}" for note in _reused_uids(calendar))
        vtimezones = {str(v.get("TZID", "")): v for v in calendar.walk("VTIMEZONE")}
        try:
            calendar = x_wr_timezone.to_standard(calendar)
        except Exception as exc:  # the library raises many kinds on odd input
            raise ParseError(f"{self.source_name}: cannot apply X-WR-TIMEZONE: {_why(exc)}") from None
        resolver = zones.ZoneResolver(cal_zone, vtimezones)
        series_list = self._series(calendar, out)
        progress.stage(f"{self.source_name}: expanding", len(series_list))
        private: list[str] = []
        for series in series_list:
            uid = str(series.uid)
            if uid in runaway:
                out.errors.append((clip_uid(uid), f"skipped: {runaway[uid]}"))
                progress.advance()
                continue
            try:
                occurrences = list(islice(series.between(window_start, window_end), MAX_PER_SERIES + 1))
                if len(occurrences) > MAX_PER_SERIES:
                    out.errors.append((clip_uid(uid), f"skipped: more than {MAX_PER_SERIES} occurrences in the window"))
                    progress.advance()
                    continue
                occurrences += _moved_out(series, occurrences, window_start, window_end)
                is_series = _is_series(series)
            except Exception as exc:  # recurring-ical-events raises many kinds for one broken series
                out.errors.append((clip_uid(uid), f"skipped: cannot expand its recurrences: {_why(exc)}"))
                progress.advance()
                continue
            if len(out.events) + len(occurrences) > MAX_INSTANCES:
                raise ParseError(f"{self.source_name}: more than {MAX_INSTANCES} event instances in the window")
            for occurrence in occurrences:
                try:
                    component = occurrence.as_component(True)
                    if str(component.get("CLASS", "")).upper() in _PRIVATE:
                        private.append(uid)
                        continue
                    notes = [*unknown.get(uid, ()), *damaged.get(uid, ())]
                    out.events.append(self._event(component, is_series, cal_zone, resolver, notes))
                except _EVENT_ERRORS as exc:
                    out.errors.append((clip_uid(uid) or "(no UID)", f"skipped: {_why(exc)}"))
            progress.advance()
        if private:
            names = ", ".join(sorted(set(private))[:5])
            out.warnings.append(
                f"{self.source_name}: {len(private)} private event instance(s) left out (CLASS:PRIVATE): {names}"
            )
        return out

    def _calendar(self, data: bytes, out: ParsedCalendar) -> Any:
        text, note = decode(data)
        if note:
            out.warnings.append(f"{self.source_name}: {note}")
        number, first = next(
            ((n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()), (0, "")
        )
        if not first:
            raise ParseError(f"{self.source_name}: the calendar is empty (no BEGIN:VCALENDAR)")
        if first.upper() != "BEGIN:VCALENDAR":
            raise ParseError(f"{self.source_name}: not an iCalendar file (line {number} is {first[:60]!r})")
        try:
            components = icalendar.Calendar.from_ical(text, multiple=True)
        except Exception as exc:  # icalendar raises ValueError and, on odd input, others
            raise _parse_failure(self.source_name, data, exc) from None
        calendars = [c for c in components if c.name == "VCALENDAR"]
        if not calendars:
            raise ParseError(
                f"{self.source_name}: the calendar is cut short: BEGIN:VCALENDAR (line {number}) has no END:VCALENDAR"
            )
        calendar = calendars[0]
        for extra in calendars[1:]:  # several VCALENDARs in one file (concatenated exports): read them all
            calendar.subcomponents.extend(extra.subcomponents)
        if str(calendar.get("CALSCALE", "GREGORIAN")).upper() != "GREGORIAN":
            raise ParseError(f"{self.source_name}: only Gregorian calendars are supported (CALSCALE)")
        return calendar

    def _calendar_zone(self, calendar: Any, out: ParsedCalendar) -> str:
        raw = str(calendar.get("X-WR-TIMEZONE", "") or "").strip()
        if not raw:
            return self.default_zone
        name = zones.iana_name(raw)
        if name is None:
            del calendar["X-WR-TIMEZONE"]
            out.warnings.append(
                f"{self.source_name}: X-WR-TIMEZONE {raw[:60]!r} is not a known time zone: "
                f"floating times read in {self.default_zone}"
            )
            return self.default_zone
        if name != raw:
            calendar["X-WR-TIMEZONE"] = name
        return name

    def _series(self, calendar: Any, out: ParsedCalendar) -> list[Any]:
        """The calendar's series; when one is too broken to even collect, find it and skip only it."""
        query = recurring_ical_events.CalendarQuery
        try:
            return list(query(calendar, keep_recurrence_attributes=True).series)
        except Exception:  # noqa: S110  (retried one UID at a time below, which names the culprit)
            pass
        groups: dict[str, list[Any]] = {}
        for component in calendar.subcomponents:
            if component.name == "VEVENT":
                groups.setdefault(str(component.get("UID", "") or ""), []).append(component)
        found: list[Any] = []
        for uid, components in groups.items():
            mini = icalendar.Calendar()
            mini.subcomponents.extend(components)
            try:
                found.extend(query(mini, keep_recurrence_attributes=True).series)
            except Exception as exc:  # one broken series: report it, read the rest
                out.errors.append((clip_uid(uid) or "(no UID)", f"skipped: {_component_problem(components, exc)}"))
        return found

    def _event(
        self, c: Any, is_series: bool, cal_zone: str, resolver: zones.ZoneResolver, known_notes: list[str]
    ) -> EventData:
        notes: list[str] = list(known_notes)
        uid = clean_line(str(c.get("UID", "") or ""))
        if not uid:
            seed = f"{c.get('SUMMARY', '')}|{c['DTSTART'].to_ical().decode()}"
            uid = "no-uid-" + hashlib.sha256(seed.encode()).hexdigest()[:24]
            notes.append("the event has no UID: a change of its title or time will look like a new event")
        start_raw = c["DTSTART"].dt
        end_raw = c["DTEND"].dt if "DTEND" in c else start_raw
        all_day = not isinstance(start_raw, datetime)
        if all_day:
            zone = cal_zone
            start = zones.all_day_start(start_raw, self.all_day_hour, zone)
            last = end_raw if not isinstance(end_raw, datetime) else end_raw.date()
            end = zones.all_day_end(max(last, start_raw + timedelta(days=1)), zone)
        else:
            start, zone, note = resolver.resolve(start_raw, cal_zone)
            if note:
                notes.append(note)
            if isinstance(end_raw, datetime):
                end, _, _ = resolver.resolve(end_raw, cal_zone)
            else:
                end = zones.all_day_end(end_raw, zone)
            end = max(end, start)
        rid = ""
        if is_series:
            prop = c.get("RECURRENCE-ID")
            whole_range = prop is not None and str(prop.params.get("RANGE", "")).upper() == "THISANDFUTURE"
            rid = recurrence_key(prop.dt if prop is not None and not whole_range else start_raw)
        description = str(c.get("DESCRIPTION", "") or "")
        if not description.strip():  # Outlook keeps the HTML version in X-ALT-DESC
            description = str(c.get("X-ALT-DESC", "") or "")
        url = c.get("URL")
        try:
            sequence = int(c.get("SEQUENCE", 0) or 0)
        except (TypeError, ValueError):
            sequence = 0
        return EventData(
            uid=clip_uid(uid),
            recurrence_id=rid,
            title=clean_line(str(c.get("SUMMARY", "") or "")),
            start=start,
            end=end,
            timezone=zone,
            all_day=all_day,
            status=_STATUS.get(str(c.get("STATUS", "CONFIRMED")).strip().upper(), "confirmed"),
            description=clean_text(description),
            location=clean_line(str(c.get("LOCATION", "") or "")),
            url=clean_line(str(url)) or None if url else None,
            sequence=sequence,
            warnings=tuple(notes),
        )


def _is_series(series: Any) -> bool:
    """True for a recurring series (RRULE/RDATE, or overrides with RECURRENCE-ID), False for a single event."""
    if series.recurrence_id_to_modification:
        return True
    core = getattr(series.recurrence, "core", None) if series.recurrence.has_core else None
    return core is not None and bool(core.rrules or core.rdates)


def _moved_out(series: Any, found: list[Any], start: datetime, end: datetime) -> list[Any]:
    """Overrides whose original slot is in the window but that were moved out of it: still the same event, moved."""
    if not series.recurrence_id_to_modification:
        return []
    lo, hi = start.astimezone(UTC).replace(tzinfo=None), end.astimezone(UTC).replace(tzinfo=None)
    seen: set[Any] = set()
    for occurrence in found:
        seen.update(occurrence.recurrence_ids)
    extra = []
    for adapter in series.modifications:
        ids = adapter.recurrence_ids  # (UTC without tzinfo, local wall time)
        if not ids or seen & set(ids) or not isinstance(ids[0], datetime) or not lo <= ids[0] < hi:
            continue
        if series.recurrence.check_exdates_datetime & set(ids):
            continue
        seen.update(ids)
        extra.append(series.occurrence(adapter))
    return extra


def _unknown_tzids(calendar: Any, cal_zone: str) -> dict[str, list[str]]:
    """UID -> a note about a TZID nobody could resolve (its time came back floating: read in the calendar zone)."""
    found: dict[str, list[str]] = {}
    for component in calendar.walk("VEVENT"):
        prop = component.get("DTSTART")
        tzid = prop.params.get("TZID") if prop is not None and hasattr(prop, "params") else None
        if not tzid:
            continue
        try:
            value = prop.dt
        except Exception:  # noqa: S112  (a broken DTSTART is reported when the event is read)
            continue
        if isinstance(value, datetime) and value.tzinfo is None:
            found[str(component.get("UID", ""))] = [f"unknown time zone {str(tzid)[:60]!r}: read in {cal_zone}"]
    return found


def _damaged(calendar: Any) -> dict[str, list[str]]:
    """UID -> notes about lines icalendar could not read inside the event (it keeps the rest of the event)."""
    found: dict[str, list[str]] = {}
    for component in calendar.walk("VEVENT"):
        for prop, message in getattr(component, "errors", None) or []:
            if prop in ("DTSTART", "RRULE", "RDATE", "EXDATE", "DTEND", "DURATION", "RECURRENCE-ID"):
                continue  # these make the event unreadable: reported as a skipped event instead
            what = f"{prop} " if prop else "a line "
            text = str(message).splitlines()[0][:120]
            found.setdefault(str(component.get("UID", "")), []).append(f"{what}could not be read: {text}")
    return found


def _runaway_rules(calendar: Any, start: datetime, end: datetime) -> dict[str, str]:
    """UID -> why its RRULE is refused before anyone expands it (expansion would take minutes and gigabytes)."""
    found: dict[str, str] = {}
    for component in calendar.walk("VEVENT"):
        try:
            rules = component.get("RRULE")
            if rules is None:
                continue
            first = component["DTSTART"].dt
            begin = first if isinstance(first, datetime) else datetime.combine(first, time())
            begin = begin.replace(tzinfo=UTC) if begin.tzinfo is None else begin
            for rule in rules if isinstance(rules, list) else [rules]:
                reason = _rule_cost(rule, begin, start, end)
                if reason:
                    found[str(component.get("UID", ""))] = reason
        except Exception:  # noqa: S112  (a rule too broken to read is reported when the series is expanded)
            continue
    return found


def _rule_cost(rule: Any, begin: datetime, start: datetime, end: datetime) -> str | None:
    freq = str((rule.get("FREQ") or [""])[0]).upper()
    period = _PERIOD.get(freq)
    if period is None:
        return None
    count = rule.get("COUNT")
    if count and int(count[0]) <= MAX_PER_SERIES:
        return None
    interval = max(int((rule.get("INTERVAL") or [1])[0] or 1), 1)
    per_step = 1
    for part, size in _FINER.items():
        values = rule.get(part)
        if values and size < period:
            per_step *= len(values) * (5 if part == "BYDAY" and period > 7 * 86400 else 1)
    step = period * interval
    in_window = (end - start).total_seconds() / step * per_step
    walked = max((end - begin).total_seconds(), 0) / step
    if in_window > MAX_PER_SERIES:
        return f"its rule (FREQ={freq}) repeats more than {MAX_PER_SERIES} times in the window"
    if walked > MAX_RULE_STEPS:
        return f"its rule (FREQ={freq}) starts too long before the window to expand"
    return None


def _reused_uids(calendar: Any) -> list[str]:
    """Several events (not overrides) under one UID: only one of them can be imported, so say which UID."""
    counts: dict[str, int] = {}
    for component in calendar.subcomponents:
        if component.name == "VEVENT" and "RECURRENCE-ID" not in component:
            uid = str(component.get("UID", "") or "")
            if uid:
                counts[uid] = counts.get(uid, 0) + 1
    return [
        f"UID {clip_uid(uid)[:80]!r} is used by {n} different events: only one of them (the highest SEQUENCE) is read"
        for uid, n in counts.items()
        if n > 1
    ]


def _why(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, KeyError):
        return f"missing {text}"
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _component_problem(components: Iterable[Any], exc: BaseException) -> str:
    """The most telling reason a series failed: what icalendar noted while parsing it, else the exception."""
    for component in components:
        for prop, message in getattr(component, "errors", []) or []:
            return f"{prop or 'a property'} is broken: {str(message).splitlines()[0][:200]}"
    return _why(exc)


class IcsFileSource:
    """A calendar file on disk."""

    def __init__(self, name: str, path: str, parser: IcsParser):
        self.name = name
        self.path = Path(path)
        self.parser = parser

    def fetch(
        self, state: SourceState, window_start: datetime, window_end: datetime, progress: Progress = NULL_PROGRESS
    ) -> FetchResult:
        """Read the file; unchanged bytes (same fingerprint) are reported as not modified."""
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise FetchError(f"{self.name}: cannot read {self.path}: {exc.strerror or exc}") from None
        return parse_result(self.parser, data, state, window_start, window_end, progress)


def parse_result(
    parser: IcsParser, data: bytes, state: SourceState, start: datetime, end: datetime, progress: Progress
) -> FetchResult:
    """Parse `data` unless its fingerprint equals the stored one."""
    digest = parser.fingerprint(data)
    if state.content_hash == digest:
        return FetchResult(not_modified=True, state=SourceState(content_hash=digest))
    parsed = parser.read(data, start, end, progress)
    return FetchResult(
        events=parsed.events,
        errors=parsed.errors,
        warnings=parsed.warnings,
        complete=True,
        state=SourceState(content_hash=digest),
    )
