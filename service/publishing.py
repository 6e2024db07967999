"""Claim due posts, hand them to channels, record outcomes. Each function runs in the caller's transaction.

The claim is committed (status `publishing`, a lease and an attempt id) BEFORE the network call, so a
crash leaves a post that is visibly in flight; an expired lease is reconciled, never retried blindly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from .channels.base import OutgoingPost, PublishResult
from .config import PublishingConfig
from .models import Campaign, ChannelState, Event, Post, PostAttempt, PostStatus, TrackedLink
from .tracking import tracked_url

MISSED = "missed its time"


@dataclass(frozen=True)
class Claim:
    """A post this worker now owns until `lease_until`."""

    post_id: int
    attempt_id: str


def late_limit(cfg: PublishingConfig, scheduled_at: datetime, event_start: datetime) -> timedelta:
    """How late a post may still go out: short for steps in the event's last day, longer before."""
    if event_start - scheduled_at <= timedelta(days=1):
        return timedelta(minutes=cfg.late_limit_last_day_minutes)
    return timedelta(minutes=cfg.late_limit_earlier_minutes)


def _blocked_channels(session: Session, now: datetime) -> list[str]:
    rows = session.exec(
        select(ChannelState.name).where(
            or_(col(ChannelState.needs_reconnect), col(ChannelState.rate_limited_until) > now)
        )
    )
    return list(rows.all())


def claim_due(
    session: Session, now: datetime, worker: str, cfg: PublishingConfig, limit: int = 20
) -> tuple[list[Claim], int]:
    """Claim up to `limit` due posts for `worker`; skip the ones too late to be true. Returns (claims, skipped)."""
    blocked = _blocked_channels(session, now)
    stmt = (
        select(Post, Event.start_at)
        .join(Campaign, col(Campaign.id) == col(Post.campaign_id))
        .join(Event, col(Event.id) == col(Post.event_id))
        .where(Post.status == PostStatus.SCHEDULED, Post.due_at <= now, col(Campaign.paused).is_(False))
        .order_by(col(Post.due_at))
        .limit(limit)
    )
    if blocked:
        stmt = stmt.where(col(Post.channel).not_in(blocked))
    if session.get_bind().dialect.name == "postgresql":
        # Row locks held to commit: another worker skips these rows instead of claiming them too.
        stmt = stmt.with_for_update(skip_locked=True, of=Post)
    claims: list[Claim] = []
    skipped = 0
    lease = now + timedelta(seconds=cfg.lease_seconds)
    for post, event_start in session.exec(stmt).all():
        assert post.id is not None
        if now - post.scheduled_at > late_limit(cfg, post.scheduled_at, event_start):
            # Conditional on the status we read: on SQLite another writer may have moved it meanwhile.
            res = session.execute(
                update(Post)
                .where(col(Post.id) == post.id, col(Post.status) == PostStatus.SCHEDULED)
                .values(status=PostStatus.SKIPPED, skip_reason=MISSED, updated_at=now)
            )
            skipped += res.rowcount  # type: ignore[attr-defined]
            continue
        attempt = uuid.uuid4().hex
        res = session.execute(
            update(Post)
            .where(col(Post.id) == post.id, col(Post.status) == PostStatus.SCHEDULED)
            .values(
                status=PostStatus.PUBLISHING,
                attempt_id=attempt,
                claimed_by=worker,
                lease_until=lease,
                attempts=Post.attempts + 1,
                updated_at=now,
            )
        )
        if res.rowcount == 1:  # type: ignore[attr-defined]
            session.add(PostAttempt(post_id=post.id, attempt_id=attempt, worker=worker, started_at=now))
            claims.append(Claim(post.id, attempt))
    session.expire_all()
    return claims, skipped


