"""GET/HEAD /r/<code> through the Flask app: target, headers, 404s, no open redirect, what a click row holds."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, select

from service.models import Click, Event, VisitorSalt
from service.runtime import Runtime
from service.tracking import post_stats
from service.tracking.visitors import ACCESS_LOG_FORMAT
from tests.helpers import session
from tests.tracking.conftest import CHROME, FIREFOX, Link, flush, make_event, make_link

UTM = "utm_source=x&utm_medium=social&utm_campaign=mpn-webinar&utm_content=one-week"


def stats_of(rt: Runtime, post_id: int) -> tuple[int, int, int, int]:
    with session(rt) as s:
        row = next(r for r in post_stats(s) if r.post_id == post_id)
    return row.clicks, row.unique_clicks, row.bot_clicks, row.suspect_clicks


def test_get_redirects_to_the_rsvp_url_and_counts(app: Any, client: Any, rt: Runtime, link: Link) -> None:
    resp = client.get(link.path, headers={"User-Agent": CHROME})
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"https://example.org/register/123?{UTM}"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert stats_of(rt, link.post_id) == (1, 1, 0, 0)  # under TESTING a click is stored as it comes
    assert flush(app) == 0


def test_head_is_answered_but_not_counted(app: Any, client: Any, rt: Runtime, link: Link) -> None:
    for _ in range(3):
        resp = client.head(link.path, headers={"User-Agent": CHROME})
        assert resp.status_code == 302
        assert resp.headers["Location"].startswith("https://example.org/register/123?")
        assert resp.headers["Cache-Control"] == "no-store"
    assert flush(app) == 0
    assert stats_of(rt, link.post_id) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    "path",
    [
        "/r/doesnotexist1",
        "/r/AAAAAAAAAA",
        "/r/short",
        "/r/" + "a" * 33,
        "/r/abc-defghij",
        "/r/abcdefgh%00",
        "/r/..%2F..%2Fetc",
        "/r/",
    ],
)
def test_unknown_or_malformed_codes_get_the_404_page(app: Any, client: Any, path: str) -> None:
    for method in (client.get, client.head):
        resp = method(path, headers={"User-Agent": CHROME})
        assert resp.status_code == 404
        assert "Location" not in resp.headers
    resp = client.get(path)
    assert resp.headers["Cache-Control"] == "no-store"
    assert "<html" in resp.get_data(as_text=True).lower()
    assert flush(app) == 0


def test_no_open_redirect(app: Any, client: Any, rt: Runtime, link: Link) -> None:
    """Nothing in the request can choose the target: only the stored URL is ever a Location."""
    expected = f"https://example.org/register/123?{UTM}"
    attempts = [
        (link.path + "?next=https://evil.example&url=//evil.example", {}),
        (link.path + "?utm_source=evil", {}),
        (link.path, {"Host": "evil.example"}),
        (link.path, {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "javascript"}),
        (link.path, {"Referer": "https://evil.example/"}),
    ]
    for path, headers in attempts:
        resp = client.get(path, headers={"User-Agent": CHROME, **headers})
        assert resp.status_code == 302 and resp.headers["Location"] == expected, path
    for path in (link.path + "/https://evil.example", link.path + "//evil.example", "/r/https:%2F%2Fevil.example"):
        assert client.get(path).status_code == 404


@pytest.mark.parametrize("stored", [None, "", "javascript:alert(document.cookie)", "//evil.example", "/local"])
def test_an_event_without_a_usable_link_answers_404(app: Any, client: Any, rt: Runtime, stored: str | None) -> None:
    with rt.db.session(write=True) as s:
        event = make_event(s, rsvp_url=stored)
        made = make_link(s, event)
    assert client.get(made.path, headers={"User-Agent": CHROME}).status_code == 404
    assert client.head(made.path).status_code == 404
    assert flush(app) == 0


def test_recording_posts_lead_to_the_recording(app: Any, client: Any, rt: Runtime) -> None:
    with rt.db.session(write=True) as s:
        event = make_event(s, recording_url="https://example.org/recordings/9")
        made = make_link(s, event, step="recording", link_kind="recording")
    resp = client.get(made.path, headers={"User-Agent": CHROME})
    assert resp.headers["Location"] == (
        "https://example.org/recordings/9?utm_source=x&utm_medium=social&utm_campaign=mpn-webinar&utm_content=recording"
    )


def test_fixing_the_rsvp_link_fixes_old_posts(tracked_app: Any, db_url: str) -> None:
    """The target is the event's current URL. SQLite notices any commit within 50 ms (data_version), well
    before the cache's 30 s here; PostgreSQL follows within link_cache_seconds."""
    sqlite = db_url.startswith("sqlite")
    app = tracked_app(f"[tracking]\nlink_cache_seconds = {30 if sqlite else 0.2}\n")
    rt: Runtime = app.extensions["eventpromo"]
    client = app.test_client()
    with rt.db.session(write=True) as s:
        made = make_link(s, make_event(s, rsvp_url="https://example.org/regsiter/typo"))
    assert "/regsiter/typo?" in client.get(made.path).headers["Location"]
    with rt.db.session(write=True) as s:
        event = s.get(Event, made.event_id)
        assert event is not None
        event.rsvp_url = "https://example.org/register/fixed#top"
    time.sleep(0.1 if sqlite else 0.3)
    assert client.get(made.path).headers["Location"] == (
        "https://example.org/register/fixed?utm_source=x&utm_medium=social&utm_campaign=mpn-webinar"
        "&utm_content=one-week#top"
    )


