"""The coordinators' pages: upcoming events with their countdown posts."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from flask import Blueprint, render_template
from flask_login import login_required
from sqlmodel import col, select

from ..models import CalendarSource, Event, Post, utcnow
from . import current_runtime

bp = Blueprint("pages", __name__)


@bp.route("/")
@login_required
def index() -> str:
    """Upcoming events, each with its posts in time order (two queries, whatever the counts)."""
    rt = current_runtime()
    since = utcnow() - timedelta(hours=12)
    with rt.db.session() as session:
        rows = session.exec(
            select(Event, CalendarSource.name)
            .join(CalendarSource, col(CalendarSource.id) == col(Event.source_id))
            .where(Event.end_at >= since, col(Event.removed_at).is_(None))
            .order_by(col(Event.start_at))
            .limit(200)
        ).all()
        ids = [e.id for e, _ in rows]
        posts_by_event = defaultdict(list)
        if ids:
            for p in session.exec(
                select(Post).where(col(Post.event_id).in_(ids)).order_by(col(Post.scheduled_at), col(Post.channel))
            ):
                posts_by_event[p.event_id].append(p)
    return render_template("index.html", rows=rows, posts_by_event=posts_by_event, zone=rt.cfg.timezone)
