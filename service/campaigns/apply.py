"""Apply plans to the database: read in batches, plan each event with the pure planner, write only what changed.

Everything runs in the caller's transaction (sync, a CLI command, a web action). `plan_events` plans many
events with a handful of queries: their campaigns and posts are read per chunk, the channels' other
posts once; new posts and their tracked links are inserted in bulk, changed posts updated in bulk (each
update only if the post is still in the status planning read, so a post a worker has just claimed is
never overwritten). Re-planning with nothing changed writes nothing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import and_, bindparam, func, insert, or_, text, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from ..config import Config
from ..errors import ConfigError, TemplateError
from ..models import CalendarSource, Campaign, Event, EventStatus, Post, PostStatus, TrackedLink, utcnow
from ..policy import check_text
from ..tracking import BASE62, CODE_LENGTH, add_link, tracked_url
from ..tracking.dialect import insert_for
from .planner import (
    CANCELLED_NOTICE,
    EVENT_CANCELLED,
    EVENT_REMOVED,
    ChannelView,
    DesiredPost,
    EventPlan,
    ExistingPost,
    Guard,
    PlanContext,
    PreviousPlan,
    plan_campaign,
)
from .slots import TEXT_WINDOW, ChannelLoad
from .templates import TemplateSet
from .variables import EventView

# Posts planning may still change; a published, publishing or cancelled post is never touched.
_PLANNABLE = (PostStatus.SCHEDULED, PostStatus.HELD, PostStatus.SKIPPED, PostStatus.FAILED)
_OCCUPYING = (PostStatus.SCHEDULED, PostStatus.HELD, PostStatus.PUBLISHING, PostStatus.PUBLISHED)
CHUNK = 500  # events per read/write round
_IN_CHUNK = 900  # ids per IN (...) list


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
    """The planner's detached view of an event row (status `removed` when it left its calendar)."""
    assert event.id is not None
    from ..calendars.description import parse_description  # description text without the Key: lines

    return EventView(
        id=event.id,
        title=event.title,
        start=event.start_at,
        end=event.end_at,
        timezone=event.timezone,
        all_day=event.all_day,
        status="removed" if event.removed_at is not None else event.status,
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
        except ConfigError:
            names = [c.name for c in cfg.channels[:1]]
    return [ChannelView(n, known[n].network) for n in dict.fromkeys(names) if n in known]


def template_name(cfg: Config, event: Event, source_name: str) -> str:
    """The event's template set: its `Campaign:` line, else its calendar's default."""
    if event.template:
        return event.template
    try:
        return cfg.calendar(source_name).template
    except ConfigError:
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
    session.flush()
    assert event.id is not None
    return plan_events(session, cfg, templates, [event], now, source_name)[event.id]


def plan_events(
    session: Session,
    cfg: Config,
    templates: Templates,
    events: Iterable[Event],
    now: datetime,
    source_name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[int, PlanOutcome]:
    """Re-plan many events' campaigns with batched reads and writes; returns each event's outcome by id.

    `source_name` names the calendar of all the events; without it each event's source is looked up.
    """
    session.flush()
    todo = sorted((e for e in events if e.id is not None), key=lambda e: (e.start_at, e.id))
    if not todo:
        return {}
    names = _source_names(session, todo, source_name)
    batch = _Batch(session, cfg, templates, now)
    batch.load_channels(todo, names)
    outcomes: dict[int, PlanOutcome] = {}
    for i in range(0, len(todo), CHUNK):
        outcomes.update(batch.run(todo[i : i + CHUNK], names))
        if progress:
            progress(min(i + CHUNK, len(todo)), len(todo))
    return outcomes


def set_hash(tset: TemplateSet) -> str:
    """A fingerprint of a template set's text (what its campaigns were last planned with)."""
    return hashlib.sha256(tset.source.encode()).hexdigest()[:32]


def events_to_replan(session: Session, templates: Templates, source_id: int, now: datetime) -> list[Event]:
    """Upcoming events of a source whose campaign needs planning although the calendar did not change:
    no campaign yet, a campaign flagged with an error (its set may be fixed now), or a campaign planned
    with another version of its template set (edited in its file or on the web page)."""
    template_hash = col(Campaign.template_hash)
    edited = [
        and_(col(Campaign.template) == name, or_(template_hash.is_(None), template_hash != set_hash(t)))
        for name, t in templates.sets.items()
    ]
    stmt = (
        select(Event)
        .outerjoin(Campaign, col(Campaign.event_id) == col(Event.id))
        .where(Event.source_id == source_id, Event.end_at >= now, col(Event.removed_at).is_(None))
        .where(or_(col(Campaign.id).is_(None), col(Campaign.error).is_not(None), *edited))
    )
    return list(session.exec(stmt).all())


def _source_names(session: Session, events: Sequence[Event], source_name: str | None) -> dict[int, str]:
    if source_name is not None:
        return {e.source_id: source_name for e in events}
    ids = sorted({e.source_id for e in events})
    rows = session.exec(select(CalendarSource.id, CalendarSource.name).where(col(CalendarSource.id).in_(ids)))
    return {int(i): n for i, n in rows.all() if i is not None}


def _chunks(items: Sequence[Any], n: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


@dataclass
class _Row:
    """A stored post as planning reads it (plain values, not an ORM object: planning reads many)."""

    id: int
    event_id: int
    step: str
    channel: str
    network: str
    status: str
    scheduled_at: datetime
    due_at: datetime
    planned_at: datetime | None
    text: str
    rendered_text: str
    edited: bool
    moved: bool
    hold_kind: str | None
    hold_reason: str | None
    skip_reason: str | None
    link_kind: str
    code: str | None

    def existing(self) -> ExistingPost:
        return ExistingPost(
            step=self.step,
            channel=self.channel,
            status=self.status,
            scheduled_at=self.scheduled_at,
            text=self.text,
            edited=self.edited,
            moved=self.moved,
            planned_at=self.planned_at,
            rendered_text=self.rendered_text,
            hold_kind=self.hold_kind,
            hold_reason=self.hold_reason,
            skip_reason=self.skip_reason,
            link_kind=self.link_kind,
            id=self.id,
        )


@dataclass
class _CampaignRow:
    """A campaign as planning reads and writes it."""

    id: int
    event_id: int
    template: str
    template_chosen: bool
    error: str | None
    planned_start: datetime | None
    planned_end: datetime | None
    planned_status: str | None
    template_hash: str | None
    dirty: bool = False


_CAMPAIGN_COLUMNS: tuple[Any, ...] = tuple(
    col(c)
    for c in (
        Campaign.id, Campaign.event_id, Campaign.template, Campaign.template_chosen, Campaign.error,
        Campaign.planned_start, Campaign.planned_end, Campaign.planned_status, Campaign.template_hash,
    )
)  # fmt: skip

_ROW_COLUMNS: tuple[Any, ...] = tuple(
    col(c)
    for c in (
        Post.id, Post.event_id, Post.step, Post.channel, Post.network, Post.status, Post.scheduled_at, Post.due_at,
        Post.planned_at, Post.text, Post.rendered_text, Post.edited, Post.moved, Post.hold_kind, Post.hold_reason,
        Post.skip_reason, Post.link_kind,
    )
)  # fmt: skip


class _Batch:
    """One planning run over many events: the shared channel load, caches, and the writes."""

    def __init__(self, session: Session, cfg: Config, templates: Templates, now: datetime):
        self.session = session
        self.cfg = cfg
        self.templates = templates
        self.now = now
        prefix = tracked_url(cfg.base_url, "")
        self.load = ChannelLoad(cfg.planning, cfg.timezone, prefix)
        self.own: dict[int, list[tuple[str, datetime, bytes | None, bool]]] = defaultdict(list)
        self._tied: dict[tuple[str, str], bool] = {}
        self.guard = content_guard(cfg)
        self.mint: Callable[[], str] = CodePool()
        self.campaign_updates: list[_CampaignRow] = []

    # -- the channels' other posts ---------------------------------------------------------------

    def counts_for_cap(self, template: str | None, step: str) -> bool:
        """Whether a stored post counts toward its channel's daily cap (not "live now", not a notice)."""
        key = (template or "", step)
        if key not in self._tied:
            tset = self.templates.sets.get(template or "")
            tied = step == CANCELLED_NOTICE or any(
                s.key == step and s.tied_to_event for s in (tset.steps if tset else ())
            )
            self._tied[key] = not tied
        return self._tied[key]

    def load_channels(self, events: Sequence[Event], names: Mapping[int, str]) -> None:
        """Read once every post that occupies a slot on these events' channels around their dates."""
        channels = sorted({c.name for e in events for c in event_channels(self.cfg, e, names.get(e.source_id, ""))})
        if not channels:
            return
        before, after = self._reach()
        lo = min(e.start_at for e in events) - before
        hi = max(e.end_at for e in events) + after
        ids = {e.id for e in events}
        stmt = (
            sa_select(
                col(Post.event_id),
                col(Post.channel),
                col(Post.step),
                col(Post.scheduled_at),
                col(Post.text),
                col(Campaign.template),
            )
            .join(Campaign, col(Campaign.id) == col(Post.campaign_id))
            .where(
                col(Post.channel).in_(channels),
                col(Post.status).in_(_OCCUPYING),
                col(Post.scheduled_at) >= lo,
                col(Post.scheduled_at) <= hi,
            )
        )
        for event_id, channel, step, when, body, template in self.session.execute(stmt):
            counts = self.counts_for_cap(template, step)
            key = self.load.add(channel, when, body, counts)
            if event_id in ids:
                self.own[event_id].append((channel, when, key, counts))

    def _reach(self) -> tuple[timedelta, timedelta]:
        """How far before an event's start and after its end its posts (and the texts they must differ
        from) can lie."""
        earliest, latest = timedelta(0), timedelta(days=8)  # late recording posts, catch-ups
        for tset in self.templates.sets.values():
            for step in tset.steps:
                earliest = min(earliest, step.offset)
                latest = max(latest, step.offset)
        slack = TEXT_WINDOW + timedelta(days=2)
        return -earliest + slack, latest + slack

    # -- one chunk of events ---------------------------------------------------------------------

    def run(self, events: Sequence[Event], names: Mapping[int, str]) -> dict[int, PlanOutcome]:
        ids = [e.id for e in events if e.id is not None]
        campaigns = self._campaigns(events, names)
        rows = self._rows(ids)
        inserts: list[dict[str, Any]] = []
        codes: list[str] = []
        updates: list[dict[str, Any]] = []
        outcomes: dict[int, PlanOutcome] = {}
        for event in events:
            assert event.id is not None
            outcomes[event.id] = self._plan_one(
                event,
                names.get(event.source_id, ""),
                campaigns[event.id],
                rows.get(event.id, []),
                inserts,
                codes,
                updates,
            )
        self._write(inserts, codes, updates)
        self._write_campaigns()
        return outcomes

    def _campaigns(self, events: Sequence[Event], names: Mapping[int, str]) -> dict[int, _CampaignRow]:
        """Each event's campaign (plain rows), the missing ones inserted in one executemany."""
        found: dict[int, _CampaignRow] = {}
        ids = [e.id for e in events]
        for part in _chunks(ids):
            for r in self.session.execute(sa_select(*_CAMPAIGN_COLUMNS).where(col(Campaign.event_id).in_(part))):
                row = _CampaignRow(*r)
                found[row.event_id] = row
        missing: list[_CampaignRow] = []
        for e in events:
            assert e.id is not None
            wanted = template_name(self.cfg, e, names.get(e.source_id, ""))
            have = found.get(e.id)
            if have is None:
                have = _CampaignRow(0, e.id, wanted, False, None, None, None, None, None)
                found[e.id] = have
                missing.append(have)
            elif not have.template_chosen and have.template != wanted:
                have.template, have.dirty = wanted, True
        if missing:
            for row, new_id in zip(missing, allocate_ids(self.session, "campaign", len(missing)), strict=True):
                row.id = new_id
            table = Campaign.__table__  # type: ignore[attr-defined]
            self.session.execute(
                insert(table),
                [
                    {"id": r.id, "event_id": r.event_id, "template": r.template, "template_chosen": False,
                     "paused": False, "created_at": self.now, "updated_at": self.now}
                    for r in missing
                ],
            )  # fmt: skip
        return found

    def _rows(self, ids: Sequence[int | None]) -> dict[int, list[_Row]]:
        out: dict[int, list[_Row]] = defaultdict(list)
        for part in _chunks([i for i in ids if i is not None]):
            stmt = (
                sa_select(*_ROW_COLUMNS, col(TrackedLink.code))
                .outerjoin(TrackedLink, col(TrackedLink.post_id) == col(Post.id))
                .where(col(Post.event_id).in_(part))
                .order_by(col(Post.id))
            )
            for r in self.session.execute(stmt):
                row = _Row(*r)
                out[row.event_id].append(row)
        return out

    def _plan_one(
        self,
        event: Event,
        source_name: str,
        campaign: _CampaignRow,
        rows: list[_Row],
        inserts: list[dict[str, Any]],
        codes: list[str],
        updates: list[dict[str, Any]],
    ) -> PlanOutcome:
        outcome = PlanOutcome()
        tset = self.templates.sets.get(campaign.template)
        if tset is None:
            view = event_view(event)
            msg = self.templates.broken.get(campaign.template) or f"no template set named {campaign.template!r}"
            self._set_campaign(campaign, error=msg)
            outcome.error = msg
            if view.status in (EventStatus.CANCELLED, "removed"):
                # The set is broken, but a cancelled event's posts must still not go out.
                reason = EVENT_REMOVED if view.status == "removed" else EVENT_CANCELLED
                for row in rows:
                    if row.status in _PLANNABLE:
                        updates.append(self._cancel(row, reason))
                        outcome.cancelled += 1
            return outcome
        previous = PreviousPlan(campaign.planned_start, campaign.planned_end, campaign.planned_status)
        try:
            result, by_key, fresh = self.plan(event, source_name, tset, previous, rows)
        except (ValueError, KeyError, ZoneInfoNotFoundError) as exc:
            # One event's bad data (an unknown zone, an impossible date) must not stop the others.
            msg = f"{tset.file}: could not plan {event.title!r}: {type(exc).__name__}: {exc}"
            self._set_campaign(campaign, error=msg)
            outcome.error = msg
            return outcome
        assert campaign.id is not None and event.id is not None
        for d in result.posts:
            stored = by_key.get((d.step, d.channel))
            if stored is None:
                inserts.append(self._new(campaign.id, event.id, d))
                codes.append(fresh.get((d.step, d.channel)) or self.mint())
                outcome.created += 1
            elif (change := self._change(stored, d)) is not None:
                updates.append(change)
                outcome.updated += 1
            else:
                outcome.unchanged += 1
        for key, reason in result.cancel.items():
            if by_key[key].status in _PLANNABLE:
                updates.append(self._cancel(by_key[key], reason))
                outcome.cancelled += 1
        outcome.unchanged += len(result.keep)
        error = "; ".join(result.errors) or None
        self._set_campaign(campaign, error=error, event=event, template_hash=set_hash(tset))
        outcome.error = error
        return outcome

    def plan(
        self, event: Event, source_name: str, tset: TemplateSet, previous: PreviousPlan, rows: list[_Row]
    ) -> tuple[EventPlan, dict[tuple[str, str], _Row], dict[tuple[str, str], str]]:
        """Plan one event against the shared load (its own stored posts taken out of it first)."""
        for channel, when, key, counts in self.own.pop(event.id or 0, []):
            self.load.remove(channel, when, key, counts)
        by_key = {(r.step, r.channel): r for r in rows}
        fresh: dict[tuple[str, str], str] = {}

        def link_for(step: str, channel: str) -> str:
            row = by_key.get((step, channel))
            code = row.code if row is not None and row.code else fresh.setdefault((step, channel), self.mint())
            return tracked_url(self.cfg.base_url, code)

        ctx = PlanContext(
            cfg=self.cfg.planning,
            now=self.now,
            link_for=link_for,
            load=self.load,
            guard=self.guard,
            require_approval=self.cfg.policy.require_approval,
        )
        channels = event_channels(self.cfg, event, source_name)
        existing = {k: r.existing() for k, r in by_key.items()}
        return plan_campaign(event_view(event), tset, channels, existing, ctx, previous), by_key, fresh

    def _set_campaign(
        self, c: _CampaignRow, error: str | None, event: Event | None = None, template_hash: str | None = None
    ) -> None:
        values: dict[str, Any] = {"error": error}
        if template_hash is not None:
            values["template_hash"] = template_hash
        if event is not None:
            status = "removed" if event.removed_at is not None else event.status
            values.update(planned_start=event.start_at, planned_end=event.end_at, planned_status=status)
        for k, v in values.items():
            if getattr(c, k) != v:
                setattr(c, k, v)
                c.dirty = True
        if c.dirty:
            self.campaign_updates.append(c)

    # -- rows to write ---------------------------------------------------------------------------

    def _new(self, campaign_id: int, event_id: int, d: DesiredPost) -> dict[str, Any]:
        return {
            "campaign_id": campaign_id,
            "event_id": event_id,
            "step": d.step,
            "channel": d.channel,
            "network": d.network,
            "scheduled_at": d.scheduled_at,
            "due_at": d.scheduled_at,
            "planned_at": d.planned_at,
            "status": d.status,
            "text": d.text,
            "rendered_text": d.rendered_text or d.text,
            "edited": False,
            "moved": False,
            "link_kind": d.link_kind,
            "hold_reason": d.hold_reason,
            "hold_kind": d.hold_kind,
            "skip_reason": d.skip_reason,
            "attempts": 0,
            "created_at": self.now,
            "updated_at": self.now,
        }

    def _change(self, row: _Row, d: DesiredPost) -> dict[str, Any] | None:
        """The update that brings a stored post in line with the plan, or None when nothing differs."""
        new = {
            "scheduled_at": d.scheduled_at,
            "due_at": d.scheduled_at if d.scheduled_at != row.scheduled_at else row.due_at,
            "planned_at": d.planned_at,
            "status": d.status,
            "text": d.text,
            "rendered_text": d.rendered_text or d.text,
            "hold_reason": d.hold_reason,
            "hold_kind": d.hold_kind,
            "skip_reason": d.skip_reason,
            "link_kind": d.link_kind,
            "network": d.network,
        }
        old = {k: getattr(row, k) for k in new}
        if new == old:
            return None
        return {"b_id": row.id, "b_old_status": row.status, **new, "updated_at": self.now}

    def _cancel(self, row: _Row, reason: str) -> dict[str, Any]:
        return {
            "b_id": row.id,
            "b_old_status": row.status,
            "scheduled_at": row.scheduled_at,
            "due_at": row.due_at,
            "planned_at": row.planned_at,
            "status": PostStatus.CANCELLED,
            "text": row.text,
            "rendered_text": row.rendered_text,
            "hold_reason": row.hold_reason,
            "hold_kind": row.hold_kind,
            "skip_reason": reason,
            "link_kind": row.link_kind,
            "network": row.network,
            "updated_at": self.now,
        }

    def _write_campaigns(self) -> None:
        rows, self.campaign_updates = self.campaign_updates, []
        if not rows:
            return
        table = Campaign.__table__  # type: ignore[attr-defined]
        names = ("template", "error", "planned_start", "planned_end", "planned_status", "template_hash")
        change = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({**{k: bindparam(f"v_{k}") for k in names}, "updated_at": bindparam("v_updated_at")})
        )
        params = [{"b_id": r.id, "v_updated_at": self.now, **{f"v_{k}": getattr(r, k) for k in names}} for r in rows]
        self.session.execute(change, params)
        ids = {r.id for r in rows}
        for obj in list(self.session.identity_map.values()):
            if isinstance(obj, Campaign) and obj.id in ids:
                self.session.expire(obj)

    def _insert_links(self, inserts: list[dict[str, Any]], ids: list[int], codes: list[str]) -> None:
        """One tracked link per new post, in one executemany, unique on insert like tracking.add_link: a code
        already taken (astronomically rare) is skipped by the insert and the post gets another one."""
        links = [{"code": code, "post_id": pid, "created_at": self.now} for code, pid in zip(codes, ids, strict=True)]
        self.session.execute(
            insert_for(self.session, TrackedLink).on_conflict_do_nothing(index_elements=["code"]), links
        )
        # Count what went in: the links of these events' posts from the first new id on (all new ones).
        events = sorted({row["event_id"] for row in inserts})
        stored = 0
        for part in _chunks(events):
            stored += self.session.execute(
                sa_select(func.count())
                .select_from(TrackedLink)
                .join(Post, col(Post.id) == col(TrackedLink.post_id))
                .where(col(Post.event_id).in_(part), col(Post.id) >= min(ids))
            ).scalar_one()
        if stored >= len(ids):
            return
        have: set[int] = set()
        for part in _chunks(ids):
            have.update(self.session.exec(select(TrackedLink.post_id).where(col(TrackedLink.post_id).in_(part))))
        for pid, code in zip(ids, codes, strict=True):
            if pid not in have:
                post = self.session.get(Post, pid)
                assert post is not None
                add_link(self.session, post, code, self.now)  # mints another code and fixes the post's text

    def _write(self, inserts: list[dict[str, Any]], codes: list[str], updates: list[dict[str, Any]]) -> None:
        table = Post.__table__  # type: ignore[attr-defined]
        if inserts:
            # Ids allocated first, so posts and their links go in with plain executemany (RETURNING would
            # make SQLite insert row by row).
            ids = allocate_ids(self.session, "post", len(inserts))
            for row, pid in zip(inserts, ids, strict=True):
                row["id"] = pid
            self.session.execute(insert(table), inserts)
            self._insert_links(inserts, ids, codes)
        if updates:
            columns = [k for k in updates[0] if not k.startswith("b_")]
            change = (
                update(table)
                .where(and_(table.c.id == bindparam("b_id"), table.c.status == bindparam("b_old_status")))
                .values({k: bindparam(f"v_{k}") for k in columns})
            )
            params = [{k if k.startswith("b_") else f"v_{k}": v for k, v in u.items()} for u in updates]
            self.session.execute(change, params)
            _expire_posts(self.session, {u["b_id"] for u in updates})


def preview_stored_event(
    session: Session, cfg: Config, templates: Templates, event: Event, source_name: str, now: datetime
) -> list[dict[str, Any]]:
    """What planning would make of a stored event now, without writing: one row per post, time order."""
    from .checks import preview_row
    from .fitting import rules_for, text_length

    batch = _Batch(session, cfg, templates, now)
    batch.mint = lambda: "PREVIEW000"
    batch.load_channels([event], {event.source_id: source_name})
    campaign = session.exec(select(Campaign).where(Campaign.event_id == event.id)).first()
    name = campaign.template if campaign is not None else template_name(cfg, event, source_name)
    tset = templates.sets.get(name)
    if tset is None:
        raise TemplateError(templates.broken.get(name) or f"no template set named {name!r}")
    previous = PreviousPlan(
        *((campaign.planned_start, campaign.planned_end, campaign.planned_status) if campaign else (None, None, None))
    )
    assert event.id is not None
    rows = batch._rows([event.id]).get(event.id, [])
    result, by_key, _ = batch.plan(event, source_name, tset, previous, rows)
    view = event_view(event)
    out = [preview_row(view, d) for d in result.posts]
    for key, row in by_key.items():
        if key in result.keep or key in result.cancel:
            d = DesiredPost(
                step=row.step, channel=row.channel, network=row.network, scheduled_at=row.scheduled_at, text=row.text,
                hold_reason=row.hold_reason, hold_kind=row.hold_kind,
                skip_reason=result.cancel.get(key, row.skip_reason), planned_at=row.planned_at,
                link_kind=row.link_kind, length=text_length(row.text, row.network), limit=rules_for(row.network).limit,
            )  # fmt: skip
            r = preview_row(view, d)
            r["status"] = PostStatus.CANCELLED if key in result.cancel else row.status
            out.append(r)
    return sorted(out, key=lambda r: (r["utc_time"], r["channel"], r["step"]))


def allocate_ids(session: Session, table: str, n: int) -> list[int]:
    """`n` fresh primary keys for `table`: PostgreSQL draws them from the table's sequence; SQLite counts on
    from the largest id (the caller holds SQLite's write lock: sessions that write begin IMMEDIATE)."""
    if n <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table, "n": n},
        )
        return sorted(int(r[0]) for r in rows)
    top = session.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one()  # noqa: S608 (a constant)
    return list(range(int(top) + 1, int(top) + 1 + n))


