"""Reading real-world exports: identities, recurrences, time zones, all-day events, quirks, broken input."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from service.calendars.ics import IcsParser, recurrence_key
from service.errors import ParseError
from tests.calendars.conftest import CALENDARS, by_title, local, parse

FIXTURES = sorted(p.name for p in CALENDARS.glob("*.ics") if not p.name.startswith("broken"))


@pytest.mark.parametrize("name", FIXTURES)
def test_every_export_reads_without_duplicates_and_with_aware_utc_times(name: str) -> None:
    parsed = parse(name)
    assert parsed.events and parsed.errors == []
    keys = Counter((e.uid, e.recurrence_id) for e in parsed.events)
    assert max(keys.values()) == 1, keys.most_common(3)
    for e in parsed.events:
        assert e.start.tzinfo is UTC and e.end.tzinfo is UTC
        assert e.end >= e.start
        assert e.uid and len(e.uid) <= 500
        assert e.status in ("confirmed", "tentative", "cancelled")


def test_google_export() -> None:
    events = parse("google-calendar.ics").events
    single = by_title(events, "Breast Cancer 101")[0]
    # Google writes single events in UTC; X-WR-TIMEZONE says which zone people think in.
    assert local(single) == "2026-12-10T18:30:00-05:00" and single.timezone == "America/New_York"
    assert single.recurrence_id == ""

    series = by_title(events, "Lunch & Learn")
    days = [local(e)[:10] for e in series]
    assert "2026-12-24" not in days  # EXDATE
    assert len(series) == 16  # Thursdays Dec 3 to Mar 25, less Dec 24
    moved = [e for e in series if e.recurrence_id == "20261231T170000Z"]
    assert len(moved) == 1 and local(moved[0]) == "2027-01-02T10:00:00-05:00"
    assert moved[0].title.endswith("(Saturday edition)")
    cancelled = [e for e in series if e.status == "cancelled"]
    assert [c.recurrence_id for c in cancelled] == ["20270114T170000Z"]
    # Across the DST change the series keeps its wall time; the UTC key moves with it.
    after = next(e for e in series if local(e).startswith("2027-03-25"))
    assert local(after) == "2027-03-25T12:00:00-04:00" and after.recurrence_id == "20270325T160000Z"

    retreat = by_title(events, "Cancer Survivors Weekend Retreat")[0]
    assert retreat.all_day and local(retreat) == "2027-02-05T09:00:00-05:00"
    assert local(retreat, "end") == "2027-02-07T00:00:00-05:00"

    relay = by_title(events, "Overnight Relay")[0]  # 20:00 EST to 08:00 EDT: eleven hours, not twelve
    assert relay.end - relay.start == timedelta(hours=11)
    assert local(relay, "end") == "2027-03-14T08:00:00-04:00"

    trials = by_title(events, "Clinical Trials")[0]
    assert local(trials) == "2027-01-20T10:00:00-08:00" and trials.timezone == "America/Los_Angeles"


def test_outlook_office365_export() -> None:
    events = parse("outlook-office365.ics").events
    nav = by_title(events, "Navigating Your Cancer Care")
    # Windows zone names become IANA zones (CLDR's mapping); the EXDATE in UTC removes Feb 3.
    assert [local(e) for e in nav] == [
        "2026-12-02T16:00:00-08:00",
        "2027-01-07T09:00:00-08:00",
        "2027-03-03T16:00:00-08:00",
    ]
    assert {e.timezone for e in nav} == {"America/Los_Angeles"}
    assert nav[1].recurrence_id == "20270107T000000Z"  # the Jan 6 occurrence, moved to Thursday morning
    forum = by_title(events, "International Myeloma")[0]
    assert forum.timezone == "Europe/Berlin" and local(forum) == "2027-01-20T18:00:00+01:00"
    assert "Save your seat" in forum.description and "<A HREF" in forum.description  # X-ALT-DESC, as HTML
    cancelled = by_title(events, "Canceled: Lung Cancer")[0]
    assert cancelled.status == "cancelled"
    day = by_title(events, "Colorectal Cancer Awareness Day")[0]
    assert day.all_day and local(day) == "2027-03-04T09:00:00-07:00"  # no calendar zone: the configured one


def test_outlook_desktop_display_names_and_private_events() -> None:
    parsed = parse("outlook-desktop.ics")
    coffee = by_title(parsed.events, "Survivors' Coffee Hour")[0]
    # "(UTC-07:00) Arizona" is no zone name anyone maps; its VTIMEZONE has Phoenix's offsets.
    assert coffee.timezone == "America/Phoenix" and local(coffee) == "2026-12-09T09:30:00-07:00"
    qa = by_title(parsed.events, "Survivorship Q&A")[0]
    assert qa.timezone == "America/New_York" and local(qa) == "2027-03-18T13:00:00-04:00"
    assert not by_title(parsed.events, "Appointment")  # CLASS:PRIVATE is never promoted
    assert any("private" in w for w in parsed.warnings)


def test_apple_calendar_export() -> None:
    events = parse("apple-calendar.ics").events
    chemo = by_title(events, "Chemo Class")
    assert [local(e) for e in chemo] == [
        "2026-12-05T10:00:00-06:00",
        "2026-12-19T10:00:00-06:00",
        "2027-01-09T10:00:00-06:00",
    ]  # DTSTART plus an RDATE list that repeats it
    assert all(e.end - e.start == timedelta(minutes=90) for e in chemo)
    assert chemo[0].url == "https://example.org/classes/chemo-101"
    webinar = by_title(events, "Webinar with the Charité")[0]  # DURATION instead of DTEND
    assert webinar.end - webinar.start == timedelta(minutes=90) and webinar.timezone == "Europe/Berlin"
    mammo = by_title(events, "Free Mammogram Day")[0]
    assert mammo.all_day and mammo.timezone == "America/Chicago"


def test_thunderbird_export() -> None:
    events = parse("thunderbird.ics").events
    circle = by_title(events, "Head and Neck Cancer Support Circle")
    assert len(circle) == 9  # COUNT=10 minus the EXDATE
    assert {e.timezone for e in circle} == {"America/New_York"}  # TZID with the /mozilla.org/... prefix
    assert {e.status for e in circle} == {"tentative"}
    assert "Meeting link sent after registration." in circle[0].description  # folded line joined
    floating = by_title(events, "Meditation for Patients")[0]
    assert floating.timezone == "America/Phoenix" and local(floating) == "2026-12-14T17:00:00-07:00"
    no_end = by_title(events, "Volunteer Orientation")[0]
    assert no_end.end == no_end.start
    assert by_title(events, "Pancreatic Cancer Family Night")[0].status == "cancelled"


def test_hand_edited_quirks() -> None:
    events = parse("quirks-hand-edited.ics").events  # BOM, LF line ends, lower-case names
    windows = by_title(events, "Windows zone name")[0]
    assert windows.timezone == "America/New_York" and local(windows) == "2026-12-08T14:00:00-05:00"
    unknown = by_title(events, "Unknown zone")[0]
    assert unknown.timezone == "America/Phoenix" and local(unknown) == "2026-12-09T10:00:00-07:00"
    assert unknown.warnings == ("unknown time zone 'Headquarters Time': read in America/Phoenix",)
    no_uid = by_title(events, "Event without a UID")[0]
    assert no_uid.uid.startswith("no-uid-") and "no UID" in no_uid.warnings[0]
    assert no_uid.uid == by_title(parse("quirks-hand-edited.ics").events, "Event without a UID")[0].uid
    gap = by_title(events, "Starts in the spring-forward gap")[0]
    # RFC 5545: a local time in the gap is read with the offset before it (02:30 EST = 03:30 EDT).
    assert local(gap) == "2027-03-14T03:30:00-04:00"
    cafe = by_title(events, "Café Conversations")
    assert cafe[0].title == "Café Conversations: Talking About Cancer With Your Children \u2013 Résumé"
    assert [local(e)[:10] for e in cafe] == ["2026-12-11", "2026-12-18"]  # RDATE;VALUE=PERIOD
    assert cafe[1].end - cafe[1].start == timedelta(hours=2)
    unfolded = by_title(events, "A description whose second line")[0]
    assert "could not be read" in unfolded.warnings[0]
    weekly = by_title(events, "Weekly with an EXDATE")
    assert [local(e)[:10] for e in weekly] == ["2026-12-01", "2026-12-15", "2026-12-22"]


def test_dst_overlap_means_the_first_occurrence() -> None:
    ics = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
BEGIN:VEVENT\r
UID:overlap@example.org\r
DTSTART;TZID=America/New_York:20271107T013000\r
DTEND;TZID=America/New_York:20271107T023000\r
SUMMARY:Starts in the repeated hour\r
END:VEVENT\r
END:VCALENDAR\r
"""
    event = parse(ics, now=datetime(2027, 11, 1, tzinfo=UTC)).events[0]
    assert event.start == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)  # 01:30 EDT, the first 01:30
    assert local(event) == "2027-11-07T01:30:00-04:00"
    assert event.end - event.start == timedelta(hours=2)  # 02:30 EST is two hours later


