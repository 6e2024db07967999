"""The sync use case on both databases: identities, changes and the campaign stage, suspect results, failures."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from service import jobs
from service.calendars import sync as sync_mod
from service.calendars.base import EventData, FetchResult
from service.models import CalendarSource, Event, Post, PostStatus
from service.runtime import Runtime
from tests.calendars.conftest import CALENDARS, calendar_toml, days, make_ics, sync, vevent
from tests.conftest import NOW
from tests.helpers import session


@pytest.fixture
def cal_file(tmp_path: Path) -> Path:
    """A calendar file the test edits between syncs."""
    return tmp_path / "calendar.ics"


@pytest.fixture
def rt_file(runtime_for: Callable[..., Runtime], cal_file: Path) -> Runtime:
    """A runtime whose one calendar ("events") is `cal_file`, first written with ten webinars."""
    cal_file.write_bytes(make_ics(*[vevent(f"w{i}@example.org", days(10 + i)) for i in range(10)]))
    return runtime_for(calendar_toml("events", str(cal_file)))


def rows(rt: Runtime) -> list[Event]:
    with session(rt) as s:
        return list(s.exec(select(Event).order_by(Event.id)))  # type: ignore[arg-type]


def posts_of(rt: Runtime, uid: str) -> list[Post]:
    with session(rt) as s:
        return list(s.exec(select(Post).join(Event).where(Event.uid == uid).order_by(Post.id)))  # type: ignore[arg-type]


def snapshot(rt: Runtime) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Everything a sync may touch, to compare before and after."""
    with session(rt) as s:
        events = [
            (e.id, e.uid, e.recurrence_id, e.title, e.start_at, e.status, e.removed_at, e.content_hash)
            for e in s.exec(select(Event).order_by(Event.id))  # type: ignore[arg-type]
        ]
        posts = [(p.id, p.status, p.scheduled_at, p.text) for p in s.exec(select(Post).order_by(Post.id))]  # type: ignore[arg-type]
    return events, posts


def test_first_sync_imports_and_an_unchanged_resync_costs_no_parsing(runtime_for: Callable[..., Runtime]) -> None:
    rt = runtime_for(calendar_toml("google", str(CALENDARS / "google-calendar.ics")))
    first = sync(rt)[0]
    assert (first.added, first.cancelled, first.updated, first.removed, first.errors) == (20, 1, 0, 0, [])
    assert len(rows(rt)) == 21
    again = sync(rt, NOW + timedelta(minutes=5))[0]
    assert again.not_modified and again.unchanged == 21 and again.added == again.updated == 0
    # Next day the window moved: the file is read again, and nothing is rewritten.
    before = snapshot(rt)
    later = sync(rt, NOW + timedelta(days=1))[0]
    assert not later.not_modified and later.unchanged == 21 and later.changes == []
    assert snapshot(rt)[0] == before[0]


def test_reimport_of_an_edited_file_never_duplicates(rt_file: Runtime, cal_file: Path) -> None:
    sync(rt_file)
    ids = [e.id for e in rows(rt_file)]
    cal_file.write_bytes(cal_file.read_bytes().replace(b"DTSTAMP:20261101T000000Z", b"DTSTAMP:20261120T000000Z"))
    report = sync(rt_file)[0]
    assert not report.not_modified and report.unchanged == 10 and report.added == 0
    assert [e.id for e in rows(rt_file)] == ids


def test_a_moved_event_reschedules_unpublished_posts_and_never_touches_published_ones(
    rt_file: Runtime, cal_file: Path
) -> None:
    sync(rt_file)
    posts = posts_of(rt_file, "w3@example.org")
    assert len(posts) >= 3
    published = next(p for p in posts if p.status == PostStatus.SCHEDULED)
    with rt_file.db.session(write=True) as s:
        row = s.get(Post, published.id)
        assert row is not None
        row.status, row.published_at, row.external_id = PostStatus.PUBLISHED, NOW, "x-1"
    old = vevent("w3@example.org", days(13)).encode()
    cal_file.write_bytes(cal_file.read_bytes().replace(old, vevent("w3@example.org", days(20)).encode()))
    report = sync(rt_file)[0]
    assert report.updated == 1
    assert report.changes == [
        {
            "uid": "w3@example.org",
            "recurrence_id": None,
            "title": "Patient webinar",
            "change": "updated",
            "fields": ["time"],
        }
    ]
    after = {p.id: p for p in posts_of(rt_file, "w3@example.org")}
    assert (
        after[published.id].status == PostStatus.PUBLISHED
        and after[published.id].scheduled_at == published.scheduled_at
    )
    # The countdown posts move with the event (a catch-up post may give way: the campaign stage decides).
    moved = [
        p
        for p in posts
        if p.id != published.id and p.status == PostStatus.SCHEDULED and after[p.id].status == PostStatus.SCHEDULED
    ]
    assert len(moved) >= 3 and all(after[p.id].scheduled_at > p.scheduled_at for p in moved)


