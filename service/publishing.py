"""Claim due posts, and record what became of them. Each function runs in the caller's transaction.

The life cycle (DESIGN.md):

    scheduled -> publishing (claimed: lease + attempt id, committed before anything else)
              -> sending (`mark_sending`: attempts + 1 and PostAttempt.sent_at, committed right
                 before the network call; an attempt without it surely never reached the network)
              -> published | scheduled again (retry, due later) | failed | held ("unknown_outcome")
    publishing with an expired lease (or a dead worker on this host) -> released if it was never
              sent, else reconciled with the channel: published | retried | held "outcome unknown"

Every record is conditional on the attempt id: a worker that lost its claim changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from .channels.base import OutgoingPost, PublishResult
from .config import Config, PublishingConfig
from .models import Campaign, ChannelState, Event, Post, PostAttempt, PostStatus, TrackedLink, utcnow
from .tracking import tracked_url

# The hot path (claim, sending mark, outgoing, published) uses Core statements on the tables: the
# same SQL, without the ORM's per-statement bookkeeping (measurably cheaper per post).
_POST: Table = Post.__table__  # type: ignore[attr-defined]
_ATTEMPT: Table = PostAttempt.__table__  # type: ignore[attr-defined]
_EVENT: Table = Event.__table__  # type: ignore[attr-defined]
_LINK: Table = TrackedLink.__table__  # type: ignore[attr-defined]

MISSED = "missed its time"
UNKNOWN_OUTCOME = "outcome unknown: check the account"
HOLD_UNKNOWN = "unknown_outcome"
# A post later than this is part of a backlog (after an outage): paced per channel, never burst.
BACKLOG_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class Claim:
    """A post this worker now owns until its lease ends."""

    post_id: int
    attempt_id: str


@dataclass(frozen=True)
class ChannelLimit:
    """Our own cap for one channel: at most `posts` per `window`."""

    posts: int
    window: timedelta


@dataclass
class ClaimBatch:
    """What one claim call did: the posts claimed, and the due posts it skipped or put off."""

    claims: list[Claim] = field(default_factory=list)
    skipped: int = 0
    deferred: int = 0
    examined: int = 0

    def __iter__(self) -> Iterator[Any]:
        """Unpacks as `claims, skipped = claim_due(...)`, the shape claim_due returned before."""
        return iter((self.claims, self.skipped))


def channel_limits(cfg: Config) -> dict[str, ChannelLimit]:
    """Each channel's configured rate limit (channels without one are left out)."""
    return {
        ch.name: ChannelLimit(ch.rate_limit_posts, timedelta(minutes=ch.rate_limit_window_minutes))
        for ch in cfg.channels
        if ch.rate_limit_posts > 0
    }


def late_limit(cfg: PublishingConfig, scheduled_at: datetime, event_start: datetime) -> timedelta:
    """How late a post may still go out: short for steps in the event's last day, longer before."""
    if event_start - scheduled_at <= timedelta(days=1):
        return timedelta(minutes=cfg.late_limit_last_day_minutes)
    return timedelta(minutes=cfg.late_limit_earlier_minutes)


def missed_detail(
    cfg: PublishingConfig, scheduled_at: datetime, now: datetime, start: datetime, end: datetime, zone: str
) -> str | None:
    """Why a post going out at `now` would say something untrue or be too late; None when it may go."""
    if scheduled_at > now:  # not due yet: it goes out at its own time, nothing is missed
        return None
    late = now - scheduled_at
    limit = late_limit(cfg, scheduled_at, start)
    if late > limit:
        return f"{_span(late)} late (the limit for this step is {_span(limit)})"
    if scheduled_at < start <= now:
        return "the event had started"
    if scheduled_at < end <= now:
        return "the event was over"
    tz = ZoneInfo(zone)
    if scheduled_at < end and now.astimezone(tz).date() != scheduled_at.astimezone(tz).date():
        # "tomorrow", "in 7 days", "today": words written for one day are wrong on the next.
        return f"its words were written for {scheduled_at.astimezone(tz):%a %b %d}"
    return None


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def blocked_channels(session: Session, now: datetime) -> list[str]:
    """Channels that must not post now: waiting to be reconnected, or rate limited by the network."""
    rows = session.exec(
        select(ChannelState.name).where(
            or_(col(ChannelState.needs_reconnect), col(ChannelState.rate_limited_until) > now)
        )
    )
    return list(rows.all())


