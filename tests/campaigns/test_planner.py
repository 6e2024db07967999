"""The planning rules, one by one, on the pure planner (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from service.campaigns.planner import (
    APPROVAL,
    BACK_ON,
    EVENT_CANCELLED,
    EVENT_REMOVED,
    NOT_IN_CAMPAIGN,
    PAST,
    TENTATIVE,
    PreviousPlan,
)
from service.config import PlanningConfig
from tests.campaigns.conftest import MASTODON, Planner, X, as_existing, by_step, event, tset

PHX = ZoneInfo("America/Phoenix")
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)  # Fri Nov 20, noon in Phoenix
START = datetime(2026, 12, 10, 0, 30, tzinfo=UTC)  # Wed Dec 9, 5:30 PM in Phoenix


def local(dt: datetime, zone: ZoneInfo = PHX) -> str:
    return dt.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def test_the_webinar_countdown() -> None:
    plan = Planner(NOW).plan(event(START))
    posts = by_step(plan)
    assert {k: local(p.scheduled_at) for k, p in posts.items()} == {
        "two-weeks": "2026-11-25 10:00",
        "one-week": "2026-12-02 10:00",
        "day-before": "2026-12-08 12:00",
        "two-hours": "2026-12-09 15:30",
        "live": "2026-12-09 17:30",
    }
    assert "recording" not in posts  # no recording link yet
    assert all(p.status == "scheduled" and p.length <= 280 for p in posts.values())
    assert "starts in 2 hours" in posts["two-hours"].text
    assert len({p.text for p in posts.values()}) == len(posts)


def test_a_step_outside_the_window_moves_to_the_nearest_time_inside_never_past_the_event() -> None:
    early = datetime(2026, 12, 10, 14, 0, tzinfo=UTC)  # 7 AM: two hours before is 5 AM
    posts = by_step(Planner(NOW).plan(event(early)))
    assert local(posts["two-hours"].scheduled_at) == "2026-12-09 20:00"  # 8 AM would be after the start
    nine = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)  # 9 AM: two hours before is 7 AM -> 8 AM
    assert local(by_step(Planner(NOW).plan(event(nine)))["two-hours"].scheduled_at) == "2026-12-10 08:00"
    late = tset("""
        [[steps]]
        key = "evening"
        offset = "-1d"
        at = "22:30"
        text = "Tomorrow: {{ title }} {{ date }}"
    """)
    assert local(by_step(Planner(NOW).plan(event(START), late))["evening"].scheduled_at) == "2026-12-08 20:00"


def test_live_now_follows_the_event_outside_the_window() -> None:
    night = datetime(2026, 12, 10, 5, 0, tzinfo=UTC)  # 10 PM
    posts = by_step(Planner(NOW).plan(event(night)))
    assert local(posts["live"].scheduled_at) == "2026-12-09 22:00"
    assert local(posts["two-hours"].scheduled_at) == "2026-12-09 20:00"  # 8 PM: the window's end, before the start


def test_window_in_the_events_own_zone_near_midnight_and_dst() -> None:
    ny = ZoneInfo("America/New_York")
    # Sun Mar 8 2026, 00:30 EST; the clocks jump at 2 AM that night.
    start = datetime(2026, 3, 8, 5, 30, tzinfo=UTC)
    posts = by_step(Planner(datetime(2026, 2, 1, tzinfo=UTC), cap_zone="America/New_York").plan(
        event(start, zone="America/New_York")
    ))  # fmt: skip
    assert local(posts["day-before"].scheduled_at, ny) == "2026-03-07 12:00"
    assert local(posts["two-hours"].scheduled_at, ny) == "2026-03-07 20:00"  # 10:30 PM -> the window's end
    assert local(posts["live"].scheduled_at, ny) == "2026-03-08 00:30"
    assert local(posts["one-week"].scheduled_at, ny) == "2026-03-01 10:00"  # a calendar week, not 168 hours


def test_spacing_across_events_on_one_channel() -> None:
    planner = Planner(NOW)
    first = by_step(planner.plan(event(START, id=1)))
    second = by_step(planner.plan(event(START, id=2, title="Nutrition During Treatment")))
    assert local(second["one-week"].scheduled_at) == "2026-12-02 09:45"  # 15 minutes from the first event's post
    assert local(second["live"].scheduled_at) == "2026-12-09 17:45"  # "live" only ever moves later
    for key in first:
        gap = abs(first[key].scheduled_at - second[key].scheduled_at)
        assert gap >= timedelta(minutes=15), key
    # Another channel is not affected.
    other = by_step(planner.plan(event(START, id=3, title="Third"), channels=(MASTODON,)), "masto")
    assert local(other["one-week"].scheduled_at) == "2026-12-02 10:00"


def test_daily_cap_skips_what_does_not_fit_with_a_reason() -> None:
    planner = Planner(NOW, PlanningConfig(daily_cap=2))
    plans = [by_step(planner.plan(event(START + timedelta(hours=i), id=i, title=f"Event {i}"))) for i in (1, 2, 3)]
    assert [p["one-week"].status for p in plans] == ["scheduled", "scheduled", "skipped"]
    assert plans[2]["one-week"].skip_reason == "no free time on x that day (spacing 15 min, at most 2 posts a day)"
    # "live now" posts do not count toward the cap.
    assert [p["live"].status for p in plans] == ["scheduled"] * 3


def test_past_steps_are_skipped_and_a_late_event_gets_one_catch_up() -> None:
    now = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)  # Sat Nov 28 noon: the two-weeks step (Nov 25) has passed
    plan = Planner(now).plan(event(START), channels=(X, MASTODON))
    posts = by_step(plan)
    assert posts["two-weeks"].status == "skipped" and posts["two-weeks"].skip_reason == PAST
    catch_up = posts["catch-up"]
    assert catch_up.status == "scheduled" and local(catch_up.scheduled_at) == "2026-11-28 12:00"
    assert catch_up.text.startswith("Coming up this Wednesday: Living Well with MPN") is False
    assert catch_up.text.startswith("Coming up: Living Well with MPN, Wednesday, December 9")
    assert by_step(plan, "masto")["catch-up"].status == "scheduled"


def test_no_catch_up_when_the_next_step_is_within_a_day_or_nothing_was_missed() -> None:
    now = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)  # Mon Dec 7, 3 PM: the day-before post is under a day away
    assert "catch-up" not in by_step(Planner(now).plan(event(START)))
    assert "catch-up" not in by_step(Planner(NOW).plan(event(START)))


def test_catch_up_after_the_window_waits_for_the_next_morning() -> None:
    now = datetime(2026, 11, 29, 5, 0, tzinfo=UTC)  # Sat Nov 28, 10 PM
    posts = by_step(Planner(now).plan(event(START)))
    assert local(posts["catch-up"].scheduled_at) == "2026-11-29 08:00"


def test_two_posts_on_one_channel_never_read_the_same() -> None:
    weekly = tset("""
        [[steps]]
        key = "reminder"
        offset = "-1d"
        at = "10:00"
        text = "{{ title }} meets tomorrow at {{ time }}. All are welcome."
    """)
    planner = Planner(NOW)
    texts = []
    for week in range(5):
        start = datetime(2026, 12, 2, 1, 0, tzinfo=UTC) + timedelta(weeks=week)
        texts.append(
            by_step(planner.plan(event(start, id=week + 1, title="Caregiver Support Group"), weekly))["reminder"].text
        )
    assert texts[0] == "Caregiver Support Group meets tomorrow at 6 PM MST. All are welcome."
    assert texts[1] == texts[0] + " (Tue, Dec 8)"
    assert len(set(texts)) == 5
    # The bundled support-group set names the date itself: nothing needs adding.
    planner = Planner(NOW)
    bundled = [
        by_step(planner.plan(event(datetime(2026, 12, 2, 1, 0, tzinfo=UTC) + timedelta(weeks=w), id=w + 1,
                                   title="Caregiver Support Group"), "support-group"))["day-before"]
        for w in range(3)
    ]  # fmt: skip
    assert all(p.note is None for p in bundled) and len({p.text for p in bundled}) == 3


def test_recording_step_needs_a_recording_and_links_to_it() -> None:
    ended = event(START, recording_url="https://example.org/recordings/mpn")
    posts = by_step(Planner(NOW).plan(ended))
    rec = posts["recording"]
    assert rec.link_kind == "recording" and local(rec.scheduled_at) == "2026-12-10 10:00"
    assert "/r/" in rec.text and "recording" in rec.text
    assert all(p.link_kind == "rsvp" for k, p in posts.items() if k != "recording")


def test_a_recording_that_arrives_late_goes_out_soon() -> None:
    after = datetime(2026, 12, 11, 20, 0, tzinfo=UTC)  # Fri Dec 11, 1 PM: the recording step's time has passed
    planner = Planner(after)
    first = planner.plan(event(START), now=NOW)  # the campaign as planned before the event
    existing = as_existing(first.posts)
    plan = planner.plan(event(START, recording_url="https://example.org/rec"), existing=existing)
    rec = by_step(plan)["recording"]
    assert rec.status == "scheduled" and local(rec.scheduled_at) == "2026-12-11 13:00"
    # Planned again later (say its description changed): the late post keeps its time.
    existing = {**existing, **as_existing(plan.posts)}
    again = Planner(after + timedelta(minutes=3)).plan(
        event(START, recording_url="https://example.org/rec", description="new"), existing=existing
    )
    assert by_step(again)["recording"] == rec


def test_tentative_events_wait_for_confirmation() -> None:
    planner = Planner(NOW)
    plan = planner.plan(event(START, status="tentative"))
    assert {p.hold_kind for p in plan.posts} == {"tentative"} and {p.hold_reason for p in plan.posts} == {TENTATIVE}
    confirmed = Planner(NOW).plan(
        event(START),
        existing=as_existing(plan.posts),
        previous=PreviousPlan(START, START + timedelta(hours=1), "tentative"),
    )
    assert {p.status for p in confirmed.posts} == {"scheduled"}
    # A post a person approved while the event was still tentative is not held again.
    approved = as_existing(plan.posts)
    approved[("one-week", "x")] = replace(
        approved[("one-week", "x")], status="scheduled", hold_kind=None, hold_reason=None
    )
    again = Planner(NOW).plan(
        event(START, status="tentative"),
        existing=approved,
        previous=PreviousPlan(START, START + timedelta(hours=1), "tentative"),
    )
    assert by_step(again)["one-week"].status == "scheduled" and by_step(again)["two-weeks"].hold_kind == "tentative"


def test_a_cancelled_event_cancels_its_posts_and_notifies_only_where_it_was_announced() -> None:
    planner = Planner(NOW)
    plan = planner.plan(event(START), channels=(X, MASTODON))
    existing = as_existing(plan.posts)
    cancelled = Planner(NOW).plan(event(START, status="cancelled"), channels=(X, MASTODON), existing=existing)
    assert not cancelled.posts and set(cancelled.cancel.values()) == {EVENT_CANCELLED}
    assert len(cancelled.cancel) == len(existing)
    # Once something went out on x, a cancellation notice follows there (and only there).
    existing[("two-weeks", "x")] = replace(existing[("two-weeks", "x")], status="published")
    later = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
    cancelled = Planner(later).plan(event(START, status="cancelled"), channels=(X, MASTODON), existing=existing)
    assert [(p.step, p.channel) for p in cancelled.posts] == [("cancelled", "x")]
    notice = cancelled.posts[0]
    assert notice.text.startswith("Update: Living Well with MPN on Wed, Dec 9 has been cancelled.")
    assert local(notice.scheduled_at) == "2026-11-26 12:00"
    assert ("two-weeks", "x") in cancelled.keep and ("two-weeks", "x") not in cancelled.cancel
    removed = Planner(later).plan(event(START, status="removed"), channels=(X, MASTODON), existing=existing)
    assert not removed.posts and set(removed.cancel.values()) == {EVENT_REMOVED}


def test_an_event_that_comes_back_gets_its_posts_back_and_the_notice_withdrawn() -> None:
    planner = Planner(NOW)
    plan = planner.plan(event(START))
    existing = as_existing(plan.posts, status="cancelled", skip_reason=EVENT_CANCELLED)
    notice = replace(next(iter(existing.values())), step="cancelled", status="scheduled", skip_reason=None)
    existing[("cancelled", "x")] = notice
    back = Planner(NOW).plan(event(START), existing=existing)
    restored = by_step(back)
    assert {restored[k].status for k in ("two-weeks", "one-week", "day-before")} == {"scheduled"}
    assert back.cancel == {("cancelled", "x"): BACK_ON}
    assert [p.scheduled_at for p in back.posts] == [p.scheduled_at for p in plan.posts]


def test_a_moved_event_moves_and_rewords_its_posts_but_keeps_edits_and_moves() -> None:
    planner = Planner(NOW)
    plan = planner.plan(event(START))
    existing = as_existing(plan.posts)
    existing[("day-before", "x")] = replace(
        existing[("day-before", "x")], text="See you Wednesday at 5:30 PM! We saved you a seat.", edited=True
    )
    existing[("one-week", "x")] = replace(existing[("one-week", "x")], edited=True, text="One week: our webinar.")
    moved_at = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    existing[("two-weeks", "x")] = replace(existing[("two-weeks", "x")], moved=True, scheduled_at=moved_at)
    later = START + timedelta(days=1)  # Thu Dec 10
    previous = PreviousPlan(START, START + timedelta(hours=1), "confirmed")
    replan = by_step(Planner(NOW).plan(event(later), existing=existing, previous=previous))
    assert local(replan["one-week"].scheduled_at) == "2026-12-03 10:00"
    assert replan["one-week"].text == "One week: our webinar." and replan["one-week"].status == "scheduled"
    assert "Thursday, December 10" in (replan["one-week"].rendered_text or "")
    day_before = replan["day-before"]
    assert local(day_before.scheduled_at) == "2026-12-09 12:00"
    assert day_before.text == "See you Wednesday at 5:30 PM! We saved you a seat."
    assert day_before.hold_kind == "review" and "Wednesday" in (day_before.hold_reason or "")
    assert replan["two-weeks"].scheduled_at == moved_at
    assert replan["two-hours"].text != by_step(plan)["two-hours"].text and "Thu, Dec 10" in replan["two-hours"].text


def test_steps_that_leave_the_campaign_are_cancelled_and_person_owned_posts_are_kept() -> None:
    plan = Planner(NOW).plan(event(START))
    existing = as_existing(plan.posts)
    existing[("old-step", "x")] = replace(existing[("one-week", "x")], step="old-step")
    existing[("two-weeks", "x")] = replace(
        existing[("two-weeks", "x")], status="skipped", skip_reason="skipped by coord@example.org"
    )
    existing[("one-week", "x")] = replace(existing[("one-week", "x")], status="held", hold_kind="unknown_outcome")
    existing[("day-before", "x")] = replace(existing[("day-before", "x")], status="published")
    replan = Planner(NOW).plan(event(START), existing=existing)
    assert replan.cancel == {("old-step", "x"): NOT_IN_CAMPAIGN}
    assert {("two-weeks", "x"), ("one-week", "x"), ("day-before", "x")} <= replan.keep
    assert set(by_step(replan)) == {"two-hours", "live"}


def test_content_guard_holds_and_warns() -> None:
    def guard(text: str) -> tuple[str, list[str]]:
        if "Jane Roe" in text:
            return "hold", ["may name a patient: 'patient Jane Roe'"]
        return ("warn", ["link outside the organisation"]) if "speaker" in text else ("ok", [])

    posts = by_step(Planner(NOW, guard=guard).plan(event(START, title="Our patient Jane Roe's story")))
    assert {p.hold_kind for p in posts.values()} == {"policy"}
    assert posts["one-week"].hold_reason == "content guard: may name a patient: 'patient Jane Roe'"
    fine = by_step(Planner(NOW, guard=guard).plan(event(START)))
    assert {p.status for p in fine.values()} == {"scheduled"}


def test_require_approval_holds_new_posts_only() -> None:
    plan = Planner(NOW, require_approval=True).plan(event(START))
    assert {(p.hold_kind, p.hold_reason) for p in plan.posts} == {("approval", APPROVAL)}
    approved = as_existing(plan.posts, status="scheduled", hold_kind=None, hold_reason=None)
    again = Planner(NOW, require_approval=True).plan(event(START), existing=approved)
    assert {p.status for p in again.posts} == {"scheduled"}


def test_a_text_that_cannot_fit_is_held_for_fit() -> None:
    long_tags = " ".join(f"#tag{i}" for i in range(40))
    posts = by_step(Planner(NOW).plan(event(START, hashtags=long_tags)))
    assert posts["one-week"].hold_kind == "fit" and posts["one-week"].hold_reason.startswith("too long for x")  # type: ignore[union-attr]
    assert long_tags in posts["one-week"].text  # the hashtags are never cut


def test_long_titles_are_shortened_per_network() -> None:
    title = "Understanding Myeloproliferative Neoplasms: Diagnosis, Treatment and Life After " * 3
    plan = Planner(NOW).plan(event(START, title=title.strip()), channels=(X, MASTODON))
    x, masto = by_step(plan)["one-week"], by_step(plan, "masto")["one-week"]
    assert x.status == "scheduled" and x.length <= 280 and "…" in x.text and x.note == "title shortened"
    assert masto.status == "scheduled" and title.strip() in masto.text


def test_planning_is_deterministic_and_stable() -> None:
    events = [event(START + timedelta(hours=h), id=i, title=f"Event {i}") for i, h in enumerate((0, 0, 1, 24), 1)]
    runs = []
    for _ in range(2):
        planner = Planner(NOW)
        runs.append([planner.plan(e, channels=(X, MASTODON)).posts for e in events])
    assert runs[0] == runs[1]
    # Re-planning one event against the others' posts, nothing changed: the same posts.
    planner = Planner(NOW)
    plans = [planner.plan(e, channels=(X, MASTODON)) for e in events]
    target = events[1]
    for p in plans[1].posts:
        planner.load.remove(p.channel, p.scheduled_at, planner.load.text_key(p.text), p.step != "live")
    again = planner.plan(target, channels=(X, MASTODON), existing=as_existing(plans[1].posts))
    assert again.posts == [replace(p) for p in plans[1].posts]


def test_a_text_that_fails_at_render_time_is_held_and_reported() -> None:
    heavy = tset("""
        [[steps]]
        key = "heavy"
        offset = "-1d"
        at = "10:00"
        text = "{% for a in title %}{% for b in title %}{% endfor %}{% endfor %}{{ title }}"
    """)
    short = by_step(Planner(NOW).plan(event(START, title="Short"), heavy))["heavy"]
    assert short.status == "scheduled" and short.text == "Short"
    plan = Planner(NOW).plan(event(START, title="A long title " * 20), heavy)
    post = by_step(plan)["heavy"]
    assert post.hold_kind == "fit" and "too much work" in (post.hold_reason or "")
    assert plan.errors and plan.errors[0].startswith("step heavy: test.toml:")


def test_a_catch_up_gives_way_when_the_event_moves_later_and_sets_without_one_get_a_neutral_text() -> None:
    late = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)
    bare = tset("""
        [[steps]]
        key = "announce"
        offset = "-14d"
        at = "10:00"
        text = "Tomorrow is the day: {{ title }} {{ rsvp_link }}"
        [[steps]]
        key = "reminder"
        offset = "-1d"
        at = "10:00"
        text = "Tomorrow: {{ title }} {{ date }} {{ rsvp_link }}"
    """)
    plan = Planner(late).plan(event(START), bare)
    catch_up = by_step(plan)["catch-up"]
    assert catch_up.text.startswith("Coming up on Wed, Dec 9: Living Well with MPN, Wednesday, December 9 at 5:30 PM")
    # Moved three weeks later, its own announcement is in the future again: the catch-up is withdrawn.
    moved = START + timedelta(days=21)
    previous = PreviousPlan(START, START + timedelta(hours=1), "confirmed")
    again = Planner(late).plan(event(moved), bare, existing=as_existing(plan.posts), previous=previous)
    assert by_step(again)["announce"].status == "scheduled"
    assert again.cancel == {("catch-up", "x"): NOT_IN_CAMPAIGN}