def test_cancelled_and_removed_events_cancel_their_open_posts(rt_file: Runtime, cal_file: Path) -> None:
    sync(rt_file)
    text = cal_file.read_bytes().decode()
    text = text.replace("UID:w1@example.org\r\n", "UID:w1@example.org\r\nSTATUS:CANCELLED\r\n")
    start = text.index("BEGIN:VEVENT\r\nUID:w2@example.org")
    text = text[:start] + text[text.index("END:VEVENT\r\n", start) + len("END:VEVENT\r\n") :]
    cal_file.write_text(text)
    report = sync(rt_file)[0]
    assert (report.cancelled, report.removed, report.updated, report.unchanged) == (1, 1, 0, 8)
    for uid in ("w1@example.org", "w2@example.org"):
        assert {p.status for p in posts_of(rt_file, uid)} <= {PostStatus.CANCELLED, PostStatus.PUBLISHED}
    assert {p.status for p in posts_of(rt_file, "w4@example.org")} & {PostStatus.SCHEDULED}
    removed = next(e for e in rows(rt_file) if e.uid == "w2@example.org")
    assert removed.removed_at == NOW


def test_changes_name_the_fields(rt_file: Runtime, cal_file: Path) -> None:
    sync(rt_file)
    text = cal_file.read_bytes().decode()
    text = text.replace("register/w5@example.org", "register/new-link", 1)
    text = text.replace(
        "UID:w6@example.org\r\nDTSTAMP:20261101T000000Z\r\nDTSTART",
        "UID:w6@example.org\r\nDTSTAMP:20261101T000000Z\r\nDTSTART",
        1,
    )
    start = text.index("UID:w6@example.org")
    text = text[:start] + text[start:].replace("SUMMARY:Patient webinar", "SUMMARY:Renamed webinar", 1)
    cal_file.write_text(text)
    report = sync(rt_file)[0]
    fields = {c["uid"]: c["fields"] for c in report.changes}
    assert fields == {"w5@example.org": ["RSVP", "description"], "w6@example.org": ["title"]}
    assert (
        next(e for e in rows(rt_file) if e.uid == "w5@example.org").rsvp_url == "https://example.org/register/new-link"
    )


def test_an_empty_feed_is_suspect_until_confirmed(rt_file: Runtime, cal_file: Path) -> None:
    sync(rt_file)
    cal_file.write_bytes(make_ics())
    held = sync(rt_file, NOW + timedelta(minutes=5))[0]
    assert held.suspect and held.removed == 0
    assert "nothing was removed" in held.errors[0]["message"] and held.errors[0]["uid"] == ""
    assert all(e.removed_at is None for e in rows(rt_file))
    # The same result a second time is believed (the file is read again: nothing was cached for it).
    confirmed = sync(rt_file, NOW + timedelta(minutes=10))[0]
    assert not confirmed.suspect and confirmed.removed == 10
    assert all(e.removed_at is not None for e in rows(rt_file))


def test_force_applies_a_suspect_result_at_once(rt_file: Runtime, cal_file: Path) -> None:
    sync(rt_file)
    cal_file.write_bytes(make_ics(*[vevent(f"w{i}@example.org", days(10 + i)) for i in range(4)]))  # 4 of 10
    assert sync(rt_file)[0].suspect
    forced = sync(rt_file, force=True)[0]
    assert not forced.suspect and forced.removed == 6


def test_a_feed_that_recovers_clears_the_suspicion(rt_file: Runtime, cal_file: Path) -> None:
    good = cal_file.read_bytes()
    sync(rt_file)
    cal_file.write_bytes(make_ics())
    assert sync(rt_file)[0].suspect
    cal_file.write_bytes(good)
    assert not sync(rt_file)[0].suspect
    cal_file.write_bytes(make_ics())
    assert sync(rt_file)[0].suspect  # a new empty result is suspect again, not "the second identical one"
    with session(rt_file) as s:
        assert s.exec(select(CalendarSource)).one().suspect_hash is not None


