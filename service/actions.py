"""A person's actions on posts and campaigns (the web page's buttons).

Each action takes a session and never commits (the view does), re-reads its row under a lock
(FOR UPDATE on PostgreSQL; SQLite write sessions already hold the write lock from BEGIN), checks that
the row is still in a state the action makes sense for (the worker may have claimed or published
it meanwhile), changes only that row, and writes an AuditEntry. A refusal raises ActionRefused with
a message a coordinator can act on; nothing is changed then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from . import publishing_actions
from .campaigns.apply import Templates, plan_event
from .campaigns.fitting import rules_for, text_length
from .campaigns.templates import Step
from .campaigns.variables import clock
from .config import Config
from .errors import ConfigError, EventPromoError, NotFound, StateError
from .models import (
    AuditEntry,
    CalendarSource,
    Campaign,
    ChannelState,
    Event,
    Post,
    PostAttempt,
    PostStatus,
)
from .policy import HOLD, WARN, check_text
from .publishing import MISSED, missed_detail

# Holds that planning owns and re-evaluates; a person's edit that fits and passes the guard lifts them.
PLANNING_HOLDS = ("fit", "policy")
EDITABLE = (PostStatus.SCHEDULED, PostStatus.HELD, PostStatus.FAILED, PostStatus.SKIPPED)


class ActionRefused(EventPromoError):
    """The action cannot be done in the post's or campaign's current state; nothing was changed."""


@dataclass(frozen=True)
class Outcome:
    """What an action did, in a sentence for the person who asked; `level` is success or warning."""

    message: str
    level: str = "success"
    post_id: int | None = None
    wake_worker: bool = False


# --- reading rows under a lock -------------------------------------------------------------------


def _for_update(session: Session, stmt: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return stmt.execution_options(populate_existing=True)


def _post(session: Session, post_id: int) -> Post:
    post = session.exec(_for_update(session, select(Post).where(Post.id == post_id))).first()
    if post is None:
        raise NotFound(f"post {post_id} does not exist")
    return post


def _event_and_campaign(session: Session, event_id: int, lock: bool = False) -> tuple[Event, Campaign, str]:
    stmt = (
        select(Event, Campaign, CalendarSource.name)
        .join(Campaign, col(Campaign.event_id) == col(Event.id))
        .join(CalendarSource, col(CalendarSource.id) == col(Event.source_id))
        .where(Event.id == event_id)
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Campaign)
    row = session.exec(stmt.execution_options(populate_existing=True)).first()
    if row is None:
        raise NotFound(f"event {event_id} does not exist or has no campaign")
    return row[0], row[1], row[2]


def _label(post: Post) -> str:
    return f"post {post.id} ({post.step} on {post.channel})"


def _local(dt: datetime, zone: str) -> str:
    local = dt.astimezone(ZoneInfo(zone))
    return f"{local:%a %b} {local.day}, {clock(local)} {local.tzname()}"


def _require(post: Post, allowed: tuple[str, ...], doing: str, zone: str) -> None:
    """Refuse, saying what happened meanwhile, when the post is no longer in a state `doing` applies to."""
    if post.status in allowed:
        return
    what = _label(post)
    if post.status == PostStatus.PUBLISHING:
        raise ActionRefused(f"{what} is being published right now, so it cannot be {doing}; reload in a moment")
    if post.status == PostStatus.PUBLISHED:
        when = f" at {_local(post.published_at, zone)}" if post.published_at else ""
        raise ActionRefused(f"{what} was already published{when}, so it cannot be {doing}")
    if post.status == PostStatus.CANCELLED:
        reason = f" ({post.skip_reason})" if post.skip_reason else ""
        raise ActionRefused(f"{what} is cancelled{reason}, so it cannot be {doing}")
    raise ActionRefused(f"{what} is {post.status}, so it cannot be {doing}")


def _check_version(post: Post, version: str | None) -> None:
    """Refuse when the post changed after the page showed it (a sync, the worker, another person)."""
    if version and version != post.updated_at.isoformat():
        raise ActionRefused(
            f"{_label(post)} changed after you opened the page (it is now {post.status}); "
            "nothing was saved: check it and try again"
        )


def _audit(session: Session, actor: str, action: str, post: Post | None, event_id: int, **detail: object) -> None:
    session.add(
        AuditEntry(
            actor=actor,
            action=action,
            event_id=event_id,
            post_id=post.id if post is not None else None,
            detail={k: v for k, v in detail.items() if v is not None},
        )
    )


def _event_zone(session: Session, post: Post) -> tuple[Event, str]:
    event = session.get(Event, post.event_id)
    assert event is not None
    return event, event.timezone


def own_hosts(cfg: Config) -> tuple[str, ...]:
    """The service's own hosts (tracked links point there), allowed by the content guard."""
    host = urlsplit(cfg.base_url).hostname
    return (host,) if host else ()


