"""Logins: creating users and checking passwords (werkzeug's scrypt hashes)."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .errors import EventPromoError
from .models import LoginAttempt, Role, User

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD = 8
# Compared against when the email is unknown, so a wrong email costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def create_user(session: Session, email: str, password: str, role: str = Role.COORDINATOR) -> User:
    """A new login; refuses a bad email, a short password, an unknown role or a taken email."""
    email = email.strip().lower()
    if not _EMAIL_RE.match(email):
        raise EventPromoError(f"user {email!r}: not an email address")
    if len(password) < MIN_PASSWORD:
        raise EventPromoError(f"user {email}: the password needs at least {MIN_PASSWORD} characters")
    if role not in Role.ALL:
        raise EventPromoError(f"user {email}: unknown role {role!r}")
    if session.exec(select(User).where(func.lower(User.email) == email)).first() is not None:
        raise EventPromoError(f"user {email} already exists")
    user = User(email=email, password_hash=generate_password_hash(password), role=role)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None."""
    user = session.exec(select(User).where(func.lower(User.email) == email.strip().lower())).first()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


# Rate limiting: failed logins counted in the database (LoginAttempt), so every gunicorn process agrees.
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_CLIENT = 20
FAILURE_WINDOW = timedelta(minutes=15)


def attempt_keys(email: str, client_ip: str, secret: str) -> tuple[str, str]:
    """The two counters a login touches: the account's and the client's (its address hashed, never stored)."""
    digest = hmac.new(secret.encode(), client_ip.encode(), hashlib.sha256).hexdigest()[:32]
    return f"email:{email.strip().lower()[:320]}", f"ip:{digest}"


def locked_out(session: Session, keys: tuple[str, str], now: datetime) -> bool:
    """True while the account or the client has too many recent failures."""
    since = now - FAILURE_WINDOW
    rows = session.exec(
        select(LoginAttempt.key, func.count())
        .where(col(LoginAttempt.key).in_(keys), LoginAttempt.at >= since)
        .group_by(col(LoginAttempt.key))
    ).all()
    counts = dict(rows)
    return counts.get(keys[0], 0) >= MAX_FAILURES_PER_EMAIL or counts.get(keys[1], 0) >= MAX_FAILURES_PER_CLIENT


def record_failure(session: Session, keys: tuple[str, str], now: datetime) -> None:
    """Count one failed login against the account and the client; forget failures older than the window."""
    session.execute(delete(LoginAttempt).where(col(LoginAttempt.at) < now - FAILURE_WINDOW))
    for key in keys:
        session.add(LoginAttempt(key=key, at=now))


def clear_failures(session: Session, keys: tuple[str, str]) -> None:
    """A successful login forgets the account's failures (the client's stay: they may target other accounts)."""
    session.execute(delete(LoginAttempt).where(col(LoginAttempt.key) == keys[0]))
