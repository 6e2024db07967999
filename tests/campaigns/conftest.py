"""Helpers for campaign tests: events, template sets and a planner run without a database."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from service.campaigns.planner import (
    ChannelView,
    DesiredPost,
    EventPlan,
    ExistingPost,
    Guard,
    PlanContext,
    PreviousPlan,
    plan_campaign,
)
from service.campaigns.slots import ChannelLoad
from service.campaigns.templates import TemplateSet, load_sets, parse_set
from service.campaigns.variables import EventView
from service.config import PlanningConfig
from tests.conftest import TEMPLATES

BUNDLED, _broken = load_sets(TEMPLATES)
assert not _broken
X = ChannelView("x", "x")
MASTODON = ChannelView("masto", "mastodon")
BASE = "https://go.example.org"


def event(
    start: datetime = datetime(2026, 12, 10, 0, 30, tzinfo=UTC),  # Wed Dec 9, 5:30 PM in Phoenix
    hours: float = 1.0,
    zone: str = "America/Phoenix",
    id: int = 1,
    **kw: Any,
) -> EventView:
    """An event view with sensible defaults (an online webinar with an RSVP link)."""
    values: dict[str, Any] = {
        "title": "Living Well with MPN",
        "location": "Online (Zoom)",
        "rsvp_url": "https://example.org/register/mpn",
        "hashtags": "#MPN",
        "speaker": "Dr. Elena Marquez",
    }
    values.update(kw)
    return EventView(id=id, start=start, end=start + timedelta(hours=hours), timezone=zone, **values)


def link_for(event_id: int = 1) -> Any:
    """A deterministic tracked link per (event, step, channel)."""

    def f(step: str, channel: str) -> str:
        code = f"{event_id:03d}{abs(hash((step, channel))) % 10**7:07d}"
        return f"{BASE}/r/{code}"

    return f


def tset(source: str, name: str = "test") -> TemplateSet:
    """A set parsed from dedented TOML."""
    return parse_set(textwrap.dedent(source), f"{name}.toml", name)


class Planner:
    """Plans several events against one channel load, as a sync does."""

    def __init__(
        self,
        now: datetime,
        cfg: PlanningConfig | None = None,
        cap_zone: str = "America/Phoenix",
        guard: Guard | None = None,
        require_approval: bool = False,
    ):
        self.cfg = cfg or PlanningConfig()
        self.now = now
        self.load = ChannelLoad(self.cfg, cap_zone, f"{BASE}/r/")
        self.guard = guard
        self.require_approval = require_approval

    def plan(
        self,
        ev: EventView,
        template: TemplateSet | str = "webinar",
        channels: Sequence[ChannelView] = (X,),
        existing: Mapping[tuple[str, str], ExistingPost] | None = None,
        previous: PreviousPlan | None = None,
        now: datetime | None = None,
    ) -> EventPlan:
        ctx = PlanContext(
            cfg=self.cfg,
            now=now or self.now,
            link_for=link_for(ev.id),
            load=self.load,
            guard=self.guard,
            require_approval=self.require_approval,
        )
        tpl = BUNDLED[template] if isinstance(template, str) else template
        return plan_campaign(ev, tpl, channels, existing or {}, ctx, previous)


def as_existing(
    posts: Iterable[DesiredPost], status: str | None = None, **changes: Any
) -> dict[tuple[str, str], ExistingPost]:
    """Stored posts as the planner would see them after applying `posts`."""
    out = {}
    for p in posts:
        values = {
            "step": p.step,
            "channel": p.channel,
            "status": status or p.status,
            "scheduled_at": p.scheduled_at,
            "text": p.text,
            "planned_at": p.planned_at,
            "rendered_text": p.rendered_text or p.text,
            "hold_kind": p.hold_kind,
            "hold_reason": p.hold_reason,
            "skip_reason": p.skip_reason,
            "link_kind": p.link_kind,
        }
        values.update(changes)
        out[(p.step, p.channel)] = ExistingPost(**values)
    return out


def by_step(plan: EventPlan, channel: str = "x") -> dict[str, DesiredPost]:
    """The plan's posts on one channel, by step key."""
    return {p.step: p for p in plan.posts if p.channel == channel}