def test_custom_vtimezone_gap_follows_rfc_too() -> None:
    ics = (CALENDARS / "outlook-desktop.ics").read_bytes().replace(b"20270318T130000", b"20270314T023000")
    qa = by_title(parse(ics).events, "Survivorship Q&A")[0]
    # "Customized Time Zone" has US Eastern rules: 02:30 on the spring-forward day is 03:30 EDT.
    assert qa.start == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


def test_recurrence_keys() -> None:
    assert recurrence_key(datetime(2026, 12, 22, 18, tzinfo=UTC)) == "20261222T180000Z"
    assert recurrence_key(datetime(2026, 12, 22, 18)) == "20261222T180000"  # floating stays floating
    assert recurrence_key(datetime(2026, 12, 22).date()) == "20261222"


def test_moved_occurrence_outside_the_window_is_still_listed() -> None:
    # The Dec 31 occurrence moved far away (beyond the horizon): it is the same event, moved, not removed.
    ics = (CALENDARS / "google-calendar.ics").read_bytes()
    ics = ics.replace(
        b"DTSTART;TZID=America/New_York:20270102T100000", b"DTSTART;TZID=America/New_York:20270902T100000"
    )
    ics = ics.replace(b"DTEND;TZID=America/New_York:20270102T110000", b"DTEND;TZID=America/New_York:20270902T110000")
    moved = [e for e in parse(ics).events if e.recurrence_id == "20261231T170000Z"]
    assert len(moved) == 1 and local(moved[0]) == "2027-09-02T10:00:00-04:00"


