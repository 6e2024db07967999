"""An http(s) ICS feed: conditional GET, explicit timeouts, a size limit, a bounded number of redirects."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from ..errors import FetchError
from .base import NULL_PROGRESS, FetchResult, Progress, SourceState
from .ics import IcsParser, parse_result

_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FeedLimits:
    """How long and how much a feed may take (per calendar: connect_timeout, read_timeout, max_size_mb, ...)."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0  # a server that drips bytes forever still ends
    max_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5


def shown(url: str) -> str:
    """The feed's address without what may be secret (credentials, private path tokens, query)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the feed"
    return (
        f"{parts.scheme}://{host}{port}/…" if parts.path.strip("/") or parts.query else f"{parts.scheme}://{host}{port}"
    )


class IcsUrlSource:
    """An http(s) ICS feed; an unchanged feed (304, or the same bytes) costs no parsing."""

    def __init__(
        self,
        name: str,
        url: str,
        parser: IcsParser,
        limits: FeedLimits | None = None,
        session: requests.Session | None = None,
    ):
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            raise FetchError(f"{name}: only http and https feeds are accepted, got {urlsplit(url).scheme}:")
        self.name = name
        self.url = url
        self.parser = parser
        self.limits = limits or FeedLimits()
        self.session = session or requests.Session()

    def fetch(
        self, state: SourceState, window_start: datetime, window_end: datetime, progress: Progress = NULL_PROGRESS
    ) -> FetchResult:
        """GET the feed (If-None-Match / If-Modified-Since) and parse it unless unchanged."""
        progress.stage(f"{self.name}: downloading")
        downloaded = self._download(state)
        if downloaded is None:
            return FetchResult(not_modified=True, state=state)
        data, etag, last_modified = downloaded
        result = parse_result(self.parser, data, state, window_start, window_end, progress)
        result.state = SourceState(etag=etag, last_modified=last_modified, content_hash=result.state.content_hash)
        return result

    def _download(self, state: SourceState) -> tuple[bytes, str | None, str | None] | None:
        headers = {"Accept": "text/calendar, */*;q=0.5", "User-Agent": "eventpromo calendar sync"}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        url = self.url
        for _hop in range(self.limits.max_redirects + 1):
            resp = self._get(url, headers)
            if resp.status_code in _REDIRECTS and resp.headers.get("Location"):
                resp.close()
                url = self._redirect_target(url, resp.headers["Location"])
                continue
            with resp:
                if resp.status_code == 304:
                    return None
                if resp.status_code != 200:
                    raise FetchError(f"{self.name}: {shown(url)} answered {_status(resp)}")
                data = self._read(resp, url)
                return data, resp.headers.get("ETag"), resp.headers.get("Last-Modified")
        raise FetchError(f"{self.name}: {shown(self.url)} redirects more than {self.limits.max_redirects} times")

    def _get(self, url: str, headers: dict[str, str]) -> requests.Response:
        limits = self.limits
        try:
            return self.session.get(
                url,
                headers=headers,
                timeout=(limits.connect_timeout, limits.read_timeout),
                stream=True,
                allow_redirects=False,
            )
        except requests.exceptions.ConnectTimeout:
            reason = f"no connection within {limits.connect_timeout:g} s"
        except requests.exceptions.ReadTimeout:
            reason = f"no answer within {limits.read_timeout:g} s"
        except requests.exceptions.SSLError:
            reason = "TLS error (certificate or protocol)"
        except requests.exceptions.ConnectionError:
            reason = "cannot connect"
        except requests.RequestException as exc:
            reason = type(exc).__name__
        raise FetchError(f"{self.name}: cannot fetch {shown(url)}: {reason}")

    def _redirect_target(self, current: str, location: str) -> str:
        target = urljoin(current, location.strip())
        scheme = urlsplit(target).scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchError(
                f"{self.name}: {shown(current)} redirects to a {scheme or 'relative'}: address; "
                "only http and https are followed"
            )
        return target

    def _read(self, resp: requests.Response, url: str) -> bytes:
        limit = self.limits.max_bytes
        too_big = f"{self.name}: {shown(url)} is larger than the limit of {_size(limit)}"
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(too_big)
        deadline = time.monotonic() + self.limits.total_timeout
        buf = bytearray()
        try:
            # read1 returns what has arrived (a server dripping bytes cannot hold us past the deadline), and
            # undoes gzip: the limit counts what we would parse, so a compressed bomb stops too.
            while chunk := resp.raw.read1(_CHUNK, decode_content=True):
                buf.extend(chunk)
                if len(buf) > limit:
                    raise FetchError(too_big)
                if time.monotonic() > deadline:
                    raise FetchError(
                        f"{self.name}: {shown(url)} took longer than {self.limits.total_timeout:g} s to download"
                    )
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if "timed out" in str(exc).lower() or isinstance(exc, TimeoutError):
                reason = f"stopped sending (no data for {self.limits.read_timeout:g} s)"
                raise FetchError(f"{self.name}: {shown(url)} {reason}") from None
            raise FetchError(f"{self.name}: the download from {shown(url)} broke off: {type(exc).__name__}") from None
        return bytes(buf)


def _size(limit: int) -> str:
    mb = limit / (1024 * 1024)
    return f"{mb:g} MB" if mb >= 1 else f"{limit / 1024:g} KB"


def _status(resp: requests.Response) -> str:
    code = resp.status_code
    hint = {
        401: " (the feed needs credentials)",
        403: " (access denied: check the address and the calendar's sharing)",
        404: " (no calendar at this address)",
        410: " (the calendar is gone)",
        429: " (too many requests: try later)",
    }.get(code, " (server error: try later)" if code >= 500 else "")
    return f"HTTP {code}{hint}"
