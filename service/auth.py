"""Logins: creating users and checking passwords (werkzeug's scrypt hashes)."""

from __future__ import annotations

import re

from sqlmodel import Session, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .errors import EventPromoError
from .models import Role, User

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
