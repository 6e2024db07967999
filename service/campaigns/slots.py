"""When posts may go out: the posting window, the spacing and daily cap per channel, unique texts per channel.

`ChannelLoad` holds what is already planned on each channel (times, posts per day, text keys); the
planner asks it where a post may go and tells it what it placed. It is plain data, so planning stays a
pure function of its inputs.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, insort
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..config import PlanningConfig

GRID = timedelta(minutes=5)  # candidate times are tried on this grid around the ideal time
TIED_SLACK = timedelta(minutes=30)  # how late a "live now" post may go when its minute is taken
# Two posts this close on one channel must not read the same. X refuses a duplicate of a recent post;
# the planner adds the date to a text that would repeat one, so a repeat could only come back after this.
TEXT_WINDOW = timedelta(days=35)
_DAY = 86_400


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """A cached ZoneInfo."""
    return ZoneInfo(name)


def at_local(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """The instant of a local wall-clock time; a time skipped by a DST change moves forward with it."""
    local = datetime.combine(day, clock, tzinfo=tz)
    # zoneinfo resolves a non-existent local time with the offset before the change; round-trip it so
    # the result is a real instant that reads as the wall-clock time after the change.
    return local.astimezone(ZoneInfo("UTC")).astimezone(tz)


@lru_cache(maxsize=65536)
def window_of(day: date, tz: ZoneInfo, cfg: PlanningConfig) -> tuple[datetime, datetime]:
    """The posting window [opens, closes] of one local day, as aware datetimes."""
    return at_local(day, cfg.window_start, tz), at_local(day, cfg.window_end, tz)


def in_window(when: datetime, tz: ZoneInfo, cfg: PlanningConfig) -> bool:
    """True when `when` lies inside the posting window of its local day."""
    local = when.astimezone(tz)
    opens, closes = window_of(local.date(), tz, cfg)
    return opens <= local <= closes


def into_window(
    when: datetime,
    tz: ZoneInfo,
    cfg: PlanningConfig,
    before: datetime | None = None,
    not_before: datetime | None = None,
) -> datetime | None:
    """The time nearest `when` inside a posting window, strictly before `before` and not before `not_before`."""
    local = when.astimezone(tz)
    opens, closes = window_of(local.date(), tz, cfg)
    if opens <= local <= closes and (before is None or when < before) and (not_before is None or when >= not_before):
        return when  # already inside: the common case
    latest = before - timedelta(minutes=1) if before is not None else None
    found: list[datetime] = []
    for shift in (0, -1, 1, -2, 2):
        opens, closes = window_of(local.date() + timedelta(days=shift), tz, cfg)
        lo = max(opens, not_before) if not_before is not None else opens
        hi = min(closes, latest) if latest is not None else closes
        if lo <= hi:
            found.append(min(max(local, lo), hi))
    if not found:
        return None
    # Nearest first; on a tie the earlier one (a countdown post is better early than late).
    best = min(found, key=lambda c: (abs((c - local).total_seconds()), c))
    return best.astimezone(when.tzinfo)


def ceil_to_grid(when: datetime) -> datetime:
    """`when` rounded up to the next grid minute (a catch-up or late post starts here)."""
    step = int(GRID.total_seconds())
    ts = int(when.timestamp())
    up = -(-ts // step) * step
    return datetime.fromtimestamp(up, tz=when.tzinfo)


class ChannelLoad:
    """Posts already planned per channel: their times (spacing), counts per day (cap) and text keys."""

    def __init__(self, cfg: PlanningConfig, cap_zone: str, link_prefix: str = ""):
        self.spacing = int(cfg.min_spacing_minutes * 60)
        self.daily_cap = cfg.daily_cap
        self.cap_zone = zone(cap_zone)
        self._times: dict[tuple[str, int], list[int]] = defaultdict(list)
        self._per_day: dict[tuple[str, date], int] = defaultdict(int)
        self._texts: dict[tuple[str, bytes], list[int]] = defaultdict(list)
        self._link_re = re.compile(re.escape(link_prefix) + r"[A-Za-z0-9]+") if link_prefix else None
        self._last: tuple[str, bytes] = ("", b"")
        self._days: dict[int, date] = {}

    # -- keys -------------------------------------------------------------------------------------

    def text_key(self, text: str) -> bytes:
        """What makes two texts "the same" to a network: tracked-link codes, case and spacing do not count."""
        if text == self._last[0]:
            return self._last[1]
        key = self._text_key(text)
        self._last = (text, key)
        return key

    def _text_key(self, text: str) -> bytes:
        if self._link_re is not None:
            text = self._link_re.sub("<link>", text)
        norm = " ".join(text.split()).casefold()
        return hashlib.blake2b(norm.encode(), digest_size=12).digest()

    def _cap_day(self, when: datetime) -> date:
        # Every zone's offset is a multiple of 15 minutes, so no local midnight falls inside a 15-minute
        # UTC bucket: the bucket's start tells the date of every instant in it.
        bucket = int(when.timestamp()) // 900
        day = self._days.get(bucket)
        if day is None:
            day = datetime.fromtimestamp(bucket * 900, self.cap_zone).date()
            self._days[bucket] = day
        return day

    # -- bookkeeping ------------------------------------------------------------------------------

    def add(
        self, channel: str, when: datetime, text: str | None, counts_for_cap: bool = True, key: bytes | None = None
    ) -> bytes | None:
        """Record a post on a channel; returns its text key (give it to remove())."""
        ts = int(when.timestamp())
        insort(self._times[(channel, ts // _DAY)], ts)
        if counts_for_cap:
            self._per_day[(channel, self._cap_day(when))] += 1
        if key is None and text:
            key = self.text_key(text)
        if key is not None:
            insort(self._texts[(channel, key)], ts)
        return key

    def remove(self, channel: str, when: datetime, key: bytes | None, counts_for_cap: bool = True) -> None:
        """Forget a post recorded with add() (its channel, time, text key and cap flag)."""
        ts = int(when.timestamp())
        bucket = self._times.get((channel, ts // _DAY))
        if bucket:
            i = bisect_left(bucket, ts)
            if i < len(bucket) and bucket[i] == ts:
                del bucket[i]
        if counts_for_cap:
            day = (channel, self._cap_day(when))
            if self._per_day.get(day):
                self._per_day[day] -= 1
        if key is not None:
            texts = self._texts.get((channel, key))
            if texts:
                i = bisect_left(texts, ts)
                if i < len(texts) and texts[i] == ts:
                    del texts[i]

    # -- questions --------------------------------------------------------------------------------

    def spaced(self, channel: str, when: datetime) -> bool:
        """True when no other post on the channel is closer than the minimum spacing."""
        if self.spacing <= 0:
            return True
        ts = int(when.timestamp())
        for day in {(ts - self.spacing) // _DAY, ts // _DAY, (ts + self.spacing) // _DAY}:
            bucket = self._times.get((channel, day))
            if not bucket:
                continue
            i = bisect_left(bucket, ts - self.spacing + 1)
            if i < len(bucket) and bucket[i] < ts + self.spacing:
                return False
        return True

    def day_full(self, channel: str, when: datetime) -> bool:
        """True when the channel already has its daily cap of posts on that day."""
        return self._per_day.get((channel, self._cap_day(when)), 0) >= self.daily_cap

    def text_taken(self, channel: str, text: str, when: datetime) -> bool:
        """True when a post on the channel within TEXT_WINDOW reads the same."""
        times = self._texts.get((channel, self.text_key(text)))
        if not times:
            return False
        ts = int(when.timestamp())
        span = int(TEXT_WINDOW.total_seconds())
        i = bisect_left(times, ts - span)
        return i < len(times) and times[i] <= ts + span


def candidates(ideal: datetime, lo: datetime, hi: datetime, forward_only: bool = False) -> Iterator[datetime]:
    """Times on the grid around `ideal` within [lo, hi), nearest first (the earlier one first on a tie)."""
    k = 0
    while True:
        fwd, back = ideal + k * GRID, ideal - k * GRID
        if fwd >= hi and (forward_only or back < lo):
            return
        if k and not forward_only and lo <= back < hi:
            yield back
        if lo <= fwd < hi:
            yield fwd
        k += 1
