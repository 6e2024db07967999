"""http(s) feeds against a local server: conditional GET, timeouts, size limit, redirects, clear failures."""

from __future__ import annotations

import gzip
import socket
import threading
import time as clock
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from service.calendars.feed import FeedLimits, IcsUrlSource, shown
from service.calendars.ics import IcsParser
from service.errors import ConfigError, FetchError
from service.runtime import Runtime
from tests.calendars.conftest import CALENDARS, calendar_toml, sync
from tests.conftest import NOW
from tests.fakes.http import FakeServer, Response

GOOGLE = (CALENDARS / "google-calendar.ics").read_bytes()
FEED = "/calendar/private-4f2a9c/basic.ics"  # a path with a secret in it, like Google's private address


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as srv:
        yield srv


def source(url: str, **limits: Any) -> IcsUrlSource:
    return IcsUrlSource("feed", url, IcsParser("feed", "America/Phoenix", NOW.time()), FeedLimits(**limits))


def fetch(src: IcsUrlSource, state: Any = None) -> Any:
    from service.calendars.base import SourceState

    return src.fetch(state or SourceState(), NOW, NOW.replace(year=2027))


def test_etag_and_last_modified_make_an_unchanged_feed_cost_no_parsing(
    runtime_for: Callable[..., Runtime], server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    validators = {"ETag": '"v1"', "Last-Modified": "Wed, 25 Nov 2026 10:00:00 GMT"}
    server.queue("GET", FEED, Response(200, GOOGLE, {"Content-Type": "text/calendar", **validators}))
    server.route(
        "GET", FEED, lambda req: Response(304) if req.headers.get("If-None-Match") == '"v1"' else Response(500)
    )
    rt = runtime_for(calendar_toml("feed", server.url + FEED))
    assert sync(rt)[0].added == 20
    parses = []
    monkeypatch.setattr(IcsParser, "read", lambda *a, **k: parses.append(1))
    again = sync(rt, NOW.replace(minute=5))[0]
    assert again.not_modified and again.unchanged == 21 and parses == []
    second = server.received("GET", FEED)[1]
    assert second.headers["If-None-Match"] == '"v1"'
    assert second.headers["If-Modified-Since"] == "Wed, 25 Nov 2026 10:00:00 GMT"


def test_same_bytes_without_validators_cost_no_parsing(
    runtime_for: Callable[..., Runtime], server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route("GET", FEED, lambda req: Response(200, GOOGLE))
    rt = runtime_for(calendar_toml("feed", server.url + FEED))
    sync(rt)
    monkeypatch.setattr(IcsParser, "read", lambda *a, **k: pytest.fail("parsed an unchanged feed"))
    assert sync(rt, NOW.replace(minute=5))[0].not_modified
    assert "If-None-Match" not in server.received("GET", FEED)[1].headers


def test_a_slow_server_hits_the_read_timeout(server: FakeServer) -> None:
    server.route("GET", FEED, lambda req: Response(200, GOOGLE, delay=3))
    started = clock.monotonic()
    with pytest.raises(FetchError) as info:
        fetch(source(server.url + FEED, read_timeout=0.3))
    assert str(info.value) == f"feed: cannot fetch {server.url}/…: no answer within 0.3 s"
    assert clock.monotonic() - started < 2.5


def test_the_size_limit_is_checked_before_and_while_reading(server: FakeServer) -> None:
    server.route("GET", FEED, lambda req: Response(200, GOOGLE))
    with pytest.raises(FetchError, match=r"^feed: http://127\.0\.0\.1:\d+/… is larger than the limit of 1 KB$"):
        fetch(source(server.url + FEED, max_bytes=1024))
    # A compressed body that unpacks to far more than the limit stops at the limit.
    bomb = gzip.compress(b"X" * (5 * 1024 * 1024))
    server.route("GET", "/bomb.ics", lambda req: Response(200, bomb, {"Content-Encoding": "gzip"}))
    with pytest.raises(FetchError, match="larger than the limit of 1 MB"):
        fetch(source(server.url + "/bomb.ics", max_bytes=1024 * 1024))


@contextmanager
def dripping_server(chunks: Iterator[bytes] | list[bytes], pause: float) -> Iterator[str]:
    """A raw HTTP server that answers without Content-Length and sends the body slowly."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nConnection: close\r\n\r\n")
            for chunk in chunks:
                if stop.is_set():
                    return
                try:
                    conn.sendall(chunk)
                except OSError:
                    return
                stop.wait(pause)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed.ics"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


def test_a_feed_that_drips_forever_ends_at_the_total_timeout() -> None:
    with dripping_server([b"X"] * 10_000, pause=0.05) as url, pytest.raises(FetchError) as info:
        fetch(source(url, total_timeout=0.5, read_timeout=5))
    assert str(info.value).endswith("took longer than 0.5 s to download")


def test_a_body_without_content_length_is_limited_while_streaming() -> None:
    with dripping_server([b"X" * 65536] * 40, pause=0) as url, pytest.raises(FetchError, match="larger than"):
        fetch(source(url, max_bytes=1024 * 1024))


def test_redirects_are_followed_a_bounded_number_of_times_and_only_to_http(server: FakeServer) -> None:
    server.route("GET", "/old.ics", lambda req: Response(301, headers={"Location": FEED}))
    server.route("GET", FEED, lambda req: Response(200, GOOGLE))
    assert len(fetch(source(server.url + "/old.ics")).events) == 21
    with pytest.raises(FetchError, match="redirects more than 0 times"):
        fetch(source(server.url + "/old.ics", max_redirects=0))
    server.route("GET", "/loop.ics", lambda req: Response(302, headers={"Location": "/loop.ics"}))
    with pytest.raises(FetchError, match="redirects more than 5 times"):
        fetch(source(server.url + "/loop.ics"))
    assert len(server.received("GET", "/loop.ics")) == 6
    for target in ("ftp://example.org/cal.ics", "file:///etc/passwd", "javascript:alert(1)"):
        server.route("GET", "/bad.ics", lambda req, t=target: Response(302, headers={"Location": t}))
        scheme = target.split(":")[0]
        with pytest.raises(FetchError) as info:
            fetch(source(server.url + "/bad.ics"))
        assert str(info.value) == (
            f"feed: {server.url}/… redirects to a {scheme}: address; only http and https are followed"
        )


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (404, "HTTP 404 (no calendar at this address)"),
        (403, "HTTP 403 (access denied: check the address and the calendar's sharing)"),
        (503, "HTTP 503 (server error: try later)"),
    ],
)
def test_http_errors_name_the_source_and_hide_the_secret_path(server: FakeServer, status: int, text: str) -> None:
    server.route("GET", FEED, lambda req: Response(status, "nope"))
    with pytest.raises(FetchError) as info:
        fetch(source(server.url + FEED))
    assert str(info.value) == f"feed: {server.url}/… answered {text}"
    assert "private-4f2a9c" not in str(info.value)


def test_a_login_page_instead_of_a_calendar_fails_clearly(server: FakeServer) -> None:
    server.route("GET", FEED, lambda req: Response(200, (CALENDARS / "not-a-calendar.html").read_bytes()))
    with pytest.raises(Exception, match=r"^feed: not an iCalendar file \(line 1 is '<!DOCTYPE html>'\)$"):
        fetch(source(server.url + FEED))


def test_a_refused_connection_fails_clearly() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(FetchError, match=rf"^feed: cannot fetch http://127\.0\.0\.1:{port}/…: cannot connect$"):
        fetch(source(f"http://127.0.0.1:{port}/x.ics"))


def test_only_http_and_https(make_config: Callable[..., Any]) -> None:
    with pytest.raises(FetchError, match="only http and https"):
        source("ftp://example.org/cal.ics")
    for url in ("ftp://example.org/cal.ics", "file:///etc/hosts"):
        with pytest.raises(ConfigError) as info:
            make_config(calendars=calendar_toml("feed", url))
        assert "calendars[0] (feed).ics: only a file path or an http(s) URL is accepted" in str(info.value)


def test_webcal_addresses_and_env_urls(make_config: Callable[..., Any]) -> None:
    cfg = make_config(calendars=calendar_toml("feed", "webcal://example.org/cal.ics"))
    assert cfg.calendars[0].ics == "https://example.org/cal.ics" and cfg.calendars[0].kind == "ics_url"
    cfg = make_config(calendars=calendar_toml("feed", "env:FEED_URL"), environ={"FEED_URL": "https://e.org/x.ics"})
    assert cfg.calendars[0].ics == "https://e.org/x.ics"


def test_feed_limits_come_from_the_config(make_config: Callable[..., Any]) -> None:
    extra = "connect_timeout = 2\nread_timeout = 4.5\nmax_size_mb = 1\nmax_redirects = 2\n"
    cfg = make_config(calendars=calendar_toml("feed", "https://example.org/cal.ics", extra))
    from service.db import Database

    rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
    src = rt.source(cfg.calendars[0])
    rt.db.dispose()
    assert isinstance(src, IcsUrlSource)
    assert src.limits == FeedLimits(connect_timeout=2, read_timeout=4.5, max_bytes=1024 * 1024, max_redirects=2)
    with pytest.raises(ConfigError, match=r"calendars\[0\] \(feed\)\.read_timeout: must be positive"):
        make_config(calendars=calendar_toml("feed", "https://example.org/cal.ics", "read_timeout = 0"))
    with pytest.raises(ConfigError, match=r"calendars\[0\] \(feed\)\.max_size: unknown key"):
        make_config(calendars=calendar_toml("feed", "https://example.org/cal.ics", "max_size = 3"))


def test_shown_hides_credentials_and_paths() -> None:
    assert shown("https://user:pw@cal.example.org/private-abc/basic.ics?token=1") == "https://cal.example.org/…"
    assert shown("https://cal.example.org") == "https://cal.example.org"
