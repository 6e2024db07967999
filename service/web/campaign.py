"""An event's campaign: the timeline of its posts, the actions on them, and its click charts."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.wrappers import Response as FlaskResponse
from flask_login import current_user, login_required
from sqlmodel import Session
from werkzeug.wrappers import Response

from .. import actions
from ..campaigns.fitting import rules_for, text_length
from ..campaigns.templates import RESERVED_LABELS
from ..errors import NotFound
from ..models import Post
from ..runtime import Runtime
from ..tracking.stats import GroupStats, daily_series, grouped_stats
from ..tracking.tracker import flush_pending
from . import charts, current_runtime, now, wake_worker
from .auth import editor_required
from .queries import campaign_view
from .template_cache import templates as cached_templates

bp = Blueprint("campaign", __name__)

MAX_TEXT = 70_000  # longer than any network allows; the server still judges the real limit


@bp.route("/events/<int:event_id>")
@login_required
def show(event_id: int) -> str:
    """The campaign page."""
    return _render(event_id)


def _render(event_id: int, drafts: dict[int, str] | None = None, refused: str | None = None) -> str:
    rt = current_runtime()
    with rt.db.session() as session:
        view = campaign_view(session, event_id)
        templates = cached_templates(rt, session)
    if view is None:
        abort(404)
    tset = templates.sets.get(view.campaign.template) if view.campaign else None
    labels = tset.step_labels() if tset else dict(RESERVED_LABELS)
    lengths = {r.post.id: text_length(r.post.text, r.post.network) for r in view.posts}
    return render_template(
        "campaign.html",
        v=view,
        labels=labels,
        lengths=lengths,
        rules_for=rules_for,
        template_names=sorted(templates.sets),
        broken=templates.broken,
        drafts=drafts or {},
        refused=refused,
        now=now(),
        window=rt.cfg.planning,
    )


def _post_event(rt: Runtime, post_id: int) -> int:
    with rt.db.session() as session:
        post = session.get(Post, post_id)
        if post is None:
            abort(404)
        return post.event_id


def _act(event_id: int, anchor: str, run: Callable[[Session, Runtime], actions.Outcome]) -> Response:
    """Run one action in one write transaction, flash its message, and go back to the campaign page."""
    rt = current_runtime()
    try:
        with rt.db.session(write=True) as session:
            outcome = run(session, rt)
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
    except NotFound:
        abort(404)
    else:
        flash(outcome.message, outcome.level)
        if outcome.wake_worker:
            wake_worker()
    return redirect(url_for("campaign.show", event_id=event_id) + anchor)


def _actor() -> str:
    return str(current_user.email)


@bp.route("/posts/<int:post_id>/text", methods=["POST"])
@editor_required
def edit_text(post_id: int) -> Response | tuple[str, int]:
    """Save a person's text; a refusal shows the page again with the typed text kept in the editor."""
    rt = current_runtime()
    event_id = _post_event(rt, post_id)
    text = request.form.get("text", "")[:MAX_TEXT]
    version = request.form.get("version")
    try:
        with rt.db.session(write=True) as session:
            outcome = actions.edit_text(session, rt.cfg, post_id, text, _actor(), now(), version)
    except actions.ActionRefused as exc:
        return _render(event_id, drafts={post_id: text}, refused=str(exc)), 409
    flash(outcome.message, outcome.level)
    if outcome.wake_worker:
        wake_worker()
    return redirect(url_for("campaign.show", event_id=event_id) + f"#post-{post_id}")


@bp.route("/posts/<int:post_id>/move", methods=["POST"])
@editor_required
def move(post_id: int) -> Response:
    """Move a post to another local time."""
    rt = current_runtime()
    when = request.form.get("when", "")[:40]
    version = request.form.get("version")

    def run(s: Session, r: Runtime) -> actions.Outcome:
        return actions.move_post(s, r.cfg, cached_templates(r, s), post_id, when, _actor(), now(), version)

    return _act(_post_event(rt, post_id), f"#post-{post_id}", run)


# The one-click actions on a post: (session, runtime, post id, actor) -> outcome.
_POST_ACTIONS: dict[str, Callable[[Session, Runtime, int, str], actions.Outcome]] = {
    "skip": lambda s, r, pid, who: actions.skip_post(s, pid, who, now()),
    "unskip": lambda s, r, pid, who: actions.unskip_post(s, r.cfg, pid, who, now()),
    "revert": lambda s, r, pid, who: actions.revert_text(s, r.cfg, pid, who, now()),
    "publish-now": lambda s, r, pid, who: actions.publish_now(s, r.cfg, cached_templates(r, s), pid, who, now()),
    "approve": lambda s, r, pid, who: actions.approve_post(s, r.cfg, pid, who, now()),
    "retry": lambda s, r, pid, who: actions.retry_post(s, r.cfg, pid, who, now()),
}