def test_removing_a_few_events_is_not_suspect(rt_file: Runtime, cal_file: Path) -> None:
    sync(rt_file)
    cal_file.write_bytes(make_ics(*[vevent(f"w{i}@example.org", days(10 + i)) for i in range(6)]))
    report = sync(rt_file)[0]
    assert not report.suspect and report.removed == 4


def test_events_passing_into_the_past_are_no_reason_for_suspicion(
    runtime_for: Callable[..., Runtime], cal_file: Path
) -> None:
    soon = [vevent(f"soon{i}@example.org", days(1 + i * 0.1)) for i in range(8)]
    cal_file.write_bytes(make_ics(*soon, vevent("later@example.org", days(30)), vevent("gone@example.org", days(40))))
    rt = runtime_for(calendar_toml("events", str(cal_file)))
    sync(rt)
    cal_file.write_bytes(make_ics(*soon, vevent("later@example.org", days(30))))
    report = sync(rt, NOW + timedelta(days=10))[0]  # the eight are past now; one upcoming event was removed
    assert not report.suspect and report.removed == 1


def test_no_flapping_at_the_window_edges(runtime_for: Callable[..., Runtime], cal_file: Path) -> None:
    # Floating times at the window's start, read in Phoenix (UTC-7): the expansion library compares them with
    # the window as if they were UTC, we store them in the zone. Removals are not judged at the edges.
    edge = [
        vevent(f"edge{i}@example.org", NOW - timedelta(days=3, hours=12) + timedelta(hours=2 * i)).replace(
            "Z\r\n", "\r\n"
        )
        for i in range(30)
    ]
    cal_file.write_bytes(make_ics(*[vevent(f"w{i}@example.org", days(10 + i)) for i in range(5)], *edge))
    rt = runtime_for(calendar_toml("events", str(cal_file)))
    assert sync(rt, NOW - timedelta(days=1))[0].added == 35
    for hours in (0, 6, 12, 24, 25, 49):
        report = sync(rt, NOW + timedelta(hours=hours))[0]
        assert report.removed == 0 and report.error is None


