"""The coordinators' overview: upcoming events (filters, pagination) and the service's status."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlmodel import col, select
from werkzeug.wrappers import Response

from .. import actions
from ..models import AuditEntry, Event, WorkerHeartbeat
from . import current_runtime, now, wake_worker
from .auth import editor_required
from .queries import PER_PAGE, STATUS_FILTERS, events_page, health

bp = Blueprint("pages", __name__)
HISTORY_PER_PAGE = 50


def _page_arg() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 1


@bp.route("/")
@login_required
def index() -> str:
    """Upcoming (or past) events with post counts, clicks and warnings; six queries per page."""
    rt = current_runtime()
    source = request.args.get("source", "")
    status = request.args.get("status", "")
    status = status if status in STATUS_FILTERS else ""
    when = "past" if request.args.get("when") == "past" else "upcoming"
    with rt.db.session() as session:
        page = events_page(session, now(), source, status, when, _page_arg())
    return render_template(
        "index.html",
        page=page,
        now=now(),
        zone=rt.cfg.timezone,
        status_filters=STATUS_FILTERS,
        when=when,
        per_page=PER_PAGE,
    )


@bp.route("/history")
@login_required
def history() -> str:
    """Who did what, newest first (the web page's actions and template edits), 50 per page."""
    rt = current_runtime()
    page = _page_arg()
    with rt.db.session() as session:
        rows = session.exec(
            select(AuditEntry, Event.title, Event.timezone)
            .outerjoin(Event, col(Event.id) == col(AuditEntry.event_id))
            .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
            .offset((page - 1) * HISTORY_PER_PAGE)
            .limit(HISTORY_PER_PAGE + 1)
        ).all()
    more = len(rows) > HISTORY_PER_PAGE
    return render_template(
        "history.html", rows=rows[:HISTORY_PER_PAGE], page=page, more=more, zone=rt.cfg.timezone, now=now()
    )


@bp.route("/status")
@login_required
def status() -> str:
    """Each source's last sync and error, every worker's last tick, the next due post, channel states."""
    rt = current_runtime()
    with rt.db.session() as session:
        hl = health(session)
        workers = list(session.exec(select(WorkerHeartbeat).order_by(col(WorkerHeartbeat.last_tick_at).desc())))
    configured = [(c.name, c.kind, c.network) for c in rt.cfg.channels]
    return render_template(
        "status.html", health=hl, workers=workers, now=now(), zone=rt.cfg.timezone, configured=configured
    )


@bp.route("/channels/<name>/reconnect", methods=["POST"])
@editor_required
def reconnect(name: str) -> Response:
    """A person renewed a channel's credentials: its posts go out again."""
    rt = current_runtime()
    try:
        with rt.db.session(write=True) as session:
            outcome = actions.reconnect_channel(session, rt.cfg, name[:100], str(current_user.email), now())
    except actions.ActionRefused as exc:
        flash(str(exc), "error")
    else:
        flash(outcome.message, outcome.level)
        wake_worker()
    return redirect(url_for("pages.status") + "#channels")
