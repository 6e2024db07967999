"""The local calendar day of a stored instant, computed inside the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal_column
from sqlalchemy.sql.elements import ColumnElement

_ZONE_KEY = re.compile(r"^[A-Za-z0-9_+\-/]+$")
_FIRST_YEAR = 2020
_SAMPLE = timedelta(hours=6)  # zones never change their offset twice within six hours


def _offset_minutes(zone: ZoneInfo, at: datetime) -> int:
    offset = at.astimezone(zone).utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0


@functools.lru_cache(maxsize=64)
def offset_spans(zone_key: str, last_year: int) -> tuple[tuple[datetime, ...], tuple[int, ...]]:
    """The zone's UTC offsets (minutes) from 2020 to `last_year`: offsets[i] holds from bounds[i-1] to bounds[i]."""
    zone = ZoneInfo(zone_key)
    t = datetime(_FIRST_YEAR, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    bounds: list[datetime] = []
    offsets = [_offset_minutes(zone, t)]
    while t < end:
        nxt = t + _SAMPLE
        if _offset_minutes(zone, nxt) != offsets[-1]:
            lo, hi = int(t.timestamp()), int(nxt.timestamp())  # the change lies in (lo, hi]: find its second
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_minutes(zone, datetime.fromtimestamp(mid, UTC)) == offsets[-1]:
                    lo = mid
                else:
                    hi = mid
            bounds.append(datetime.fromtimestamp(hi, UTC))
            offsets.append(_offset_minutes(zone, nxt))
        t = nxt
    return tuple(bounds), tuple(offsets)


def _sqlite_instant(at: datetime) -> Any:
    # The text form SQLAlchemy stores on SQLite (UTCDateTime keeps UTC without an offset).
    return literal_column("'" + at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "'")


def _modifier(minutes: int) -> Any:
    return literal_column(f"'{minutes:+d} minutes'")


def _tree(column: Any, bounds: tuple[datetime, ...], offsets: tuple[int, ...], lo: int, hi: int) -> Any:
    """A balanced CASE over the offset spans lo..hi: a handful of comparisons per row, whatever the years."""
    if lo == hi:
        return _modifier(offsets[lo])
    mid = (lo + hi + 1) // 2
    return case(
        (column < _sqlite_instant(bounds[mid - 1]), _tree(column, bounds, offsets, lo, mid - 1)),
        else_=_tree(column, bounds, offsets, mid, hi),
    )


def local_day(dialect: str, column: Any, zone_key: str) -> ColumnElement[Any]:
    """SQL for the calendar day (in `zone_key`) of a UTC timestamp column; no bound parameters, so it can be
    grouped by. PostgreSQL converts with its own zone data; SQLite adds the zone's offset of the time."""
    if not _ZONE_KEY.match(zone_key):
        raise ValueError(f"not a time zone name: {zone_key!r}")
    ZoneInfo(zone_key)  # raises for an unknown zone
    if dialect == "postgresql":
        return func.date(func.timezone(literal_column(f"'{zone_key}'"), column))
    bounds, offsets = offset_spans(zone_key, datetime.now(UTC).year + 2)
    return func.date(column, _tree(column, bounds, offsets, 0, len(offsets) - 1))