def test_location_header_is_the_encoded_target(app: Any, client: Any, rt: Runtime) -> None:
    with rt.db.session(write=True) as s:
        made = make_link(s, make_event(s, rsvp_url="https://bücher.example/größe?stadt=Zürich#für"))
    assert client.get(made.path).headers["Location"] == (
        f"https://xn--bcher-kva.example/gr%C3%B6%C3%9Fe?stadt=Z%C3%BCrich&{UTM}#f%C3%BCr"
    )


def test_a_click_row_holds_no_ip_only_a_daily_keyed_hash(app: Any, client: Any, rt: Runtime, link: Link) -> None:
    ip = "203.0.113.77"
    client.get(
        link.path,
        headers={"User-Agent": CHROME, "Referer": "https://t.co/abc123?patient=jane&amp;x=1"},
        environ_base={"REMOTE_ADDR": ip},
    )
    spooled = b"".join(p.read_bytes() for p in (rt.cfg.instance_dir / "clicks").glob("*.clicks"))
    assert spooled and ip.encode() not in spooled and b"patient" not in spooled
    flush(app)
    with session(rt) as s:
        click = s.exec(select(Click)).one()
        salt = s.exec(select(VisitorSalt)).one()
        assert click.referrer_host == "t.co"
        assert not click.is_bot and not click.is_suspect
        assert click.at.tzinfo is not None and abs((datetime.now(UTC) - click.at).total_seconds()) < 600
        assert salt.day == click.at.date()
        expected = hmac.new(salt.salt.encode(), f"{ip}\n{CHROME}".encode(), hashlib.sha256).hexdigest()[:32]
        assert click.visitor_key == expected
        # Nowhere in the database: every text column of every table, searched for the address.
        for table in SQLModel.metadata.sorted_tables:
            for row in s.execute(text(f'SELECT * FROM "{table.name}"')):
                assert ip not in " ".join(str(v) for v in row), table.name


def test_unique_people_by_address_and_agent(app: Any, client: Any, rt: Runtime, link: Link) -> None:
    for ip, ua in [
        ("198.51.100.1", CHROME),
        ("198.51.100.1", CHROME),
        ("198.51.100.2", CHROME),
        ("198.51.100.1", FIREFOX),
    ]:
        assert client.get(link.path, headers={"User-Agent": ua}, environ_base={"REMOTE_ADDR": ip}).status_code == 302
    flush(app)
    assert stats_of(rt, link.post_id) == (4, 3, 0, 0)


@pytest.mark.parametrize(("hops", "expected_unique"), [(0, 1), (1, 2)])
def test_forwarded_for_is_trusted_only_from_configured_proxies(
    tracked_app: Any, hops: int, expected_unique: int
) -> None:
    app = tracked_app(f"[tracking]\nproxy_hops = {hops}\n")
    rt: Runtime = app.extensions["eventpromo"]
    with rt.db.session(write=True) as s:
        made = make_link(s, make_event(s))
    client = app.test_client()
    for forwarded in ("192.0.2.10", "192.0.2.11"):
        client.get(
            made.path,
            headers={"User-Agent": CHROME, "X-Forwarded-For": forwarded},
            environ_base={"REMOTE_ADDR": "10.0.0.1"},
        )
    flush(app)
    assert stats_of(rt, made.post_id) == (2, expected_unique, 0, 0)


