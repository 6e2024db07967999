"""The pure planner: (event, template set, channels, now, existing posts) -> desired posts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..config import PlanningConfig
from ..errors import TemplateError
from .fitting import rules_for, text_length
from .templates import Step, TemplateSet, render
from .variables import EventView, variables


@dataclass(frozen=True)
class ChannelView:
    """A channel as planning sees it."""

    name: str
    network: str


@dataclass(frozen=True)
class ExistingPost:
    """What planning must respect of a stored post."""

    step: str
    channel: str
    status: str
    scheduled_at: datetime
    text: str
    edited: bool = False
    moved: bool = False


@dataclass(frozen=True)
class DesiredPost:
    """One post the plan wants; `hold_reason` set means it waits for a person."""

    step: str
    channel: str
    network: str
    scheduled_at: datetime
    text: str
    hold_reason: str | None = None
    hold_kind: str | None = None
    skip_reason: str | None = None


Key = tuple[str, str]
LinkFor = Callable[[str, str], str]


def step_time(step: Step, event: EventView, cfg: PlanningConfig) -> datetime:
    """When a step goes out: anchor + offset (at a local time of day if given), moved into the posting window."""
    zone = ZoneInfo(event.timezone)
    anchor = event.start if step.anchor == "start" else event.end
    when = anchor + step.offset
    if step.at is not None:
        local = when.astimezone(zone)
        when = datetime.combine(local.date(), step.at, tzinfo=zone).astimezone(anchor.tzinfo)
    if step.tied_to_event:
        return when
    return _into_window(when, event, step, cfg)


def _into_window(when: datetime, event: EventView, step: Step, cfg: PlanningConfig) -> datetime:
    zone = ZoneInfo(event.timezone)
    local = when.astimezone(zone)
    day = local.date()
    opens = datetime.combine(day, cfg.window_start, tzinfo=zone)
    closes = datetime.combine(day, cfg.window_end, tzinfo=zone)
    moved = min(max(local, opens), closes)
    pre_event = step.anchor == "start" and step.offset < timedelta(0)
    if pre_event and moved >= event.start:
        # The nearest window time before the event: the previous day's close.
        moved = datetime.combine(day - timedelta(days=1), cfg.window_end, tzinfo=zone)
    return moved.astimezone(when.tzinfo)


def plan(
    event: EventView,
    template: TemplateSet,
    channels: Sequence[ChannelView],
    now: datetime,
    cfg: PlanningConfig,
    link_for: LinkFor,
    existing: Mapping[Key, ExistingPost] | None = None,
) -> list[DesiredPost]:
    """The posts this event's campaign should have; deterministic for the same inputs."""
    existing = existing or {}
    desired: list[DesiredPost] = []
    for step in template.steps:
        for channel in channels:
            if step.channels and channel.name not in step.channels:
                continue
            post = _plan_step(
                event, template, step, channel, now, cfg, link_for, existing.get((step.key, channel.name))
            )
            if post is not None:
                desired.append(post)
    return desired


def _plan_step(
    event: EventView,
    template: TemplateSet,
    step: Step,
    channel: ChannelView,
    now: datetime,
    cfg: PlanningConfig,
    link_for: LinkFor,
    current: ExistingPost | None,
) -> DesiredPost | None:
    link = link_for(step.key, channel.name) if event.rsvp_url else None
    when = current.scheduled_at if current is not None and current.moved else step_time(step, event, cfg)
    values = variables(event, when, link, channel.network)
    if step.when and not values.get(step.when):
        return None
    where = f"{template.file}: step {step.key}"
    try:
        text = render(step.text_for(channel.network), values, where)
    except TemplateError as exc:
        return DesiredPost(step.key, channel.name, channel.network, when, "", f"template error: {exc}", "fit")
    if current is None and when < now:
        return DesiredPost(
            step.key,
            channel.name,
            channel.network,
            when,
            text,
            skip_reason="its time had passed when the event was first seen",
        )
    rules = rules_for(channel.network)
    length = text_length(text, channel.network)
    if length > rules.limit:
        reason = f"too long for {channel.network}: {length}/{rules.limit} characters"
        return DesiredPost(step.key, channel.name, channel.network, when, text, reason, "fit")
    return DesiredPost(step.key, channel.name, channel.network, when, text)
