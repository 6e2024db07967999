"""A person's actions on publishing: retry, publish now, settle an unknown outcome, reconnect, overview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from service import dispatch, jobs
from service.errors import ConfigError, NotFound, OutcomeUnknown, RejectedError, StateError
from service.models import Post, PostStatus
from service.publishing_actions import channel_overview, publish_now, reconnect_channel, resolve_unknown, retry_post
from service.runtime import Runtime
from tests.conftest import NOW
from tests.publishing import factory
from tests.publishing.conftest import T0, Clock, ScriptedChannel


def _failed(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> int:
    (pid,) = factory.due_posts(rt, 1, T0)
    scripted.script.append(RejectedError("x: X refused the post: 400 Bad Request"))
    dispatch.publish_due(rt, clock)
    assert factory.get(rt, pid).status == PostStatus.FAILED
    return pid


def test_a_failed_post_can_be_retried_with_a_fresh_budget(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    pid = _failed(rt, scripted, clock)
    clock.advance(minutes=5)
    with rt.db.session(write=True) as s:
        post = retry_post(s, pid, clock(), rt.cfg.publishing)
        assert (post.status, post.attempts, post.due_at, post.last_error) == (PostStatus.SCHEDULED, 0, clock(), None)
    assert dispatch.publish_due(rt, clock).published == 1
    assert factory.get(rt, pid).attempts == 1


def test_retry_refuses_what_it_cannot_do_naming_the_post(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    pid = _failed(rt, scripted, clock)
    with rt.db.session(write=True) as s, pytest.raises(StateError, match=rf"post {pid} missed its time .*move it"):
        retry_post(s, pid, T0 + timedelta(hours=6), rt.cfg.publishing)
    with rt.db.session(write=True) as s, pytest.raises(NotFound, match="post 999999 does not exist"):
        retry_post(s, 999999, T0)
    (other,) = factory.due_posts(rt, 1, T0)
    with rt.db.session(write=True) as s, pytest.raises(StateError, match="only a failed post can be retried"):
        retry_post(s, other, T0)


def _unknown(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> int:
    (pid,) = factory.due_posts(rt, 1, T0)
    scripted.script.append(OutcomeUnknown("x: timed out"))
    scripted.reconcile_script.append(OutcomeUnknown("x: cannot read the account's recent posts"))
    dispatch.publish_due(rt, clock)
    assert factory.get(rt, pid).hold_kind == "unknown_outcome"
    return pid


def test_a_person_confirms_an_unknown_outcome_was_published(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    pid = _unknown(rt, scripted, clock)
    with rt.db.session(write=True) as s:
        resolve_unknown(s, pid, True, clock(), external_url="https://x.com/clinic/status/1")
    post = factory.get(rt, pid)
    assert (post.status, post.hold_kind, post.external_url) == (
        PostStatus.PUBLISHED,
        None,
        "https://x.com/clinic/status/1",
    )
    assert dispatch.publish_due(rt, clock.advance(minutes=1)).published == 0


def test_a_person_says_an_unknown_outcome_did_not_go_out_so_it_is_sent(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    pid = _unknown(rt, scripted, clock)
    with rt.db.session(write=True) as s:
        assert resolve_unknown(s, pid, False, clock.advance(minutes=2)()).status == PostStatus.SCHEDULED
    assert dispatch.publish_due(rt, clock).published == 1
    with rt.db.session(write=True) as s, pytest.raises(StateError, match="not waiting for a check"):
        resolve_unknown(s, pid, True, clock())


def test_an_unknown_outcome_settled_too_late_is_skipped_not_sent(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    pid = _unknown(rt, scripted, clock)
    with rt.db.session(write=True) as s:
        post = resolve_unknown(s, pid, False, clock.advance(days=2)())
        assert (post.status, post.skip_reason) == (PostStatus.SKIPPED, "missed its time")


def test_publish_now_moves_the_post_and_writes_its_words_for_the_new_time(rt: Runtime) -> None:
    jobs.sync_calendars(rt, NOW)
    with rt.db.session() as s:
        post = s.exec(select(Post).where(Post.step == "two-hours", Post.status == PostStatus.SCHEDULED)).first()
    assert post is not None and post.id is not None and "starts in 2 hours" in post.text
    with rt.db.session(write=True) as s:
        moved = publish_now(s, rt.cfg, rt.templates(s), post.id, NOW)
        assert (moved.status, moved.scheduled_at, moved.due_at, moved.moved) == (PostStatus.SCHEDULED, NOW, NOW, True)
    after = factory.get(rt, post.id)
    assert "starts in 2 hours" not in after.text and "in 12 days (5:30 PM MST" in after.text
    assert dispatch.publish_due(rt, lambda: NOW).published >= 1
    assert factory.get(rt, post.id).status == PostStatus.PUBLISHED
    with rt.db.session(write=True) as s, pytest.raises(StateError, match="is published"):
        publish_now(s, rt.cfg, rt.templates(s), post.id, NOW)


def test_reconnect_names_an_unknown_channel(rt: Runtime) -> None:
    with rt.db.session(write=True) as s, pytest.raises(ConfigError, match="no channel named 'nope'"):
        reconnect_channel(s, rt.cfg, "nope", T0)


def test_the_channel_overview_counts_what_waits_and_what_failed(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    _failed(rt, scripted, clock)
    _unknown(rt, scripted, clock)
    factory.due_posts(rt, 2, T0 + timedelta(days=1))
    with rt.db.session() as s:
        (x,) = channel_overview(s, rt.cfg, clock())
    assert (x.name, x.kind, x.scheduled, x.failed, x.held_unknown, x.needs_reconnect) == ("x", "outbox", 2, 1, 1, False)
    assert x.last_published_at is None and x.rate_limit is None
