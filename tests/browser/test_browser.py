"""A real browser against a real server: log in, edit with the live counter, approve, no script from calendars."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from service import jobs
from service.campaigns.fitting import text_length
from service.errors import EventPromoError
from service.models import PostStatus
from tests.conftest import NOW
from tests.helpers import add_user
from tests.web.conftest import PASSWORD, get_post, posts_of, set_post, webinar

pytestmark = pytest.mark.browser


def _login(page: Any, base: str, rt: Any, role: str = "coordinator", next_path: str = "") -> None:
    email = f"{role}@example.org"
    with contextlib.suppress(EventPromoError):  # already there
        add_user(rt, email, PASSWORD, role)
    page.goto(f"{base}/login{'?next=' + next_path if next_path else ''}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def _no_csp_violations(page: Any) -> None:
    bad = [m for m in page.console_messages if "Content Security Policy" in m or "Refused to" in m]
    assert not bad, bad


def test_login_edit_post_and_see_the_counter(live_server: str, synced: Any, page: Any) -> None:
    rt = synced
    ev = webinar(rt)
    post = next(p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED)
    _login(page, live_server, rt, next_path=f"/events/{ev.id}")
    assert page.url.endswith(f"/events/{ev.id}")
    item = page.locator(f"#post-{post.id}")
    item.locator("details.editor > summary").click()
    area = item.locator("textarea")
    counter = item.locator(".counter .count")
    assert counter.inner_text() == str(text_length(post.text, "x"))
    text = "Last call! Register at https://example.org/register/mpn-webinar?ref=abcdefghijklmnopqrstuvwxyz 日本 #MPN"
    area.fill(text)
    expected = str(text_length(text, "x"))
    assert counter.inner_text() == expected
    preview = item.locator(".preview-text")
    assert "Register at example.org/register/mpn-…" in preview.inner_text() and "#MPN" in preview.inner_text()
    page.wait_for_selector(f"#post-{post.id} .counter.judged")  # the server confirmed the count
    assert counter.inner_text() == expected
    area.fill("x" * 290)
    assert counter.inner_text() == "290"
    assert "too long by 10" in item.locator(".counter").inner_text()
    area.fill(text)
    item.locator("button", has_text="Save text").click()
    page.wait_for_selector(".flash-warning")  # saved, with the guard's note: the test config allows no domain
    assert "Saved the text of post" in page.locator(".flash-warning").inner_text()
    assert get_post(rt, post.id).text == text and get_post(rt, post.id).edited
    assert "edited" in page.locator(f"#post-{post.id} .post-head").inner_text()
    _no_csp_violations(page)


def test_approve_a_held_post(live_server: str, synced: Any, page: Any) -> None:
    rt = synced
    ev = webinar(rt)
    post = next(p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED)
    set_post(rt, post.id, status=PostStatus.HELD, hold_kind="approval", hold_reason="waiting for approval")
    _login(page, live_server, rt)
    page.goto(f"{live_server}/events/{ev.id}")
    item = page.locator(f"#post-{post.id}")
    assert "Held: waiting for approval" in item.inner_text()
    item.locator("button", has_text="Approve").click()
    page.wait_for_selector(".flash-success")
    assert "Approved post" in page.locator(".flash-success").inner_text()
    assert "scheduled" in page.locator(f"#post-{post.id} .pill").inner_text()
    assert get_post(rt, post.id).status == PostStatus.SCHEDULED
    _no_csp_violations(page)


def test_skip_asks_first(live_server: str, synced: Any, page: Any) -> None:
    rt = synced
    ev = webinar(rt)
    post = next(p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED)
    _login(page, live_server, rt)
    page.goto(f"{live_server}/events/{ev.id}")
    answers = iter([False, True])
    seen: list[str] = []

    def on_dialog(dialog: Any) -> None:
        seen.append(dialog.message)
        (dialog.accept if next(answers) else dialog.dismiss)()

    page.on("dialog", on_dialog)
    button = page.locator(f"#post-{post.id} button", has_text="Skip")
    button.click()
    assert get_post(rt, post.id).status == PostStatus.SCHEDULED  # dismissed: nothing happened
    button.click()
    page.wait_for_selector(".flash-success")
    assert get_post(rt, post.id).status == PostStatus.SKIPPED
    assert seen and "Skip this post?" in seen[0]


def test_script_in_an_event_title_does_not_run(live_server: str, synced: Any, page: Any, tmp_path: Path) -> None:
    rt = synced
    ics = tmp_path / "hostile.ics"
    ics.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:x@example.org\r\n"
        "DTSTAMP:20261101T000000Z\r\nDTSTART:20261210T003000Z\r\nDTEND:20261210T013000Z\r\n"
        'SUMMARY:<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">Talk\r\n'
        'LOCATION:<svg onload="window.__pwned=3">\r\n'
        "DESCRIPTION:RSVP: https://example.org/r\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
    )
    from dataclasses import replace

    cal = replace(rt.cfg.calendars[0], name="hostile", ics=str(ics))
    rt.cfg = replace(rt.cfg, calendars=(*rt.cfg.calendars, cal))
    jobs.sync_calendars(rt, NOW, only="hostile")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _login(page, live_server, rt, role="viewer")
    page.goto(f"{live_server}/?source=hostile")
    link = page.locator("td.what a.title")
    assert link.inner_text().startswith("<script>window.__pwned=1</script>")
    link.click()
    page.wait_for_load_state()
    assert "<script>" in page.locator("h1").inner_text()
    assert '<svg onload="window.__pwned=3">' in page.locator(".facts").inner_text()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img[src=x]").count() == 0 and not dialogs
    _no_csp_violations(page)


def test_js_counter_agrees_with_the_server(live_server: str, synced: Any, page: Any) -> None:
    rt = synced
    _login(page, live_server, rt, role="viewer")
    page.goto(f"{live_server}/")
    samples = [p.text for p in posts_of(rt, webinar(rt).id)] + [
        "plain ascii",
        "Café ünïcödé ÅÄÖ",
        "日本語のテキスト",
        "emoji 😀 👍🏽 👨‍👩‍👧 🇺🇸",
        "see example.org/register and www.example.com/path?x=1",
        "two links https://a.example.org/x https://b.example.org/y",
        "Tabs\tand\nnewlines\n\nhere",
        "\u201cquotes\u201d \u2014 dashes\u2026 and \u2018apostrophes\u2019",
        "a" * 279,
        "http://127.0.0.1:8000/r/abc https://localhost:8000/x https://foo.internal/x",
        "example.org/x) (https://example.org/y) https://example.org/z. email me@example.org",
        "https://sub.example.co.uk/x foo.io foo.health https://例え.jp/x",
    ]
    for network, counting, link in (("x", "twitter", 23), ("mastodon", "chars", 23), ("bluesky", "graphemes", 0)):
        got = page.evaluate(
            "([texts, c, l]) => texts.map(t => window.eventpromo.countLength(t, c, l))", [samples, counting, link]
        )
        want = [text_length(t, network) for t in samples]
        assert got == want, (network, [(s, g, w) for s, g, w in zip(samples, got, want, strict=True) if g != w])


@pytest.mark.parametrize("width", [390, 1280])
def test_every_page_fits_the_screen_without_errors(live_server: str, synced: Any, page: Any, width: int) -> None:
    """Readable on a phone and a laptop: no sideways scrolling, no script error, no CSP violation."""
    rt = synced
    ev = webinar(rt)
    post = next(p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED)
    set_post(rt, post.id, status=PostStatus.FAILED, last_error="x: 403 Forbidden: " + "a-very-long-word" * 8)
    page.set_viewport_size({"width": width, "height": 900})
    _login(page, live_server, rt, role="admin")
    for path in (
        "/",
        "/?status=attention",
        f"/events/{ev.id}",
        f"/events/{ev.id}/clicks",
        "/templates",
        "/templates/webinar",
        "/status",
        "/history",
        "/users",
    ):
        page.goto(live_server + path)
        page.wait_for_load_state("load")
        if path == f"/events/{ev.id}":
            page.locator(f"#post-{post.id} details.editor > summary").click()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
    errors = [m for m in page.console_messages if m.startswith("error")]
    assert not errors, errors
    _no_csp_violations(page)
