"""The units of work the CLI and the worker run: each opens its own sessions and commits."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from . import publishing
from .calendars import sync as sync_mod
from .calendars.base import NULL_PROGRESS, Progress
from .channels.base import Channel, OutgoingPost
from .config import CalendarConfig
from .errors import (
    AuthError,
    CalendarError,
    ChannelError,
    ConfigError,
    OutcomeUnknown,
    RateLimited,
    RejectedError,
    RetryableError,
)
from .models import ChannelState, Post, WorkerHeartbeat, utcnow
from .runtime import Runtime

log = logging.getLogger(__name__)


def sync_calendars(
    rt: Runtime,
    now: datetime,
    only: str | None = None,
    force: bool = False,
    progress: Callable[[str], None] | Progress | None = None,
) -> list[sync_mod.SyncReport]:
    """Sync every calendar (or one), one transaction per source; a failing source does not stop the others.

    `progress` is a Progress (stages and steps of each source) or a callable told each source's name.
    """
    reports = []
    for cal in rt.cfg.calendars:
        if only and cal.name != only:
            continue
        if isinstance(progress, Progress):
            steps: Progress = progress
        else:
            steps = NULL_PROGRESS
            if progress:
                progress(cal.name)
        reports.append(_sync_one(rt, cal, now, force, steps))
    return reports


def _sync_one(rt: Runtime, cal: CalendarConfig, now: datetime, force: bool, progress: Progress) -> sync_mod.SyncReport:
    """Fetch outside any transaction (network and parsing hold no lock), then apply in one write transaction."""
    try:
        source = rt.source(cal)
        with rt.db.session() as session:
            state = sync_mod.read_state(session, cal.name, rt.cfg, now)
        start, end = sync_mod.window(rt.cfg, now)
        result = source.fetch(state, start, end, progress)
        with rt.db.session(write=True) as session:
            return sync_mod.apply_result(
                session, rt.cfg, cal.name, result, rt.templates(session), now, force=force, progress=progress
            )
    except (CalendarError, ConfigError) as exc:
        message = str(exc)
        log.warning("sync failed: %s", message)
    except Exception as exc:  # a bug or an odd library error in one source must not stop the others
        log.exception("sync of %s crashed", cal.name)
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        message = f"{cal.name}: sync failed: {type(exc).__name__}" + (f": {detail}" if detail else "")
    with rt.db.session(write=True) as session:
        sync_mod.record_failure(session, rt.cfg, cal.name, message, now)
    return sync_mod.SyncReport(source=cal.name, error=message)


@dataclass
class PublishTick:
    """What one dispatch tick did."""

    published: int = 0
    failed: int = 0
    retried: int = 0
    held: int = 0
    skipped: int = 0
    reconciled: int = 0


def _backoff(attempts: int, base: float) -> timedelta:
    # Exponential with full jitter: workers that failed together do not retry together.
    return timedelta(seconds=random.uniform(base / 2, base * (2 ** max(0, attempts - 1))))


def publish_due(rt: Runtime, now_fn: Callable[[], datetime], batch: int = 20) -> PublishTick:
    """Publish every due post once: claim (commit), call the channel, record the outcome (commit)."""
    tick = PublishTick()
    cfg = rt.cfg.publishing
    tick.reconciled += reconcile_expired(rt, now_fn)
    while True:
        with rt.db.session(write=True) as session:
            claims, skipped = publishing.claim_due(session, now_fn(), rt.worker_id, cfg, batch)
        tick.skipped += skipped
        if not claims:
            break
        for claim in claims:
            _publish_one(rt, claim, now_fn, tick)
    with rt.db.session(write=True) as session:
        # The heartbeat is about this process, so it takes the real clock even when --now is given.
        beat = session.get(WorkerHeartbeat, rt.worker_id) or WorkerHeartbeat(worker=rt.worker_id, last_tick_at=utcnow())
        beat.last_tick_at = utcnow()
        beat.next_due_at = publishing.next_due_at(session)
        session.add(beat)
    return tick


def _publish_one(rt: Runtime, claim: publishing.Claim, now_fn: Callable[[], datetime], tick: PublishTick) -> None:
    cfg = rt.cfg.publishing
    with rt.db.session() as session:
        post = publishing.outgoing(session, claim, rt.cfg.base_url)
    if post is None:
        return
    channel = rt.channels.get(post.channel)
    with rt.db.session(write=True) as session:
        if channel is None:
            publishing.record_failed(session, claim, f"channel {post.channel!r} is not configured", now_fn())
            tick.failed += 1
            return
        problems = channel.validate(post)
        if problems:
            publishing.record_failed(session, claim, "; ".join(problems), now_fn())
            tick.failed += 1
            return
    try:
        result = channel.publish(post)
    except RateLimited as exc:
        with rt.db.session(write=True) as session:
            retry_at = exc.retry_at or now_fn() + _backoff(1, cfg.backoff_base_seconds)
            publishing.record_retry(session, claim, str(exc), retry_at, now_fn())
            state = session.get(ChannelState, post.channel) or ChannelState(name=post.channel)
            state.rate_limited_until = retry_at
            state.updated_at = now_fn()
            session.add(state)
        tick.retried += 1
    except RetryableError as exc:
        with rt.db.session(write=True) as session:
            attempts = _attempts(session, claim)
            if attempts >= cfg.max_attempts:
                publishing.record_failed(session, claim, f"gave up after {attempts} attempts: {exc}", now_fn())
                tick.failed += 1
            else:
                retry_at = now_fn() + _backoff(attempts, cfg.backoff_base_seconds)
                publishing.record_retry(session, claim, str(exc), retry_at, now_fn())
                tick.retried += 1
    except AuthError as exc:
        with rt.db.session(write=True) as session:
            state = session.get(ChannelState, post.channel) or ChannelState(name=post.channel)
            state.needs_reconnect = True
            state.reason = str(exc)
            state.updated_at = now_fn()
            session.add(state)
            # Not the post's fault: back to scheduled without using up an attempt.
            publishing.record_retry(session, claim, f"channel needs reconnecting: {exc}", now_fn(), now_fn())
        tick.retried += 1
    except RejectedError as exc:
        with rt.db.session(write=True) as session:
            publishing.record_failed(session, claim, str(exc), now_fn())
        tick.failed += 1
    except (OutcomeUnknown, ChannelError) as exc:
        _settle_unknown(rt, claim, post, channel, str(exc), now_fn, tick)
    else:
        with rt.db.session(write=True) as session:
            publishing.record_published(session, claim, result, now_fn())
        tick.published += 1


def _attempts(session: Session, claim: publishing.Claim) -> int:
    post = session.get(Post, claim.post_id)
    return post.attempts if post else 0


def _settle_unknown(
    rt: Runtime,
    claim: publishing.Claim,
    post: OutgoingPost,
    channel: Channel,
    reason: str,
    now_fn: Callable[[], datetime],
    tick: PublishTick,
) -> None:
    """The request may have gone out: ask the channel; if it cannot tell, a person decides."""
    try:
        found = channel.reconcile(post)
    except ChannelError:
        found = None
        unsure = True
    else:
        unsure = False
    with rt.db.session(write=True) as session:
        if found is not None:
            publishing.record_published(session, claim, found, now_fn())
            tick.published += 1
        elif unsure:
            publishing.record_held(session, claim, "outcome unknown: check the account", "unknown_outcome", now_fn())
            tick.held += 1
        else:
            publishing.record_retry(session, claim, reason, now_fn(), now_fn())
            tick.retried += 1


def reconcile_expired(rt: Runtime, now_fn: Callable[[], datetime]) -> int:
    """Posts whose worker died mid-publish: published if the channel has them, else retried or held."""
    with rt.db.session(write=True) as session:
        claims = publishing.expired_claims(session, now_fn())
    n = 0
    for claim in claims:
        with rt.db.session() as session:
            post = publishing.outgoing(session, claim, rt.cfg.base_url)
        channel = rt.channels.get(post.channel) if post else None
        if post is None or channel is None:
            continue
        _settle_unknown(rt, claim, post, channel, "the worker stopped while publishing", now_fn, PublishTick())
        n += 1
    return n


def channel_states(rt: Runtime) -> dict[str, ChannelState]:
    """What the publisher knows of each channel."""
    with rt.db.session() as session:
        return {s.name: s for s in session.exec(select(ChannelState))}
