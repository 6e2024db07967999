"""Privacy: visitor keys from a daily secret salt (never the IP itself), referrer hosts only, no IPs in logs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete
from sqlmodel import Session, col, select

from ..db import Database
from ..models import VisitorSalt
from .dialect import insert_for

# gunicorn's access log without the client address (%(h)s) or the referrer (%(f)s): time, request
# line, status, size, duration. `eventpromo serve` and gunicorn.conf.py use it.
ACCESS_LOG_FORMAT = '%(t)s "%(r)s" %(s)s %(b)s %(L)s'
VISITOR_KEY_LENGTH = 32


def referrer_host(referrer: str | None) -> str | None:
    """Only the host of a referrer: its path and query can carry personal data."""
    if not referrer:
        return None
    try:
        host = urlsplit(referrer.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = "".join(ch for ch in host if ch.isprintable() and not ch.isspace())
    return host[:255] or None


def visitor_key(salt: str, ip: str, user_agent: str) -> str:
    """HMAC-SHA256 of ip + user agent under the day's salt: counts unique visitors without keeping the IP."""
    mac = hmac.new(salt.encode(), f"{ip}\n{user_agent}".encode("utf-8", "replace"), hashlib.sha256)
    return mac.hexdigest()[:VISITOR_KEY_LENGTH]


def day_salt(session: Session, day: date) -> str:
    """The secret salt of `day` (UTC), created on first use by whichever process comes first.

    Salts older than yesterday are deleted: once a salt is gone, no one (not even with the database)
    can test which IP address made a click by recomputing keys.
    """
    created = session.execute(
        insert_for(session, VisitorSalt)
        .values(day=day, salt=secrets.token_hex(32))
        .on_conflict_do_nothing(index_elements=["day"])
        .returning(col(VisitorSalt.day))
    ).first()
    if created is not None:
        session.execute(delete(VisitorSalt).where(col(VisitorSalt.day) < day - timedelta(days=1)))
    salt = session.exec(select(VisitorSalt.salt).where(VisitorSalt.day == day)).one()
    return str(salt)


class VisitorKeys:
    """Visitor keys for the requests of one process: the day's salt is read once a day, the HMAC prepared once."""

    def __init__(self, db: Database):
        self._db = db
        self._lock = threading.Lock()
        # (UTC day number, HMAC keyed with that day's salt), swapped as one object so threads never mix days.
        self._current: tuple[int, hmac.HMAC] | None = None

    def key(self, ip: str, user_agent: str, at: float) -> str:
        """The visitor key of (ip, user agent) on the UTC day of epoch time `at`."""
        day = int(at // 86400)
        current = self._current
        mac = current[1] if current is not None and current[0] == day else self._prepare(day)
        h = mac.copy()
        h.update(f"{ip}\n{user_agent}".encode("utf-8", "replace"))
        return h.hexdigest()[:VISITOR_KEY_LENGTH]

    def _prepare(self, day: int) -> hmac.HMAC:
        with self._lock:
            current = self._current
            if current is None or current[0] != day:
                with self._db.session(write=True) as session:
                    salt = day_salt(session, datetime.fromtimestamp(day * 86400, UTC).date())
                current = (day, hmac.new(salt.encode(), digestmod=hashlib.sha256))
                self._current = current
            return current[1]