def _fit_problem(text: str, network: str) -> str | None:
    rules = rules_for(network)
    length = text_length(text, network)
    if length > rules.limit:
        return f"too long for {network}: {length}/{rules.limit} characters (remove {length - rules.limit})"
    return None


def _missed(cfg: Config, post: Post, event: Event, now: datetime) -> str | None:
    """Why the post can no longer go out at its own time (its words were written for it), else None.

    A released post keeps its time: sent late, "in two hours" or "tomorrow" would no longer be true.
    The publisher applies the same rule; saying it here tells the person before anything is saved.
    """
    return missed_detail(cfg.publishing, post.scheduled_at, now, event.start_at, event.end_at, event.timezone)


def _keep_time(post: Post) -> None:
    """Due at its own time again (a retry may have moved due_at later)."""
    post.due_at = post.scheduled_at


# --- post actions ---------------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """A text as typed in a browser: CRLF to LF, trailing spaces and blank edges dropped."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip()


def edit_text(
    session: Session, cfg: Config, post_id: int, text: str, actor: str, now: datetime, version: str | None = None
) -> Outcome:
    """Replace a post's text; it must fit its network and pass the content guard (a `hold` verdict refuses)."""
    post = _post(session, post_id)
    event, zone = _event_zone(session, post)
    _require(post, EDITABLE, "edited", zone)
    _check_version(post, version)
    text = normalize_text(text)
    if not text:
        raise ActionRefused(f"{_label(post)}: the text is empty; nothing was saved")
    problem = _fit_problem(text, post.network)
    if problem:
        raise ActionRefused(f"{_label(post)}: {problem}; nothing was saved")
    verdict = check_text(text, cfg.policy, own_hosts(cfg))
    if verdict.verdict == HOLD:
        raise ActionRefused(f"{_label(post)}: not saved, the content guard would hold it: {'; '.join(verdict.reasons)}")
    if text == post.text:
        return Outcome(f"{_label(post)}: the text is unchanged", post_id=post.id)
    before = post.text
    post.text = text
    post.edited = text != post.rendered_text
    released = post.status == PostStatus.HELD and post.hold_kind in PLANNING_HOLDS
    if released:
        post.status, post.hold_reason, post.hold_kind = PostStatus.SCHEDULED, None, None
        _keep_time(post)
    post.updated_at = now
    _audit(session, actor, "edit_text", post, event.id or 0, before=before, after=text, released_hold=released)
    length = text_length(text, post.network)
    msg = f"Saved the text of {_label(post)}: {length}/{rules_for(post.network).limit} characters"
    msg += (
        "; it stays as you wrote it when the calendar syncs again"
        if post.edited
        else "; it is the template's text again and follows the template"
    )
    if released:
        missed = _missed(cfg, post, event, now)
        msg += (
            f"; the hold is lifted, but its time has passed ({missed}): move it to send it"
            if missed
            else "; the hold is lifted and it is scheduled"
        )
    if verdict.verdict == WARN:
        return Outcome(f"{msg}. Note: {'; '.join(verdict.reasons)}", "warning", post.id)
    return Outcome(msg + ".", post_id=post.id, wake_worker=released)