def _due_posts(session: Session, now: datetime, limit: int):
    stmt = (
        select(Post, Event.start_at, Event.end_at, Event.timezone)
        .join(Campaign, col(Campaign.id) == col(Post.campaign_id))
        .join(Event, col(Event.id) == col(Post.event_id))
        .where(Post.status == PostStatus.SCHEDULED, Post.due_at <= now, col(Campaign.paused).is_(False))
        .order_by(col(Post.due_at), col(Post.id))
        .limit(limit)
    )
    blocked = blocked_channels(session, now)
    if blocked:
        stmt = stmt.where(col(Post.channel).not_in(blocked))
    if session.get_bind().dialect.name == "postgresql":
        # Row locks held to commit: another worker skips these rows instead of claiming them too.
        stmt = stmt.with_for_update(skip_locked=True, of=Post)
    return session.exec(stmt).all()


class _Pacer:
    """Per-channel pacing of a backlog and our own rate limits, from the channel's recent publishes.

    Nothing is read unless a post needs pacing or its channel has a limit; every read uses an index
    (channel, published_at) or (status, ...), so the cost does not grow with the stored posts.
    """

    def __init__(self, session: Session, now: datetime, spacing: timedelta, limits: Mapping[str, ChannelLimit]):
        self.session, self.now, self.spacing, self.limits = session, now, spacing, limits
        self._seen: dict[str, tuple[datetime | None, list[datetime]]] = {}
        self._in_flight: dict[str, int] | None = None

    def _flying(self, channel: str) -> int:
        if self._in_flight is None:
            # Few rows are ever `publishing`: one grouped read over the status index for all channels.
            rows = self.session.exec(
                select(Post.channel, func.count())
                .where(Post.status == PostStatus.PUBLISHING)
                .group_by(col(Post.channel))
            ).all()
            self._in_flight = {name: int(n) for name, n in rows}
        return self._in_flight.get(channel, 0)

    def _state(self, channel: str) -> tuple[datetime | None, list[datetime]]:
        if channel not in self._seen:
            last = self.session.exec(select(func.max(Post.published_at)).where(Post.channel == channel)).one()
            limit = self.limits.get(channel)
            recent: list[datetime] = []
            if limit is not None:
                recent = list(
                    self.session.exec(
                        select(Post.published_at)
                        .where(Post.channel == channel, col(Post.published_at) > self.now - limit.window)
                        .order_by(col(Post.published_at))
                    ).all()  # type: ignore[arg-type]
                )
            self._seen[channel] = (last, recent)
        return self._seen[channel]

    def until(self, channel: str, scheduled_at: datetime) -> datetime | None:
        """When this channel may take this post, if not now."""
        needs_pacing = self.spacing > timedelta(0) and self.now - scheduled_at > BACKLOG_GRACE
        limit = self.limits.get(channel)
        if not needs_pacing and limit is None:
            return None
        last, recent = self._state(channel)
        in_flight = self._flying(channel)
        wait: datetime | None = None
        if needs_pacing:
            latest = self.now if in_flight else last
            if latest is not None and self.now - latest < self.spacing:
                wait = latest + self.spacing
        if limit is not None:
            inside = [t for t in recent if t > self.now - limit.window]
            used = len(inside) + in_flight
            if used >= limit.posts:
                k = used - limit.posts  # the publish whose leaving the window frees a slot
                free = inside[k] + limit.window if k < len(inside) else self.now + limit.window
                wait = max(wait, free) if wait else free
        return wait

    def note(self, channel: str) -> None:
        """A post of `channel` was just claimed (counted only if the channel's flights were read)."""
        if self._in_flight is not None:
            self._in_flight[channel] = self._in_flight.get(channel, 0) + 1


