"""A JSON API client shared by the REST networks: the rebased session, one send, errors at the boundary.

Each network module maps its own answers (status codes, error bodies) to the service's errors;
this module only turns transport failures into them, so `requests` exceptions never leak.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from ..errors import AuthError, OutcomeUnknown, RateLimited, RejectedError, RetryableError
from . import http, redact

# The adapter rewrites scheme and host to `api_base` (and prefixes its path), so requests are
# written against this placeholder origin: a path is never prefixed twice.
ORIGIN = "https://api.invalid"


class ApiClient:
    """Sends requests to one network's `api_base` with a default timeout; transport errors become ours."""

    def __init__(self, name: str, api_base: str, timeout: float, headers: Mapping[str, str] | None = None):
        self.name = name
        self.timeout = timeout
        self.session = http.rebased_session(requests.Session(), api_base.rstrip("/"), timeout)
        self.session.headers.update({"User-Agent": "eventpromo/1", **(headers or {})})
        # A bearer token in a header is this client's secret: libraries must not log it either.
        auth = str((headers or {}).get("Authorization") or "")
        redact.register(auth.split(" ", 1)[-1])

    def send(self, method: str, path: str, *, doing: str, creates: bool = False, **kw: Any) -> requests.Response:
        """One request; a request that creates something and may have arrived is an OutcomeUnknown."""
        try:
            return self.session.request(method, ORIGIN + path, allow_redirects=False, **kw)
        except requests.RequestException as exc:
            what = f"{self.name}: {doing}: {http.describe(exc)}"
            if creates and not http.surely_not_sent(exc):
                raise OutcomeUnknown(what) from None
            raise RetryableError(what) from None

    def close(self) -> None:
        """Close the HTTP connections."""
        self.session.close()


def body(resp: requests.Response) -> dict[str, Any]:
    """The answer's JSON object, or {} for anything else."""
    try:
        value = resp.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def generic_error(what: str, status: int, retry_at: datetime | None = None) -> Exception:
    """The usual reading of a status code: 429 wait, 401/403 reconnect, 5xx/408 retry, other 4xx refused."""
    if status == 429:
        return RateLimited(what, retry_at=retry_at)
    if status in (401, 403):
        return AuthError(what)
    if status >= 500 or status == 408:
        return RetryableError(what)
    return RejectedError(what)


def iso_time(value: str | None) -> datetime | None:
    """An ISO 8601 time ("2026-12-03T17:05:00.000Z") as an aware datetime, or None."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def too_old(created: datetime | None, first_sent_at: datetime | None, slack: timedelta) -> bool:
    """True when a listed post is from before this post's first try: the search can stop."""
    return created is not None and first_sent_at is not None and created < first_sent_at - slack


def one_line(text: str, limit: int = 200) -> str:
    """A network's message on one short line (for last_error and logs)."""
    return " ".join(str(text).split())[:limit]