# Bytes 0..247 map evenly onto the 62 characters; 248..255 are dropped (no modulo bias).
_CODE_TABLE = bytes(ord(BASE62[b % len(BASE62)]) if b < 248 else 0 for b in range(256))
_CODE_REJECT = bytes(range(248, 256))


class CodePool:
    """Tracked-link codes like tracking.mint_code() makes (same alphabet and length, from the OS CSPRNG),
    drawn in bulk: planning thousands of posts would otherwise spend seconds minting them one by one."""

    def __init__(self, batch: int = 4096):
        self.batch = batch
        self._codes: list[str] = []

    def __call__(self) -> str:
        if not self._codes:
            need = self.batch * CODE_LENGTH
            chars = b""
            while len(chars) < need:
                chars += secrets.token_bytes(need + need // 16 + 64).translate(_CODE_TABLE, _CODE_REJECT)
            text = chars[:need].decode("ascii")
            self._codes = [text[i : i + CODE_LENGTH] for i in range(0, need, CODE_LENGTH)]
        return self._codes.pop()


def _expire_posts(session: Session, ids: set[int]) -> None:
    """Post objects this session already holds are stale after a bulk update: reload them on next use."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Post) and obj.id in ids:
            session.expire(obj)


def content_guard(cfg: Config) -> Guard:
    """The content guard with our own tracked links masked (their random codes are not content) and
    its verdicts cached by the masked text."""
    link_prefix = tracked_url(cfg.base_url, "")
    host = urlsplit(cfg.base_url).hostname or ""
    own = (host,) if host else ()
    link_re = re.compile(re.escape(link_prefix) + r"[A-Za-z0-9]+")
    placeholder = link_prefix + "LINKCODE"
    cache: dict[str, tuple[str, list[str]]] = {}

    def guard(text: str) -> tuple[str, list[str]]:
        masked = link_re.sub(placeholder, text)
        hit = cache.get(masked)
        if hit is None:
            verdict = check_text(masked, cfg.policy, own)
            hit = (verdict.verdict, list(verdict.reasons))
            if len(cache) > 20_000:
                cache.clear()
            cache[masked] = hit
        return hit

    return guard


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
