"""Time zones of calendar data: any TZID (IANA, Windows, vendor-prefixed, a custom VTIMEZONE) to an IANA name,
and local times to UTC by RFC 5545's rules (a time in a DST gap uses the offset before the gap; a repeated
time means its first occurrence)."""

from __future__ import annotations

import contextlib
import re
import zoneinfo
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import cache
from typing import Any

from icalendar.timezone.tzid import tzids_from_tzinfo

# CLDR's windowsZones.xml, as icalendar ships it (icalendar itself uses it to read Windows TZIDs).
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "Z", "GMT", "Etc/GMT"})
_WINDOWS_LOWER = {k.lower(): v for k, v in WINDOWS_TO_OLSON.items()}


# Files in the zone folders that are no place's time: the host's own setting, tzdata's placeholder.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@cache
def available() -> frozenset[str]:
    """Every IANA zone name tzdata knows (not files like `localtime` that happen to lie in the zone folder)."""
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


@cache
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The ZoneInfo of an IANA name (cached)."""
    return zoneinfo.ZoneInfo(name)


@cache
def iana_name(tzid: str) -> str | None:
    """The IANA name a TZID means, or None.

    Tried in order: the name itself; a Windows name (CLDR's mapping, as in icalendar); a "globally
    unique" vendor-prefixed TZID such as `/mozilla.org/20050126_1/America/New_York` (longest suffix first).
    """
    cleaned = tzid.strip().strip('"').strip().strip("/")
    if not cleaned:
        return None
    if cleaned in UTC_NAMES:
        return "UTC"
    names = available()
    if cleaned in names:
        return cleaned
    windows = WINDOWS_TO_OLSON.get(cleaned) or _WINDOWS_LOWER.get(cleaned.lower())
    if windows and windows in names:
        return "UTC" if windows in UTC_NAMES else windows
    parts = cleaned.split("/")
    for i in range(1, len(parts)):
        suffix = "/".join(parts[i:])
        if suffix in names:
            return suffix
    return None


def is_utc(tz: tzinfo | None) -> bool:
    """True for UTC in any of its spellings (zoneinfo, datetime.UTC, dateutil)."""
    if tz is None:
        return False
    if tz is UTC:
        return True
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return key in UTC_NAMES
    now = datetime(2026, 1, 1)
    return tz.utcoffset(now) == timedelta(0) and tz.utcoffset(now.replace(month=7)) == timedelta(0) and not tz.dst(now)


def localize(naive: datetime, zone_name: str) -> datetime:
    """A wall time in an IANA zone as aware UTC; zoneinfo's fold=0 is exactly RFC 5545's rule for gaps and overlaps."""
    return naive.replace(tzinfo=zone(zone_name), fold=0).astimezone(UTC)


def rfc_instant(naive: datetime, tz: tzinfo) -> datetime:
    """A wall time in any tzinfo (a custom VTIMEZONE) as aware UTC, by RFC 5545's rule for a DST gap."""
    aware = naive.replace(tzinfo=tz, fold=0)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == naive:
        return utc
    # The wall time does not exist (spring forward): read it with the offset in force before the gap.
    before = (naive - timedelta(hours=6)).replace(tzinfo=tz).utcoffset() or timedelta(0)
    return (naive - before).replace(tzinfo=UTC)


class ZoneResolver:
    """Decides, once per time zone object met in one calendar, which IANA zone it is.

    `vtimezones` maps the calendar's TZIDs to their VTIMEZONE components (for X-LIC-LOCATION).
    """

    def __init__(self, fallback: str, vtimezones: dict[str, Any] | None = None):
        self.fallback = fallback
        self.vtimezones = vtimezones or {}
        self._named: dict[Any, tuple[str | None, str | None]] = {}
        self._matched: dict[tuple[Any, int, str], str | None] = {}

    def name_of(self, tz: tzinfo) -> tuple[str | None, str | None]:
        """(IANA name when the TZID says which zone it is, else None; the TZID as written)."""
        try:
            return self._named[tz]
        except (KeyError, TypeError):
            pass
        key = getattr(tz, "key", None)
        if isinstance(key, str) and key in available():
            found: tuple[str | None, str | None] = ("UTC" if key in UTC_NAMES else key, key)
        else:
            ids = tzids_from_tzinfo(tz)
            tzid = ids[0] if ids else None
            name = iana_name(tzid) if tzid else None
            if name is None and tzid:
                name = self._lic_location(tzid)
            found = (name, tzid)
        with contextlib.suppress(TypeError):  # an unhashable tzinfo is simply not remembered
            self._named[tz] = found
        return found

    def _lic_location(self, tzid: str) -> str | None:
        vtz = self.vtimezones.get(tzid) or self.vtimezones.get(tzid.strip("/"))
        if vtz is None:
            return None
        loc = str(vtz.get("X-LIC-LOCATION", "") or "").strip()
        return iana_name(loc) if loc else None

    def resolve(self, value: datetime, cal_zone: str) -> tuple[datetime, str, str | None]:
        """(UTC instant, IANA zone for display, a warning or None) of an aware or floating date-time."""
        naive = value.replace(tzinfo=None)
        tz = value.tzinfo
        if tz is None:  # floating: the calendar's zone
            return localize(naive, cal_zone), cal_zone, None
        if is_utc(tz):  # exporters write UTC; people expect the calendar's zone on the page
            return value.astimezone(UTC), cal_zone, None
        name, tzid = self.name_of(tz)
        if name is not None:
            return localize(naive, name), name, None
        # A custom VTIMEZONE with a name we cannot place (Outlook's "(UTC-08:00) Pacific Time (US & Canada)"):
        # its own rules decide the instant; the display zone is one whose offsets match it.
        key = (tz, naive.year, cal_zone)
        if key not in self._matched:
            self._matched[key] = matching_zone(tz, naive.year, cal_zone, tzid or "")
        shown = self._matched[key]
        note = None
        if shown is None:
            shown = cal_zone
            note = f"time zone {tzid!r} matches no known zone: shown in {cal_zone}"
        return rfc_instant(naive, tz), shown, note


# When several zones fit a custom VTIMEZONE equally, the widely used one is the better guess to show people.
_COMMON = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Toronto",
    "America/Mexico_City",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Athens",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
)
_WORD = re.compile(r"[a-z]+")


