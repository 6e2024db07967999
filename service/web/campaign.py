"""An event's campaign: the timeline of its posts, the actions on them, and its click charts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.wrappers import Response as FlaskResponse
from flask_login import current_user, login_required
from sqlmodel import Session
from werkzeug.wrappers import Response

from .. import actions
from ..campaigns.fitting import rules_for, text_length
from ..errors import NotFound
from ..models import Post
from ..runtime import Runtime
from . import charts, current_runtime, now, wake_worker
from .auth import editor_required
from .queries import ClickRow, campaign_view, event_click_rows
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
    labels = {s.key: s.label for s in tset.steps} if tset else {}
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
    "publish-now": lambda s, r, pid, who: actions.publish_now(s, pid, who, now()),
    "approve": lambda s, r, pid, who: actions.approve_post(s, pid, who, now()),
    "retry": lambda s, r, pid, who: actions.retry_post(s, pid, who, now()),
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
        lambda s, r: actions.decide_outcome(s, post_id, answer == "yes", _actor(), now()),
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
    """Charts of the event's clicks: per countdown step, per channel, per day; bots apart."""
    rt = current_runtime()
    with rt.db.session() as session:
        view = campaign_view(session, event_id)
        if view is None:
            abort(404)
        rows = event_click_rows(session, event_id)
        templates = cached_templates(rt, session)
    zone = ZoneInfo(view.event.timezone)
    tset = templates.sets.get(view.campaign.template) if view.campaign else None
    labels = {s.key: s.label for s in tset.steps} if tset else {}
    steps = list(dict.fromkeys(r.post.step for r in view.posts))
    chans = list(dict.fromkeys(r.post.channel for r in view.posts))
    people = [r for r in rows if not r.is_bot and not r.is_suspect]
    bots = [r for r in rows if r.is_bot]
    suspect = [r for r in rows if r.is_suspect and not r.is_bot]

    def series(key: Callable[[ClickRow], object], keys: Sequence[object]) -> list[charts.Series]:
        p, b = Counter(key(r) for r in people), Counter(key(r) for r in bots)
        return [
            charts.Series("people", [p[k] for k in keys], charts.PEOPLE),
            charts.Series("bots", [b[k] for k in keys], charts.BOTS),
        ]

    days: list[date] = []
    if rows:
        first = min(r.at for r in rows).astimezone(zone).date()
        last = max(r.at for r in rows).astimezone(zone).date()
        days = [date.fromordinal(d) for d in range(first.toordinal(), last.toordinal() + 1)][-60:]
    title = view.event.title
    by_step = charts.hbar_chart(
        f"Clicks per countdown step: {title}",
        "People and bots clicking each step's link, all channels together.",
        [labels.get(s, s) for s in steps],
        series(lambda r: r.step, steps),
    )
    by_channel = charts.hbar_chart(
        f"Clicks per channel: {title}", "People and bots per channel.", chans, series(lambda r: r.channel, chans)
    )
    by_day = charts.column_chart(
        f"Clicks per day ({view.event.timezone}): {title}",
        "People and bots per day, in the event's time zone.",
        [f"{d:%b} {d.day}" for d in days],
        series(lambda r: r.at.astimezone(zone).date(), days),
    )
    return render_template(
        "clicks.html",
        v=view,
        labels=labels,
        by_step=by_step,
        by_channel=by_channel,
        by_day=by_day,
        totals={"people": len(people), "bots": len(bots), "suspect": len(suspect)},
        now=now(),
    )
