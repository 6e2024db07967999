"""The coordinators' overview: upcoming events (filters, pagination) and the service's status."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required
from sqlmodel import col, select

from ..models import WorkerHeartbeat
from . import current_runtime, now
from .queries import PER_PAGE, STATUS_FILTERS, events_page, health

bp = Blueprint("pages", __name__)


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
