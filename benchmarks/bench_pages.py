"""Events page and campaign page with 5,000 events: render time (goal: events page < 150 ms) and peak memory.

The baseline, measured in the same run, is the same events page with 10 events: the ratio shows how the
page scales with the number of events (it should stay near 1x: one page of rows, a fixed number of queries).
"""

from __future__ import annotations

import re
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import ROOT, median_time, peak_rss_mb, report
from sqlalchemy import insert
from sqlmodel import SQLModel

from service import config as config_mod
from service.auth import create_user
from service.db import Database
from service.models import CalendarSource, Campaign, Event, Post, TrackedLink
from service.runtime import Runtime
from service.web import create_app

NOW = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)
STEPS = ("two-weeks", "one-week", "day-before", "two-hours", "live")


def _seed(db: Database, events: int) -> None:
    """`events` events, each with a campaign and five posts with tracked links (bulk inserts)."""
    with db.session(write=True) as s:
        src = CalendarSource(name="bench", kind="ics_file", last_success_at=NOW)
        s.add(src)
        s.flush()
        ev_rows = [
            {
                "id": i,
                "source_id": src.id,
                "uid": f"e{i}",
                "recurrence_id": "",
                "title": f"Patient education webinar number {i}",
                "description": "",
                "location": "Online",
                "start_at": NOW + timedelta(hours=2 + i),
                "end_at": NOW + timedelta(hours=3 + i),
                "timezone": "America/Phoenix",
                "status": "confirmed",
                "rsvp_url": "https://example.org/r" if i % 7 else None,
                "warnings": [] if i % 7 else ["no RSVP link"],
                "hashtags": "",
                "slug": f"e{i}",
                "content_hash": "",
            }
            for i in range(1, events + 1)
        ]
        s.execute(insert(Event), ev_rows)
        s.execute(insert(Campaign), [{"id": i, "event_id": i, "template": "webinar"} for i in range(1, events + 1)])
        posts = []
        for i in range(1, events + 1):
            for j, step in enumerate(STEPS):
                at = NOW + timedelta(hours=i - 24 * (len(STEPS) - j))
                posts.append(
                    {
                        "id": (i - 1) * len(STEPS) + j + 1,
                        "campaign_id": i,
                        "event_id": i,
                        "step": step,
                        "channel": "x",
                        "network": "x",
                        "scheduled_at": at,
                        "due_at": at,
                        "status": ("scheduled", "held", "published", "failed", "scheduled")[j],
                        "text": f"Post {step} of event {i} https://events.example.org/r/c{i}x{j}",
                        "rendered_text": "",
                    }
                )
        s.execute(insert(Post), posts)
        s.execute(insert(TrackedLink), [{"code": f"c{p['id']}", "post_id": p["id"]} for p in posts])
        create_user(s, "bench@example.org", "bench password", "viewer")


def _client(folder: Path, events: int) -> tuple[object, Database]:
    db_url = f"sqlite:///{folder / f'bench{events}.db'}"
    cfg_path = folder / f"eventpromo{events}.toml"
    cfg_path.write_text(
        f'database_url = "{db_url}"\nbase_url = "https://events.example.org"\ntimezone = "America/Phoenix"\n'
        f'templates = "{ROOT / "campaign_templates"}"\nsecret_key = "bench"\n'
        f'[[calendars]]\nname = "bench"\nics = "{ROOT / "calendars" / "oncology-events.ics"}"\n'
        '[[channels]]\nname = "x"\nkind = "outbox"\nnetwork = "x"\n'
    )
    cfg = config_mod.load(cfg_path, environ={})
    db = Database(cfg.database_url)
    SQLModel.metadata.create_all(db.engine)
    _seed(db, events)
    app = create_app(runtime=Runtime(cfg=cfg, db=db))
    app.config.update(EVENTPROMO_NOW=NOW)
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    resp = client.post("/login", data={"email": "bench@example.org", "password": "bench password", "csrf_token": token})
    assert resp.status_code == 302, resp.status_code
    return client, db


def _get(client: object, path: str) -> None:
    resp = client.get(path)  # type: ignore[attr-defined]
    assert resp.status_code == 200, (path, resp.status_code)


def main() -> None:
    """Print the events page's and a campaign page's times against the 10-event baseline, and peak memory."""
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small, small_db = _client(folder, 10)
        big, big_db = _client(folder, events)
        for c in (small, big):
            _get(c, "/")  # warm templates and connections
        base = median_time(lambda: _get(small, "/"), repeat=15)
        page = median_time(lambda: _get(big, "/"), repeat=15)
        filtered = median_time(lambda: _get(big, "/?status=attention&page=40"), repeat=15)
        camp_base = median_time(lambda: _get(small, "/events/5"), repeat=15)
        camp = median_time(lambda: _get(big, f"/events/{events // 2}"), repeat=15)
        report(f"events page, {events} events vs 10", page, base, "<= 2x; under 0.150 s")
        report(f"events page filtered (attention, page 40), {events} events", filtered, base, "<= 3x")
        report(f"campaign page, {events} events vs 10", camp, camp_base, "<= 2x")
        verdict = "under" if page < 0.150 else "OVER"
        print(f"events page with {events} events: {page * 1000:.1f} ms ({verdict} the 150 ms goal)")
        print(f"peak memory: {peak_rss_mb():.0f} MB")
        small_db.dispose()
        big_db.dispose()


if __name__ == "__main__":
    main()
