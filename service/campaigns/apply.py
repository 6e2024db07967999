"""Apply a plan to the database: diff desired posts against stored ones, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from ..config import Config
from ..models import Campaign, Event, EventStatus, Post, PostStatus, TrackedLink, utcnow
from ..tracking import add_link, mint_code, tracked_url
from .planner import ChannelView, DesiredPost, ExistingPost, plan
from .templates import TemplateSet
from .variables import EventView

# Posts planning may still change; a published, publishing or cancelled post is never touched.
_PLANNABLE = (PostStatus.SCHEDULED, PostStatus.HELD, PostStatus.SKIPPED, PostStatus.FAILED)


@dataclass
class PlanOutcome:
    """What applying one event's plan changed."""

    created: int = 0
    updated: int = 0
    cancelled: int = 0
    unchanged: int = 0
    error: str | None = None


@dataclass
class Templates:
    """The loaded template sets and the broken ones (name -> error message)."""

    sets: Mapping[str, TemplateSet]
    broken: Mapping[str, str] = field(default_factory=dict)


def event_view(event: Event) -> EventView:
    """The planner's detached view of an event row."""
    assert event.id is not None
    from ..calendars.description import parse_description  # description text without the Key: lines

    return EventView(
        id=event.id,
        title=event.title,
        start=event.start_at,
        end=event.end_at,
        timezone=event.timezone,
        all_day=event.all_day,
        status=event.status,
        location=event.location,
        description=parse_description(event.description).text,
        rsvp_url=event.rsvp_url,
        hashtags=event.hashtags,
        speaker=event.speaker,
        image_url=event.image_url,
        recording_url=event.recording_url,
        slug=event.slug,
    )


def event_channels(cfg: Config, event: Event, source_name: str) -> list[ChannelView]:
    """The channels of an event: its `Channels:` line, else its calendar's; unknown names are dropped."""
    known = {c.name: c for c in cfg.channels}
    names: Sequence[str]
    if event.channels:
        names = event.channels
    else:
        try:
            names = cfg.calendar(source_name).channels
        except Exception:
            names = [c.name for c in cfg.channels[:1]]
    return [ChannelView(n, known[n].network) for n in names if n in known]


def template_name(cfg: Config, event: Event, source_name: str) -> str:
    """The event's template set: its `Campaign:` line, else its calendar's default."""
    if event.template:
        return event.template
    try:
        return cfg.calendar(source_name).template
    except Exception:
        return "webinar"


def ensure_campaign(session: Session, cfg: Config, event: Event, source_name: str) -> Campaign:
    """The event's campaign row, created with the template set the event or its calendar names."""
    campaign = session.exec(select(Campaign).where(Campaign.event_id == event.id)).first()
    wanted = template_name(cfg, event, source_name)
    if campaign is None:
        assert event.id is not None
        campaign = Campaign(event_id=event.id, template=wanted)
        session.add(campaign)
        session.flush()
    elif not campaign.template_chosen and campaign.template != wanted:
        campaign.template = wanted
        campaign.updated_at = utcnow()
    return campaign


