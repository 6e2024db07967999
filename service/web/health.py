"""GET /healthz: database reachable, the worker's last tick, the next due post."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.wrappers import Response
from sqlmodel import col, select

from ..models import WorkerHeartbeat
from ..publishing import next_due_at
from . import current_runtime

bp = Blueprint("health", __name__)


def _iso(dt: object) -> str | None:
    return dt.isoformat() if dt is not None else None  # type: ignore[attr-defined]


@bp.route("/healthz")
def healthz() -> tuple[Response, int]:
    """200 with the status as JSON; 503 when the database does not answer."""
    rt = current_runtime()
    if not rt.db.ping():
        return jsonify({"database": False, "worker_last_tick": None, "next_due_post": None}), 503
    with rt.db.session() as session:
        beat = session.exec(select(WorkerHeartbeat).order_by(col(WorkerHeartbeat.last_tick_at).desc())).first()
        due = next_due_at(session)
    body = {
        "database": True,
        "worker_last_tick": _iso(beat.last_tick_at) if beat else None,
        "next_due_post": _iso(due),
    }
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"
    return resp, 200