def claim_due(
    session: Session,
    now: datetime,
    worker: str,
    cfg: PublishingConfig,
    limit: int = 20,
    limits: Mapping[str, ChannelLimit] | None = None,
) -> ClaimBatch:
    """Claim up to `limit` due posts for `worker`; skip the ones too late to be true, put off paced ones."""
    batch = ClaimBatch()
    lease = now + timedelta(seconds=cfg.lease_seconds)
    pacer = _Pacer(session, now, timedelta(seconds=cfg.backlog_spacing_seconds), limits or {})
    attempts: list[PostAttempt] = []
    for post, start, end, zone in _due_posts(session, now, limit):
        assert post.id is not None
        batch.examined += 1
        # Every update is conditional on the status read: on SQLite another writer may have moved it.
        still_due = update(_POST).where(_POST.c.id == post.id, _POST.c.status == PostStatus.SCHEDULED)
        detail = missed_detail(cfg, post.scheduled_at, now, start, end, zone)
        if detail is not None:
            values = {"status": PostStatus.SKIPPED, "skip_reason": MISSED, "last_error": f"{MISSED}: {detail}"}
            batch.skipped += _apply(session, still_due.values(**values, updated_at=now))
            continue
        wait = pacer.until(post.channel, post.scheduled_at)
        if wait is not None:
            batch.deferred += _apply(session, still_due.values(due_at=wait, updated_at=now))
            continue
        attempt = uuid.uuid4().hex
        claimed = still_due.values(
            status=PostStatus.PUBLISHING, attempt_id=attempt, claimed_by=worker, lease_until=lease, updated_at=now
        )
        if _apply(session, claimed) == 1:
            attempts.append(PostAttempt(post_id=post.id, attempt_id=attempt, worker=worker, started_at=now))
            batch.claims.append(Claim(post.id, attempt))
            pacer.note(post.channel)
    session.add_all(attempts)
    session.flush()
    session.expire_all()
    return batch


def _apply(session: Session, stmt: Any) -> int:
    """Run a conditional UPDATE; the rows it changed (the session's objects are refreshed by the caller)."""
    res = session.execute(stmt, execution_options={"synchronize_session": False})
    return int(res.rowcount)  # type: ignore[attr-defined]


def mark_sending(session: Session, claim: Claim, now: datetime, lease_seconds: int) -> bool:
    """Count the attempt and renew the lease just before the network call; False if the claim was lost."""
    counted = _apply(
        session,
        _owned_row(claim).values(
            attempts=_POST.c.attempts + 1, lease_until=now + timedelta(seconds=lease_seconds), updated_at=now
        ),
    )
    if counted != 1:
        return False
    session.execute(update(_ATTEMPT).where(_ATTEMPT.c.attempt_id == claim.attempt_id).values(sent_at=now))
    return True


def _owned_row(claim: Claim) -> Any:
    """UPDATE of the claimed post, only while this claim still owns it."""
    return update(_POST).where(
        _POST.c.id == claim.post_id,
        _POST.c.status == PostStatus.PUBLISHING,
        _POST.c.attempt_id == claim.attempt_id,
    )


def outgoing(session: Session, claim: Claim, base_url: str, history: bool = False) -> OutgoingPost | None:
    """What the channel needs to publish a claimed post; None if the claim was lost meanwhile.

    `history` also reads when an earlier try first reached for the network (reconcile needs it).
    """
    row = session.execute(
        sa_select(
            _POST.c.status,
            _POST.c.attempt_id,
            _POST.c.channel,
            _POST.c.network,
            _POST.c.text,
            _POST.c.step,
            _POST.c.event_id,
            _POST.c.scheduled_at,
            _EVENT.c.title,
            _EVENT.c.image_url,
            _EVENT.c.start_at,
            _LINK.c.code,
        )
        .select_from(
            _POST.join(_EVENT, _EVENT.c.id == _POST.c.event_id).outerjoin(_LINK, _LINK.c.post_id == _POST.c.id)
        )
        .where(_POST.c.id == claim.post_id)
    ).first()
    if row is None or row.status != PostStatus.PUBLISHING or row.attempt_id != claim.attempt_id:
        return None
    first_sent = first_sent_at(session, claim.post_id) if history else None
    # The link the text carries (planning puts it in only when there is somewhere to go).
    link = tracked_url(base_url, row.code) if row.code else None
    return OutgoingPost(
        post_id=claim.post_id,
        attempt_id=claim.attempt_id,
        channel=row.channel,
        network=row.network,
        text=row.text,
        step=row.step,
        event_id=row.event_id,
        event_title=row.title,
        scheduled_at=row.scheduled_at,
        link=link if link and link in row.text else None,
        image_url=row.image_url,
        event_start=row.start_at,
        first_sent_at=first_sent,
    )