def plan_event(
    session: Session, cfg: Config, templates: Templates, event: Event, source_name: str, now: datetime
) -> PlanOutcome:
    """Re-plan one event's campaign and write only what changed."""
    campaign = ensure_campaign(session, cfg, event, source_name)
    posts = list(session.exec(select(Post).where(Post.campaign_id == campaign.id)))
    outcome = PlanOutcome()
    if event.status == EventStatus.CANCELLED or event.removed_at is not None:
        outcome.cancelled = cancel_open_posts(
            posts,
            "the event was cancelled" if event.removed_at is None else "the event was removed from its calendar",
            now,
        )
        return outcome
    tset = templates.sets.get(campaign.template)
    if tset is None:
        msg = templates.broken.get(campaign.template) or f"no template set named {campaign.template!r}"
        if campaign.error != msg:
            campaign.error = msg
            campaign.updated_at = now
        outcome.error = msg
        return outcome
    if campaign.error is not None:
        campaign.error = None
        campaign.updated_at = now

    by_key = {(p.step, p.channel): p for p in posts}
    codes = _link_codes(session, posts)
    fresh_codes: dict[tuple[str, str], str] = {}

    def link_for(step: str, channel: str) -> str:
        post = by_key.get((step, channel))
        code = codes.get(post.id) if post is not None and post.id is not None else None
        if code is None:
            code = fresh_codes.setdefault((step, channel), mint_code())
        return tracked_url(cfg.base_url, code)

    existing = {
        k: ExistingPost(p.step, p.channel, p.status, p.scheduled_at, p.text, p.edited, p.moved)
        for k, p in by_key.items()
    }
    channels = event_channels(cfg, event, source_name)
    desired = plan(event_view(event), tset, channels, now, cfg.planning, link_for, existing)
    wanted_keys = set()
    for d in desired:
        key = (d.step, d.channel)
        wanted_keys.add(key)
        post = by_key.get(key)
        if post is None:
            _create(session, campaign, event, d, fresh_codes.get(key) or mint_code(), now)
            outcome.created += 1
        elif post.status in _PLANNABLE and _update(post, d, now):
            outcome.updated += 1
        else:
            outcome.unchanged += 1
    stale = [p for k, p in by_key.items() if k not in wanted_keys]
    outcome.cancelled += cancel_open_posts(stale, "no longer part of the campaign", now)
    return outcome


def _link_codes(session: Session, posts: Iterable[Post]) -> dict[int, str]:
    ids = [p.id for p in posts if p.id is not None]
    if not ids:
        return {}
    rows = session.exec(select(TrackedLink.post_id, TrackedLink.code).where(TrackedLink.post_id.in_(ids)))  # type: ignore[attr-defined]
    return dict(rows.all())


def _create(session: Session, campaign: Campaign, event: Event, d: DesiredPost, code: str, now: datetime) -> Post:
    assert campaign.id is not None and event.id is not None
    status = PostStatus.SKIPPED if d.skip_reason else PostStatus.HELD if d.hold_reason else PostStatus.SCHEDULED
    post = Post(
        campaign_id=campaign.id,
        event_id=event.id,
        step=d.step,
        channel=d.channel,
        network=d.network,
        scheduled_at=d.scheduled_at,
        due_at=d.scheduled_at,
        status=status,
        text=d.text,
        rendered_text=d.text,
        hold_reason=d.hold_reason,
        hold_kind=d.hold_kind,
        skip_reason=d.skip_reason,
        created_at=now,
        updated_at=now,
    )
    session.add(post)
    session.flush()
    # Unique on insert: a taken code (astronomically rare) is replaced, in the post's text too.
    add_link(session, post, code, now)
    return post


def _update(post: Post, d: DesiredPost, now: datetime) -> bool:
    """Bring an open post in line with the plan; True when anything changed."""
    changed = False
    if not post.moved and post.scheduled_at != d.scheduled_at:
        post.scheduled_at = d.scheduled_at
        post.due_at = d.scheduled_at
        changed = True
    if post.rendered_text != d.text:
        post.rendered_text = d.text
        changed = True
    if not post.edited and post.text != d.text:
        post.text = d.text
        changed = True
    # Planning owns only its own holds ("fit", "policy"); a person's skip, approval hold or failure stays.
    if post.status == PostStatus.SCHEDULED and d.hold_reason:
        post.status, post.hold_reason, post.hold_kind = PostStatus.HELD, d.hold_reason, d.hold_kind
        changed = True
    elif post.status == PostStatus.HELD and post.hold_kind in ("fit", "policy") and not d.hold_reason:
        post.status, post.hold_reason, post.hold_kind = PostStatus.SCHEDULED, None, None
        changed = True
    elif post.status == PostStatus.HELD and post.hold_kind in ("fit", "policy") and post.hold_reason != d.hold_reason:
        post.hold_reason, post.hold_kind = d.hold_reason, d.hold_kind
        changed = True
    if changed:
        post.updated_at = now
    return changed


def cancel_open_posts(posts: Iterable[Post], reason: str, now: datetime) -> int:
    """Cancel every post that has not gone out (scheduled, held, failed, skipped); published ones stay."""
    n = 0
    for post in posts:
        if post.status in _PLANNABLE:
            post.status = PostStatus.CANCELLED
            post.skip_reason = reason
            post.updated_at = now
            n += 1
    return n