def test_a_broken_file_fails_its_source_only_and_keeps_earlier_events(
    runtime_for: Callable[..., Runtime], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.ics"
    broken.write_bytes((CALENDARS / "thunderbird.ics").read_bytes())
    rt = runtime_for(
        calendar_toml("first", str(broken)) + calendar_toml("second", str(CALENDARS / "apple-calendar.ics"))
    )
    sync(rt)
    before = snapshot(rt)
    broken.write_bytes((CALENDARS / "broken-syntax.ics").read_bytes())
    first, second = sync(rt, NOW + timedelta(minutes=5))
    assert (
        first.error == "first: not a valid iCalendar file (line 9): Content line could not be parsed into parts: "
        "'<<<<<<< HEAD': <<<<<<<HEAD"
    )
    assert second.error is None and second.not_modified
    assert snapshot(rt) == before
    with session(rt) as s:
        row = s.exec(select(CalendarSource).where(CalendarSource.name == "first")).one()
        assert row.last_error == first.error and row.last_success_at == NOW


def test_a_missing_file_fails_with_one_line(runtime_for: Callable[..., Runtime], tmp_path: Path) -> None:
    path = tmp_path / "gone.ics"
    path.write_bytes(make_ics(vevent("a@example.org", days(5))))
    rt = runtime_for(calendar_toml("events", str(path)))
    path.unlink()
    report = sync(rt)[0]
    assert report.error == f"events: cannot read {path}: No such file or directory"


def test_a_bad_series_keeps_its_earlier_events(runtime_for: Callable[..., Runtime], tmp_path: Path) -> None:
    path = tmp_path / "google.ics"
    good = (CALENDARS / "google-calendar.ics").read_bytes()
    path.write_bytes(good)
    rt = runtime_for(calendar_toml("events", str(path)))
    sync(rt)
    path.write_bytes(
        good.replace(b"RRULE:FREQ=WEEKLY;WKST=SU;UNTIL=20270325T160000Z;BYDAY=TH", b"RRULE:FREQ=WEEKLY;UNTIL=garbage")
    )
    report = sync(rt)[0]
    assert report.error is None and report.removed == 0
    assert [e["uid"] for e in report.errors] == ["7b3c1d2e4f5a6b7c8d9e0f1a2b@google.com"]
    lunch = [e for e in rows(rt) if e.uid == "7b3c1d2e4f5a6b7c8d9e0f1a2b@google.com"]
    assert len(lunch) == 16 and all(e.removed_at is None for e in lunch)


@pytest.mark.parametrize("failure", [RuntimeError("boom"), KeyboardInterrupt()])
def test_an_interrupted_sync_leaves_the_database_as_it_was(
    rt_file: Runtime, cal_file: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    sync(rt_file)
    before = snapshot(rt_file)
    cal_file.write_bytes(make_ics(*[vevent(f"w{i}@example.org", days(20 + i), "Moved") for i in range(10)]))
    calls = {"planned": 0}
    real = sync_mod.plan_events

    def plan_then_fail(session: Any, cfg: Any, templates: Any, events: Any, now: Any, *args: Any, **kw: Any) -> Any:
        events = list(events)
        real(session, cfg, templates, events[: len(events) // 2], now, *args, **kw)  # half way: posts rescheduled
        calls["planned"] = len(events) // 2
        raise failure

    monkeypatch.setattr(sync_mod, "plan_events", plan_then_fail)
    if isinstance(failure, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            sync(rt_file)
    else:
        assert sync(rt_file)[0].error == "events: sync failed: RuntimeError: boom"
    assert calls["planned"] == 5
    assert snapshot(rt_file) == before
    monkeypatch.setattr(sync_mod, "plan_events", real)
    assert sync(rt_file)[0].updated == 10  # nothing was remembered of the failed attempt


def test_incremental_results_cancel_and_delete(rt_file: Runtime) -> None:
    sync(rt_file)
    with rt_file.db.session(write=True) as s:
        result = FetchResult(
            complete=False,
            cancelled=[("w1@example.org", ""), ("unknown@example.org", "x")],
            deleted=[("w2@example.org", "")],
            events=[
                EventData("new@example.org", "", "In the window", days(3), days(3, 18), "UTC"),
                EventData("far@example.org", "", "Far beyond it", days(400), days(400, 18), "UTC"),
            ],
        )
        report = sync_mod.apply_result(s, rt_file.cfg, "events", result, rt_file.templates(s), NOW)
    assert (report.cancelled, report.removed, report.added) == (1, 1, 1)
    by_uid = {e.uid: e for e in rows(rt_file)}
    assert by_uid["w1@example.org"].status == "cancelled" and by_uid["w2@example.org"].removed_at == NOW
    assert "far@example.org" not in by_uid


def test_a_removed_event_that_comes_back_is_reported_as_added(rt_file: Runtime, cal_file: Path) -> None:
    full = cal_file.read_bytes()
    sync(rt_file)
    cal_file.write_bytes(make_ics(*[vevent(f"w{i}@example.org", days(10 + i)) for i in range(9)]))
    assert sync(rt_file)[0].removed == 1
    cal_file.write_bytes(full)
    report = sync(rt_file)[0]
    assert report.added == 1 and report.changes[0]["fields"] == ["restored"]
    assert next(e for e in rows(rt_file) if e.uid == "w9@example.org").removed_at is None


def test_concurrent_syncs_of_one_source_never_duplicate(rt_file: Runtime) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for report in jobs.sync_calendars(rt_file, NOW):
                assert report.error is None, report.error
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(rows(rt_file)) == 10
    with session(rt_file) as s:
        assert len(s.exec(select(CalendarSource)).all()) == 1


def test_hostile_text_fits_both_databases(runtime_for: Callable[..., Runtime], tmp_path: Path) -> None:
    path = tmp_path / "hostile.ics"
    description = "\\n".join(
        [
            "RSVP: javascript:alert(1)",
            "Campaign: " + "c" * 300,
            "Hashtags: " + " ".join(f"#tag{i}" for i in range(200)),
            "Speaker: " + "s" * 900,
            "Image: data:image/png;base64,AAAA",
        ]
    )
    path.write_bytes(make_ics(vevent("u" * 700, days(5), "Nul\x00 title", description=description)))
    rt = runtime_for(calendar_toml("events", str(path)))
    report = sync(rt)[0]
    assert report.error is None and report.added == 1
    event = rows(rt)[0]
    assert event.title == "Nul title" and len(event.uid) == 500
    assert event.rsvp_url is None and event.image_url is None
    assert "RSVP javascript: link refused: only http(s) links are accepted" in event.warnings
    assert "Image data: link refused: only http(s) links are accepted" in event.warnings
    assert len(event.template or "") <= 100 and len(event.hashtags) <= 500


def test_private_events_are_left_out_and_said_so(runtime_for: Callable[..., Runtime]) -> None:
    rt = runtime_for(calendar_toml("events", str(CALENDARS / "outlook-desktop.ics")))
    report = sync(rt)[0]
    assert report.added == 2 and any("CLASS:PRIVATE" in w for w in report.warnings)
    assert not [e for e in rows(rt) if "Appointment" in e.title]