def outgoing(session: Session, claim: Claim, base_url: str) -> OutgoingPost | None:
    """What the channel needs to publish a claimed post; None if the claim was lost meanwhile."""
    row = session.execute(
        sa_select(Post, col(Event.title), col(Event.image_url), col(Event.rsvp_url), col(TrackedLink.code))
        .join(Event, col(Event.id) == col(Post.event_id))
        .outerjoin(TrackedLink, col(TrackedLink.post_id) == col(Post.id))
        .where(col(Post.id) == claim.post_id)
    ).first()
    if row is None:
        return None
    post, title, image, rsvp, code = row
    if post.status != PostStatus.PUBLISHING or post.attempt_id != claim.attempt_id:
        return None
    assert post.id is not None
    return OutgoingPost(
        post_id=post.id,
        attempt_id=claim.attempt_id,
        channel=post.channel,
        network=post.network,
        text=post.text,
        step=post.step,
        event_id=post.event_id,
        event_title=title,
        scheduled_at=post.scheduled_at,
        link=tracked_url(base_url, code) if (code and rsvp) else None,
        image_url=image,
    )


def _finish_attempt(session: Session, claim: Claim, now: datetime, outcome: str, error: str | None) -> None:
    attempt = session.exec(select(PostAttempt).where(PostAttempt.attempt_id == claim.attempt_id)).first()
    if attempt is not None:
        attempt.finished_at = now
        attempt.outcome = outcome
        attempt.error = error


def _owned(session: Session, claim: Claim) -> Post | None:
    post = session.get(Post, claim.post_id)
    if post is None or post.status != PostStatus.PUBLISHING or post.attempt_id != claim.attempt_id:
        return None
    return post


def record_published(session: Session, claim: Claim, result: PublishResult, now: datetime) -> bool:
    """Mark the claimed post published; False if this worker no longer owns it."""
    post = _owned(session, claim)
    if post is None:
        return False
    post.status = PostStatus.PUBLISHED
    post.external_id = result.external_id
    post.external_url = result.url
    post.published_at = now
    post.lease_until = None
    post.last_error = None
    post.updated_at = now
    _finish_attempt(session, claim, now, "published", None)
    return True


def record_failed(session: Session, claim: Claim, reason: str, now: datetime) -> bool:
    """Mark the claimed post failed with the network's own reason."""
    post = _owned(session, claim)
    if post is None:
        return False
    post.status = PostStatus.FAILED
    post.last_error = reason
    post.lease_until = None
    post.updated_at = now
    _finish_attempt(session, claim, now, "failed", reason)
    return True


def record_retry(session: Session, claim: Claim, reason: str, retry_at: datetime, now: datetime) -> bool:
    """Put the claimed post back to `scheduled`, due again at `retry_at` (its scheduled time is kept)."""
    post = _owned(session, claim)
    if post is None:
        return False
    post.status = PostStatus.SCHEDULED
    post.due_at = retry_at
    post.last_error = reason
    post.lease_until = None
    post.updated_at = now
    _finish_attempt(session, claim, now, "retry", reason)
    return True


def record_held(session: Session, claim: Claim, reason: str, kind: str, now: datetime) -> bool:
    """Hold the claimed post for a person (outcome unknown, channel needs reconnecting)."""
    post = _owned(session, claim)
    if post is None:
        return False
    post.status = PostStatus.HELD
    post.hold_reason = reason
    post.hold_kind = kind
    post.last_error = reason
    post.lease_until = None
    post.updated_at = now
    _finish_attempt(session, claim, now, "held", reason)
    return True


def expired_claims(session: Session, now: datetime, limit: int = 50) -> list[Claim]:
    """Posts left `publishing` by a worker that died or hung: they need reconciling."""
    stmt = (
        select(Post.id, Post.attempt_id)
        .where(Post.status == PostStatus.PUBLISHING, col(Post.lease_until) < now)
        .order_by(col(Post.lease_until))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [Claim(pid, aid) for pid, aid in session.exec(stmt).all() if pid is not None and aid is not None]


def next_due_at(session: Session) -> datetime | None:
    """When the next scheduled post is due (uses the (status, due_at) index)."""
    return session.exec(
        select(Post.due_at).where(Post.status == PostStatus.SCHEDULED).order_by(col(Post.due_at)).limit(1)
    ).first()
