"""HTTP plumbing shared by the network channels: a rebased session with timeouts, and "was it sent?".

Every request of a channel goes through a `requests.Session` whose transport adapter
- rewrites the scheme and host to the configured `api_base` (tests and proxies point it elsewhere),
- re-signs OAuth 1.0a requests for the host they really go to (the signature covers the host),
- sets a default timeout (libraries like tweepy set none: a hung connection would block the worker).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

Signer = Callable[[requests.PreparedRequest], requests.PreparedRequest]

CONNECT_TIMEOUT = 5.0


class RebasingAdapter(HTTPAdapter):
    """Sends every request to `api_base` (same path and query) with a default (connect, read) timeout."""

    def __init__(self, api_base: str, timeout: float, signer: Signer | None = None, direct: bool = False):
        super().__init__(max_retries=0)  # never resend a POST on our own: a resend could post twice
        parts = urlsplit(api_base)
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.prefix = parts.path.rstrip("/")
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)
        self.signer = signer
        self.direct = direct

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Rewrite the URL (re-signing if it was signed), then send with the default timeout."""
        assert request.url is not None
        parts = urlsplit(request.url)
        target = urlunsplit((self.scheme, self.netloc, self.prefix + parts.path, parts.query, ""))
        if target != request.url:
            request.url = target
            auth = request.headers.get("Authorization", "")
            if isinstance(auth, bytes):  # requests_oauthlib leaves bytes on multipart requests
                auth = auth.decode("latin-1")
            if self.signer is not None and auth.startswith("OAuth "):
                del request.headers["Authorization"]
                request = self.signer(request)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if self.direct:
            kwargs["proxies"] = {}  # a local fake or loopback proxy: an HTTPS_PROXY tunnel would break it
        return super().send(request, **kwargs)


def is_loopback(url: str) -> bool:
    """True for http(s)://127.x / [::1] / localhost URLs."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def rebased_session(
    session: requests.Session, api_base: str, timeout: float, signer: Signer | None = None
) -> requests.Session:
    """Mount the rebasing adapter on `session` for every http(s) URL it requests."""
    direct = is_loopback(api_base)
    adapter = RebasingAdapter(api_base, timeout, signer, direct=direct)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if direct:
        session.trust_env = False
    return session


def plain_session(timeout: float, url: str) -> requests.Session:
    """A session for a fixed URL (webhooks, images) with a default timeout and no automatic resends."""
    session = requests.Session()
    adapter = _TimeoutAdapter(timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if is_loopback(url):
        session.trust_env = False
    return session


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float):
        super().__init__(max_retries=0)
        self.timeout = (min(CONNECT_TIMEOUT, timeout), timeout)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


def surely_not_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server: no connection was ever made."""
    if isinstance(exc, (requests.ConnectTimeout, requests.exceptions.ProxyError, requests.exceptions.SSLError)):
        return True
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
        return True
    if isinstance(exc, requests.ConnectionError) and not isinstance(exc, requests.ReadTimeout):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
    return False


def describe(exc: BaseException) -> str:
    """A one-line description of a transport error, without URLs' query strings or credentials."""
    if isinstance(exc, requests.ConnectTimeout):
        return "timed out connecting"
    if isinstance(exc, requests.ReadTimeout):
        return "timed out waiting for the answer"
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, NewConnectionError):
            return "could not connect"
        return "the connection broke before an answer came"
    return type(exc).__name__


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> datetime | None:
    """The instant a `Retry-After` header (seconds or HTTP date) asks us to wait for."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    if not value:
        return None
    now = now or datetime.now(UTC)
    try:
        return now + timedelta(seconds=max(0, int(value.strip())))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def epoch(value: str | int | None) -> datetime | None:
    """A Unix timestamp header (`x-rate-limit-reset`) as an aware datetime."""
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return None
