"""The use cases behind the web page's buttons (service/actions.py), on both dialects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from service import actions, jobs
from service.models import AuditEntry, Campaign, Post, PostStatus
from tests.conftest import NOW
from tests.helpers import session
from tests.web.conftest import get_post, posts_of, set_post, webinar

ACTOR = "coord@example.org"


def _run(rt: Any, fn: Any, *args: Any, **kwargs: Any) -> actions.Outcome:
    with rt.db.session(write=True) as s:
        return fn(s, *args, **kwargs)  # type: ignore[no-any-return]


def tpl(rt: Any) -> Any:
    """The template sets as the web page passes them (files + overrides)."""
    with rt.db.session() as s:
        return rt.templates(s)


def _scheduled(rt: Any) -> Post:
    ev = webinar(rt)
    return next(p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED and p.step == "one-week")


def test_edit_text_sets_edited_and_survives_resync(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    text = "One week to go! Join our MPN webinar from home. https://example.org/register/mpn-webinar #MPN"
    out = _run(rt, actions.edit_text, rt.cfg, post.id, text + "  \r\n", ACTOR, NOW, post.updated_at.isoformat())
    assert "stays as you wrote it" in out.message
    saved = get_post(rt, post.id)
    assert saved.text == text and saved.edited and saved.rendered_text == post.rendered_text
    jobs.sync_calendars(rt, NOW, force=True)
    assert get_post(rt, post.id).text == text
    with session(rt) as s:
        entry = s.exec(select(AuditEntry).where(AuditEntry.action == "edit_text")).one()
        assert entry.actor == ACTOR and entry.detail["after"] == text and entry.post_id == post.id


def test_edit_text_refuses_too_long_empty_and_patient_data(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    with pytest.raises(actions.ActionRefused, match=r"too long for x: 300/280"):
        _run(rt, actions.edit_text, rt.cfg, post.id, "a" * 300, ACTOR, NOW)
    with pytest.raises(actions.ActionRefused, match="empty"):
        _run(rt, actions.edit_text, rt.cfg, post.id, " \n ", ACTOR, NOW)
    with pytest.raises(actions.ActionRefused, match=r"content guard would hold it: .*Social Security"):
        _run(rt, actions.edit_text, rt.cfg, post.id, "Patient info 123-45-6789", ACTOR, NOW)
    assert get_post(rt, post.id).text == post.text and not get_post(rt, post.id).edited


def test_edit_counts_links_as_23_on_x(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    long_link = "https://example.org/" + "a" * 300
    out = _run(rt, actions.edit_text, rt.cfg, post.id, f"Join us {long_link}", ACTOR, NOW)
    assert "31/280" in out.message


def test_edit_with_a_warning_saves_and_says_so(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    out = _run(rt, actions.edit_text, rt.cfg, post.id, "See https://elsewhere.example.net/x", ACTOR, NOW)
    assert out.level == "warning" and "outside the organisation" in out.message
    assert get_post(rt, post.id).text == "See https://elsewhere.example.net/x"


def test_edit_refuses_a_stale_page_and_a_post_being_published(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    with pytest.raises(actions.ActionRefused, match="changed after you opened the page"):
        _run(rt, actions.edit_text, rt.cfg, post.id, "New text", ACTOR, NOW, "2000-01-01T00:00:00+00:00")
    set_post(rt, post.id, status=PostStatus.PUBLISHING)
    with pytest.raises(actions.ActionRefused, match="being published right now"):
        _run(rt, actions.edit_text, rt.cfg, post.id, "New text", ACTOR, NOW)
    set_post(rt, post.id, status=PostStatus.PUBLISHED, published_at=NOW)
    with pytest.raises(actions.ActionRefused, match="already published"):
        _run(rt, actions.skip_post, post.id, ACTOR, NOW)


def test_edit_releases_a_fit_hold(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    set_post(rt, post.id, status=PostStatus.HELD, hold_kind="fit", hold_reason="too long for x: 300/280 characters")
    out = _run(rt, actions.edit_text, rt.cfg, post.id, "Short and sweet #MPN", ACTOR, NOW)
    assert "hold is lifted" in out.message
    assert get_post(rt, post.id).status == PostStatus.SCHEDULED


def test_move_checks_window_event_and_past(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)  # one week before Dec 10, 5:30 PM MST
    out = _run(rt, actions.move_post, rt.cfg, tpl(rt), post.id, "2026-12-04T09:15", ACTOR, NOW)
    assert "Dec 4, 9:15 AM MST" in out.message and "16:15 UTC" in out.message
    moved = get_post(rt, post.id)
    assert moved.moved and moved.scheduled_at == datetime(2026, 12, 4, 16, 15, tzinfo=UTC) == moved.due_at
    with pytest.raises(actions.ActionRefused, match="outside the posting window"):
        _run(rt, actions.move_post, rt.cfg, tpl(rt), post.id, "2026-12-04T22:00", ACTOR, NOW)
    with pytest.raises(actions.ActionRefused, match="before it starts"):
        _run(rt, actions.move_post, rt.cfg, tpl(rt), post.id, "2026-12-10T19:00", ACTOR, NOW)
    with pytest.raises(actions.ActionRefused, match="in the past"):
        _run(rt, actions.move_post, rt.cfg, tpl(rt), post.id, "2026-11-27T10:00", ACTOR, NOW)
    with pytest.raises(actions.ActionRefused, match="not a date"):
        _run(rt, actions.move_post, rt.cfg, tpl(rt), post.id, "next tuesday", ACTOR, NOW)
    # A re-sync keeps the person's time.
    jobs.sync_calendars(rt, NOW, force=True)
    assert get_post(rt, post.id).scheduled_at == datetime(2026, 12, 4, 16, 15, tzinfo=UTC)


def test_parse_local_refuses_a_time_skipped_by_dst() -> None:
    with pytest.raises(actions.ActionRefused, match="does not exist in America/New_York"):
        actions.parse_local("2027-03-14T02:30", "America/New_York")
    # The repeated hour in the fall resolves to its first occurrence (EDT).
    assert actions.parse_local("2026-11-01T01:30", "America/New_York") == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_skip_and_unskip(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    _run(rt, actions.skip_post, post.id, ACTOR, NOW)
    skipped = get_post(rt, post.id)
    assert skipped.status == PostStatus.SKIPPED and skipped.skip_reason == f"skipped by {ACTOR}"
    jobs.sync_calendars(rt, NOW, force=True)
    assert get_post(rt, post.id).status == PostStatus.SKIPPED
    out = _run(rt, actions.unskip_post, rt.cfg, post.id, ACTOR, NOW)
    assert "scheduled again" in out.message and get_post(rt, post.id).status == PostStatus.SCHEDULED
    with pytest.raises(actions.ActionRefused, match="cannot be unskipped"):
        _run(rt, actions.unskip_post, rt.cfg, post.id, ACTOR, NOW)
    # A post whose time has passed cannot come back without being moved.
    first = posts_of(rt, webinar(rt).id)[0]
    assert first.status == PostStatus.SKIPPED
    with pytest.raises(actions.ActionRefused, match="has passed; move it"):
        _run(rt, actions.unskip_post, rt.cfg, first.id, ACTOR, NOW)


def test_pause_stops_publishing_and_resume_restarts(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    _run(rt, actions.set_paused, post.event_id, True, ACTOR, NOW)
    due = post.scheduled_at + timedelta(seconds=5)
    jobs.publish_due(rt, lambda: due)
    assert get_post(rt, post.id).status == PostStatus.SCHEDULED
    assert "already paused" in _run(rt, actions.set_paused, post.event_id, True, ACTOR, NOW).message
    _run(rt, actions.set_paused, post.event_id, False, ACTOR, NOW)
    jobs.publish_due(rt, lambda: due)
    assert get_post(rt, post.id).status == PostStatus.PUBLISHED
    # Others' state is untouched by pausing: published stays published.
    _run(rt, actions.set_paused, post.event_id, True, ACTOR, NOW)
    assert get_post(rt, post.id).status == PostStatus.PUBLISHED


def test_publish_now_makes_it_due_and_the_worker_publishes_once(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    out = _run(rt, actions.publish_now, rt.cfg, tpl(rt), post.id, ACTOR, NOW)
    assert out.wake_worker and "goes out now" in out.message
    for _ in range(2):
        jobs.publish_due(rt, lambda: NOW + timedelta(seconds=2))
    assert get_post(rt, post.id).status == PostStatus.PUBLISHED
    outbox = (rt.cfg.instance_dir / "outbox.jsonl").read_text().splitlines()
    assert sum(f'"post_id": {post.id},' in line for line in outbox) == 1
    with pytest.raises(actions.ActionRefused, match="already published"):
        _run(rt, actions.publish_now, rt.cfg, tpl(rt), post.id, ACTOR, NOW)


def test_approve_held_post(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    set_post(rt, post.id, status=PostStatus.HELD, hold_kind="approval", hold_reason="needs approval")
    with pytest.raises(actions.ActionRefused, match="approve it first"):
        _run(rt, actions.publish_now, rt.cfg, tpl(rt), post.id, ACTOR, NOW)
    out = _run(rt, actions.approve_post, rt.cfg, post.id, ACTOR, NOW)
    assert "Approved" in out.message
    approved = get_post(rt, post.id)
    assert approved.status == PostStatus.SCHEDULED and approved.hold_reason is None
    assert approved.scheduled_at == post.scheduled_at
    # Approved a little late (within the step's limit): it keeps its time and goes out now, words unchanged.
    set_post(rt, post.id, status=PostStatus.HELD, hold_kind="approval")
    later = post.scheduled_at + timedelta(minutes=10)
    out = _run(rt, actions.approve_post, rt.cfg, post.id, ACTOR, later)
    released = get_post(rt, post.id)
    assert "now" in out.message and released.due_at == released.scheduled_at == post.scheduled_at
    assert released.text == post.text
    # Too late: its words were written for its own time, so approving is refused; nothing changes.
    set_post(rt, post.id, status=PostStatus.HELD, hold_kind="approval")
    much_later = post.scheduled_at + timedelta(days=2)
    with pytest.raises(actions.ActionRefused, match="its time has passed"):
        _run(rt, actions.approve_post, rt.cfg, post.id, ACTOR, much_later)
    assert get_post(rt, post.id).status == PostStatus.HELD


def test_approve_refuses_a_text_that_does_not_fit(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    set_post(rt, post.id, status=PostStatus.HELD, hold_kind="fit", text="x" * 300)
    with pytest.raises(actions.ActionRefused, match="too long for x: 300/280"):
        _run(rt, actions.approve_post, rt.cfg, post.id, ACTOR, NOW)


def test_retry_failed_post(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    set_post(rt, post.id, status=PostStatus.FAILED, attempts=5, last_error="503 from the network")
    out = _run(rt, actions.retry_post, rt.cfg, post.id, ACTOR, NOW)
    assert "retried at" in out.message
    retried = get_post(rt, post.id)
    assert retried.status == PostStatus.SCHEDULED and retried.attempts == 0 and retried.last_error is None
    with pytest.raises(actions.ActionRefused, match="cannot be retried"):
        _run(rt, actions.retry_post, rt.cfg, post.id, ACTOR, NOW)
    # A failed post whose time has long passed is not sent with stale words.
    set_post(rt, post.id, status=PostStatus.FAILED, last_error="503 from the network")
    with pytest.raises(actions.ActionRefused, match="its time has passed"):
        _run(rt, actions.retry_post, rt.cfg, post.id, ACTOR, post.scheduled_at + timedelta(days=2))
    assert get_post(rt, post.id).status == PostStatus.FAILED


def test_unknown_outcome_decided_by_a_person(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    set_post(rt, post.id, status=PostStatus.HELD, hold_kind="unknown_outcome", hold_reason="outcome unknown")
    with pytest.raises(actions.ActionRefused, match="say whether it was published"):
        _run(rt, actions.approve_post, rt.cfg, post.id, ACTOR, NOW)
    _run(rt, actions.decide_outcome, rt.cfg, post.id, False, ACTOR, NOW)
    assert get_post(rt, post.id).status == PostStatus.SCHEDULED
    set_post(rt, post.id, status=PostStatus.HELD, hold_kind="unknown_outcome")
    _run(rt, actions.decide_outcome, rt.cfg, post.id, True, ACTOR, NOW)
    done = get_post(rt, post.id)
    assert done.status == PostStatus.PUBLISHED and done.published_at is not None
    # Not published, and its time has long passed: skipped as missed, never sent with stale words.
    set_post(rt, post.id, status=PostStatus.HELD, hold_kind="unknown_outcome", published_at=None)
    out = _run(rt, actions.decide_outcome, rt.cfg, post.id, False, ACTOR, post.scheduled_at + timedelta(days=2))
    skipped = get_post(rt, post.id)
    assert out.level == "warning" and skipped.status == PostStatus.SKIPPED and skipped.skip_reason == "missed its time"


def test_publish_now_renders_the_words_for_now(synced: Any) -> None:
    rt = synced
    post = next(p for p in posts_of(rt, _scheduled(rt).event_id) if p.step == "two-hours")
    assert "starts in 2 hours" in post.text
    early = post.scheduled_at - timedelta(days=1)
    _run(rt, actions.publish_now, rt.cfg, tpl(rt), post.id, ACTOR, early)
    now_post = get_post(rt, post.id)
    assert now_post.scheduled_at == early and now_post.status == PostStatus.SCHEDULED
    assert "starts in 2 hours" not in now_post.text and now_post.text != post.text


def test_change_template_replans_and_keeps_it_through_syncs(synced: Any) -> None:
    rt = synced
    ev = webinar(rt)
    post = _scheduled(rt)
    _run(rt, actions.edit_text, rt.cfg, post.id, "Edited by a person #MPN", ACTOR, NOW)
    out = _run(rt, actions.change_template, rt.cfg, tpl(rt), ev.id, "seminar", ACTOR, NOW)
    assert "now uses seminar" in out.message
    seminar = {s.key for s in tpl(rt).sets["seminar"].steps}
    webinar_only = {s.key for s in tpl(rt).sets["webinar"].steps} - seminar
    steps = {p.step: p for p in posts_of(rt, ev.id) if p.status != PostStatus.CANCELLED}
    assert "morning-of" in steps and not set(steps) & webinar_only
    assert steps["one-week"].text == "Edited by a person #MPN"  # the same step keeps the person's edit
    cancelled = {p.step for p in posts_of(rt, ev.id) if p.status == PostStatus.CANCELLED}
    assert {"two-hours", "live"} <= cancelled
    jobs.sync_calendars(rt, NOW, force=True)
    with session(rt) as s:
        camp = s.exec(select(Campaign).where(Campaign.event_id == ev.id)).one()
        assert camp.template == "seminar" and camp.template_chosen
    with pytest.raises(actions.ActionRefused, match="no template set 'nope'"):
        _run(rt, actions.change_template, rt.cfg, tpl(rt), ev.id, "nope", ACTOR, NOW)


def test_the_worker_never_claims_a_post_a_person_is_changing(synced: Any) -> None:
    """A claim running while an action's transaction is open does not take the post: PostgreSQL skips the
    locked row (FOR UPDATE vs SKIP LOCKED); SQLite makes the claim wait for the write lock, then sees it skipped."""
    import threading

    from service import publishing

    rt = synced
    post = _scheduled(rt)
    due = post.scheduled_at + timedelta(seconds=5)
    claimed: list[int] = []

    def worker() -> None:
        with rt.db.session(write=True) as w:
            claims, _ = publishing.claim_due(w, due, "worker-1", rt.cfg.publishing)
        claimed.extend(c.post_id for c in claims)

    with rt.db.session(write=True) as s:
        actions.skip_post(s, post.id, ACTOR, NOW)  # holds the row (PostgreSQL) or the write lock (SQLite)
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join(timeout=0.5)  # give the claim time to run into the lock; the outcome does not depend on it
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert post.id not in claimed
    assert get_post(rt, post.id).status == PostStatus.SKIPPED


def test_actions_on_one_post_leave_the_others_as_they_were(synced: Any) -> None:
    rt = synced
    post = _scheduled(rt)
    others_before = {
        p.id: (p.status, p.text, p.scheduled_at, p.updated_at) for p in posts_of(rt, post.event_id) if p.id != post.id
    }
    _run(rt, actions.edit_text, rt.cfg, post.id, "A person's words #MPN", ACTOR, NOW)
    _run(rt, actions.move_post, rt.cfg, tpl(rt), post.id, "2026-12-04T11:00", ACTOR, NOW)
    _run(rt, actions.skip_post, post.id, ACTOR, NOW)
    _run(rt, actions.unskip_post, rt.cfg, post.id, ACTOR, NOW)
    others_after = {
        p.id: (p.status, p.text, p.scheduled_at, p.updated_at) for p in posts_of(rt, post.event_id) if p.id != post.id
    }
    assert others_after == others_before
    # Publish now re-plans the event (to render the words for now): the others keep status and text;
    # one that was due at the same moment on the channel may move by the minimum spacing.
    _run(rt, actions.publish_now, rt.cfg, tpl(rt), post.id, ACTOR, NOW)
    spacing = timedelta(minutes=rt.cfg.planning.min_spacing_minutes)
    for p in posts_of(rt, post.event_id):
        if p.id != post.id:
            status, text, when, _ = others_before[p.id]
            assert (p.status, p.text) == (status, text)
            assert abs(p.scheduled_at - when) <= spacing


def test_reconnect_a_channel_from_the_status_page(synced: Any, client: Any) -> None:
    from service.models import ChannelState
    from tests.helpers import add_user, csrf_token, login

    rt = synced
    with rt.db.session(write=True) as s:
        s.add(ChannelState(name="x", needs_reconnect=True, reason="401 Unauthorized", updated_at=NOW))
    add_user(rt, "viewer@example.org", role="viewer")
    login(client, "viewer@example.org")
    page = client.get("/status").get_data(as_text=True)
    assert "Needs reconnecting" in page and "Credentials renewed" not in page
    assert client.post("/channels/x/reconnect", data={"csrf_token": csrf_token(client, "/status")}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/status")})
    add_user(rt)
    login(client)
    page = client.get("/status").get_data(as_text=True)
    assert "Credentials renewed" in page
    resp = client.post("/channels/x/reconnect", data={"csrf_token": csrf_token(client, "/status")})
    assert resp.status_code == 302
    with rt.db.session() as s:
        state = s.get(ChannelState, "x")
        assert state is not None and not state.needs_reconnect
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "reconnect_channel")).first() is not None
    again = client.post(
        "/channels/x/reconnect", data={"csrf_token": csrf_token(client, "/status")}, follow_redirects=True
    )
    assert "not waiting to be reconnected" in again.get_data(as_text=True)
