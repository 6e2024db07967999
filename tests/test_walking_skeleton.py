"""The thin path through every stage: bundled calendar -> campaign -> outbox post -> tracked click -> stats."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import select

from service import jobs
from service.models import Event, Post, PostStatus, TrackedLink
from tests.conftest import NOW
from tests.helpers import add_user, login, run_cli, session


def test_sync_plan_publish_click_stats(rt, client) -> None:  # type: ignore[no-untyped-def]
    cfg_path = str(rt.cfg.path)
    out = run_cli(cfg_path, "sync", "--now", NOW.isoformat(), "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)[0]
    assert report["source"] == "oncology-events"
    assert report["added"] >= 10 and report["cancelled"] == 1 and report["errors"] == []

    events = json.loads(run_cli(cfg_path, "events", "list", "--json").stdout)
    titles = {e["title"] for e in events}
    assert "Living Well with MPN: Patient Education Webinar" in titles
    webinar = next(e for e in events if e["title"].startswith("Living Well") and e["start"].startswith("2026-12-10"))
    assert webinar["start"] == "2026-12-10T17:30:00-07:00" and webinar["timezone"] == "America/Phoenix"
    assert webinar["rsvp_url"] == "https://example.org/register/mpn-webinar"
    cancelled = [e for e in events if e["status"] == "cancelled"]
    assert len(cancelled) == 1 and cancelled[0]["recurrence_id"] == "20261223T010000Z"
    no_rsvp = [e for e in events if "no RSVP link" in e["warnings"]]
    assert no_rsvp and all(e["rsvp_url"] is None for e in no_rsvp)

    posts = json.loads(run_cli(cfg_path, "posts", "list", "--event", str(webinar["id"]), "--json").stdout)
    steps = [p["step"] for p in posts]
    assert steps == ["two-weeks", "catch-up", "one-week", "day-before", "two-hours", "live"]
    assert posts[0]["status"] == "skipped"  # two weeks before Dec 10 had passed on Nov 28
    assert posts[1]["status"] == "scheduled"  # first seen late: one catch-up announcement instead
    due = posts[2]
    assert due["status"] == "scheduled" and due["tracked_url"] in due["text"]

    # Nothing changed: a second sync rewrites nothing and mints no new codes.
    with session(rt) as s:
        before = sorted((p.id, p.text, p.updated_at) for p in s.exec(select(Post)))
        codes = sorted(s.exec(select(TrackedLink.code)).all())
    again = json.loads(run_cli(cfg_path, "sync", "--now", NOW.isoformat(), "--json").stdout)[0]
    assert again["added"] == again["updated"] == again["removed"] == 0
    with session(rt) as s:
        assert sorted((p.id, p.text, p.updated_at) for p in s.exec(select(Post))) == before
        assert sorted(s.exec(select(TrackedLink.code)).all()) == codes

    # The worker publishes the due post to the outbox, once.
    when = (NOW.replace(year=2026, month=12, day=3, hour=17, minute=0) + timedelta(seconds=5)).isoformat()
    for _ in range(2):
        res = run_cli(cfg_path, "worker", "--once", "--now", when)
        assert res.exit_code == 0, res.output
    lines = (rt.cfg.instance_dir / "outbox.jsonl").read_text().splitlines()
    published = [json.loads(line) for line in lines]
    assert [p["post_id"] for p in published].count(due["id"]) == 1
    assert published[0]["text"] == due["text"]
    status = json.loads(run_cli(cfg_path, "posts", "list", "--status", "published", "--json").stdout)
    assert due["id"] in [p["id"] for p in status]

    # The tracked link redirects with UTM parameters and counts the click; HEAD and bots apart.
    path = "/r/" + due["tracked_url"].rsplit("/", 1)[1]
    chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    browser = {"User-Agent": chrome + " Chrome/126.0 Safari/537.36"}
    resp = client.get(path, headers=browser)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith(
        "https://example.org/register/mpn-webinar?utm_source=x&utm_medium=social"
    )
    assert "utm_content=one-week" in resp.headers["Location"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert client.head(path, headers=browser).status_code == 302
    client.get(path, headers={"User-Agent": "Twitterbot/1.0"})
    assert client.get("/r/doesnotexist1").status_code == 404

    stats = json.loads(run_cli(cfg_path, "stats", "--event", str(webinar["id"]), "--json").stdout)
    row = next(r for r in stats if r["post_id"] == due["id"])
    assert (row["clicks"], row["unique_clicks"], row["bot_clicks"], row["suspect_clicks"]) == (1, 1, 1, 0)

    # The web page, after login, lists the upcoming events with their posts.
    assert client.get("/").status_code == 302
    add_user(rt)
    assert login(client).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Caregiver Support Group" in page and "Log out" in page


def test_cancelled_instance_gets_no_posts(rt) -> None:  # type: ignore[no-untyped-def]
    jobs.sync_calendars(rt, NOW)
    with session(rt) as s:
        ev = s.exec(select(Event).where(Event.status == "cancelled")).one()
        assert [p.status for p in s.exec(select(Post).where(Post.event_id == ev.id))] == []
        assert s.exec(select(Post).where(Post.status == PostStatus.SCHEDULED)).first() is not None
