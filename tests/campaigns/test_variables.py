"""The variables of a step text: local times with the zone's abbreviation, the countdown, location."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.campaigns.variables import VARIABLES, countdown, day_phrase, names_old_time, variables
from tests.campaigns.conftest import event

START = datetime(2026, 12, 10, 0, 30, tzinfo=UTC)  # Wed Dec 9, 5:30 PM MST


def test_event_values_in_the_event_zone() -> None:
    v = variables(event(START), START - timedelta(days=7), "https://go.example.org/r/x", "x", "One week out")
    assert v["start"] == "Wed, Dec 9, 5:30 PM MST" and v["end"] == "Wed, Dec 9, 6:30 PM MST"
    assert (v["date"], v["long_date"], v["weekday"], v["time"], v["zone"]) == (
        "Wed, Dec 9", "Wednesday, December 9", "Wednesday", "5:30 PM MST", "MST",
    )  # fmt: skip
    assert (v["location"], v["online"], v["speaker"], v["hashtags"]) == (
        "Online (Zoom)", True, "Dr. Elena Marquez", "#MPN",
    )  # fmt: skip
    assert (v["rsvp_link"], v["link"], v["has_rsvp"], v["step"], v["network"]) == (
        "https://go.example.org/r/x", "https://go.example.org/r/x", True, "One week out", "x",
    )  # fmt: skip
    assert set(v) == set(VARIABLES)


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        ("America/New_York", datetime(2026, 3, 8, 18, 0, tzinfo=UTC), "Sun, Mar 8, 2 PM EDT"),
        ("America/New_York", datetime(2026, 3, 7, 18, 0, tzinfo=UTC), "Sat, Mar 7, 1 PM EST"),
        ("Europe/London", datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "Sun, Oct 25, 1:30 AM BST"),
        ("Europe/London", datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "Sun, Oct 25, 1:30 AM GMT"),
        ("Australia/Lord_Howe", datetime(2026, 1, 10, 8, 0, tzinfo=UTC), "Sat, Jan 10, 7 PM +11"),
        ("Pacific/Chatham", datetime(2026, 1, 10, 6, 0, tzinfo=UTC), "Sat, Jan 10, 7:45 PM +1345"),
    ],
)
def test_zone_abbreviations_across_dst(zone: str, start: datetime, expected: str) -> None:
    assert variables(event(start, zone=zone), start, None, "x")["start"] == expected


def test_location_or_online_and_no_link() -> None:
    v = variables(event(START, location="", rsvp_url=None), START, None, "x")
    assert v["location"] == "online" and v["online"] and v["rsvp_link"] == "" and not v["has_rsvp"]
    v = variables(event(START, location="Desert Vista Cancer Center, Room 210"), START, None, "x")
    assert v["location"] == "Desert Vista Cancer Center, Room 210" and not v["online"]


def test_calendar_text_is_capped() -> None:
    v = variables(event(START, title="T" * 5000, description="D" * 50000), START, None, "x")
    assert len(v["title"]) == 300 and v["title"].endswith("…") and len(v["description"]) == 2000


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (timedelta(days=14), "in two weeks"),
        (timedelta(days=7), "in one week"),
        (timedelta(days=3), "in 3 days"),
        (timedelta(days=1), "tomorrow"),
        (timedelta(hours=2), "starts in 2 hours"),
        (timedelta(hours=1), "starts in 1 hour"),
        (timedelta(minutes=45), "starts in 45 minutes"),
        (timedelta(seconds=30), "starting now"),
        (timedelta(0), "starting now"),
        (-timedelta(minutes=20), "happening now"),
        (-timedelta(hours=3), "earlier today"),
        (-timedelta(days=1), "yesterday"),
        (-timedelta(days=4), "4 days ago"),
    ],
)
def test_countdown_from_the_posts_own_time(before: timedelta, expected: str) -> None:
    assert countdown(START, START - before, "America/Phoenix", START + timedelta(hours=1)) == expected


def test_countdown_counts_calendar_days_in_the_event_zone() -> None:
    # 11 PM the evening before a 1 AM event is "starts in 2 hours"; 9 AM the day before a 1 AM event is "tomorrow".
    one_am = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)  # 1 AM MST
    assert countdown(one_am, one_am - timedelta(hours=2), "America/Phoenix") == "tomorrow"
    assert countdown(one_am, one_am - timedelta(minutes=50), "America/Phoenix") == "starts in 50 minutes"
    assert day_phrase(one_am, one_am - timedelta(days=3), "America/Phoenix") == "this Thursday"
    assert day_phrase(one_am, one_am - timedelta(days=9), "America/Phoenix") == "on Thu, Dec 10"


def test_names_old_time_finds_stale_dates_and_times_only() -> None:
    old = START
    new = START + timedelta(days=1)  # Thu Dec 10, same clock time
    text = "Join us Wednesday, Dec 9 at 5:30 PM!"
    assert names_old_time(text, old, new, "America/Phoenix", False) in ("Wednesday", "Dec 9")
    assert names_old_time("Join us at 5:30 PM!", old, new, "America/Phoenix", False) is None
    moved_time = START + timedelta(hours=1)
    assert names_old_time("Join us at 5:30pm", old, moved_time, "America/Phoenix", False) == "5:30pm"
    assert names_old_time("Doors 5:30 PM", old, moved_time, "America/Phoenix", False) == "5:30 PM"
    assert names_old_time("Room 15:30", old, moved_time, "America/Phoenix", False) is None
