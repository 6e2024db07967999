"""The Flask app factory: config -> runtime -> security -> blueprints (-> worker, for `serve`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..models import utcnow
from ..runtime import Runtime

csrf = CSRFProtect()


def create_app(config_path: str | None = None, *, runtime: Runtime | None = None, with_worker: bool = False) -> Flask:
    """Build the web app; `with_worker` also runs the scheduler in this process (eventpromo serve)."""
    rt = runtime or Runtime.from_config(config_path)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=rt.cfg.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=rt.cfg.base_url.startswith("https://"),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=rt.cfg.base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.extensions["eventpromo"] = rt
    csrf.init_app(app)

    from . import auth, campaign, exports, filters, health, pages, redirects, security, template_sets, users

    security.init_app(app)
    auth.init_app(app)
    filters.init_app(app)
    app.register_blueprint(redirects.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(campaign.bp)
    app.register_blueprint(template_sets.bp)
    app.register_blueprint(users.bp)
    redirects.init_app(app, rt)
    app.register_blueprint(exports.bp)
    csrf.exempt(redirects.bp)
    csrf.exempt(health.bp)

    @app.errorhandler(404)
    def not_found(_e: Exception) -> tuple[str, int]:
        return render_template("404.html"), 404

    @app.errorhandler(403)
    def forbidden(_e: Exception) -> tuple[str, int]:
        return render_template("403.html"), 403

    @app.errorhandler(CSRFError)
    def csrf_failed(e: CSRFError) -> tuple[str, int]:
        return render_template("400.html", reason=e.description), 400

    if with_worker:
        from ..worker import start_embedded

        app.extensions["eventpromo_worker"] = start_embedded(rt)
    return app


def current_runtime() -> Runtime:
    """The runtime of the app handling this request."""
    from flask import current_app

    rt: Runtime = current_app.extensions["eventpromo"]
    return rt


def now() -> datetime:
    """The present for a request: the clock, or the instant a test pinned in `app.config["EVENTPROMO_NOW"]`."""
    from flask import current_app

    pinned = current_app.config.get("EVENTPROMO_NOW")
    return pinned if isinstance(pinned, datetime) else utcnow()


def wake_worker() -> None:
    """Ask the in-process worker (eventpromo serve) to look for due posts now; a separate worker polls anyway."""
    from flask import current_app

    worker = current_app.extensions.get("eventpromo_worker")
    if worker is not None:
        worker.wake()