def test_one_bad_event_and_one_bad_series_are_skipped_with_their_uid() -> None:
    parsed = parse("broken-events.ics")
    assert sorted(e.title for e in parsed.events) == ["Good event one", "Good event two"]
    errors = dict(parsed.errors)
    assert set(errors) == {"bad-date@example.org", "bad-rule@example.org"}
    assert "DTSTART" in errors["bad-date@example.org"] and "RRULE" in errors["bad-rule@example.org"]


def test_a_series_that_fails_during_expansion_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    # recurring-ical-events can raise while expanding (PITFALLS: even KeyError); only that series is lost.
    from recurring_ical_events.series import rrule

    original = rrule.Series.between

    def between(self, start, stop):  # type: ignore[no-untyped-def]
        if self.uid == "7b3c1d2e4f5a6b7c8d9e0f1a2b@google.com":
            raise KeyError("TZID")
        return original(self, start, stop)

    monkeypatch.setattr(rrule.Series, "between", between)
    parsed = parse("google-calendar.ics")
    assert not by_title(parsed.events, "Lunch & Learn") and by_title(parsed.events, "Breast Cancer 101")
    assert parsed.errors == [
        ("7b3c1d2e4f5a6b7c8d9e0f1a2b@google.com", "skipped: cannot expand its recurrences: missing 'TZID'")
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("broken-syntax.ics", "test-calendar: not a valid iCalendar file (line 9): Content line could not be parsed"),
        (
            "broken-truncated.ics",
            "test-calendar: the calendar is cut short: BEGIN:VCALENDAR (line 1) has no END:VCALENDAR",
        ),
        ("not-a-calendar.html", "test-calendar: not an iCalendar file (line 1 is '<!DOCTYPE html>')"),
    ],
)
def test_a_malformed_file_fails_with_one_line_naming_it(name: str, message: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(name)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_empty_and_non_gregorian_calendars_are_refused() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse(b"\r\n")
    with pytest.raises(ParseError, match="Gregorian"):
        parse(b"BEGIN:VCALENDAR\r\nCALSCALE:HEBREW\r\nEND:VCALENDAR\r\n")


def test_unknown_x_wr_timezone_is_a_warning_not_a_failure() -> None:
    ics = (
        (CALENDARS / "google-calendar.ics")
        .read_bytes()
        .replace(b"X-WR-TIMEZONE:America/New_York", b"X-WR-TIMEZONE:Mars/Olympus_Mons")
    )
    parsed = parse(ics)
    assert parsed.events and any("X-WR-TIMEZONE 'Mars/Olympus_Mons'" in w for w in parsed.warnings)


def test_windows_x_wr_timezone_is_mapped() -> None:
    ics = (
        (CALENDARS / "thunderbird.ics")
        .read_bytes()
        .replace(b"VERSION:2.0", b"VERSION:2.0\r\nX-WR-TIMEZONE:Mountain Standard Time", 1)
    )
    floating = by_title(parse(ics).events, "Meditation")[0]
    assert floating.timezone == "America/Denver" and local(floating) == "2026-12-14T17:00:00-07:00"


def test_non_utf8_calendar_is_read_as_windows_1252() -> None:
    ics = (CALENDARS / "outlook-desktop.ics").read_bytes().replace("Café".encode(), "Café".encode("cp1252"))
    parsed = parse(ics)
    assert by_title(parsed.events, "Survivors")[0].location == "Desert Bloom Café"
    assert any("not UTF-8" in w for w in parsed.warnings)


def test_untrusted_text_is_cleaned_and_uids_fit_the_column() -> None:
    long_uid = "x" * 900
    ics = f"""BEGIN:VCALENDAR\r
VERSION:2.0\r
BEGIN:VEVENT\r
UID:{long_uid}\r
DTSTART:20261205T170000Z\r
SUMMARY:Title with a NUL\x00 and\\na line break\r
DESCRIPTION:Bell\x07 and NUL\x00 removed\r
END:VEVENT\r
END:VCALENDAR\r
""".encode()
    event = parse(ics).events[0]
    assert event.title == "Title with a NUL and a line break"
    assert event.description == "Bell and NUL removed"
    assert len(event.uid) == 500 and event.uid.startswith("x" * 400)
    assert parse(ics).events[0].uid == event.uid  # stable


def test_parser_keeps_the_campaign_preview_api() -> None:
    parser = IcsParser("preview", "America/Phoenix", datetime(2026, 1, 1, 9).time())
    events, errors = parser.parse(
        (CALENDARS / "broken-events.ics").read_bytes(),
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert len(events) == 2 and len(errors) == 2


def test_fingerprint_changes_with_the_settings_that_change_meaning() -> None:
    data = (CALENDARS / "thunderbird.ics").read_bytes()
    a = IcsParser("a", "America/Phoenix", datetime(2026, 1, 1, 9).time()).fingerprint(data)
    assert a == IcsParser("b", "America/Phoenix", datetime(2026, 1, 1, 9).time()).fingerprint(data)
    assert a != IcsParser("a", "Europe/Berlin", datetime(2026, 1, 1, 9).time()).fingerprint(data)
    assert a != IcsParser("a", "America/Phoenix", datetime(2026, 1, 1, 10).time()).fingerprint(data)


def test_a_runaway_rule_is_refused_not_expanded() -> None:
    ics = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
BEGIN:VEVENT\r
UID:every-second@example.org\r
DTSTART:20261201T000000Z\r
RRULE:FREQ=SECONDLY\r
SUMMARY:Flood\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:fine@example.org\r
DTSTART:20261202T170000Z\r
SUMMARY:Fine\r
END:VEVENT\r
END:VCALENDAR\r
"""
    parsed = parse(ics)
    assert [e.title for e in parsed.events] == ["Fine"]
    assert parsed.errors == [
        ("every-second@example.org", "skipped: its rule (FREQ=SECONDLY) repeats more than 5000 times in the window")
    ]


def test_a_reused_uid_is_named_in_a_warning() -> None:
    ics = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
BEGIN:VEVENT\r
UID:same@example.org\r
DTSTART:20261202T170000Z\r
SUMMARY:First\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:same@example.org\r
DTSTART:20261203T170000Z\r
SUMMARY:Second\r
SEQUENCE:1\r
END:VEVENT\r
END:VCALENDAR\r
"""
    parsed = parse(ics)
    assert [e.title for e in parsed.events] == ["Second"]
    assert parsed.warnings == [
        "test-calendar: UID 'same@example.org' is used by 2 different events: only one of them (the highest "
        "SEQUENCE) is read"
    ]
