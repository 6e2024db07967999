"""What a person may do about publishing (web page and CLI): retry, publish now, settle an unknown
outcome, reconnect a channel, and see each channel's state. Each takes a session and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from .campaigns.apply import Templates
from .config import Config, PublishingConfig
from .errors import NotFound, StateError
from .models import CalendarSource, ChannelState, Event, Post, PostStatus
from .publishing import HOLD_UNKNOWN, MISSED, missed_detail, set_channel_state


def _post(session: Session, post_id: int) -> tuple[Post, Event]:
    post = session.get(Post, post_id)
    if post is None:
        raise NotFound(f"post {post_id} does not exist")
    event = session.get(Event, post.event_id)
    assert event is not None
    return post, event


def _requeue(post: Post, now: datetime) -> None:
    """Back to `scheduled`, due now, with a fresh budget of attempts."""
    post.status = PostStatus.SCHEDULED
    post.due_at = now
    post.attempts = 0
    post.attempt_id = None
    post.claimed_by = None
    post.lease_until = None
    post.hold_reason = post.hold_kind = None
    post.skip_reason = None
    post.updated_at = now


def retry_post(session: Session, post_id: int, now: datetime, cfg: PublishingConfig | None = None) -> Post:
    """Send a failed post again now; refused (StateError) when its time has passed: move it instead."""
    post, event = _post(session, post_id)
    if post.status != PostStatus.FAILED:
        raise StateError(f"post {post_id} is {post.status}: only a failed post can be retried")
    detail = missed_detail(
        cfg or PublishingConfig(), post.scheduled_at, now, event.start_at, event.end_at, event.timezone
    )
    if detail is not None:
        raise StateError(f"post {post_id} {MISSED} ({detail}): move it to a new time to send it")
    _requeue(post, now)
    post.last_error = None
    return post


def publish_now(session: Session, cfg: Config, templates: Templates, post_id: int, now: datetime) -> Post:
    """Move a post to now and send it: its words are rendered again for the new time (unless edited)."""
    from .campaigns.apply import plan_event

    post, event = _post(session, post_id)
    if post.status in (PostStatus.PUBLISHING, PostStatus.PUBLISHED, PostStatus.CANCELLED):
        raise StateError(f"post {post_id} is {post.status}: it cannot be published now")
    if post.status == PostStatus.HELD and post.hold_kind == HOLD_UNKNOWN:
        raise StateError(f"post {post_id} may already be out: settle it first (published or not)")
    _requeue(post, now)
    post.scheduled_at = now
    post.moved = True
    post.last_error = None
    source = session.get(CalendarSource, event.source_id)
    # Re-planning renders the text for the new time and keeps the planner's holds (fit, policy).
    plan_event(session, cfg, templates, event, source.name if source else "", now)
    return post


def resolve_unknown(
    session: Session,
    post_id: int,
    published: bool,
    now: datetime,
    cfg: PublishingConfig | None = None,
    external_url: str | None = None,
) -> Post:
    """A person checked the account: mark the post published, or send it (skipped if its time has passed)."""
    post, event = _post(session, post_id)
    if not (post.status == PostStatus.HELD and post.hold_kind == HOLD_UNKNOWN):
        raise StateError(f"post {post_id} is not waiting for a check of its outcome")
    if published:
        post.status = PostStatus.PUBLISHED
        post.published_at = post.published_at or now
        post.external_url = external_url or post.external_url
        post.external_id = post.external_id or "confirmed-by-person"
        post.hold_reason = post.hold_kind = None
        post.last_error = None
        post.updated_at = now
        return post
    detail = missed_detail(
        cfg or PublishingConfig(), post.scheduled_at, now, event.start_at, event.end_at, event.timezone
    )
    _requeue(post, now)
    if detail is not None:
        post.status = PostStatus.SKIPPED
        post.skip_reason = MISSED
        post.last_error = f"{MISSED}: {detail}"
    return post


def reconnect_channel(session: Session, cfg: Config, name: str, now: datetime) -> int:
    """A person renewed the channel's credentials: its posts go out again. Returns how many wait."""
    cfg.channel(name)  # ConfigError naming the channel if there is none
    set_channel_state(session, name, now, needs_reconnect=False, reason=None)
    return int(
        session.exec(
            select(func.count()).select_from(Post).where(Post.channel == name, Post.status == PostStatus.SCHEDULED)
        ).one()
    )


@dataclass(frozen=True)
class ChannelStatus:
    """One channel as the page and `channels list` show it."""

    name: str
    kind: str
    network: str
    needs_reconnect: bool
    reason: str | None
    rate_limited_until: datetime | None
    scheduled: int
    failed: int
    held_unknown: int
    last_published_at: datetime | None
    rate_limit: str | None


def channel_overview(session: Session, cfg: Config, now: datetime) -> list[ChannelStatus]:
    """Every configured channel with what the publisher knows of it."""
    states = {s.name: s for s in session.exec(select(ChannelState))}
    counts: dict[tuple[str, str], int] = {}
    for channel, status, kind, n in session.exec(
        select(Post.channel, Post.status, Post.hold_kind, func.count())
        .where(col(Post.status).in_((PostStatus.SCHEDULED, PostStatus.FAILED, PostStatus.HELD)))
        .group_by(col(Post.channel), col(Post.status), col(Post.hold_kind))
    ):
        key = (channel, HOLD_UNKNOWN if status == PostStatus.HELD and kind == HOLD_UNKNOWN else status)
        counts[key] = counts.get(key, 0) + int(n)
    out = []
    for ch in cfg.channels:
        state = states.get(ch.name)
        last = session.exec(select(func.max(Post.published_at)).where(Post.channel == ch.name)).one()
        limited = (
            state.rate_limited_until if state and state.rate_limited_until and state.rate_limited_until > now else None
        )
        out.append(
            ChannelStatus(
                name=ch.name,
                kind=ch.kind,
                network=ch.network,
                needs_reconnect=bool(state and state.needs_reconnect),
                reason=state.reason if state else None,
                rate_limited_until=limited,
                scheduled=counts.get((ch.name, PostStatus.SCHEDULED), 0),
                failed=counts.get((ch.name, PostStatus.FAILED), 0),
                held_unknown=counts.get((ch.name, HOLD_UNKNOWN), 0),
                last_published_at=last,
                rate_limit=(
                    f"{ch.rate_limit_posts} per {ch.rate_limit_window_minutes} min" if ch.rate_limit_posts else None
                ),
            )
        )
    return out