def revert_text(session: Session, cfg: Config, post_id: int, actor: str, now: datetime) -> Outcome:
    """Drop a person's edit: the post takes the template's text again."""
    post = _post(session, post_id)
    event, zone = _event_zone(session, post)
    _require(post, EDITABLE, "reverted", zone)
    if not post.edited:
        return Outcome(f"{_label(post)} already uses the template's text", post_id=post.id)
    before = post.text
    post.text, post.edited, post.updated_at = post.rendered_text, False, now
    problem = _fit_problem(post.text, post.network)
    if problem and post.status == PostStatus.SCHEDULED:
        post.status, post.hold_reason, post.hold_kind = PostStatus.HELD, problem, "fit"
    _audit(session, actor, "revert_text", post, event.id or 0, before=before, after=post.text)
    note = f" It is held: {problem}." if problem else ""
    return Outcome(
        f"{_label(post)} uses the template's text again.{note}", "warning" if problem else "success", post.id
    )


def _step_of(templates: Templates, campaign: Campaign, step_key: str) -> Step | None:
    tset = templates.sets.get(campaign.template)
    if tset is None:
        return None
    return next((s for s in tset.steps if s.key == step_key), None)


def parse_local(value: str, zone: str) -> datetime:
    """A `datetime-local` value read in `zone`; a time skipped by a clock change is refused."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ActionRefused(f"{value!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    tz = ZoneInfo(zone)
    aware = naive.replace(tzinfo=tz)
    back = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if back != naive:
        raise ActionRefused(f"{naive:%Y-%m-%d %H:%M} does not exist in {zone}: the clocks skip that hour")
    return aware.astimezone(UTC)


def move_post(
    session: Session,
    cfg: Config,
    templates: Templates,
    post_id: int,
    local_value: str,
    actor: str,
    now: datetime,
    version: str | None = None,
) -> Outcome:
    """Move a post to another time (the event's zone): in the future, in the posting window, before the event
    for pre-event steps. Planning keeps the time from then on (Post.moved)."""
    post = _post(session, post_id)
    event, campaign, source_name = _event_and_campaign(session, post.event_id)
    zone = event.timezone
    _require(post, EDITABLE, "moved", zone)
    _check_version(post, version)
    when = parse_local(local_value, zone)
    if when <= now:
        raise ActionRefused(f"{_label(post)}: {_local(when, zone)} is in the past; pick a later time")
    step = _step_of(templates, campaign, post.step)
    tied_to_event = step is not None and step.tied_to_event
    local = when.astimezone(ZoneInfo(zone))
    window = cfg.planning
    if not tied_to_event and not (window.window_start <= local.time() <= window.window_end):
        raise ActionRefused(
            f"{_label(post)}: {_local(when, zone)} is outside the posting window "
            f"({clock(datetime.combine(local.date(), window.window_start))} to "
            f"{clock(datetime.combine(local.date(), window.window_end))} {local.tzname()})"
        )
    pre_event = step.anchor == "start" and step.offset < timedelta(0) if step else post.scheduled_at < event.start_at
    if pre_event and when >= event.start_at:
        raise ActionRefused(
            f"{_label(post)}: a step before the event must go out before it starts ({_local(event.start_at, zone)})"
        )
    before = post.scheduled_at
    post.scheduled_at = post.due_at = when
    post.moved = True
    post.updated_at = now
    _audit(session, actor, "move", post, event.id or 0, before=before.isoformat(), after=when.isoformat())
    # Re-plan so the moved post's wording ("tomorrow", "in 3 days") matches its new time; edits are kept.
    plan_event(session, cfg, templates, event, source_name, now)
    return Outcome(
        f"Moved {_label(post)} to {_local(when, zone)} ({when:%H:%M} UTC).", post_id=post.id, wake_worker=True
    )


def skip_post(session: Session, post_id: int, actor: str, now: datetime) -> Outcome:
    """Skip a post: it will not go out (a person can unskip it while its time is ahead)."""
    post = _post(session, post_id)
    event, zone = _event_zone(session, post)
    _require(post, (PostStatus.SCHEDULED, PostStatus.HELD, PostStatus.FAILED), "skipped", zone)
    before = post.status
    post.status, post.skip_reason, post.updated_at = PostStatus.SKIPPED, f"skipped by {actor}", now
    _audit(session, actor, "skip", post, event.id or 0, before=before)
    return Outcome(f"Skipped {_label(post)}: it will not go out.", post_id=post.id)


def unskip_post(session: Session, cfg: Config, post_id: int, actor: str, now: datetime) -> Outcome:
    """Bring a skipped post back; it is held again if it does not fit or the content guard holds it."""
    post = _post(session, post_id)
    event, zone = _event_zone(session, post)
    _require(post, (PostStatus.SKIPPED,), "unskipped", zone)
    if post.scheduled_at <= now:
        raise ActionRefused(
            f"{_label(post)}: its time ({_local(post.scheduled_at, zone)}) has passed; move it to a later time first"
        )
    problem = _fit_problem(post.text, post.network)
    verdict = check_text(post.text, cfg.policy, own_hosts(cfg))
    if problem:
        post.status, post.hold_reason, post.hold_kind = PostStatus.HELD, problem, "fit"
    elif verdict.verdict == HOLD:
        post.status, post.hold_reason, post.hold_kind = PostStatus.HELD, "; ".join(verdict.reasons), "policy"
    else:
        post.status, post.hold_reason, post.hold_kind = PostStatus.SCHEDULED, None, None
    post.skip_reason, post.due_at, post.updated_at = None, post.scheduled_at, now
    _audit(session, actor, "unskip", post, event.id or 0, after=post.status)
    if post.status == PostStatus.HELD:
        return Outcome(f"{_label(post)} is back but held: {post.hold_reason}.", "warning", post.id)
    return Outcome(
        f"{_label(post)} is scheduled again for {_local(post.scheduled_at, zone)}.", post_id=post.id, wake_worker=True
    )


def _blocked_channel(session: Session, channel: str, now: datetime) -> str | None:
    state = session.get(ChannelState, channel)
    if state is None:
        return None
    if state.needs_reconnect:
        return f"channel {channel} needs reconnecting ({state.reason or 'credentials refused'})"
    if state.rate_limited_until and state.rate_limited_until > now:
        return f"channel {channel} is rate limited until {state.rate_limited_until:%H:%M} UTC"
    return None


def publish_now(
    session: Session, cfg: Config, templates: Templates, post_id: int, actor: str, now: datetime
) -> Outcome:
    """Send a scheduled post now: its words are rendered again for now (unless edited), then the worker sends it."""
    post = _post(session, post_id)
    event, campaign, _ = _event_and_campaign(session, post.event_id)
    zone = event.timezone
    if post.status == PostStatus.HELD:
        raise ActionRefused(f"{_label(post)} is held ({post.hold_reason}); approve it first")
    if post.status == PostStatus.FAILED:
        raise ActionRefused(f"{_label(post)} failed; use Retry to send it again")
    _require(post, (PostStatus.SCHEDULED,), "published now", zone)
    if campaign.paused:
        raise ActionRefused(f"{_label(post)}: the campaign is paused; resume it first")
    problem = _fit_problem(post.text, post.network)
    if problem:
        raise ActionRefused(f"{_label(post)}: {problem}; edit it first")
    before, before_text = post.scheduled_at, post.text
    try:
        publishing_actions.publish_now(session, cfg, templates, post.id or 0, now)
    except StateError as exc:
        raise ActionRefused(str(exc)) from None
    _audit(session, actor, "publish_now", post, event.id or 0, before=before.isoformat())
    if post.status == PostStatus.HELD:
        return Outcome(f"{_label(post)} was rendered for now and is held: {post.hold_reason}", "warning", post.id)
    if post.text != before_text:
        _audit(session, actor, "rerendered", post, event.id or 0, before=before_text, after=post.text)
    blocked = _blocked_channel(session, post.channel, now)
    if blocked:
        return Outcome(f"{_label(post)} is due now, but {blocked}: it goes out after that.", "warning", post.id)
    return Outcome(
        f"{_label(post)} goes out now: the worker publishes it within seconds (reload to see it published).",
        post_id=post.id,
        wake_worker=True,
    )


def approve_post(session: Session, cfg: Config, post_id: int, actor: str, now: datetime) -> Outcome:
    """Release a held post (approval, review, content guard, reconnect); a too-long text must be edited first."""
    post = _post(session, post_id)
    event, campaign, _ = _event_and_campaign(session, post.event_id)
    zone = event.timezone
    _require(post, (PostStatus.HELD,), "approved", zone)
    if post.hold_kind == "unknown_outcome":
        raise ActionRefused(f"{_label(post)}: say whether it was published (the two buttons) instead of approving")
    problem = _fit_problem(post.text, post.network)
    if problem:
        raise ActionRefused(f"{_label(post)}: {problem}; edit the text first")
    missed = _missed(cfg, post, event, now)
    if missed:
        raise ActionRefused(f"{_label(post)}: its time has passed ({missed}); move it to a new time, or skip it")
    reason, kind = post.hold_reason, post.hold_kind
    post.status, post.hold_reason, post.hold_kind = PostStatus.SCHEDULED, None, None
    post.updated_at = now
    _keep_time(post)
    _audit(session, actor, "approve", post, event.id or 0, hold_kind=kind, hold_reason=reason)
    when = "now (its time has just passed)" if post.scheduled_at <= now else f"at {_local(post.scheduled_at, zone)}"
    paused = " The campaign is paused: nothing goes out until you resume it." if campaign.paused else ""
    return Outcome(
        f"Approved {_label(post)}: it goes out {when}.{paused}",
        "warning" if paused else "success",
        post.id,
        wake_worker=True,
    )


def retry_post(session: Session, cfg: Config, post_id: int, actor: str, now: datetime) -> Outcome:
    """Send a failed post again with a fresh attempt budget, at its own time (refused when that has passed)."""
    post = _post(session, post_id)
    event, campaign, _ = _event_and_campaign(session, post.event_id)
    zone = event.timezone
    _require(post, (PostStatus.FAILED,), "retried", zone)
    problem = _fit_problem(post.text, post.network)
    if problem:
        raise ActionRefused(f"{_label(post)}: {problem}; edit the text first")
    missed = _missed(cfg, post, event, now)
    if missed:
        raise ActionRefused(f"{_label(post)}: its time has passed ({missed}); move it to a new time to send it")
    error = post.last_error
    publishing_actions.retry_post(session, post.id or 0, now, cfg.publishing)
    _keep_time(post)
    _audit(session, actor, "retry", post, event.id or 0, last_error=error)
    when = "now" if post.scheduled_at <= now else f"at {_local(post.scheduled_at, zone)}"
    notes = []
    if campaign.paused:
        notes.append("the campaign is paused: resume it")
    blocked = _blocked_channel(session, post.channel, now)
    if blocked:
        notes.append(blocked)
    if notes:
        return Outcome(f"{_label(post)} will be retried {when}, but {'; '.join(notes)}.", "warning", post.id)
    return Outcome(f"{_label(post)} will be retried {when}.", post_id=post.id, wake_worker=True)


def decide_outcome(session: Session, cfg: Config, post_id: int, published: bool, actor: str, now: datetime) -> Outcome:
    """Settle an "outcome unknown" post: a person checked the account and says whether it went out."""
    post = _post(session, post_id)
    event, zone = _event_zone(session, post)
    _require(post, (PostStatus.HELD,), "settled", zone)
    if post.hold_kind != "unknown_outcome":
        raise ActionRefused(f"{_label(post)} is not waiting for an outcome; approve or skip it instead")
    post.hold_reason, post.hold_kind, post.updated_at = None, None, now
    if published:
        started = session.exec(
            select(PostAttempt.started_at)
            .where(PostAttempt.post_id == post.id)
            .order_by(col(PostAttempt.started_at).desc())
            .limit(1)
        ).first()
        post.status, post.published_at, post.last_error = PostStatus.PUBLISHED, started or now, None
        _audit(session, actor, "outcome_published", post, event.id or 0)
        return Outcome(f"Marked {_label(post)} as published; it will not be sent again.", post_id=post.id)
    missed = _missed(cfg, post, event, now)
    _audit(session, actor, "outcome_not_published", post, event.id or 0)
    if missed:
        post.status, post.skip_reason, post.last_error = PostStatus.SKIPPED, MISSED, f"{MISSED}: {missed}"
        return Outcome(
            f"Marked {_label(post)} as not published; its time has passed ({missed}), so it is skipped. "
            "Move it to a new time to send it.",
            "warning",
            post.id,
        )
    post.status, post.last_error = PostStatus.SCHEDULED, None
    _keep_time(post)
    when = "now" if post.scheduled_at <= now else f"at {_local(post.scheduled_at, zone)}"
    return Outcome(
        f"Marked {_label(post)} as not published: it will be sent {when}.", post_id=post.id, wake_worker=True
    )


# --- campaign actions -----------------------------------------------------------------------------


def set_paused(session: Session, event_id: int, paused: bool, actor: str, now: datetime) -> Outcome:
    """Pause or resume an event's campaign; paused posts keep their state and times."""
    _event, campaign, _ = _event_and_campaign(session, event_id, lock=True)
    if campaign.paused == paused:
        return Outcome(f"The campaign is already {'paused' if paused else 'running'}.")
    campaign.paused, campaign.updated_at = paused, now
    _audit(session, actor, "pause" if paused else "resume", None, event_id)
    if paused:
        return Outcome("Paused the campaign: none of its posts go out until you resume it.", "warning")
    return Outcome(
        "Resumed the campaign. A post whose time passed while it was paused goes out if it is not too late, "
        "else it is skipped as missed.",
        wake_worker=True,
    )


def change_template(
    session: Session, cfg: Config, templates: Templates, event_id: int, name: str, actor: str, now: datetime
) -> Outcome:
    """Give the campaign another template set and re-plan it; edited texts and moved times of the same steps stay."""
    event, campaign, source_name = _event_and_campaign(session, event_id, lock=True)
    if name not in templates.sets:
        broken = templates.broken.get(name)
        raise ActionRefused(f"template set {name!r} is broken: {broken}" if broken else f"no template set {name!r}")
    before = campaign.template
    campaign.template, campaign.template_chosen, campaign.updated_at = name, True, now
    outcome = plan_event(session, cfg, templates, event, source_name, now)
    _audit(session, actor, "change_template", None, event_id, before=before, after=name)
    if outcome.error:
        raise ActionRefused(f"cannot plan with {name!r}: {outcome.error}")
    parts = [f"{outcome.created} new", f"{outcome.updated} updated", f"{outcome.cancelled} cancelled"]
    same = " (it already used it)" if before == name else ""
    return Outcome(
        f"The campaign now uses {name}{same} and keeps it through syncs; re-planned: {', '.join(parts)} posts.",
        wake_worker=True,
    )


# --- channel actions ------------------------------------------------------------------------------


def reconnect_channel(session: Session, cfg: Config, name: str, actor: str, now: datetime) -> Outcome:
    """A person renewed a channel's credentials (in the environment): its waiting posts go out again."""
    state = session.get(ChannelState, name)
    if state is None or not state.needs_reconnect:
        raise ActionRefused(f"channel {name} is not waiting to be reconnected")
    try:
        waiting = publishing_actions.reconnect_channel(session, cfg, name, now)
    except ConfigError as exc:
        raise ActionRefused(str(exc)) from None
    session.add(AuditEntry(at=now, actor=actor, action="reconnect_channel", detail={"channel": name}))
    return Outcome(
        f"Channel {name} is marked reconnected; {waiting} waiting post(s) go out at their times. "
        "If the network refuses the credentials again, it is marked again.",
        wake_worker=True,
    )