@bp.route("/posts/<int:post_id>/<any(skip, unskip, revert, 'publish-now', approve, retry):verb>", methods=["POST"])
@editor_required
def simple(post_id: int, verb: str) -> Response:
    """Skip, unskip, revert to the template's text, publish now, approve or retry one post."""
    rt = current_runtime()
    act = _POST_ACTIONS[verb]
    return _act(_post_event(rt, post_id), f"#post-{post_id}", lambda s, r: act(s, r, post_id, _actor()))


@bp.route("/posts/<int:post_id>/outcome", methods=["POST"])
@editor_required
def outcome(post_id: int) -> Response:
    """Settle an "outcome unknown" post: published or not."""
    rt = current_runtime()
    answer = request.form.get("published")
    if answer not in ("yes", "no"):
        abort(400)
    return _act(
        _post_event(rt, post_id),
        f"#post-{post_id}",
        lambda s, r: actions.decide_outcome(s, r.cfg, post_id, answer == "yes", _actor(), now()),
    )


@bp.route("/events/<int:event_id>/<any(pause, resume):verb>", methods=["POST"])
@editor_required
def pause(event_id: int, verb: str) -> Response:
    """Pause or resume the campaign."""
    return _act(event_id, "", lambda s, r: actions.set_paused(s, event_id, verb == "pause", _actor(), now()))


@bp.route("/events/<int:event_id>/template", methods=["POST"])
@editor_required
def template(event_id: int) -> Response:
    """Change the campaign's template set (re-plans it)."""
    name = request.form.get("template", "")[:100]
    return _act(
        event_id,
        "",
        lambda s, r: actions.change_template(s, r.cfg, cached_templates(r, s), event_id, name, _actor(), now()),
    )


@bp.route("/api/length", methods=["POST"])
@login_required
def length() -> FlaskResponse:
    """The server's count of a text for a network (the page's counter confirms its own count with it)."""
    body = request.get_json(silent=True) or {}
    text, network = str(body.get("text", ""))[:MAX_TEXT], str(body.get("network", "x"))[:20]
    rules = rules_for(network)
    n = text_length(actions.normalize_text(text), network)
    return jsonify({"network": rules.name, "length": n, "limit": rules.limit, "fits": n <= rules.limit})


@bp.route("/events/<int:event_id>/clicks")
@login_required
def clicks(event_id: int) -> str:
    """Charts of the event's clicks: per countdown step, per channel, per day; bots apart.

    The numbers are click tracking's own (service.tracking.stats), so they match `eventpromo stats` and the CSV.
    """
    rt = current_runtime()
    flush_pending(rt.cfg, rt.db)  # clicks still in the spool files count too
    with rt.db.session() as session:
        view = campaign_view(session, event_id)
        if view is None:
            abort(404)
        zone = view.event.timezone
        per_step = {g.key: g for g in grouped_stats(session, "step", event_id=event_id)}
        per_channel = {g.key: g for g in grouped_stats(session, "channel", event_id=event_id)}
        whole = grouped_stats(session, "event", event_id=event_id)
        daily = daily_series(session, zone, event_id=event_id)
        templates = cached_templates(rt, session)
    tset = templates.sets.get(view.campaign.template) if view.campaign else None
    labels = tset.step_labels() if tset else dict(RESERVED_LABELS)
    steps = list(dict.fromkeys(r.post.step for r in view.posts))  # timeline order
    chans = list(dict.fromkeys(r.post.channel for r in view.posts))

    def series(groups: dict[str, GroupStats], keys: list[str]) -> list[charts.Series]:
        empty = GroupStats(key="", label="", clicks=0, unique_clicks=0, bot_clicks=0, suspect_clicks=0)
        found = [groups.get(k, empty) for k in keys]
        return [
            charts.Series("people", [g.clicks for g in found], charts.PEOPLE),
            charts.Series("bots", [g.bot_clicks for g in found], charts.BOTS),
        ]

    per_day = daily.totals()[-60:]
    days = daily.days[-60:]
    title = view.event.title
    by_step = charts.hbar_chart(
        f"Clicks per countdown step: {title}",
        "People and bots clicking each step's link, all channels together.",
        [labels.get(s, s) for s in steps],
        series(per_step, steps),
    )
    by_channel = charts.hbar_chart(
        f"Clicks per channel: {title}", "People and bots per channel.", chans, series(per_channel, chans)
    )
    by_day = charts.column_chart(
        f"Clicks per day ({zone}): {title}",
        "People and bots per day, in the event's time zone.",
        [f"{d:%b} {d.day}" for d in days],
        [
            charts.Series("people", [c.clicks for c in per_day], charts.PEOPLE),
            charts.Series("bots", [c.bot_clicks for c in per_day], charts.BOTS),
        ],
    )
    total = whole[0] if whole else None
    return render_template(
        "clicks.html",
        v=view,
        labels=labels,
        by_step=by_step,
        by_channel=by_channel,
        by_day=by_day,
        totals={
            "people": total.clicks if total else 0,
            "unique": total.unique_clicks if total else 0,
            "bots": total.bot_clicks if total else 0,
            "suspect": total.suspect_clicks if total else 0,
        },
        now=now(),
    )