def first_sent_at(session: Session, post_id: int) -> datetime | None:
    """When the first try of this post reached for the network (None if none did)."""
    return session.exec(select(func.min(PostAttempt.sent_at)).where(PostAttempt.post_id == post_id)).one()


def _finish_attempt(session: Session, claim: Claim, now: datetime, outcome: str, error: str | None) -> None:
    session.execute(
        update(_ATTEMPT)
        .where(_ATTEMPT.c.attempt_id == claim.attempt_id)
        .values(finished_at=now, outcome=outcome, error=error)
    )


def _owned(session: Session, claim: Claim) -> Post | None:
    post = session.get(Post, claim.post_id, populate_existing=True)
    if post is None or post.status != PostStatus.PUBLISHING or post.attempt_id != claim.attempt_id:
        return None
    return post


def _let_go(post: Post, now: datetime) -> None:
    post.lease_until = None
    post.claimed_by = None
    post.updated_at = now


def record_published(session: Session, claim: Claim, result: PublishResult, now: datetime) -> bool:
    """Mark the claimed post published; False if this worker no longer owns it (one conditional UPDATE)."""
    done = _apply(
        session,
        _owned_row(claim).values(
            status=PostStatus.PUBLISHED,
            external_id=result.external_id,
            external_url=result.url,
            published_at=now,
            last_error=None,
            hold_reason=None,
            hold_kind=None,
            lease_until=None,
            claimed_by=None,
            updated_at=now,
        ),
    )
    if done != 1:
        return False
    _finish_attempt(session, claim, now, "published", result.note)
    return True


def record_failed(session: Session, claim: Claim, reason: str, now: datetime) -> bool:
    """Mark the claimed post failed with the network's own reason."""
    post = _owned(session, claim)
    if post is None:
        return False
    post.status = PostStatus.FAILED
    post.last_error = reason
    _let_go(post, now)
    _finish_attempt(session, claim, now, "failed", reason)
    return True


def record_retry(
    session: Session, claim: Claim, reason: str, retry_at: datetime, now: datetime, count_attempt: bool = True
) -> bool:
    """Put the claimed post back to `scheduled`, due at `retry_at` (its scheduled time is kept).

    `count_attempt=False` gives the attempt back (rate limits, a channel to reconnect: not the post's fault).
    """
    post = _owned(session, claim)
    if post is None:
        return False
    post.status = PostStatus.SCHEDULED
    post.due_at = retry_at
    post.last_error = reason
    post.attempt_id = None
    if not count_attempt:
        post.attempts = max(0, post.attempts - 1)
    _let_go(post, now)
    _finish_attempt(session, claim, now, "retry" if count_attempt else "paused", reason)
    return True


def record_held(
    session: Session, claim: Claim, reason: str, kind: str, now: datetime, detail: str | None = None
) -> bool:
    """Hold the claimed post for a person (outcome unknown); `detail` says what was tried."""
    post = _owned(session, claim)
    if post is None:
        return False
    post.status = PostStatus.HELD
    post.hold_reason = reason
    post.hold_kind = kind
    post.last_error = detail or reason
    _let_go(post, now)
    _finish_attempt(session, claim, now, "held", detail or reason)
    return True


def release(session: Session, claim: Claim, now: datetime, reason: str = "released") -> bool:
    """Give back a claimed post that was never sent: scheduled again, no attempt used."""
    sent = session.exec(select(PostAttempt.sent_at).where(PostAttempt.attempt_id == claim.attempt_id)).first()
    if sent is not None:
        return False  # it may have reached the network: only reconciliation may decide
    post = _owned(session, claim)
    if post is None:
        return False
    post.status = PostStatus.SCHEDULED
    post.attempt_id = None
    _let_go(post, now)
    _finish_attempt(session, claim, now, "released", reason)
    return True


@dataclass(frozen=True)
class Adopted:
    """A claim taken over from a worker that died or overran its lease."""

    claim: Claim
    sent: bool


