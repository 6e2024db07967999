"""The post life cycle through the publish job, with an injected clock and a scripted channel."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta

from sqlmodel import select

from service import dispatch, liveness, publishing
from service.config import PublishingConfig
from service.db import Database
from service.errors import (
    AuthError,
    DuplicateContent,
    OutcomeUnknown,
    RateLimited,
    RejectedError,
    RetryableError,
)
from service.models import Campaign, ChannelState, Post, PostAttempt, PostStatus, WorkerHeartbeat
from service.publishing_actions import reconnect_channel
from service.runtime import Runtime
from tests.conftest import ConfigFactory
from tests.fakes.http import FakeServer, Response
from tests.publishing import factory
from tests.publishing.conftest import T0, Clock, ScriptedChannel, statuses


def test_the_claim_is_committed_before_the_network_call_and_each_post_goes_once(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    ids = factory.due_posts(rt, 3, T0)
    tick = dispatch.publish_due(rt, clock)
    assert tick.published == 3
    assert scripted.seen_in_db == [(PostStatus.PUBLISHING, 1, True)] * 3
    assert statuses(rt, ids) == [PostStatus.PUBLISHED] * 3
    assert dispatch.publish_due(rt, clock.advance(minutes=1)).published == 0
    assert len(scripted.sent) == 3
    with rt.db.session() as s:
        attempts = s.exec(select(PostAttempt)).all()
    assert sorted(a.outcome or "" for a in attempts) == ["published"] * 3
    assert all(a.sent_at == T0 and a.finished_at == T0 for a in attempts)


def test_nothing_goes_out_before_its_time(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    (pid,) = factory.due_posts(rt, 1, T0 + timedelta(seconds=1))
    assert dispatch.publish_due(rt, clock).published == 0
    with rt.db.session() as s:
        assert publishing.next_due_at(s, T0) == T0 + timedelta(seconds=1)
    assert dispatch.publish_due(rt, clock.advance(seconds=1)).published == 1
    assert scripted.sent[0].post_id == pid


def _one(rt: Runtime, start_in: timedelta, late: timedelta) -> int:
    with rt.db.session(write=True) as s:
        ev, camp = factory.event(s, T0 + start_in)
        p = factory.post(s, rt.cfg.base_url, ev, camp, T0 - late)
        assert p.id is not None
        return p.id


def test_a_last_day_post_later_than_30_minutes_is_skipped_as_missed(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    on_time = _one(rt, timedelta(hours=5), timedelta(minutes=29))
    too_late = _one(rt, timedelta(hours=5), timedelta(minutes=31))
    tick = dispatch.publish_due(rt, clock)
    assert (tick.published, tick.skipped) == (1, 1)
    late = factory.get(rt, too_late)
    assert late.status == PostStatus.SKIPPED and late.skip_reason == "missed its time"
    assert late.last_error == "missed its time: 31 min late (the limit for this step is 30 min)"
    assert factory.get(rt, on_time).status == PostStatus.PUBLISHED
    assert [p.post_id for p in scripted.sent] == [on_time]


def test_an_earlier_step_may_be_hours_late_but_not_more_than_its_limit(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    three_hours = _one(rt, timedelta(days=3), timedelta(hours=3))
    five_hours = _one(rt, timedelta(days=3), timedelta(hours=5))
    dispatch.publish_due(rt, clock)
    assert factory.get(rt, three_hours).status == PostStatus.PUBLISHED
    assert factory.get(rt, five_hours).status == PostStatus.SKIPPED


def test_words_written_for_another_day_are_never_sent(make_config: ConfigFactory, clock: Clock) -> None:
    cfg = make_config(extra="[publishing]\nlate_limit_earlier_minutes = 100000\n")
    rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
    channel = ScriptedChannel(rt)
    rt.__dict__["channels"] = {"x": channel}
    # "in 7 days", four days late: within the (huge) limit, but no longer true.
    four_days = _one(rt, timedelta(days=3), timedelta(days=4))
    # The event started ten minutes ago; "starts in 2 hours" was due twenty minutes ago.
    started = _one(rt, -timedelta(minutes=10), timedelta(minutes=20))
    dispatch.publish_due(rt, clock)
    assert factory.get(rt, four_days).last_error == "missed its time: its words were written for Sun Nov 29"
    assert factory.get(rt, started).last_error == "missed its time: the event had started"
    assert channel.sent == []
    rt.db.dispose()


def test_a_post_not_yet_due_has_missed_nothing() -> None:
    # A retried or released post that is due on a later day goes out then: its words are still true.
    start = T0 + timedelta(days=8)
    for ahead in (timedelta(minutes=5), timedelta(days=3)):
        assert publishing.missed_detail(PublishingConfig(), T0 + ahead, T0, start, start, "America/Phoenix") is None
    late = publishing.missed_detail(PublishingConfig(), T0 - timedelta(days=2), T0, start, start, "America/Phoenix")
    assert late is not None and "late" in late  # the guard is for the future only


def test_paused_campaigns_wait_and_do_not_wake_the_worker(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    (pid,) = factory.due_posts(rt, 1, T0)
    with rt.db.session(write=True) as s:
        for camp in s.exec(select(Campaign)):
            camp.paused = True
    assert dispatch.publish_due(rt, clock).published == 0
    with rt.db.session() as s:
        assert publishing.next_due_at(s, T0) is None
        assert publishing.next_wake_at(s, T0) is None
    assert factory.get(rt, pid).status == PostStatus.SCHEDULED


def test_a_backlog_after_an_outage_is_paced_per_channel(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    ids = factory.due_posts(rt, 3, T0 - timedelta(hours=1))
    tick = dispatch.publish_due(rt, clock)
    assert (tick.published, tick.deferred) == (1, 2)
    assert statuses(rt, ids).count(PostStatus.PUBLISHED) == 1
    waiting = [factory.get(rt, i) for i in ids if factory.get(rt, i).status == PostStatus.SCHEDULED]
    assert {p.due_at for p in waiting} == {T0 + timedelta(seconds=60)}
    assert all(p.scheduled_at == T0 - timedelta(hours=1) for p in waiting)  # the post's own time is kept
    assert dispatch.publish_due(rt, clock.advance(seconds=30)).published == 0
    assert dispatch.publish_due(rt, clock.advance(seconds=30)).published == 1
    assert dispatch.publish_due(rt, clock.advance(seconds=60)).published == 1
    assert statuses(rt, ids) == [PostStatus.PUBLISHED] * 3


def test_posts_on_time_are_not_paced(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    factory.due_posts(rt, 3, T0)
    assert dispatch.publish_due(rt, clock).published == 3


def test_a_channels_own_rate_limit_puts_off_what_is_over_it(make_config: ConfigFactory, clock: Clock) -> None:
    cfg = make_config(
        channels='[[channels]]\nname = "x"\nkind = "outbox"\nrate_limit_posts = 2\nrate_limit_window_minutes = 60\n'
    )
    rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
    rt.__dict__["channels"] = {"x": ScriptedChannel(rt)}
    ids = factory.due_posts(rt, 3, T0)
    tick = dispatch.publish_due(rt, clock)
    assert (tick.published, tick.deferred) == (2, 1)
    waiting = [factory.get(rt, i) for i in ids if factory.get(rt, i).status == PostStatus.SCHEDULED]
    assert [p.due_at for p in waiting] == [T0 + timedelta(minutes=60)]
    assert dispatch.publish_due(rt, clock.advance(minutes=60)).published == 1
    rt.db.dispose()


def test_temporary_errors_back_off_then_succeed(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    (pid,) = factory.due_posts(rt, 1, T0)
    scripted.script.extend([RetryableError("x: X server error: 503"), RetryableError("x: could not connect")])
    tick = dispatch.publish_due(rt, clock)
    assert tick.retried == 1
    post = factory.get(rt, pid)
    assert (post.status, post.attempts, post.last_error) == (PostStatus.SCHEDULED, 1, "x: X server error: 503")
    base = rt.cfg.publishing.backoff_base_seconds
    assert T0 + timedelta(seconds=base / 2) <= post.due_at <= T0 + timedelta(seconds=base)
    clock.now = post.due_at
    dispatch.publish_due(rt, clock)
    second = factory.get(rt, pid)
    assert second.attempts == 2 and second.due_at <= clock.now + timedelta(seconds=2 * base)
    clock.now = second.due_at
    dispatch.publish_due(rt, clock)
    done = factory.get(rt, pid)
    assert (done.status, done.attempts, done.last_error) == (PostStatus.PUBLISHED, 3, None)


def test_after_max_attempts_a_post_fails_with_the_reason(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    (pid,) = factory.due_posts(rt, 1, T0)
    scripted.script.extend([RetryableError("x: X server error: 500")] * 5)
    for _ in range(5):
        dispatch.publish_due(rt, clock)
        clock.now = max(clock.now, factory.get(rt, pid).due_at)
    post = factory.get(rt, pid)
    assert post.status == PostStatus.FAILED
    assert post.last_error == "gave up after 5 attempts: x: X server error: 500"
    assert len(scripted.sent) == 5


def test_a_rate_limit_waits_for_the_reset_without_using_an_attempt(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    first, second = factory.due_posts(rt, 2, T0)
    reset = T0 + timedelta(minutes=15)
    scripted.script.append(RateLimited("x: X rate limit reached", retry_at=reset))
    tick = dispatch.publish_due(rt, clock)
    assert (tick.retried, tick.published) == (1, 0)
    post = factory.get(rt, first)
    assert (post.status, post.attempts, post.due_at) == (PostStatus.SCHEDULED, 0, reset)
    assert len(scripted.sent) == 1  # the other post of the channel waited too
    with rt.db.session() as s:
        assert s.get(ChannelState, "x").rate_limited_until == reset  # type: ignore[union-attr]
        assert publishing.next_wake_at(s, T0) == reset
    assert dispatch.publish_due(rt, clock.advance(minutes=14)).published == 0
    # After the wait both are a backlog: one now, the next a pacing interval later.
    assert dispatch.publish_due(rt, clock.advance(minutes=1)).published == 1
    assert dispatch.publish_due(rt, clock.advance(seconds=60)).published == 1
    assert statuses(rt, [first, second]) == [PostStatus.PUBLISHED] * 2


def _notices() -> FakeServer:
    server = FakeServer()
    server.route("POST", "/notify", lambda _r: Response(200, "ok"))
    return server


def test_a_revoked_token_pauses_the_channel_until_a_person_reconnects_it(
    make_config: ConfigFactory, clock: Clock
) -> None:
    with _notices() as hook:
        cfg = make_config(extra=f'[publishing]\nfailure_webhook = "{hook.url}/notify"\n')
        rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
        channel = ScriptedChannel(rt)
        rt.__dict__["channels"] = {"x": channel}
        ids = factory.due_posts(rt, 2, T0)
        channel.script.append(AuthError("x: X no longer accepts the account's token: 401 Unauthorized"))
        dispatch.publish_due(rt, clock)
        assert len(channel.sent) == 1
        assert [factory.get(rt, i).attempts for i in ids] == [0, 0]
        assert statuses(rt, ids) == [PostStatus.SCHEDULED] * 2
        with rt.db.session() as s:
            state = s.get(ChannelState, "x")
            assert state is not None and state.needs_reconnect and "401" in (state.reason or "")
            assert publishing.next_due_at(s, T0) is None
        assert dispatch.publish_due(rt, clock.advance(minutes=5)).published == 0
        (notice,) = [r.json() for r in hook.received("POST", "/notify")]
        assert notice["kind"] == "needs_reconnect" and notice["text"].startswith("eventpromo: A channel needs")
        with rt.db.session(write=True) as s:
            assert reconnect_channel(s, rt.cfg, "x", clock()) == 2
        assert dispatch.publish_due(rt, clock).published == 1
        assert dispatch.publish_due(rt, clock.advance(seconds=60)).published == 1
        rt.db.dispose()


def test_a_refused_post_fails_at_once_with_the_networks_message_and_a_notice(
    make_config: ConfigFactory, clock: Clock
) -> None:
    with _notices() as hook:
        cfg = make_config(extra=f'[publishing]\nfailure_webhook = "{hook.url}/notify"\n')
        rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
        channel = ScriptedChannel(rt)
        rt.__dict__["channels"] = {"x": channel}
        (pid,) = factory.due_posts(rt, 1, T0)
        message = "x: X refused the post: 403 Forbidden: You are not permitted to perform this action."
        channel.script.append(RejectedError(message))
        assert dispatch.publish_due(rt, clock).failed == 1
        post = factory.get(rt, pid)
        assert (post.status, post.last_error, post.attempts) == (PostStatus.FAILED, message, 1)
        (notice,) = [r.json() for r in hook.received("POST", "/notify")]
        assert notice["kind"] == "failed" and notice["post_id"] == pid and message in notice["text"]
        rt.db.dispose()


def test_an_unknown_outcome_found_by_reconcile_is_published_without_a_second_request(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    from service.channels.base import PublishResult

    (pid,) = factory.due_posts(rt, 1, T0)
    scripted.script.append(OutcomeUnknown("x: posting: timed out waiting for the answer"))
    scripted.reconcile_script.append(PublishResult("1900000000000000042", "https://x.com/i/web/status/42"))
    assert dispatch.publish_due(rt, clock).published == 1
    post = factory.get(rt, pid)
    assert (post.status, post.external_id) == (PostStatus.PUBLISHED, "1900000000000000042")
    assert len(scripted.sent) == 1


def test_an_unknown_outcome_surely_absent_is_retried_later(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    (pid,) = factory.due_posts(rt, 1, T0)
    scripted.script.append(OutcomeUnknown("x: posting: timed out waiting for the answer"))
    scripted.reconcile_script.append(None)
    dispatch.publish_due(rt, clock)
    post = factory.get(rt, pid)
    assert (post.status, post.attempts) == (PostStatus.SCHEDULED, 1) and post.due_at > T0


def test_an_outcome_nobody_can_tell_is_held_for_a_person(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    (pid,) = factory.due_posts(rt, 1, T0)
    scripted.script.append(OutcomeUnknown("x: posting: the connection broke before an answer came"))
    scripted.reconcile_script.append(OutcomeUnknown("x: cannot read the account's recent posts: 429"))
    tick = dispatch.publish_due(rt, clock)
    assert tick.held == 1
    post = factory.get(rt, pid)
    assert (post.status, post.hold_kind, post.hold_reason) == (
        PostStatus.HELD,
        "unknown_outcome",
        "outcome unknown: check the account",
    )
    assert "cannot read the account's recent posts" in (post.last_error or "")
    assert dispatch.publish_due(rt, clock.advance(hours=1)).published == 0


def test_a_duplicate_that_is_our_own_earlier_try_counts_as_published(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    from service.channels.base import PublishResult

    first, second = factory.due_posts(rt, 2, T0)
    message = "x: X refused the post: 403 Forbidden: You are not allowed to create a Tweet with duplicate content."
    scripted.script.extend([DuplicateContent(message), DuplicateContent(message)])
    scripted.reconcile_script.extend([PublishResult("111"), None])
    dispatch.publish_due(rt, clock)
    assert factory.get(rt, first).status == PostStatus.PUBLISHED
    failed = factory.get(rt, second)
    assert (failed.status, failed.last_error) == (PostStatus.FAILED, message)


def test_a_channel_bug_is_treated_as_an_unknown_outcome(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    (pid,) = factory.due_posts(rt, 1, T0)
    scripted.script.append(KeyError("id"))
    scripted.reconcile_script.append(OutcomeUnknown("cannot tell"))
    dispatch.publish_due(rt, clock)
    assert factory.get(rt, pid).hold_kind == "unknown_outcome"


def _claim_elsewhere(rt: Runtime, worker: str, sent: bool) -> publishing.Claim:
    with rt.db.session(write=True) as s:
        (claim,) = publishing.claim_due(s, T0, worker, rt.cfg.publishing).claims
        if sent:
            assert publishing.mark_sending(s, claim, T0, rt.cfg.publishing.lease_seconds)
    return claim


def test_a_post_left_publishing_with_an_expired_lease_is_reconciled(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    from service.channels.base import PublishResult

    (pid,) = factory.due_posts(rt, 1, T0)
    _claim_elsewhere(rt, "otherhost:4242:abc", sent=True)
    assert dispatch.publish_due(rt, clock.advance(seconds=60)).reconciled == 0  # the lease still runs
    scripted.reconcile_script.append(PublishResult("found-it"))
    tick = dispatch.publish_due(rt, clock.advance(seconds=rt.cfg.publishing.lease_seconds))
    assert (tick.reconciled, tick.published) == (1, 1)
    post = factory.get(rt, pid)
    assert (post.status, post.external_id, post.attempts) == (PostStatus.PUBLISHED, "found-it", 1)
    assert scripted.sent == []


def test_a_crashed_send_that_surely_did_not_go_out_is_sent_at_once(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    (pid,) = factory.due_posts(rt, 1, T0)
    _claim_elsewhere(rt, "otherhost:4242:abc", sent=True)
    scripted.reconcile_script.append(None)
    tick = dispatch.publish_due(rt, clock.advance(seconds=rt.cfg.publishing.lease_seconds + 1))
    assert (tick.reconciled, tick.published) == (1, 1)
    assert factory.get(rt, pid).attempts == 2


def test_a_claim_never_sent_is_released_without_asking_the_channel(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    (pid,) = factory.due_posts(rt, 1, T0)
    _claim_elsewhere(rt, "otherhost:4242:abc", sent=False)
    scripted.reconcile_script.append(OutcomeUnknown("must not be asked"))
    tick = dispatch.publish_due(rt, clock.advance(seconds=rt.cfg.publishing.lease_seconds + 1))
    assert (tick.released, tick.published) == (1, 1)
    assert factory.get(rt, pid).attempts == 1
    assert len(scripted.reconcile_script) == 1


def test_a_dead_worker_on_this_machine_is_recovered_before_its_lease_ends(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    from service.channels.base import PublishResult

    (pid,) = factory.due_posts(rt, 1, T0)
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = liveness.worker_id().rsplit(":", 2)
    dead_id = f"{dead[0]}:{gone.pid}:{dead[2]}"
    assert liveness.is_dead(dead_id) and not liveness.is_dead(liveness.worker_id())
    _claim_elsewhere(rt, dead_id, sent=True)
    scripted.reconcile_script.append(PublishResult("was-out"))
    tick = dispatch.publish_due(rt, clock.advance(seconds=1))
    assert tick.reconciled == 1 and factory.get(rt, pid).status == PostStatus.PUBLISHED


def test_a_stopping_worker_finishes_the_post_in_flight_and_releases_the_rest(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    import threading

    ids = factory.due_posts(rt, 3, T0)
    stop = threading.Event()
    scripted.on_publish = lambda _post: stop.set()  # SIGTERM arrives while the first post is being sent
    tick = dispatch.publish_due(rt, clock, stop=stop)
    assert (tick.published, tick.released) == (1, 2)
    rows = [factory.get(rt, i) for i in ids]
    assert [r.status for r in rows] == [PostStatus.PUBLISHED, PostStatus.SCHEDULED, PostStatus.SCHEDULED]
    assert [r.attempts for r in rows] == [1, 0, 0]
    assert all(r.lease_until is None and r.claimed_by is None for r in rows)


def test_the_heartbeat_tells_healthz_the_last_tick_and_the_next_due_post(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock, client
) -> None:  # type: ignore[no-untyped-def]
    factory.due_posts(rt, 1, T0 + timedelta(hours=2))
    dispatch.publish_due(rt, clock)
    with rt.db.session() as s:
        (beat,) = s.exec(select(WorkerHeartbeat)).all()
    assert beat.worker == rt.worker_id and beat.next_due_at == T0 + timedelta(hours=2)
    body = json.loads(client.get("/healthz").get_data(as_text=True))
    assert body["database"] is True and body["worker_last_tick"] is not None
    assert body["next_due_post"].startswith("2026-12-03T19:00:00")


def test_next_wake_includes_leases_to_recover(rt: Runtime, scripted: ScriptedChannel) -> None:
    factory.due_posts(rt, 1, T0)
    _claim_elsewhere(rt, "otherhost:1:abc", sent=True)
    with rt.db.session() as s:
        assert publishing.next_wake_at(s, T0) == T0 + timedelta(seconds=rt.cfg.publishing.lease_seconds)
    with rt.db.session() as s:
        assert s.exec(select(Post)).one().status == PostStatus.PUBLISHING
