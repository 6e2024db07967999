"""GET /r/<code>: count the click and redirect to the stored RSVP URL with UTM parameters."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request
from werkzeug.wrappers import Response

from ..models import utcnow
from ..tracking import record_click, resolve
from . import current_runtime

bp = Blueprint("redirects", __name__)


@bp.route("/r/<code>", methods=["GET", "HEAD"])
def follow(code: str) -> Response:
    """302 to the post's RSVP URL; HEAD is answered but not counted; unknown codes get a 404 page."""
    if not code.isalnum() or len(code) > 32:
        abort(404)
    rt = current_runtime()
    with rt.db.session() as session:
        target = resolve(session, code)
    if target is None:
        abort(404)
    if request.method == "GET":
        with rt.db.session(write=True) as session:
            record_click(
                session,
                target.link_id,
                utcnow(),
                request.remote_addr or "",
                request.headers.get("User-Agent"),
                request.headers.get("Referer"),
                rt.cfg.tracking.suspect_clicks_per_minute,
            )
    resp = redirect(target.target, code=302)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
