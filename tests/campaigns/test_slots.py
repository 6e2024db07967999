"""Posting windows, spacing, daily caps and text keys."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.campaigns.slots import GRID, ChannelLoad, at_local, candidates, in_window, into_window
from service.config import PlanningConfig

CFG = PlanningConfig()
PHX = ZoneInfo("America/Phoenix")


def phx(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=PHX)


def test_into_window_picks_the_nearest_time_inside() -> None:
    assert into_window(phx(9, 10), PHX, CFG) == phx(9, 10)
    assert into_window(phx(9, 6), PHX, CFG) == phx(9, 8)  # 2 h to 8 AM, 10 h to 8 PM the day before
    assert into_window(phx(9, 21), PHX, CFG) == phx(9, 20)
    assert into_window(phx(9, 2), PHX, CFG) == phx(8, 20)  # a tie (6 h each way): the earlier one
    # Never at or after `before` (a countdown post goes out before its event).
    assert into_window(phx(9, 6), PHX, CFG, before=phx(9, 7)) == phx(8, 20)
    assert into_window(phx(9, 6), PHX, CFG, not_before=phx(9, 9)) == phx(9, 9)
    assert in_window(phx(9, 8), PHX, CFG) and in_window(phx(9, 20), PHX, CFG) and not in_window(phx(9, 20, 1), PHX, CFG)


def test_window_on_dst_days() -> None:
    london = ZoneInfo("Europe/London")
    cfg = PlanningConfig(window_start=time(1, 30), window_end=time(20, 0))
    # 1:30 AM does not exist on Mar 29 2026 in London: the window opens at 2:30 BST, an hour later in real time.
    opens = at_local(datetime(2026, 3, 29).date(), cfg.window_start, london)
    assert opens.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert opens.strftime("%H:%M %Z") == "02:30 BST"
    lord_howe = ZoneInfo("Australia/Lord_Howe")  # a 30-minute DST shift
    when = datetime(2026, 4, 4, 23, 0, tzinfo=lord_howe)
    assert into_window(when, lord_howe, CFG) == datetime(2026, 4, 4, 20, 0, tzinfo=lord_howe)


def test_candidates_are_nearest_first_earlier_on_ties_and_bounded() -> None:
    ideal = phx(9, 10)
    got = list(candidates(ideal, phx(9, 9, 50), phx(9, 10, 11)))
    assert got == [phx(9, 10), phx(9, 9, 55), phx(9, 10, 5), phx(9, 9, 50), phx(9, 10, 10)]
    assert list(candidates(ideal, ideal, ideal + 3 * GRID, forward_only=True)) == [
        ideal,
        ideal + GRID,
        ideal + 2 * GRID,
    ]


def test_spacing_and_daily_cap_per_channel() -> None:
    load = ChannelLoad(PlanningConfig(min_spacing_minutes=15, daily_cap=2), "America/Phoenix")
    load.add("x", phx(9, 10), "a")
    assert not load.spaced("x", phx(9, 10, 14)) and not load.spaced("x", phx(9, 9, 46))
    assert load.spaced("x", phx(9, 10, 15)) and load.spaced("x", phx(9, 9, 45)) and load.spaced("masto", phx(9, 10))
    assert not load.day_full("x", phx(9, 12))
    load.add("x", phx(9, 15), "b")
    assert load.day_full("x", phx(9, 19)) and not load.day_full("x", phx(10, 0, 1))
    load.remove("x", phx(9, 15), load.text_key("b"))
    assert not load.day_full("x", phx(9, 19)) and load.spaced("x", phx(9, 15))
    # Spacing across midnight (UTC day buckets).
    load.add("x", datetime(2026, 12, 10, 0, 5, tzinfo=UTC), "c")
    assert not load.spaced("x", datetime(2026, 12, 9, 23, 55, tzinfo=UTC))


def test_the_cap_counts_days_in_the_configured_zone() -> None:
    load = ChannelLoad(PlanningConfig(daily_cap=1), "Pacific/Chatham")  # UTC+13:45 in December
    late = datetime(2026, 12, 9, 10, 14, tzinfo=UTC)  # 23:59 Dec 9 in Chatham
    load.add("x", late, None)
    assert load.day_full("x", late - timedelta(hours=5))
    assert not load.day_full("x", late + timedelta(minutes=1))  # 00:00 Dec 10 in Chatham


def test_text_keys_ignore_link_codes_case_and_spacing() -> None:
    load = ChannelLoad(CFG, "America/Phoenix", "https://go.example.org/r/")
    a = "Join us Tuesday!\nhttps://go.example.org/r/AAAAAAAAAA #MPN"
    b = "join us  tuesday! https://go.example.org/r/BBBBBBBBBB #MPN"
    assert load.text_key(a) == load.text_key(b)
    assert load.text_key(a) != load.text_key(a.replace("Tuesday", "Monday"))
    load.add("x", phx(1, 10), a)
    assert load.text_taken("x", b, phx(20, 10)) and not load.text_taken("masto", b, phx(20, 10))
    assert not load.text_taken("x", b, phx(1, 10) + timedelta(days=40))
