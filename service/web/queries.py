"""The reads behind the pages: a fixed number of queries per page, however many events, posts or clicks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ..models import (
    AuditEntry,
    CalendarSource,
    Campaign,
    ChannelState,
    Click,
    Event,
    EventStatus,
    Post,
    PostStatus,
    TrackedLink,
    WorkerHeartbeat,
)

PER_PAGE = 25
# How long after its end an event still counts as upcoming (so today's events stay on the list).
RECENT = timedelta(hours=12)
STATUS_FILTERS = ("attention", "paused", *EventStatus.ALL)
COUNTED = (PostStatus.SCHEDULED, PostStatus.HELD, PostStatus.PUBLISHED, PostStatus.FAILED)


@dataclass
class EventRow:
    """One line of the events page."""

    event: Event
    source: str
    campaign: Campaign | None
    counts: dict[str, int]
    next_post: datetime | None
    clicks: int
    bot_clicks: int
    warnings: list[str]

    @property
    def template(self) -> str:
        """The campaign's template set, else the event's own `Campaign:` line."""
        return self.campaign.template if self.campaign else (self.event.template or "—")


@dataclass
class Health:
    """The status strip: sources, the worker, the next due post, channels needing a person."""

    sources: list[CalendarSource]
    last_tick: datetime | None
    next_due: datetime | None
    channels: list[ChannelState]

    @property
    def source_errors(self) -> list[CalendarSource]:
        """Sources whose last sync failed."""
        return [s for s in self.sources if s.last_error]

    @property
    def reconnect(self) -> list[ChannelState]:
        """Channels a person must reconnect."""
        return [c for c in self.channels if c.needs_reconnect]

    def worker_late(self, now: datetime) -> bool:
        """No worker tick for more than five minutes (the publisher ticks at least every 30 s)."""
        return self.last_tick is None or now - self.last_tick > timedelta(minutes=5)


@dataclass
class EventsPage:
    """The events list with its filters and pagination."""

    rows: list[EventRow]
    total: int
    page: int
    pages: int
    health: Health
    filters: dict[str, str] = field(default_factory=dict)


def health(session: Session) -> Health:
    """Three small queries: sources, the latest worker tick and next due post, channel states."""
    sources = list(session.exec(select(CalendarSource).order_by(col(CalendarSource.name))))
    tick, due = session.execute(
        sa_select(
            sa_select(func.max(col(WorkerHeartbeat.last_tick_at))).scalar_subquery(),
            # The next post that will really go out: a paused campaign's posts wait.
            sa_select(func.min(col(Post.due_at)))
            .join(Campaign, col(Campaign.id) == col(Post.campaign_id))
            .where(col(Post.status) == PostStatus.SCHEDULED, col(Campaign.paused).is_(False))
            .scalar_subquery(),
        )
    ).one()
    channels = list(session.exec(select(ChannelState).order_by(col(ChannelState.name))))
    return Health(sources, _aware(tick), _aware(due), channels)


def _aware(value: Any) -> datetime | None:
    # Aggregates bypass the column type: SQLite hands back a string, PostgreSQL an aware datetime.
    from ..models import UTCDateTime

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]


def _filtered(stmt: Any, now: datetime, source: str, status: str, when: str) -> Any:
    stmt = stmt.where(col(Event.removed_at).is_(None))
    stmt = stmt.where(Event.end_at < now) if when == "past" else stmt.where(Event.end_at >= now - RECENT)
    if source:
        stmt = stmt.where(CalendarSource.name == source)
    if status in EventStatus.ALL:
        stmt = stmt.where(Event.status == status)
    elif status == "paused":
        stmt = stmt.where(col(Campaign.paused).is_(True))
    elif status == "attention":
        troubled = exists().where(
            and_(col(Post.event_id) == col(Event.id), col(Post.status).in_((PostStatus.HELD, PostStatus.FAILED)))
        )
        stmt = stmt.where(or_(troubled, col(Event.rsvp_url).is_(None), col(Campaign.error).is_not(None)))
    return stmt


def events_page(
    session: Session, now: datetime, source: str = "", status: str = "", when: str = "upcoming", page: int = 1
) -> EventsPage:
    """One page of events with post counts, clicks and warnings: six queries whatever the numbers."""
    base = (
        sa_select(func.count(col(Event.id)))
        .select_from(Event)
        .join(CalendarSource, col(CalendarSource.id) == col(Event.source_id))
        .outerjoin(Campaign, col(Campaign.event_id) == col(Event.id))
    )
    total = session.execute(_filtered(base, now, source, status, when)).scalar_one()
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    order = col(Event.start_at).desc() if when == "past" else col(Event.start_at)
    stmt = (
        select(Event, CalendarSource.name, Campaign)
        .join(CalendarSource, col(CalendarSource.id) == col(Event.source_id))
        .outerjoin(Campaign, col(Campaign.event_id) == col(Event.id))
    )
    stmt = _filtered(stmt, now, source, status, when).order_by(order, col(Event.id))
    rows = session.exec(stmt.offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    ids = [e.id for e, _, _ in rows]
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    next_post: dict[int, datetime | None] = {}
    clicks: dict[int, tuple[int, int]] = {}
    if ids:
        for event_id, post_status, n, first in session.execute(
            sa_select(col(Post.event_id), col(Post.status), func.count(), func.min(col(Post.scheduled_at)))
            .where(col(Post.event_id).in_(ids))
            .group_by(col(Post.event_id), col(Post.status))
        ):
            counts[event_id][post_status] = n
            if post_status == PostStatus.SCHEDULED:
                next_post[event_id] = _aware(first)
        clicks = event_clicks(session, ids)
    hl = health(session)
    errors = {s.name: s.last_error for s in hl.sources if s.last_error}
    out = []
    for event, source_name, campaign in rows:
        assert event.id is not None
        c = counts.get(event.id, {})
        humans, bots = clicks.get(event.id, (0, 0))
        warns = warnings(event, campaign, c, errors.get(source_name))
        out.append(EventRow(event, source_name, campaign, c, next_post.get(event.id), humans, bots, warns))
    filters = {"source": source, "status": status, "when": when}
    return EventsPage(out, total, page, pages, hl, filters)


def event_clicks(session: Session, event_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per event: (people's clicks, bot clicks); suspect clicks count in neither."""
    is_bot, is_suspect = col(Click.is_bot), col(Click.is_suspect)
    rows = session.execute(
        sa_select(
            col(Post.event_id),
            func.count(col(Click.id)).filter(~is_bot & ~is_suspect),
            func.count(col(Click.id)).filter(is_bot),
        )
        .join(TrackedLink, col(TrackedLink.post_id) == col(Post.id))
        .join(Click, col(Click.link_id) == col(TrackedLink.id))
        .where(col(Post.event_id).in_(event_ids))
        .group_by(col(Post.event_id))
    )
    return {event_id: (humans, bots) for event_id, humans, bots in rows}