def test_bots_and_previews_are_counted_apart(app: Any, client: Any, rt: Runtime, link: Link) -> None:
    bots = [
        "Twitterbot/1.0",
        "facebookexternalhit/1.1",
        "curl/8.5.0",
        "",
        "WhatsApp/2.23.20.0",
        "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
    ]
    for ua in bots:
        assert client.get(link.path, headers={"User-Agent": ua}).status_code == 302
    client.get(link.path, headers={"User-Agent": CHROME, "Sec-Purpose": "prefetch"})
    client.get(link.path, headers={"User-Agent": CHROME})
    flush(app)
    assert stats_of(rt, link.post_id) == (1, 1, len(bots) + 1, 0)


def test_over_the_per_visitor_rate_clicks_are_suspect_but_redirected(tracked_app: Any) -> None:
    app = tracked_app("[tracking]\nsuspect_clicks_per_minute = 3\n")
    rt: Runtime = app.extensions["eventpromo"]
    with rt.db.session(write=True) as s:
        event = make_event(s)
        first, second = make_link(s, event), make_link(s, event, step="day-before")
    client = app.test_client()
    script = {"User-Agent": CHROME, "X-Test": "script"}
    for i in range(8):  # one visitor over two links: the rate is per visitor
        resp = client.get((first if i % 2 else second).path, headers=script, environ_base={"REMOTE_ADDR": "192.0.2.50"})
        assert resp.status_code == 302
    client.get(first.path, headers={"User-Agent": CHROME}, environ_base={"REMOTE_ADDR": "192.0.2.51"})
    client.get(first.path, headers={"User-Agent": "Twitterbot/1.0"}, environ_base={"REMOTE_ADDR": "192.0.2.50"})
    flush(app)
    people = stats_of(rt, first.post_id)[0] + stats_of(rt, second.post_id)[0]
    suspect = stats_of(rt, first.post_id)[3] + stats_of(rt, second.post_id)[3]
    bots = stats_of(rt, first.post_id)[2] + stats_of(rt, second.post_id)[2]
    assert (people, suspect, bots) == (3 + 1, 5, 1)


def test_the_rate_holds_across_flushes_and_processes(tracked_app: Any) -> None:
    """Clicks stored by an earlier flush (or another process) count towards the visitor's rate."""
    app = tracked_app("[tracking]\nsuspect_clicks_per_minute = 2\n")
    rt: Runtime = app.extensions["eventpromo"]
    with rt.db.session(write=True) as s:
        made = make_link(s, make_event(s))
    client = app.test_client()
    for _ in range(3):
        client.get(made.path, headers={"User-Agent": CHROME})
        flush(app)  # each flush is a fresh reader: it must read the visitor's recent clicks back
    assert stats_of(rt, made.post_id) == (2, 1, 0, 1)


def test_access_log_never_holds_addresses_or_referrers() -> None:
    from pathlib import Path

    from service.cli import serve

    assert "%(h)s" not in ACCESS_LOG_FORMAT and "%(f)s" not in ACCESS_LOG_FORMAT and "{" not in ACCESS_LOG_FORMAT
    root = Path(__file__).resolve().parents[2]
    conf: dict[str, Any] = {}
    exec((root / "gunicorn.conf.py").read_text(), conf)
    assert conf["access_log_format"] == ACCESS_LOG_FORMAT
    assert "ACCESS_LOG_FORMAT" in Path(serve.__file__).read_text()


def test_database_down_answers_503_but_cached_links_still_redirect(
    app: Any, client: Any, rt: Runtime, link: Link, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    assert client.get(link.path).status_code == 302  # now in the link cache
    monkeypatch.setattr(app.extensions["eventpromo_tracker"].links, "_ttl", 3600.0)
    monkeypatch.setattr(app.extensions["eventpromo_tracker"].links, "_changes", None)

    def down(*_a: Any, **_k: Any) -> Any:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(rt.db, "session", down)
    resp = client.get(link.path, headers={"User-Agent": CHROME})
    assert resp.status_code == 302  # the click goes to the spool: no database needed
    assert client.get("/r/Zz9Zz9Zz9Z").status_code == 503
