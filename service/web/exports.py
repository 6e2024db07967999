"""GET /exports/clicks.csv: click statistics as CSV for people who are logged in."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, request
from flask_login import login_required

from ..models import Event, utcnow
from ..tracking.export import clicks_csv
from ..tracking.stats import DIMENSIONS, Dimension
from ..tracking.tracker import flush_pending
from . import current_runtime

bp = Blueprint("exports", __name__, url_prefix="/exports")


def _day(name: str) -> date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"{name}: expected a date like 2026-12-01")


@bp.route("/clicks.csv")
@login_required
def clicks() -> Response:
    """?by=post|event|step|channel|network|day, ?event=ID, ?from=DATE&to=DATE (inclusive days: the event's zone,
    else the configured one)."""
    rt = current_runtime()
    by = request.args.get("by", "post")
    if by not in DIMENSIONS:
        abort(400, f"by: expected one of {', '.join(DIMENSIONS)}")
    event = request.args.get("event")
    if event is not None and not event.isdigit():
        abort(400, "event: expected an event id")
    start, end = _day("from"), _day("to")
    flush_pending(rt.cfg, rt.db)
    with rt.db.session() as session:
        zone = rt.cfg.timezone
        if event is not None:
            found = session.get(Event, int(event))
            if found is None:
                abort(404)
            zone = found.timezone or zone  # an event's days are its own zone's days
        tz = ZoneInfo(zone)
        since = datetime.combine(start, time(0), tz) if start else None
        until = datetime.combine(end + timedelta(days=1), time(0), tz) if end else None
        body = clicks_csv(session, cast(Dimension, by), zone, int(event) if event else None, since, until)
    stamp = utcnow().astimezone(tz).strftime("%Y-%m-%d")
    name = f"eventpromo-clicks-{by}{'-event' + event if event else ''}-{stamp}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
