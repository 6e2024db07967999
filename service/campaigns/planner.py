"""The pure planner: (event, template set, channels, now, its stored posts, the channels' other posts) -> plan.

No database here: `plan_campaign` decides from its inputs alone, so the same inputs give the same plan.
What it decides, per step and channel:
- when: the step's ideal time (offset from the start or end, at a local time of day), moved into the
  posting window of the event's zone (never past the start for a pre-event step), then to the nearest
  grid time that keeps the channel's spacing and daily cap (`slots.ChannelLoad`). "Live now" steps
  follow the event instead. A post whose ideal time did not change keeps its time.
- what it says: rendered in the sandbox, fitted to the network (`fitting.fit_text`), unique on its
  channel, a person's edited text kept;
- whether it waits: held for fit, the content guard, review (an edited text naming the old time),
  a tentative event, or approval; skipped when its time had passed or no slot was free.
Stored posts a person or the publisher owns (published, in flight, cancelled or skipped by a person,
failed) are kept as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..config import PlanningConfig
from ..errors import TemplateError
from ..models import EventStatus, PostStatus
from .fitting import Fitted, fit_text, text_length
from .slots import (
    GRID,
    TIED_SLACK,
    ChannelLoad,
    at_local,
    candidates,
    ceil_to_grid,
    in_window,
    into_window,
    window_of,
    zone,
)
from .templates import SpecialText, Step, TemplateSet, render
from .variables import EventView, event_values, local_text, names_old_time, time_phrases

# Reasons the planner owns: a post skipped or cancelled with one of these may be brought back by planning.
PAST = "its time had passed when the event was first seen"
PAST_ADDED = "its time had passed when the step became part of the campaign"
PAST_MOVED = "its new time had already passed when the event changed"
NO_SLOT = "no free time on {channel} that day (spacing {spacing} min, at most {cap} posts a day)"
EVENT_CANCELLED = "the event was cancelled"
EVENT_REMOVED = "the event was removed from its calendar"
NOT_IN_CAMPAIGN = "no longer part of the campaign"
BACK_ON = "the event is back on"
PAST_PREFIXES = ("its time had passed", "its new time had already passed")
PLANNER_SKIPS = (*PAST_PREFIXES, "no free time on ")
PLANNER_CANCELS = (EVENT_CANCELLED, EVENT_REMOVED, NOT_IN_CAMPAIGN, BACK_ON)
# Holds planning sets and lifts by itself; the others wait for a person.
PLANNER_HOLDS = ("fit", "policy", "tentative")
TENTATIVE = "the event is tentative in the calendar: confirm it there, or approve this post"
APPROVAL = "posts wait for approval ([policy] require_approval)"
CATCH_UP = "catch-up"
CANCELLED_NOTICE = "cancelled"
# The catch-up of a set without a `catch_up` text (a step's own wording, "tomorrow", would be wrong).
DEFAULT_CATCH_UP = SpecialText(
    texts={
        "default": "Coming up {{ day_phrase }}: {{ title }}, {{ long_start }}"
        "{% if not online %}, {{ where }}{% endif %}.\n{% if has_rsvp %}{{ rsvp_link }}{% endif %}\n{{ hashtags }}"
    },
    line=0,
)
LATE_POST_DAYS = 7  # a post-event step whose condition became true late still goes out this long after

Key = tuple[str, str]
LinkFor = Callable[[str, str], str]
Guard = Callable[[str], tuple[str, list[str]]]  # text -> (verdict ok|warn|hold, reasons)


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
    planned_at: datetime | None = None
    rendered_text: str = ""
    hold_kind: str | None = None
    hold_reason: str | None = None
    skip_reason: str | None = None
    link_kind: str = "rsvp"
    id: int | None = None


@dataclass(frozen=True)
class DesiredPost:
    """One post the plan wants; `hold_reason` set means it waits for a person, `skip_reason` that it is skipped."""

    step: str
    channel: str
    network: str
    scheduled_at: datetime
    text: str
    hold_reason: str | None = None
    hold_kind: str | None = None
    skip_reason: str | None = None
    planned_at: datetime | None = None
    link_kind: str = "rsvp"
    rendered_text: str | None = None  # what planning rendered, when `text` is a person's edit
    length: int = 0
    limit: int = 0
    note: str | None = None  # how the text was shortened or made unique
    warnings: tuple[str, ...] = ()  # content-guard warnings (the post still goes out)

    @property
    def status(self) -> str:
        """The post status this plan means."""
        if self.skip_reason:
            return PostStatus.SKIPPED
        return PostStatus.HELD if self.hold_reason or self.hold_kind else PostStatus.SCHEDULED


@dataclass(frozen=True)
class PreviousPlan:
    """What the event looked like when its campaign was last planned (for moves and status changes)."""

    start: datetime | None = None
    end: datetime | None = None
    status: str | None = None


@dataclass
class EventPlan:
    """The planner's answer for one event: posts to create or update, stored posts to keep as they are,
    stored posts to cancel."""

    posts: list[DesiredPost] = field(default_factory=list)
    keep: set[Key] = field(default_factory=set)
    cancel: dict[Key, str] = field(default_factory=dict)  # stored posts to cancel, with the reason
    errors: list[str] = field(default_factory=list)


@dataclass
class PlanContext:
    """Everything around one planning run that is not about one event."""

    cfg: PlanningConfig
    now: datetime
    link_for: LinkFor
    load: ChannelLoad
    guard: Guard | None = None
    require_approval: bool = False


def planner_owned_skip(reason: str | None) -> bool:
    """True when a skip was decided by planning (and planning may undo it)."""
    return bool(reason) and any(reason.startswith(p) for p in PLANNER_SKIPS)  # type: ignore[union-attr]


def planner_owned_cancel(reason: str | None) -> bool:
    """True when a cancellation was decided by planning (the event came back: the post may too)."""
    return reason in PLANNER_CANCELS


# The states in which a stored post is planning's to change.
def _plannable(post: ExistingPost) -> bool:
    if post.status == PostStatus.SCHEDULED:
        return True
    if post.status == PostStatus.HELD:
        return post.hold_kind in (*PLANNER_HOLDS, "approval", "review", None)
    if post.status == PostStatus.SKIPPED:
        return planner_owned_skip(post.skip_reason)
    if post.status == PostStatus.CANCELLED:
        return planner_owned_cancel(post.skip_reason)
    return False  # published, publishing, failed, a person's skip or cancel


def _occupies(post: ExistingPost) -> bool:
    """Stored posts that take a slot on their channel."""
    return post.status in (PostStatus.SCHEDULED, PostStatus.HELD, PostStatus.PUBLISHING, PostStatus.PUBLISHED)


def ideal_time(step: Step, event: EventView) -> datetime:
    """A step's time before windows and spacing: calendar days on the local date, hours and minutes on the clock."""
    tz = zone(event.timezone)
    anchor = event.start if step.anchor == "start" else event.end
    local = anchor.astimezone(tz)
    if step.days:
        day = local.date() + timedelta(days=step.days)
        local = at_local(day, local.time().replace(tzinfo=None), tz)
    when = local + timedelta(seconds=step.seconds)
    if step.at is not None:
        when = at_local(when.astimezone(tz).date(), step.at, tz)
    return when.astimezone(anchor.tzinfo)


