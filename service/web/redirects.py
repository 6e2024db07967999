"""GET /r/<code>: record the click, then 302 to the stored RSVP URL with UTM parameters."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, abort, current_app, redirect, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from ..runtime import Runtime
from ..tracking import ClickTracker, is_code
from ..tracking.bots import is_prefetch_environ

bp = Blueprint("redirects", __name__)
log = logging.getLogger(__name__)
TRACKER = "eventpromo_tracker"


def init_app(app: Flask, rt: Runtime) -> None:
    """Give the app its click tracker; trust X-Forwarded-For only from [tracking] proxy_hops proxies."""
    hops = rt.cfg.tracking.proxy_hops
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    tracker = ClickTracker(rt.cfg, rt.db)
    app.extensions[TRACKER] = tracker

    @app.before_request
    def _start_flusher() -> None:
        # Started from a request, so it runs in the serving process (never in a pre-fork master).
        # Under TESTING each click is stored as it comes (see follow): no thread outlives a test.
        if not app.testing:
            tracker.start()


def tracker() -> ClickTracker:
    """The click tracker of the app handling this request."""
    t: ClickTracker = current_app.extensions[TRACKER]
    return t


def redirect_response(location: str) -> Response:
    """The 302 every tracked link answers: never cached, no referrer passed on."""
    resp = redirect(location, code=302)
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@bp.route("/r/<code>", methods=["GET", "HEAD"])
def follow(code: str) -> Response:
    """302 to the post's RSVP URL; HEAD is answered but not counted; unknown codes get the 404 page."""
    t: ClickTracker = current_app.extensions[TRACKER]
    try:
        target = t.resolve(code) if is_code(code) else None
    except SQLAlchemyError as exc:
        # A code not in memory needs the database: say "try again" rather than "no such link".
        log.warning("cannot resolve a tracked link: database unavailable (%s)", type(exc).__name__)
        abort(503)
    if target is None:
        abort(404)
    environ = request.environ  # read directly: this is the hot path (REMOTE_ADDR is ProxyFix's)
    if environ.get("REQUEST_METHOD") == "GET":
        try:
            t.record(
                target.link_id,
                environ.get("REMOTE_ADDR") or "",
                environ.get("HTTP_USER_AGENT") or "",
                environ.get("HTTP_REFERER"),
                is_prefetch_environ(environ),
            )
            if current_app.testing:
                # In-process tests read the database right after a click: store it now, not within a second.
                t.flush()
        except Exception:
            # The person still gets to the RSVP page; the failure is logged (without the visitor's address).
            log.exception("click on link %s not recorded", target.link_id)
    return redirect_response(target.target)


@bp.after_app_request
def _never_cache(resp: Response) -> Response:
    # Every answer under /r/, a 404 too: a code unknown now may be minted later.
    if request.path.startswith("/r/"):
        resp.headers["Cache-Control"] = "no-store"
    return resp