def warnings(event: Event, campaign: Campaign | None, counts: dict[str, int], source_error: str | None) -> list[str]:
    """What a coordinator should look at: the sync's own warnings, then held and failed posts, errors."""
    out = list(event.warnings or [])
    if not event.rsvp_url and "no RSVP link" not in out:
        out.append("no RSVP link")
    if counts.get(PostStatus.HELD):
        n = counts[PostStatus.HELD]
        out.append(f"{n} held post{'s' if n != 1 else ''}")
    if counts.get(PostStatus.FAILED):
        n = counts[PostStatus.FAILED]
        out.append(f"{n} failed post{'s' if n != 1 else ''}")
    if campaign is not None and campaign.error:
        out.append(f"campaign: {campaign.error}")
    if source_error:
        out.append(f"last sync of its calendar failed: {source_error}")
    return out


@dataclass
class PostRow:
    """A post on the campaign page, with its tracked code and clicks."""

    post: Post
    code: str | None
    clicks: int
    bot_clicks: int


@dataclass
class CampaignView:
    """Everything the campaign page shows."""

    event: Event
    source: CalendarSource
    campaign: Campaign | None  # None only until planning first runs for the event
    posts: list[PostRow]
    channels: dict[str, ChannelState]
    history: list[AuditEntry]


def campaign_view(session: Session, event_id: int) -> CampaignView | None:
    """The event, its campaign and posts with clicks, channel states and recent history: four queries."""
    row = session.exec(
        select(Event, CalendarSource, Campaign)
        .join(CalendarSource, col(CalendarSource.id) == col(Event.source_id))
        .outerjoin(Campaign, col(Campaign.event_id) == col(Event.id))
        .where(Event.id == event_id)
    ).first()
    if row is None:
        return None
    event, source, campaign = row
    is_bot, is_suspect = col(Click.is_bot), col(Click.is_suspect)
    per_link = (
        sa_select(
            col(Click.link_id).label("link_id"),
            func.count(col(Click.id)).filter(~is_bot & ~is_suspect).label("humans"),
            func.count(col(Click.id)).filter(is_bot).label("bots"),
        )
        .join(TrackedLink, col(TrackedLink.id) == col(Click.link_id))
        .join(Post, col(Post.id) == col(TrackedLink.post_id))
        .where(col(Post.event_id) == event_id)  # only this event's clicks, not the whole table
        .group_by(col(Click.link_id))
        .subquery()
    )
    posts = [
        PostRow(p, code, humans or 0, bots or 0)
        for p, code, humans, bots in session.execute(
            sa_select(Post, col(TrackedLink.code), per_link.c.humans, per_link.c.bots)
            .outerjoin(TrackedLink, col(TrackedLink.post_id) == col(Post.id))
            .outerjoin(per_link, per_link.c.link_id == col(TrackedLink.id))
            .where(col(Post.event_id) == event_id)
            .order_by(col(Post.scheduled_at), col(Post.channel))
        ).all()
    ]
    channels = {c.name: c for c in session.exec(select(ChannelState))}
    history = list(
        session.exec(
            select(AuditEntry)
            .where(AuditEntry.event_id == event_id)
            .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
            .limit(15)
        )
    )
    return CampaignView(event, source, campaign, posts, channels, history)