def _bounds(step: Step, event: EventView) -> tuple[datetime | None, datetime | None]:
    """[lo, hi) a step's post must fall in: before the start for a countdown step, after the end for a
    post-event one, within the event for one tied to it."""
    if step.tied_to_event:
        return event.start, min(event.end, event.start + TIED_SLACK) if event.end > event.start else None
    if step.anchor == "start":
        if step.offset < timedelta(0):
            return None, event.start
        if step.offset == timedelta(0):  # "the morning of": any time before the event is over
            return None, event.end if event.end > event.start else event.start + timedelta(hours=12)
        return event.start, None
    return (None, event.end) if step.offset < timedelta(0) else (event.end, None)


def plan_campaign(
    event: EventView,
    tset: TemplateSet,
    channels: Sequence[ChannelView],
    existing: Mapping[Key, ExistingPost],
    ctx: PlanContext,
    previous: PreviousPlan | None = None,
) -> EventPlan:
    """The plan of one event's campaign. `ctx.load` must hold the channels' other posts, not this event's;
    it is updated with this event's posts as they are placed."""
    return _EventPlanner(event, tset, channels, existing, ctx, previous or PreviousPlan()).run()


class _EventPlanner:
    def __init__(
        self,
        event: EventView,
        tset: TemplateSet,
        channels: Sequence[ChannelView],
        existing: Mapping[Key, ExistingPost],
        ctx: PlanContext,
        previous: PreviousPlan,
    ):
        self.event = event
        self.tset = tset
        self.channels = channels
        self.existing = existing
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.previous = previous
        self.tz = zone(event.timezone)
        self.plan = EventPlan()
        self.first_seen = not existing
        self.moved = previous.start is not None and (previous.start != event.start or previous.end != event.end)
        self.base_values = event_values(event)
        self.exempt = {s.key for s in tset.steps if s.tied_to_event} | {CANCELLED_NOTICE}
        self._timed: dict[datetime, tuple[str, str]] = {}
        self._ideal: dict[str, datetime] = {}
        self._windowed: dict[tuple[datetime, datetime | None, datetime | None], datetime | None] = {}

    # -- the whole event ------------------------------------------------------------------------

    def run(self) -> EventPlan:
        status = self.event.status
        cancelling = status in (EventStatus.CANCELLED, "removed")
        for key, post in self.existing.items():
            if _plannable(post) or (cancelling and post.status == PostStatus.FAILED):
                continue
            self.plan.keep.add(key)
            if _occupies(post):
                self.ctx.load.add(post.channel, post.scheduled_at, post.text, self._counts(key[0]))
        if cancelling:
            if status == EventStatus.CANCELLED:
                self._cancellation_notices()
        else:
            skipped_past = False
            for step in self.tset.steps:
                for channel in self.channels:
                    if step.channels and channel.name not in step.channels:
                        continue
                    if (step.key, channel.name) in self.plan.keep:
                        continue
                    planned = self._step_post(step, channel)
                    if planned is not None:
                        skipped_past = skipped_past or (planned.skip_reason or "").startswith(PAST_PREFIXES)
                        self._add(planned)
            self._catch_up(skipped_past)
        wanted = {(p.step, p.channel) for p in self.plan.posts}
        for key, post in self.existing.items():
            if key in self.plan.keep or key in wanted or post.status == PostStatus.CANCELLED:
                continue
            if cancelling:
                reason = EVENT_REMOVED if status == "removed" else EVENT_CANCELLED
            else:
                reason = BACK_ON if key[0] == CANCELLED_NOTICE else NOT_IN_CAMPAIGN
            self.plan.cancel[key] = reason
        return self.plan

    def _counts(self, step_key: str) -> bool:
        """Whether a post counts toward the daily cap: "live now" posts and cancellation notices do not."""
        return step_key not in self.exempt

    def _values(self, when: datetime, link: str | None, network: str, label: str) -> dict[str, Any]:
        """variables() for this event, with the time phrases computed once per distinct post time."""
        phrases = self._timed.get(when)
        if phrases is None:
            event = self.event
            phrases = time_phrases(event.start, when, event.timezone, event.end)
            self._timed[when] = phrases
        values = dict(self.base_values)
        values["countdown"], values["day_phrase"] = phrases
        values["rsvp_link"] = values["link"] = link or ""
        values["has_rsvp"] = bool(link)
        values["network"] = network
        values["step"] = label
        return values

    def _add(self, post: DesiredPost) -> None:
        self.plan.posts.append(post)
        if post.skip_reason is None:
            self.ctx.load.add(post.channel, post.scheduled_at, post.text, self._counts(post.step))

    # -- one step on one channel -----------------------------------------------------------------

    def _step_post(self, step: Step, channel: ChannelView) -> DesiredPost | None:
        event = self.event
        values_base = self.base_values
        has_link = bool(event.recording_url if step.link == "recording" else event.rsvp_url)
        if step.when:
            present = bool(values_base[step.when]) if step.when in values_base else has_link
            if present == step.when_negated:
                return None
        cur = self.existing.get((step.key, channel.name))
        restored = _returning(cur)
        link = self.ctx.link_for(step.key, channel.name) if has_link else None
        ideal = self._ideal.get(step.key)
        if ideal is None:
            ideal = self._ideal[step.key] = ideal_time(step, event)
        late = False
        if not self.first_seen and ideal < self.ctx.now and self._late_ok(step):
            # A recording link that arrived after the step's time: post it now rather than never (and keep
            # that time when the event is planned again).
            if cur is None:
                ideal, late = ceil_to_grid(self.ctx.now), True
            elif cur.planned_at is not None and cur.planned_at > ideal:
                ideal, late = cur.planned_at, True
        when, skip = self._when(step, channel, ideal, cur, late)
        text_src = step.text_for(channel.network)
        where = f"{self.tset.file}:{step.text_lines.get(channel.network, step.text_lines.get('default', step.line))}"
        return self._post(step.key, step.label, channel, text_src, where, ideal, when, skip, cur, restored, link, step)

    def _late_ok(self, step: Step) -> bool:
        return (
            step.anchor == "end"
            and step.offset >= timedelta(0)
            and self.ctx.now - self.event.end < timedelta(days=LATE_POST_DAYS)
        )

    def _when(
        self, step: Step, channel: ChannelView, ideal: datetime, cur: ExistingPost | None, late: bool
    ) -> tuple[datetime, str | None]:
        """The post's time and, when it cannot go out, why it is skipped."""
        now = self.ctx.now
        if cur is not None and cur.moved:
            return cur.scheduled_at, None  # a person chose the time
        if cur is not None and cur.planned_at == ideal:
            if cur.status == PostStatus.SKIPPED and not (cur.skip_reason or "").startswith("no free time"):
                return cur.scheduled_at, cur.skip_reason  # skipped as past: stays so
            if self._still_valid(step, channel, cur.scheduled_at):
                if cur.scheduled_at < now and cur.status not in (PostStatus.SCHEDULED, PostStatus.HELD):
                    return cur.scheduled_at, PAST_MOVED
                return cur.scheduled_at, None
        lo, hi = _bounds(step, self.event)
        if late:
            lo = max(lo, now) if lo else now
        if step.tied_to_event:
            base = ideal
        else:
            key = (ideal, lo, hi)
            moved = self._windowed.get(key, ideal)
            if moved is ideal:
                moved = self._windowed[key] = into_window(ideal, self.tz, self.cfg, before=hi, not_before=lo)
            if moved is None:
                return ideal, self._past_reason(cur) if ideal < now else self._no_slot(channel)
            base = moved
        if base < now and not late:
            return base, self._past_reason(cur)
        found = self._place(step, channel, base, lo, hi)
        if found is None:
            return base, self._no_slot(channel)
        if found < now:
            return found, self._past_reason(cur)
        return found, None

    def _past_reason(self, cur: ExistingPost | None) -> str:
        if cur is not None:
            return PAST_MOVED
        return PAST if self.first_seen else PAST_ADDED

    def _no_slot(self, channel: ChannelView) -> str:
        return NO_SLOT.format(channel=channel.name, spacing=self.cfg.min_spacing_minutes, cap=self.cfg.daily_cap)

    def _still_valid(self, step: Step, channel: ChannelView, when: datetime) -> bool:
        lo, hi = _bounds(step, self.event)
        if (lo is not None and when < lo) or (hi is not None and when >= hi):
            return False
        if not step.tied_to_event and not in_window(when, self.tz, self.cfg):
            return False
        if not self.ctx.load.spaced(channel.name, when):
            return False
        return step.tied_to_event or not self.ctx.load.day_full(channel.name, when)

    def _place(
        self, step: Step, channel: ChannelView, base: datetime, lo: datetime | None, hi: datetime | None
    ) -> datetime | None:
        """The grid time nearest `base` that keeps spacing (and the cap), inside the window of base's day."""
        load = self.ctx.load
        if step.tied_to_event:
            lo_t, hi_t = base, hi if hi is not None else base + TIED_SLACK
            for c in candidates(base, lo_t, max(hi_t, base + GRID), forward_only=True):
                if load.spaced(channel.name, c):
                    return c
            return None
        opens, closes = _window_bounds(base, self.tz, self.cfg)
        lo_w = max(opens, lo) if lo is not None else opens
        hi_w = min(closes + timedelta(seconds=1), hi) if hi is not None else closes + timedelta(seconds=1)
        for c in candidates(base, lo_w, hi_w):
            if load.day_full(channel.name, c):
                continue
            if load.spaced(channel.name, c):
                return c
        return None

    # -- the text and its holds ------------------------------------------------------------------

    def _post(
        self,
        key: str,
        label: str,
        channel: ChannelView,
        text_src: str,
        where: str,
        ideal: datetime,
        when: datetime,
        skip: str | None,
        cur: ExistingPost | None,
        restored: bool,
        link: str | None,
        step: Step | None,
    ) -> DesiredPost:
        values = self._values(when, link, channel.network, label)

        def render_with(v: Mapping[str, Any]) -> str:
            return render(text_src, v, where)

        link_kind = step.link if step is not None else "rsvp"
        try:
            fitted = fit_text(render_with, values, channel.network)
        except TemplateError as exc:
            self.plan.errors.append(f"step {key}: {exc}")
            return DesiredPost(
                key, channel.name, channel.network, when, cur.text if cur else "", f"template error: {exc}", "fit",
                planned_at=ideal, link_kind=link_kind,
            )  # fmt: skip
        rendered = fitted.text
        note = fitted.shortened
        problem = fitted.problem
        if skip is None and problem is None:
            rendered, note, problem = self._unique(channel, rendered, when, values, label, key, fitted)
        edited = cur is not None and cur.edited
        text = cur.text if edited and cur is not None else rendered
        length = fitted.length if text == fitted.text else text_length(text, channel.network)
        hold_kind: str | None = None
        hold_reason: str | None = None
        warnings: tuple[str, ...] = ()
        if not skip:  # a skipped post does not go out: no hold to decide (one that comes back is judged then)
            hold_kind, hold_reason, warnings = self._hold(channel, text, length, fitted.limit, problem, cur, restored)
        return DesiredPost(
            step=key,
            channel=channel.name,
            network=channel.network,
            scheduled_at=when,
            text=text,
            hold_reason=None if skip else hold_reason,
            hold_kind=None if skip else hold_kind,
            skip_reason=skip,
            planned_at=ideal,
            link_kind=link_kind,
            rendered_text=rendered,
            length=length,
            limit=fitted.limit,
            note=note,
            warnings=warnings,
        )

    def _unique(
        self,
        channel: ChannelView,
        text: str,
        when: datetime,
        values: Mapping[str, Any],
        label: str,
        key: str,
        fitted: Fitted,
    ) -> tuple[str, str | None, str | None]:
        """The text, made different from every other post on the channel nearby (X refuses duplicates)."""
        load = self.ctx.load
        if not load.text_taken(channel.name, text, when):
            return text, fitted.shortened, None
        suffixes = [f"({values['date']})"]
        if values.get("time"):
            suffixes.append(f"({values['date']}, {values['time']})")
        suffixes += [f"({label})", f"(ref {self.event.id}-{key})"]
        for suffix in suffixes:
            candidate = f"{text} {suffix}"
            if text_length(candidate, channel.network) > fitted.limit:
                continue
            if not load.text_taken(channel.name, candidate, when):
                note = "; ".join(x for x in (fitted.shortened, f"'{suffix}' added: same text as another post") if x)
                return candidate, note, None
        return text, fitted.shortened, f"the same text as another post on {channel.name}"

    def _hold(
        self,
        channel: ChannelView,
        text: str,
        length: int,
        limit: int,
        problem: str | None,
        cur: ExistingPost | None,
        restored: bool,
    ) -> tuple[str | None, str | None, tuple[str, ...]]:
        """Which hold applies, strongest first: fit, content guard, review, tentative, approval."""
        warnings: tuple[str, ...] = ()
        if problem is None and length > limit:
            problem = f"too long for {channel.network}: {length}/{limit} characters"
        if problem:
            return "fit", problem, warnings
        new = cur is None or restored
        if self.ctx.guard is not None and (new or text != cur.text or cur.hold_kind == "policy"):  # type: ignore[union-attr]
            verdict, reasons = self.ctx.guard(text)
            if verdict == "hold":
                return "policy", "content guard: " + "; ".join(reasons), warnings
            if verdict == "warn":
                warnings = tuple(reasons)
        if cur is not None and cur.status == PostStatus.HELD and cur.hold_kind in ("review", "approval"):
            return cur.hold_kind, cur.hold_reason, warnings
        if cur is not None and cur.edited and self.moved and self.previous.start is not None:
            event = self.event
            mention = names_old_time(text, self.previous.start, event.start, event.timezone, event.all_day)
            if mention:
                old = local_text(self.previous.start, event.timezone, not event.all_day)
                reason = f"the event moved (it was {old}); this edited text still says {mention!r}"
                return "review", reason, warnings
        if self.event.status == EventStatus.TENTATIVE:
            became = self.previous.status is not None and self.previous.status != EventStatus.TENTATIVE
            held = cur is not None and cur.status == PostStatus.HELD and cur.hold_kind == "tentative"
            if new or became or held:
                return "tentative", TENTATIVE, warnings
        released = cur is not None and cur.status == PostStatus.HELD and cur.hold_kind in PLANNER_HOLDS
        if self.ctx.require_approval and (new or released):
            return "approval", APPROVAL, warnings
        return None, None, warnings

    # -- the extra posts: catch-up and cancellation notice ---------------------------------------

    def _catch_up(self, skipped_past: bool) -> None:
        """One announcement for an event first seen after some of its steps had passed (kept while some
        step is still past: an event moved later gets its own announcements back instead)."""
        key_posts = [(k, p) for k, p in self.existing.items() if k[0] == CATCH_UP]
        special = self.tset.catch_up or DEFAULT_CATCH_UP
        now = self.ctx.now
        if key_posts and skipped_past:
            targets = [(ch, self.existing.get((CATCH_UP, ch.name))) for ch in self.channels]
            targets = [
                (ch, cur) for ch, cur in targets if cur is not None and (CATCH_UP, ch.name) not in self.plan.keep
            ]
        elif self.first_seen and skipped_past:
            upcoming = [p.scheduled_at for p in self.plan.posts if p.skip_reason is None and p.scheduled_at >= now]
            nxt = min([*upcoming, self.event.start])
            if nxt - now <= timedelta(days=1):
                return
            targets = [(ch, None) for ch in self.channels]
        else:
            return
        for channel, cur in targets:
            ideal = cur.planned_at if cur is not None and cur.planned_at else ceil_to_grid(now)
            when, skip = self._special_when(channel, ideal, cur, capped=True)
            link = self._rsvp_link(CATCH_UP, channel)
            post = self._post(
                CATCH_UP, "Catch-up", channel, special.text_for(channel.network),
                f"{self.tset.file}:{special.line}", ideal, when, skip, cur, _returning(cur), link, None,
            )  # fmt: skip
            self._add(post)

    def _cancellation_notices(self) -> None:
        """One notice per channel where something about the event already went out."""
        notice = self.tset.notice
        if notice is None or self.event.start <= self.ctx.now:
            return
        announced = {
            ch for (_, ch), p in self.existing.items() if p.status in (PostStatus.PUBLISHED, PostStatus.PUBLISHING)
        }
        for channel in self.channels:
            key = (CANCELLED_NOTICE, channel.name)
            if channel.name not in announced or key in self.plan.keep:
                continue
            cur = self.existing.get(key)
            ideal = cur.planned_at if cur is not None and cur.planned_at else ceil_to_grid(self.ctx.now)
            when, skip = self._special_when(channel, ideal, cur, capped=False)
            post = self._post(
                CANCELLED_NOTICE, "Cancellation notice", channel, notice.text_for(channel.network),
                f"{self.tset.file}:{notice.line}", ideal, when, skip, cur, _returning(cur), None, None,
            )  # fmt: skip
            self._add(post)

    def _rsvp_link(self, key: str, channel: ChannelView) -> str | None:
        return self.ctx.link_for(key, channel.name) if self.event.rsvp_url else None

    def _special_when(
        self, channel: ChannelView, ideal: datetime, cur: ExistingPost | None, capped: bool
    ) -> tuple[datetime, str | None]:
        """Catch-up and notices: as soon as a window and the channel allow, before the event starts."""
        if cur is not None and cur.moved:
            return cur.scheduled_at, None
        load = self.ctx.load
        start = self.event.start
        if cur is not None and cur.planned_at == ideal:
            keep = cur.scheduled_at
            free = load.spaced(channel.name, keep) and not (capped and load.day_full(channel.name, keep))
            if keep < start and in_window(keep, self.tz, self.cfg) and free:
                if keep < self.ctx.now and _returning(cur):
                    return keep, PAST_MOVED  # a notice or catch-up coming back too late
                return keep, None
        floor = max(ideal, ceil_to_grid(self.ctx.now)) if _returning(cur) else ideal
        base = into_window(floor, self.tz, self.cfg, before=start, not_before=floor)
        if base is None:
            return ideal, self._no_slot(channel)
        opens, closes = _window_bounds(base, self.tz, self.cfg)
        for c in candidates(base, max(opens, floor), min(closes + timedelta(seconds=1), start), forward_only=True):
            if capped and load.day_full(channel.name, c):
                continue
            if load.spaced(channel.name, c):
                return c, None
        return base, self._no_slot(channel)