def adopt_stale(
    session: Session,
    now: datetime,
    worker: str,
    lease_seconds: int,
    is_dead: Callable[[str], bool] = lambda _w: False,
    limit: int = 50,
) -> list[Adopted]:
    """Take over posts left `publishing` by a dead worker (expired lease, or a dead process on this host).

    Nothing is locked while looking: the take-over is one conditional UPDATE that also requires the
    lease read, so a live owner that renewed its lease (or finished) meanwhile keeps its post.
    """
    rows = session.exec(
        select(Post.id, Post.attempt_id, Post.claimed_by, Post.lease_until)
        .where(Post.status == PostStatus.PUBLISHING)
        .order_by(col(Post.lease_until))
        .limit(limit * 4)
    ).all()
    adopted: list[Adopted] = []
    for pid, aid, owner, lease in rows:
        if pid is None or aid is None or len(adopted) >= limit:
            continue
        expired = lease is None or lease < now
        if not expired and not (owner and owner != worker and is_dead(owner)):
            continue
        same_lease = col(Post.lease_until).is_(None) if lease is None else col(Post.lease_until) == lease
        taken = _apply(
            session,
            update(Post)
            .where(
                col(Post.id) == pid,
                col(Post.status) == PostStatus.PUBLISHING,
                col(Post.attempt_id) == aid,
                same_lease,
            )
            .values(claimed_by=worker, lease_until=now + timedelta(seconds=lease_seconds), updated_at=now),
        )
        if taken != 1:
            continue
        sent = session.exec(select(PostAttempt.sent_at).where(PostAttempt.attempt_id == aid)).first()
        adopted.append(Adopted(Claim(pid, aid), sent is not None))
    return adopted


def next_due_at(session: Session, now: datetime | None = None) -> datetime | None:
    """When the next post the worker may publish is due (paused campaigns and blocked channels left out)."""
    stmt = (
        select(Post.due_at)
        .join(Campaign, col(Campaign.id) == col(Post.campaign_id))
        .where(Post.status == PostStatus.SCHEDULED, col(Campaign.paused).is_(False))
        .order_by(col(Post.due_at))
        .limit(1)
    )
    blocked = blocked_channels(session, now or utcnow())
    if blocked:
        stmt = stmt.where(col(Post.channel).not_in(blocked))
    return session.exec(stmt).first()


def next_wake_at(session: Session, now: datetime) -> datetime | None:
    """When the worker next has something to do: a post falls due, a rate limit or a lease ends."""
    times = [next_due_at(session, now)]
    times.append(
        session.exec(
            select(func.min(ChannelState.rate_limited_until)).where(
                col(ChannelState.rate_limited_until) > now, col(ChannelState.needs_reconnect).is_(False)
            )
        ).one()
    )
    times.append(session.exec(select(func.min(Post.lease_until)).where(Post.status == PostStatus.PUBLISHING)).one())
    known = [t for t in times if t is not None]
    return min(known) if known else None


def set_channel_state(
    session: Session,
    name: str,
    now: datetime,
    *,
    needs_reconnect: bool | None = None,
    reason: str | None = None,
    rate_limited_until: datetime | None = None,
) -> ChannelState:
    """Record what the publisher learned about a channel."""
    state = session.get(ChannelState, name) or ChannelState(name=name)
    if needs_reconnect is not None:
        state.needs_reconnect = needs_reconnect
        state.reason = reason
    if rate_limited_until is not None:
        state.rate_limited_until = max(rate_limited_until, state.rate_limited_until or rate_limited_until)
    state.updated_at = now
    session.add(state)
    return state


# A person's actions (retry, publish now, settle an unknown outcome, reconnect) live in
# publishing_actions; they are reachable here too, as `publishing.retry_post(...)`.
_ACTIONS = frozenset({"retry_post", "publish_now", "resolve_unknown", "reconnect_channel", "channel_overview"})

if TYPE_CHECKING:
    from .publishing_actions import (  # noqa: F401
        channel_overview,
        publish_now,
        reconnect_channel,
        resolve_unknown,
        retry_post,
    )


def __getattr__(name: str) -> object:
    if name in _ACTIONS:
        from . import publishing_actions

        return getattr(publishing_actions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