@cache
def _candidates(preferred: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The zones worth offering for a custom VTIMEZONE, each with the words that describe it.

    CLDR's representative zone of every Windows zone, described by its Windows name and its city, so that
    "(UTC-05:00) Eastern Time (US & Canada)" finds "Eastern Standard Time" and "... Berlin, Rome ..." Berlin.
    """
    words: dict[str, set[str]] = {}
    for windows, olson in WINDOWS_TO_OLSON.items():
        if olson in available():
            words.setdefault(olson, set()).update(_WORD.findall(windows.lower()))
    for name in words:
        words[name].update(_WORD.findall(name.rsplit("/", 1)[-1].lower().replace("_", " ")))
    order = [preferred, *[z for z in _COMMON if z != preferred], *sorted(set(words) - {preferred, *_COMMON})]
    return tuple((z, frozenset(words.get(z, ()))) for z in order if z in available())


_NOISE = frozenset({"standard", "time", "utc", "gmt", "daylight", "zone", "summer", "winter", "us"})


def matching_zone(tz: tzinfo, year: int, preferred: str, tzid: str = "") -> str | None:
    """An IANA zone with the same UTC offsets as `tz` through `year` (twice a month).

    Among several, the one whose name shares words with the TZID wins; then `preferred`; then widely used ones.
    """
    samples = [datetime(year, month, day, 12) for month in range(1, 13) for day in (1, 15)]
    try:
        wanted = [rfc_instant(s, tz) for s in samples]
    except (ValueError, OverflowError):
        return None
    hints = frozenset(_WORD.findall(tzid.lower())) - _NOISE
    best: tuple[int, int, str] | None = None
    for rank, (name, words) in enumerate(_candidates(preferred)):
        z = zone(name)
        if not all(s.replace(tzinfo=z).astimezone(UTC) == w for s, w in zip(samples, wanted, strict=True)):
            continue
        score = len(hints & words)
        if best is None or (-score, rank) < (-best[0], best[1]):
            best = (score, rank, name)
    return best[2] if best else None


def all_day_start(day: date, hour: Any, zone_name: str) -> datetime:
    """An all-day event's start: the day at the configured local hour, in UTC."""
    return localize(datetime.combine(day, hour), zone_name)


def all_day_end(day: date, zone_name: str) -> datetime:
    """An all-day event's end: local midnight starting its (exclusive) end day, in UTC."""
    return localize(datetime.combine(day, datetime.min.time()), zone_name)