def _returning(cur: ExistingPost | None) -> bool:
    """A stored post coming back from a cancellation or a skip: it was never checked as it is now."""
    return cur is not None and cur.status in (PostStatus.CANCELLED, PostStatus.SKIPPED)


def _window_bounds(when: datetime, tz: Any, cfg: PlanningConfig) -> tuple[datetime, datetime]:
    # Aware datetimes compare correctly across zones; the callers only compare with these.
    return window_of(when.astimezone(tz).date(), tz, cfg)


def plan(
    event: EventView,
    template: TemplateSet,
    channels: Sequence[ChannelView],
    now: datetime,
    cfg: PlanningConfig,
    link_for: LinkFor,
    existing: Mapping[Key, ExistingPost] | None = None,
    load: ChannelLoad | None = None,
    guard: Guard | None = None,
    require_approval: bool = False,
    previous: PreviousPlan | None = None,
    cap_zone: str | None = None,
) -> list[DesiredPost]:
    """The posts this event's campaign should have (a preview helper around plan_campaign)."""
    ctx = PlanContext(
        cfg=cfg,
        now=now,
        link_for=link_for,
        load=load or ChannelLoad(cfg, cap_zone or event.timezone),
        guard=guard,
        require_approval=require_approval,
    )
    result = plan_campaign(event, template, channels, existing or {}, ctx, previous)
    return sorted(result.posts, key=lambda p: (p.scheduled_at, p.channel, p.step))
