"""Admins manage logins: add one (a random password shown once), change a role, deactivate or reactivate."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlmodel import col, select
from werkzeug.wrappers import Response

from ..auth import create_user
from ..errors import EventPromoError
from ..models import AuditEntry, Role, User
from . import current_runtime

bp = Blueprint("users", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def admin_required(view: F) -> F:
    """A view only admins may use."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if getattr(current_user, "role", None) != Role.ADMIN:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def _list(created: tuple[str, str] | None = None, status: int = 200) -> tuple[str, int]:
    rt = current_runtime()
    with rt.db.session() as session:
        users = list(session.exec(select(User).order_by(col(User.email))))
    return render_template("users.html", users=users, roles=Role.ALL, created=created), status


@bp.route("/users")
@admin_required
def index() -> tuple[str, int]:
    """Every login with its role and last login."""
    return _list()


@bp.route("/users", methods=["POST"])
@admin_required
def add() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Create a login; its password is shown on this response only (never stored in a flash cookie)."""
    rt = current_runtime()
    email = request.form.get("email", "")[:320]
    role = request.form.get("role", Role.COORDINATOR)
    password = secrets.token_urlsafe(12)
    try:
        with rt.db.session(write=True) as session:
            user = create_user(session, email, password, role)
            session.add(AuditEntry(actor=str(current_user.email), action="add_user", detail={"email": user.email}))
            created = (user.email, password)
    except EventPromoError as exc:
        flash(str(exc), "error")
        return _list(status=400)
    html, status = _list(created)
    # The page carries a password: no cache may keep it.
    return html, status, {"Cache-Control": "no-store"}


@bp.route("/users/<int:user_id>", methods=["POST"])
@admin_required
def change(user_id: int) -> Response:
    """Change a role or (de)activate a login; an admin cannot lock themself out."""
    rt = current_runtime()
    role = request.form.get("role")
    active = request.form.get("active")
    with rt.db.session(write=True) as session:
        user = session.get(User, user_id)
        if user is None:
            abort(404)
        if str(user.id) == str(current_user.id):
            flash("You cannot change your own role or deactivate yourself; ask another admin.", "error")
            return redirect(url_for("users.index"))
        detail: dict[str, Any] = {"email": user.email}
        if role in Role.ALL and role != user.role:
            detail["role"] = [user.role, role]
            user.role = role
        if active in ("0", "1"):
            detail["active"] = active == "1"
            user.active = active == "1"
        session.add(AuditEntry(actor=str(current_user.email), action="change_user", detail=detail))
    flash(f"Updated {user.email}: {user.role}, {'active' if user.active else 'deactivated'}.", "success")
    return redirect(url_for("users.index"))
