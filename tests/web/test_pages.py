"""What the pages show: events with counts and warnings, filters, pagination, escaping, charts, templates, users."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlmodel import select

from service import jobs
from service.models import (
    CalendarSource,
    ChannelState,
    Click,
    PostStatus,
    TemplateOverride,
    TrackedLink,
    WorkerHeartbeat,
)
from service.web.filters import local_time
from tests.conftest import NOW
from tests.helpers import csrf_token, session
from tests.web.conftest import get_post, posts_of, set_post, webinar

HOSTILE = [
    "<script>window.__pwned=1</script>Evil webinar",
    '"><img src=x onerror="window.__pwned=2">',
]


def _ics(tmp_path: Path, title: str, location: str = "Online") -> Path:
    from icalendar import vText

    esc = vText(title).to_ical().decode()
    loc = vText(location).to_ical().decode()
    body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:hostile@example.org\r\n"
        "DTSTAMP:20261101T000000Z\r\nDTSTART:20261210T003000Z\r\nDTEND:20261210T013000Z\r\n"
        f"SUMMARY:{esc}\r\nLOCATION:{loc}\r\n"
        "DESCRIPTION:RSVP: javascript:alert(1)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    path = tmp_path / "hostile.ics"
    path.write_text(body, encoding="utf-8")
    return path


def test_events_page_shows_times_counts_and_warnings(synced: Any, viewer: Any) -> None:
    rt = synced
    ev = webinar(rt)
    scheduled = [p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED]
    set_post(rt, scheduled[0].id, status=PostStatus.HELD, hold_kind="approval", hold_reason="needs approval")
    set_post(rt, scheduled[1].id, status=PostStatus.FAILED, last_error="403 forbidden")
    still = [p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED]
    with rt.db.session(write=True) as s:
        src = s.exec(select(CalendarSource)).one()
        src.last_error = "HTTP 500 from the feed"
    html = viewer.get("/").get_data(as_text=True)
    assert "Thu Dec 10, 5:30 PM MST" in html
    row = html[html.index(f'href="/events/{ev.id}"') :]
    row = row[: row.index("</tr>")]
    assert "webinar" in row and ">x<" in row.replace("<small>x</small>", ">x<")
    assert f"<b>{len(still)}</b> scheduled" in row and "<b>1</b> held" in row and "<b>1</b> failed" in row
    assert "1 held post" in row and "1 failed post" in row
    assert f"next {local_time(still[0].scheduled_at, 'America/Phoenix')}" in row  # the first still scheduled
    assert "last sync of its calendar failed: HTTP 500 from the feed" in row
    assert "no RSVP link" in html  # the dietitian seminar has none
    assert "sync failed" in html  # the status strip


def test_filters_and_pagination(synced: Any, viewer: Any) -> None:
    html = viewer.get("/").get_data(as_text=True)
    total = int(re.search(r"of (\d+) events", html).group(1))  # type: ignore[union-attr]
    assert total > 25 and "Page 1 of 2" in html
    page2 = viewer.get("/?page=2").get_data(as_text=True)
    assert f"26\u2013{total} of {total}" in page2 and "Page 2 of 2" in page2
    assert "Page 2 of 2" in viewer.get("/?page=99").get_data(as_text=True)
    cancelled = viewer.get("/?status=cancelled").get_data(as_text=True)
    assert "1\u20131 of 1 event" in cancelled and "cancelled for the holidays" in cancelled
    attention = viewer.get("/?status=attention").get_data(as_text=True)
    assert "Nutrition During Treatment" in attention  # no RSVP link
    rows = re.findall(r'<tr class="event-row.*?</tr>', attention, re.S)
    assert rows and all('<span class="warning' in r for r in rows)
    everything = viewer.get("/").get_data(as_text=True) + page2
    all_rows = re.findall(r'<tr class="event-row.*?</tr>', everything, re.S)
    quiet = [r for r in all_rows if '<span class="warning' not in r]
    quiet_links = [re.search(r'href="(/events/\d+)"', r).group(1) for r in quiet]  # type: ignore[union-attr]
    assert quiet_links and not any(f'href="{link}"' in attention for link in quiet_links)
    assert "No events" in viewer.get("/?source=nope").get_data(as_text=True)
    assert "No past events" in viewer.get("/?when=past").get_data(as_text=True)


def test_calendar_text_is_escaped_everywhere(make_config: Any, tmp_path: Path, client_for: Any) -> None:
    for title in HOSTILE:
        cfg = make_config(ics=_ics(tmp_path, title, location=title))
        from service.runtime import Runtime

        rt = Runtime.from_config(str(cfg.path))
        jobs.sync_calendars(rt, NOW)
        rt.db.dispose()
    viewer = client_for("viewer")
    for path in ("/", "/events/1", "/events/1/clicks", "/templates/webinar"):
        html = viewer.get(path).get_data(as_text=True)
        assert "<script>window" not in html and "<img src=x" not in html, path
    html = viewer.get("/events/1").get_data(as_text=True)
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html or "&#34;&gt;&lt;img src=x" in html
    assert 'href="javascript:' not in html


def test_campaign_page_shows_timeline_local_and_utc(synced: Any, coordinator: Any) -> None:
    rt = synced
    ev = webinar(rt)
    html = coordinator.get(f"/events/{ev.id}").get_data(as_text=True)
    assert "Thu Dec 3, 10 AM MST" in html and "2026-12-03 17:00 UTC" in html
    assert "One week out" in html and "Two hours before" in html
    assert 'data-network="x"' in html and 'data-limit="280"' in html and 'data-counting="twitter"' in html
    assert "characters as x counts them" in html
    assert html.count('class="post post-') == len(posts_of(rt, ev.id))
    assert 'src="/static/app.js"' in html and "<script>" not in html and " onclick=" not in html


def test_refused_edit_keeps_the_typed_text(synced: Any, coordinator: Any) -> None:
    rt = synced
    ev = webinar(rt)
    post = posts_of(rt, ev.id)[1]
    token = csrf_token(coordinator, f"/events/{ev.id}")
    typed = "Call us at 602-555-0199 " + "z" * 10
    resp = coordinator.post(f"/posts/{post.id}/text", data={"text": typed, "csrf_token": token})
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "content guard would hold it" in html and "602-555-0199" in html
    assert f">{typed}</textarea>" in html
    assert get_post(rt, post.id).text == post.text


def test_clicks_page_draws_accessible_svg_charts(synced: Any, viewer: Any) -> None:
    rt = synced
    ev = webinar(rt)
    with rt.db.session() as s:
        labels = {st.key: st.label for st in rt.templates(s).sets["webinar"].steps}
    post = next(p for p in posts_of(rt, ev.id) if p.step in labels)
    with rt.db.session(write=True) as s:
        link = s.exec(select(TrackedLink).where(TrackedLink.post_id == post.id)).one()
        for i in range(3):
            s.add(Click(link_id=link.id, at=NOW + timedelta(days=i % 2), visitor_key=f"v{i}"))
        s.add(Click(link_id=link.id, at=NOW, is_bot=True, visitor_key="bot"))
    html = viewer.get(f"/events/{ev.id}/clicks").get_data(as_text=True)
    assert html.count("<svg") == 3 and 'role="img"' in html and "<title" in html and "<desc" in html
    label = labels[post.step]
    assert f"{label}: 3 clicks by people" in html and f"{label}: 1 click by bots" in html
    assert ">3 people<" in html and ">1 bot<" in html  # numbers written on the chart
    assert "url(#hatch-" in html  # bots hatched, not told apart by colour alone
    assert "Nov 28" in html and "Nov 29" in html  # per day, in the event's zone
    assert "<b>3</b><span>clicks by people" in html
    index = viewer.get("/").get_data(as_text=True)
    assert f'href="/events/{ev.id}/clicks" title="People (bots: 1)"><b>3</b>' in index


def test_status_page_shows_sources_worker_and_channels(synced: Any, viewer: Any) -> None:
    rt = synced
    with rt.db.session(write=True) as s:
        s.add(WorkerHeartbeat(worker="host:1", last_tick_at=NOW - timedelta(minutes=2)))
        s.add(ChannelState(name="x", needs_reconnect=True, reason="401 token revoked"))
    html = viewer.get("/status").get_data(as_text=True)
    assert "oncology-events" in html and "host:1" in html and "2 min ago" in html
    assert "Needs reconnecting: 401 token revoked" in html
    assert "<b>x</b>: needs reconnecting" in html
    assert "Next post" in html and "MST" in html


def test_template_check_names_the_line_and_save_overrides(synced: Any, coordinator: Any) -> None:
    rt = synced
    token = csrf_token(coordinator, "/templates/webinar")
    body = (Path(rt.cfg.templates_dir) / "webinar.toml").read_text()
    step_at = body.index('key = "two-hours"')
    title_at = body.index("{{ title }}", step_at)
    broken = body[:title_at] + "{{ title }" + body[title_at + len("{{ title }}") :]
    resp = coordinator.post("/templates/webinar", data={"csrf_token": token, "action": "save", "body": broken})
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    line = body.count("\n", 0, title_at) + 1
    assert f'href="#L{line}">line {line}</a>' in html and 'class="err"' in html
    with session(rt) as s:
        assert s.get(TemplateOverride, "webinar") is None
    unknown = body[:title_at] + "{{ titel }}" + body[title_at + len("{{ title }}") :]
    html = coordinator.post("/templates/webinar", data={"csrf_token": token, "action": "check", "body": unknown})
    assert "titel" in html.get_data(as_text=True) and "error" in html.get_data(as_text=True)

    text_at = body.index('text = """\n', step_at) + len('text = """\n')
    edited = body[:text_at] + "Marker words here. " + body[text_at:]
    ev = webinar(rt)
    resp = coordinator.post("/templates/webinar", data={"csrf_token": token, "action": "save", "body": edited})
    assert resp.status_code == 302
    with session(rt) as s:
        row = s.get(TemplateOverride, "webinar")
        assert row is not None and row.updated_by == "coordinator@example.org"
    two_hours = next(p for p in posts_of(rt, ev.id) if p.step == "two-hours")
    assert "Marker words here." in two_hours.text
    page = coordinator.get(f"/templates/webinar?event={ev.id}").get_data(as_text=True)
    assert "edited here" in page and "Marker words here." in page and "/r/PREVIEW000" in page
    resp = coordinator.post("/templates/webinar", data={"csrf_token": token, "action": "revert"})
    assert resp.status_code == 302
    assert "Marker words here." not in next(p for p in posts_of(rt, ev.id) if p.step == "two-hours").text


def test_template_sandbox_blocks_escapes(synced: Any, coordinator: Any) -> None:
    token = csrf_token(coordinator, "/templates/webinar")
    body = '[[steps]]\nkey = "a"\noffset = "-1d"\ntext = "{{ title.__class__.__mro__ }}"\n'
    html = coordinator.post("/templates/webinar", data={"csrf_token": token, "action": "check", "body": body}).get_data(
        as_text=True
    )
    assert "not allowed in a template" in html or "unsafe" in html


def test_admin_manages_users(synced: Any, client_for: Any) -> None:
    admin = client_for("admin")
    token = csrf_token(admin, "/users")
    resp = admin.post("/users", data={"csrf_token": token, "email": "new@example.org", "role": "viewer"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "new@example.org" in html and "shown only once" in html
    password = re.search(r'<code class="secret">([^<]+)</code>', html).group(1)  # type: ignore[union-attr]
    fresh = admin.application.test_client()
    from tests.helpers import login

    assert login(fresh, "new@example.org", password).status_code == 302
    assert admin.post("/users", data={"csrf_token": token, "email": "new@example.org"}).status_code == 400
    from service.models import User

    with session(synced) as s:
        uid = s.exec(select(User.id).where(User.email == "new@example.org")).one()
    admin.post(f"/users/{uid}", data={"csrf_token": token, "role": "coordinator", "active": "0"})
    assert fresh.get("/").status_code == 302  # a deactivated login is logged out at once
    with session(synced) as s:
        me = s.exec(select(User.id).where(User.email == "admin@example.org")).one()
    resp = admin.post(f"/users/{me}", data={"csrf_token": token, "active": "0"}, follow_redirects=True)
    assert "cannot change your own role" in resp.get_data(as_text=True)


def test_new_template_set_from_an_existing_one(synced: Any, coordinator: Any, viewer: Any) -> None:
    token = csrf_token(coordinator, "/templates")
    resp = coordinator.post("/templates", data={"csrf_token": token, "name": "mpn-webinar", "base": "webinar"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/templates/mpn-webinar"
    page = coordinator.get("/templates/mpn-webinar").get_data(as_text=True)
    assert "name = &#34;mpn-webinar&#34;" in page and "The set is valid" in page
    again = coordinator.post(
        "/templates", data={"csrf_token": token, "name": "mpn-webinar", "base": "webinar"}, follow_redirects=True
    )
    assert "already a set named mpn-webinar" in again.get_data(as_text=True)
    bad = coordinator.post("/templates", data={"csrf_token": token, "name": "Bad Name", "base": "webinar"})
    assert bad.status_code == 302
    ev = webinar(synced)
    out = coordinator.post(
        f"/events/{ev.id}/template", data={"csrf_token": token, "template": "mpn-webinar"}, follow_redirects=True
    )
    assert "now uses mpn-webinar" in out.get_data(as_text=True)
    vtoken = csrf_token(viewer, "/templates")
    assert viewer.post("/templates", data={"csrf_token": vtoken, "name": "x", "base": "webinar"}).status_code == 403


def test_times_show_their_zone_across_dst() -> None:
    from datetime import UTC, datetime

    from service.web.filters import local_input, local_time

    winter = datetime(2027, 3, 13, 15, 0, tzinfo=UTC)
    summer = datetime(2027, 3, 15, 15, 0, tzinfo=UTC)
    assert local_time(winter, "America/New_York") == "Sat Mar 13, 10 AM EST"
    assert local_time(summer, "America/New_York") == "Mon Mar 15, 11 AM EDT"
    assert local_time(summer, "America/Phoenix") == "Mon Mar 15, 8 AM MST"
    assert local_input(summer, "America/New_York") == "2027-03-15T11:00"


def test_an_event_without_a_campaign_yet_still_shows(rt: Any, coordinator: Any) -> None:
    with rt.db.session(write=True) as s:
        src = CalendarSource(name="oncology-events", kind="ics_file")
        s.add(src)
        s.flush()
        from service.models import Event

        s.add(
            Event(
                source_id=src.id,
                uid="u1",
                title="Not planned yet",
                start_at=NOW + timedelta(days=3),
                end_at=NOW + timedelta(days=3, hours=1),
                timezone="America/Phoenix",
            )
        )
    html = coordinator.get("/events/1").get_data(as_text=True)
    assert "Not planned yet" in html and "the next sync plans it" in html and "Pause campaign" not in html
    assert coordinator.get("/events/1/clicks").status_code == 200
    assert "Not planned yet" in coordinator.get("/").get_data(as_text=True)


def test_next_post_in_the_strip_skips_paused_campaigns(synced: Any, viewer: Any) -> None:
    from service.web.queries import health

    rt = synced
    with session(rt) as s:
        first = health(s).next_due
    assert first is not None
    with rt.db.session(write=True) as s:
        from service.models import Campaign, Post

        for post in s.exec(select(Post).where(Post.status == "scheduled", Post.due_at == first)):
            camp = s.get(Campaign, post.campaign_id)
            camp.paused = True  # type: ignore[union-attr]
    with session(rt) as s:
        after = health(s).next_due
    assert after is not None and after > first
    html = viewer.get("/").get_data(as_text=True)
    assert f"<b>Next post</b>: {local_time(after, 'America/Phoenix')}" in html


def test_clicks_page_counts_a_click_made_a_moment_ago(synced: Any, viewer: Any, client: Any) -> None:
    """A click waits in the tracking spool for up to a flush interval; the clicks page flushes it first."""
    rt = synced
    ev = webinar(rt)
    post = next(p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED)
    with session(rt) as s:
        code = s.exec(select(TrackedLink.code).where(TrackedLink.post_id == post.id)).one()
    browser = {
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0 Safari/537.36"
    }
    assert client.get(f"/r/{code}", headers=browser).status_code == 302
    html = viewer.get(f"/events/{ev.id}/clicks").get_data(as_text=True)
    assert "<b>1</b><span>clicks by people" in html
    assert f"/exports/clicks.csv?event={ev.id}" in html
