"""The publish job: claim (commit) -> mark sending (commit) -> channel call -> record (commit).

Error handling, by what the channel raised:
- RateLimited (429): back to scheduled at the reset the network gave, no attempt used; the channel waits.
- RetryableError (5xx, connection refused, timeout before sending): exponential backoff with jitter,
  at most `max_attempts`, then failed.
- AuthError (expired or revoked token): the channel "needs reconnecting"; its posts wait, no attempt used.
- RejectedError (4xx): failed at once with the network's message. DuplicateContent: reconcile first,
  since the duplicate may be our own earlier try.
- OutcomeUnknown (timeout after sending, broken connection): reconcile with the channel; if it cannot
  tell, held as "outcome unknown: check the account".
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, text
from sqlmodel import Session, col

from . import faults, liveness, notify, publishing
from .channels.base import Channel, OutgoingPost
from .errors import (
    AuthError,
    ChannelError,
    DuplicateContent,
    OutcomeUnknown,
    RateLimited,
    RejectedError,
    RetryableError,
)
from .models import ChannelState, Post, WorkerHeartbeat, utcnow
from .runtime import Runtime

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Never retry sooner than this: a retry is always in the future, so one tick cannot loop on a post.
MIN_RETRY = timedelta(seconds=1)
MAX_BACKOFF = timedelta(hours=1)
# A tick never runs away: after this many claim rounds it ends and the next tick goes on.
MAX_ROUNDS = 1000
HEARTBEAT_KEEP = timedelta(days=7)


@dataclass
class PublishTick:
    """What one dispatch tick did."""

    published: int = 0
    failed: int = 0
    retried: int = 0
    held: int = 0
    skipped: int = 0
    deferred: int = 0
    reconciled: int = 0
    released: int = 0
    notices: list[notify.Notice] = field(default_factory=list, repr=False)
    # Channels that said "stop" during this tick (rate limit, token): their other claims are released.
    stopped_channels: set[str] = field(default_factory=set, repr=False)

    def counts(self) -> dict[str, int]:
        """The counters, for --json and logs."""
        data = asdict(self)
        data.pop("notices")
        data.pop("stopped_channels")
        return data

    def busy(self) -> bool:
        """True when anything happened."""
        return any(self.counts().values())


def backoff(attempts: int, base: float) -> timedelta:
    """Exponential with full jitter: posts that failed together do not retry together."""
    ceiling = min(base * (2 ** max(0, attempts - 1)), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=random.uniform(min(base / 2, ceiling), ceiling))


def publish_due(rt: Runtime, now_fn: Clock, batch: int = 20, stop: threading.Event | None = None) -> PublishTick:
    """Publish every due post once, recover posts left by dead workers, write the heartbeat."""
    tick = PublishTick()
    recover(rt, now_fn, tick)
    limits = publishing.channel_limits(rt.cfg)
    for _ in range(MAX_ROUNDS):
        if stop is not None and stop.is_set():
            break
        with rt.db.session(write=True) as session:
            claimed = publishing.claim_due(session, now_fn(), rt.worker_id, rt.cfg.publishing, batch, limits)
        tick.skipped += claimed.skipped
        tick.deferred += claimed.deferred
        if claimed.examined == 0:
            break
        for i, claim in enumerate(claimed.claims):
            if stop is not None and stop.is_set():
                release_all(rt, claimed.claims[i:], now_fn, tick)
                break
            faults.point("after_claim")
            publish_one(rt, claim, now_fn, tick)
    heartbeat(rt, now_fn)
    notify.send(rt.cfg.publishing.failure_webhook, tick.notices)
    return tick


def release_all(rt: Runtime, claims: list[publishing.Claim], now_fn: Clock, tick: PublishTick) -> None:
    """Give back claimed posts this worker will not send (it is stopping)."""
    with rt.db.session(write=True) as session:
        for claim in claims:
            tick.released += publishing.release(session, claim, now_fn(), "the worker stopped")


def publish_one(rt: Runtime, claim: publishing.Claim, now_fn: Clock, tick: PublishTick) -> None:
    """Send one claimed post through its channel and record what happened."""
    cfg = rt.cfg.publishing
    with rt.db.session(write=True) as session:
        post = publishing.outgoing(session, claim, rt.cfg.base_url)
        if post is None:
            return
        if post.channel in tick.stopped_channels:
            tick.released += publishing.release(session, claim, now_fn(), f"channel {post.channel} is waiting")
            return
        channel = rt.channels.get(post.channel)
        problem = (
            f"channel {post.channel!r} is not in the configuration"
            if channel is None
            else "; ".join(channel.validate(post))
        )
        if problem:
            publishing.record_failed(session, claim, problem, now_fn())
            _failed(tick, post, problem)
            return
        if not publishing.mark_sending(session, claim, now_fn(), cfg.lease_seconds):
            return
    assert channel is not None
    faults.point("before_request")
    try:
        result = channel.publish(post)
    except RateLimited as exc:
        now = now_fn()
        retry_at = max(exc.retry_at or now + backoff(1, cfg.backoff_base_seconds), now + MIN_RETRY)
        with rt.db.session(write=True) as session:
            publishing.record_retry(session, claim, str(exc), retry_at, now, count_attempt=False)
            publishing.set_channel_state(session, post.channel, now, rate_limited_until=retry_at)
        tick.retried += 1
        tick.stopped_channels.add(post.channel)
    except DuplicateContent as exc:
        # The duplicate may be our own earlier try that went out unseen: look before failing.
        settle_unknown(rt, claim, post, channel, str(exc), now_fn, tick, absent_means_failed=True)
    except RejectedError as exc:
        with rt.db.session(write=True) as session:
            publishing.record_failed(session, claim, str(exc), now_fn())
        _failed(tick, post, str(exc))
    except AuthError as exc:
        _needs_reconnect(rt, claim, post, str(exc), now_fn, tick)
    except RetryableError as exc:
        _retry_or_fail(rt, claim, post, str(exc), now_fn, tick)
    except OutcomeUnknown as exc:
        settle_unknown(rt, claim, post, channel, str(exc), now_fn, tick)
    except Exception as exc:  # a bug in a channel: the request may have gone out, so treat it as unknown
        log.exception("channel %s crashed while publishing post %s", post.channel, post.post_id)
        settle_unknown(rt, claim, post, channel, f"unexpected error: {type(exc).__name__}: {exc}", now_fn, tick)
    else:
        faults.point("after_request")
        now = now_fn()
        with _outcome_session(rt) as session:
            if publishing.record_published(session, claim, result, now):
                tick.published += 1
            if result.rate_limited_until is not None and result.rate_limited_until > now:
                publishing.set_channel_state(session, post.channel, now, rate_limited_until=result.rate_limited_until)
        faults.point("after_commit")


@contextmanager
def _outcome_session(rt: Runtime) -> Iterator[Session]:
    """A write session for recording a publish. On PostgreSQL its commit does not wait for the disk:
    should the database itself crash in that instant, the post reads `publishing` (sent) again and is
    reconciled, as any unknown outcome is; the claim and the sending mark before it stay durable.
    """
    with rt.db.session(write=True) as session:
        if rt.db.dialect == "postgresql":
            session.execute(text("SET LOCAL synchronous_commit TO OFF"))
        yield session


def _failed(tick: PublishTick, post: OutgoingPost, reason: str) -> None:
    tick.failed += 1
    tick.notices.append(notify.Notice("failed", post.channel, reason, post.post_id, post.event_title, post.step))


def _retry_or_fail(
    rt: Runtime, claim: publishing.Claim, post: OutgoingPost, reason: str, now_fn: Clock, tick: PublishTick
) -> None:
    cfg = rt.cfg.publishing
    with rt.db.session(write=True) as session:
        row = session.get(Post, claim.post_id)
        attempts = row.attempts if row else cfg.max_attempts
        now = now_fn()
        if attempts >= cfg.max_attempts:
            why = f"gave up after {attempts} attempts: {reason}"
            if publishing.record_failed(session, claim, why, now):
                _failed(tick, post, why)
        else:
            retry_at = now + max(backoff(attempts, cfg.backoff_base_seconds), MIN_RETRY)
            tick.retried += publishing.record_retry(session, claim, reason, retry_at, now)


def _needs_reconnect(
    rt: Runtime, claim: publishing.Claim, post: OutgoingPost, reason: str, now_fn: Clock, tick: PublishTick
) -> None:
    now = now_fn()
    with rt.db.session(write=True) as session:
        state = session.get(ChannelState, post.channel)
        first = not (state and state.needs_reconnect)
        publishing.set_channel_state(session, post.channel, now, needs_reconnect=True, reason=reason)
        # Not the post's fault: it waits (scheduled, no attempt used) until a person reconnects the channel.
        publishing.record_retry(session, claim, f"channel needs reconnecting: {reason}", now, now, count_attempt=False)
    tick.retried += 1
    tick.stopped_channels.add(post.channel)
    if first:
        tick.notices.append(notify.Notice("needs_reconnect", post.channel, reason))


def settle_unknown(
    rt: Runtime,
    claim: publishing.Claim,
    post: OutgoingPost,
    channel: Channel,
    reason: str,
    now_fn: Clock,
    tick: PublishTick,
    *,
    after_crash: bool = False,
    absent_means_failed: bool = False,
) -> None:
    """The request may have gone out: ask the channel; if it cannot tell, a person decides."""
    if post.first_sent_at is None:
        with rt.db.session() as session:
            post = replace(post, first_sent_at=publishing.first_sent_at(session, post.post_id) or now_fn())
    try:
        found = channel.reconcile(post)
        unsure = None
    except ChannelError as exc:
        found, unsure = None, str(exc)
    except Exception as exc:
        log.exception("channel %s crashed while reconciling post %s", post.channel, post.post_id)
        found, unsure = None, f"unexpected error: {type(exc).__name__}: {exc}"
    now = now_fn()
    if found is not None:
        with rt.db.session(write=True) as session:
            tick.published += publishing.record_published(session, claim, found, now)
        return
    if unsure is not None:
        detail = f"{publishing.UNKNOWN_OUTCOME} ({reason}; {unsure})"
        with rt.db.session(write=True) as session:
            held = publishing.record_held(
                session, claim, publishing.UNKNOWN_OUTCOME, publishing.HOLD_UNKNOWN, now, detail=detail
            )
        if held:
            tick.held += 1
            tick.notices.append(
                notify.Notice("unknown_outcome", post.channel, detail, post.post_id, post.event_title, post.step)
            )
        return
    # Surely absent.
    if absent_means_failed:
        with rt.db.session(write=True) as session:
            if publishing.record_failed(session, claim, reason, now):
                _failed(tick, post, reason)
    elif after_crash:
        # Nothing went out: send it now (its lateness is checked again when it is claimed).
        with rt.db.session(write=True) as session:
            tick.retried += publishing.record_retry(session, claim, reason, now, now)
    else:
        _retry_or_fail(rt, claim, post, reason, now_fn, tick)


def recover(rt: Runtime, now_fn: Clock, tick: PublishTick) -> None:
    """Posts left `publishing` by a dead worker: released if never sent, else reconciled."""
    cfg = rt.cfg.publishing
    with rt.db.session(write=True) as session:
        adopted = publishing.adopt_stale(session, now_fn(), rt.worker_id, cfg.lease_seconds, liveness.is_dead)
        for item in adopted:
            if not item.sent:
                tick.released += publishing.release(session, item.claim, now_fn(), "the worker stopped before sending")
    for item in adopted:
        if not item.sent:
            continue
        with rt.db.session() as session:
            post = publishing.outgoing(session, item.claim, rt.cfg.base_url, history=True)
        if post is None:
            continue
        tick.reconciled += 1
        channel = rt.channels.get(post.channel)
        if channel is None:
            with rt.db.session(write=True) as session:
                reason = f"channel {post.channel!r} is not in the configuration: {publishing.UNKNOWN_OUTCOME}"
                tick.held += publishing.record_held(
                    session, item.claim, publishing.UNKNOWN_OUTCOME, publishing.HOLD_UNKNOWN, now_fn(), detail=reason
                )
            continue
        settle_unknown(
            rt, item.claim, post, channel, "the worker stopped while sending", now_fn, tick, after_crash=True
        )


def heartbeat(rt: Runtime, now_fn: Clock) -> None:
    """Record this worker's tick (real clock: it is about the process) and the next due post."""
    with rt.db.session(write=True) as session:
        beat = session.get(WorkerHeartbeat, rt.worker_id) or WorkerHeartbeat(worker=rt.worker_id, last_tick_at=utcnow())
        beat.last_tick_at = utcnow()
        beat.next_due_at = publishing.next_due_at(session, now_fn())
        session.add(beat)
        session.execute(delete(WorkerHeartbeat).where(col(WorkerHeartbeat.last_tick_at) < utcnow() - HEARTBEAT_KEEP))
