"""Regenerate docs/screenshots/: the bundled calendar synced, a few clicks, each page in Debian's chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

Runs on a scratch SQLite database in a temporary folder (nothing of instance/ is touched), serves the
app on a random loopback port, clicks some tracked links as a browser and as crawlers, then saves
the events page, a campaign, its clicks, the template editor and the status page (laptop and phone).
"""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import sys
import tempfile
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path

import requests
from sqlmodel import col, select
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service import config as config_mod  # noqa: E402
from service import jobs, migrate  # noqa: E402
from service.auth import create_user  # noqa: E402
from service.db import Database  # noqa: E402
from service.models import Event, Post, Role, TrackedLink  # noqa: E402
from service.runtime import Runtime  # noqa: E402
from service.tracking.tracker import flush_pending  # noqa: E402
from service.web import create_app  # noqa: E402

EMAIL, PASSWORD = "coordinator@example.org", "screenshots-only-password"
BROWSER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 "
    "Safari/605.1.15",
]
BOT_AGENTS = ["Twitterbot/1.0", "facebookexternalhit/1.1", "Mastodon/4.3.1 (http.rb/5.2.0; +https://example.social/)"]


def write_config(tmp: Path) -> Path:
    """A config on the bundled calendar and templates with two preview channels (X and Mastodon rules)."""
    path = tmp / "eventpromo.toml"
    path.write_text(
        textwrap.dedent(f"""
        database_url = "sqlite:///{tmp / "shots.db"}"
        base_url = "http://127.0.0.1:8000"
        timezone = "America/Phoenix"
        templates = "{ROOT / "campaign_templates"}"
        instance_dir = "{tmp / "instance"}"

        [[calendars]]
        name = "oncology-events"
        ics = "{ROOT / "calendars" / "oncology-events.ics"}"
        template = "webinar"
        channels = ["x", "team-chat"]

        [[channels]]
        name = "x"
        kind = "outbox"
        network = "x"

        [[channels]]
        name = "team-chat"
        kind = "outbox"
        network = "mastodon"

        [tracking]
        proxy_hops = 1  # the clicks below come from several made-up visitors

        [policy]
        allowed_domains = ["example.org"]
        allowed_phones = ["+1 480 555 0100"]
        """)
    )
    return path


def prepare(rt: Runtime) -> tuple[int, int]:
    """Migrate, add the login, sync; returns the ids of the first confirmed webinar and of a tentative event."""
    migrate.upgrade(rt.db.engine)
    with rt.db.session(write=True) as session:
        create_user(session, EMAIL, PASSWORD, Role.COORDINATOR)
    jobs.sync_calendars(rt, datetime.now(UTC))
    with rt.db.session() as session:
        events = session.exec(select(Event).order_by(Event.start_at)).all()  # type: ignore[arg-type]
        webinar = next(e for e in events if "Webinar" in e.title and e.status == "confirmed")
        tentative = next(e for e in events if e.status == "tentative")  # its posts wait for a person
        assert webinar.id is not None and tentative.id is not None
        return webinar.id, tentative.id


def click_links(rt: Runtime, base: str, event_id: int) -> None:
    """Follow the event's live tracked links as people (most) and crawlers (some)."""
    rnd = random.Random(3)
    with rt.db.session() as session:
        codes = session.exec(
            select(TrackedLink.code)
            .join(Post, col(Post.id) == col(TrackedLink.post_id))
            .where(Post.event_id == event_id, col(Post.status).not_in(["skipped", "cancelled"]))
        ).all()
    for code in codes:
        for _ in range(rnd.randint(2, 12)):
            agent = rnd.choice(BROWSER_AGENTS) if rnd.random() < 0.8 else rnd.choice(BOT_AGENTS)
            ip = f"10.0.{rnd.randint(0, 3)}.{rnd.randint(1, 250)}"
            requests.get(
                f"{base}/r/{code}",
                headers={"User-Agent": agent, "X-Forwarded-For": ip},
                allow_redirects=False,
                timeout=10,
            )
    flush_pending(rt.cfg, rt.db)


def shoot(base: str, event_id: int, held_id: int, out: Path, chromium: str) -> list[Path]:
    """Log in and save every page; returns the files written."""
    from playwright.sync_api import sync_playwright

    saved: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--headless", "--disable-gpu"])
        for label, viewport in (("", {"width": 1280, "height": 1000}), ("-phone", {"width": 390, "height": 844})):
            page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
            page.goto(f"{base}/login")
            page.fill("input[name=email]", EMAIL)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            pages = [("events", "/"), ("campaign", f"/events/{event_id}")]
            if not label:
                pages += [
                    ("campaign-held", f"/events/{held_id}"),
                    ("clicks", f"/events/{event_id}/clicks"),
                    ("templates", "/templates/webinar"),
                    ("status", "/status"),
                ]
            for name, path in pages:
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                target = out / f"{name}{label}.png"
                page.screenshot(path=str(target), full_page=name != "events")
                saved.append(target)
            page.close()
        browser.close()
    return saved


def main() -> None:
    """Build the scratch service, serve it, click, shoot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="eventpromo_shots_"))
    try:
        cfg = config_mod.load(write_config(tmp), environ={})
        rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
        event_id, held_id = prepare(rt)
        app = create_app(runtime=rt)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        click_links(rt, base, event_id)
        args.out.mkdir(parents=True, exist_ok=True)
        for path in shoot(base, event_id, held_id, args.out, args.chromium):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
        server.shutdown()
        rt.db.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
