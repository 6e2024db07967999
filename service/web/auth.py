"""Login and logout (Flask-Login, CSRF-protected form), and who may do what."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from ..auth import FAILURE_WINDOW, attempt_keys, authenticate, clear_failures, locked_out, record_failure
from ..models import Role, User, utcnow
from . import current_runtime

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
F = TypeVar("F", bound=Callable[..., Any])


class WebUser(UserMixin):
    """The logged-in person, detached from the database session."""

    def __init__(self, user: User):
        self.id = str(user.id)
        self.email = user.email
        self.role = user.role

    @property
    def can_edit(self) -> bool:
        """Coordinators and admins edit and approve; viewers read."""
        return self.role in (Role.ADMIN, Role.COORDINATOR)


def init_app(app: Flask) -> None:
    """Attach Flask-Login: every page but the public ones needs a login."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.session_protection = "strong"


@login_manager.user_loader
def _load(user_id: str) -> WebUser | None:
    if not user_id.isdigit():
        return None
    with current_runtime().db.session() as session:
        user = session.get(User, int(user_id))
        return WebUser(user) if user is not None and user.active else None


def safe_next(target: str | None) -> str:
    """Only a local path may follow a login: no scheme, no host, no `//` or backslash tricks."""
    if not target:
        return url_for("pages.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return url_for("pages.index")
    return target


def editor_required(view: F) -> F:
    """A view only coordinators and admins may use."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not getattr(current_user, "can_edit", False):
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    """The login form; failures are counted in the database and too many lock the account and client out."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    if request.method == "GET":
        return render_template("login.html", error=None)
    rt = current_runtime()
    email = request.form.get("email", "")[:320]
    password = request.form.get("password", "")[:1024]
    keys = attempt_keys(email, request.remote_addr or "", rt.cfg.secret_key)
    now = utcnow()
    web_user = None
    # Read first: the password hash takes ~0.1 s and must not hold SQLite's write lock meanwhile.
    with rt.db.session() as session:
        if locked_out(session, keys, now):
            minutes = int(FAILURE_WINDOW.total_seconds() // 60)
            error = (
                f"Too many failed logins for this account or from this address. Wait {minutes} minutes and try again."
            )
            return render_template("login.html", error=error, email=email), 429
        user = authenticate(session, email, password)
        user_id = user.id if user is not None else None
    with rt.db.session(write=True) as session:
        if user_id is None:
            record_failure(session, keys, now)
        else:
            found = session.get(User, user_id)
            if found is not None and found.active:
                found.last_login_at = now
                clear_failures(session, keys)
                web_user = WebUser(found)
    if web_user is None:
        return render_template("login.html", error="Wrong email or password.", email=email), 200
    login_user(web_user)
    return redirect(safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Log out (POST, CSRF-protected)."""
    logout_user()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))
