"""Plan and store countdown campaigns for 10,000 events (7 steps, 2 channels) against a same-run baseline.

Measured: `plan_events` for all events in one transaction (sandboxed rendering, fitting per network,
posting window, spacing and daily cap, unique texts, content guard, campaigns, posts and tracked links
inserted) and the commit.
Baseline: the same texts rendered with plain Jinja2 (each text compiled once) and the post rows inserted
with one executemany into an empty table.
Also printed: a re-plan of the same events with nothing changed (it must write nothing), and peak memory.

    .venv/bin/python benchmarks/bench_planning.py [--events N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import ROOT, peak_rss_mb, report

sys.path.insert(0, str(ROOT))

from jinja2 import Environment
from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from service import config as config_mod
from service.campaigns.apply import Templates, event_channels, event_view, plan_events
from service.campaigns.planner import ideal_time
from service.campaigns.templates import load_sets
from service.campaigns.variables import variables
from service.db import Database
from service.models import CalendarSource, Event, Post, TrackedLink

ZONES = ["America/Phoenix", "America/New_York", "America/Los_Angeles", "Europe/London", "Australia/Sydney"]
TOPICS = [
    "Living Well with MPN",
    "Nutrition During Treatment",
    "Understanding Your Blood Counts",
    "Caregiver Support Evening",
    "Managing Fatigue",
    "Lung Cancer Screening: What to Expect",
    "Clinical Trials Explained",
    "Survivorship Q&A",
]
# The bundled webinar set plus a seventh step, so every event has 7 steps (the recording step included).
EXTRA_STEP = textwrap.dedent('''
    [[steps]]
    key = "three-days"
    label = "Three days out"
    offset = "-3d"
    at = "11:00"
    text = """
    {{ title }} is {{ countdown }}: {{ long_date }} at {{ time }}. Questions you would like answered? Bring them along.
    {% if has_rsvp %}{{ rsvp_link }}{% endif %}
    {{ hashtags }}
    """
''')


def write_config(tmp: Path, url: str) -> config_mod.Config:
    templates = tmp / "templates"
    templates.mkdir()
    shutil.copy(ROOT / "campaign_templates" / "webinar.toml", templates / "webinar.toml")
    with open(templates / "webinar.toml", "a", encoding="utf-8") as fh:
        fh.write(EXTRA_STEP)
    (tmp / "cal.ics").write_text("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n")
    (tmp / "eventpromo.toml").write_text(
        textwrap.dedent(f"""
        database_url = "{url}"
        base_url = "https://go.example.org"
        timezone = "America/Phoenix"
        templates = "{templates}"
        instance_dir = "{tmp / "instance"}"
        secret_key = "bench"

        [[calendars]]
        name = "bench"
        ics = "{tmp / "cal.ics"}"
        template = "webinar"
        channels = ["x", "mastodon"]

        [[channels]]
        name = "x"
        kind = "outbox"
        network = "x"

        [[channels]]
        name = "mastodon"
        kind = "outbox"
        network = "mastodon"

        [policy]
        allowed_domains = ["example.org"]

        [planning]
        min_spacing_minutes = 5
        daily_cap = 200
        """)
    )
    return config_mod.load(tmp / "eventpromo.toml", environ={})


def make_events(db: Database, n: int, start: datetime) -> None:
    """n events over about two years: varied zones, titles, times; RSVP and recording links."""
    rnd = random.Random(4)
    with db.engine.begin() as conn:
        source_id = conn.execute(
            insert(CalendarSource).values(name="bench", kind="ics_file", location="").returning(CalendarSource.id)
        ).scalar_one()
        rows = []
        for i in range(n):
            day = start + timedelta(days=rnd.randrange(720))
            begin = day.replace(hour=rnd.choice([15, 17, 19, 22, 1]), minute=rnd.choice([0, 30]))
            title = f"{rnd.choice(TOPICS)}: session {i}"
            rows.append(
                {
                    "source_id": source_id,
                    "uid": f"bench-{i}@example.org",
                    "recurrence_id": "",
                    "title": title,
                    "description": "An hour with our team, in plain words, with time for your questions.",
                    "location": rnd.choice(["Online (Zoom)", "Desert Vista Cancer Center, Room 210"]),
                    "start_at": begin,
                    "end_at": begin + timedelta(hours=1),
                    "timezone": rnd.choice(ZONES),
                    "status": "confirmed",
                    "rsvp_url": f"https://example.org/register/{i}",
                    "recording_url": f"https://example.org/recordings/{i}",
                    "hashtags": "#oncology #patienteducation",
                    "speaker": "Dr. Elena Marquez, Hematology" if i % 2 else None,
                    "slug": f"bench-{i}",
                    "warnings": [],
                    "content_hash": str(i),
                    "first_seen_at": start,
                    "updated_at": start,
                }
            )
        conn.execute(insert(Event), rows)


def run_planning(db: Database, cfg: config_mod.Config, templates: Templates, now: datetime) -> int:
    with db.session(write=True) as session:
        events = list(session.exec(select(Event)).scalars().all())
        plan_events(session, cfg, templates, events, now, "bench")
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Post)).scalar_one())


def baseline_in_child(cfg: config_mod.Config, templates: Templates) -> tuple[float, float, int]:
    """baseline() in a forked process, so its memory does not count in this process's peak."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()

    def run() -> None:
        db = Database(cfg.database_url)  # a connection of its own, never the parent's
        child.send(baseline(db, cfg, templates))
        db.dispose()

    proc = ctx.Process(target=run)
    proc.start()
    result = parent.recv()
    proc.join()
    return result  # type: ignore[no-any-return]


def baseline(db: Database, cfg: config_mod.Config, templates: Templates) -> tuple[float, float, int]:
    """Render every post of the same events with plain Jinja2 and insert them with one executemany into an
    empty table of the same database; returns (wall seconds, CPU seconds, rows)."""
    with db.session() as session:
        events = session.exec(select(Event)).scalars().all()
        views = [(event_view(e), event_channels(cfg, e, "bench")) for e in events]
    tset = templates.sets["webinar"]
    # The post table's columns and indexes (not its foreign keys: the baseline stores no campaigns).
    post = Post.__table__  # type: ignore[attr-defined]
    table = Table(
        "bench_post_baseline",
        MetaData(),
        *[Column(c.name, c.type, primary_key=c.primary_key) for c in post.columns],
        *[UniqueConstraint(*[c.name for c in u.columns]) for u in post.constraints if isinstance(u, UniqueConstraint)],
    )
    for i, index in enumerate(post.indexes):
        Index(f"ix_bench_post_baseline_{i}", *[table.c[c.name] for c in index.columns])
    table.drop(db.engine, checkfirst=True)
    table.create(db.engine)
    env = Environment(autoescape=False)
    compiled: dict[str, Any] = {}
    link = f"{cfg.base_url}/r/AbCdEfGh12"
    now = datetime.now(UTC)
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    rows = []
    for view, channels in views:
        for step in tset.steps:
            when = ideal_time(step, view)
            for channel in channels:
                src = step.text_for(channel.network)
                template = compiled.get(src) or compiled.setdefault(src, env.from_string(src))
                text = template.render(**variables(view, when, link, channel.network))
                rows.append(
                    {
                        "campaign_id": view.id, "event_id": view.id, "step": step.key, "channel": channel.name,
                        "network": channel.network, "scheduled_at": when, "due_at": when, "status": "scheduled",
                        "text": text, "rendered_text": text, "edited": False, "moved": False, "link_kind": "rsvp",
                        "attempts": 0, "created_at": now, "updated_at": now,
                    }
                )  # fmt: skip
    with db.engine.begin() as conn:
        conn.execute(insert(table), rows)
    result = time.perf_counter() - wall, time.process_time() - cpu, len(rows)
    table.drop(db.engine)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--database-url", default=os.environ.get("EVENTPROMO_BENCH_DATABASE_URL"))
    parser.add_argument("--no-guard", action="store_true", help="Plan without the content guard (to see its share).")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_planning_"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    scratch = None
    if url.startswith("postgresql"):
        # A database of our own on that server: the benchmark drops and creates every table.
        scratch = f"bench_planning_{os.getpid()}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{scratch}"'))
        url = make_url(url).set(database=scratch).render_as_string(hide_password=False)
    cfg = write_config(tmp, url)
    if args.no_guard:
        import service.campaigns.apply as apply_mod

        apply_mod.content_guard = lambda cfg: None  # type: ignore[assignment,return-value]
    db = Database(cfg.database_url)
    SQLModel.metadata.drop_all(db.engine)
    SQLModel.metadata.create_all(db.engine)
    now = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)
    make_events(db, args.events, now + timedelta(days=20))
    sets, broken = load_sets(cfg.templates_dir)
    templates = Templates(sets=sets, broken={k: str(v) for k, v in broken.items()})
    assert not broken, broken

    # The machine is shared and noisy: the baseline runs before and after, and the faster run counts;
    # CPU time (this process) is printed too, as it is less disturbed by other processes.
    print(f"baseline (plain Jinja2 + one executemany) on {db.dialect} ...", flush=True)
    base_a = baseline_in_child(cfg, templates)
    print(f"planning {args.events} events x 7 steps x 2 channels on {db.dialect} ...", flush=True)
    gc.collect()
    start, start_cpu = time.perf_counter(), time.process_time()
    posts = run_planning(db, cfg, templates, now)
    measured, measured_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak = peak_rss_mb()
    with db.engine.connect() as conn:
        links = conn.execute(select(func.count()).select_from(TrackedLink)).scalar_one()
        by_status = dict(conn.execute(select(Post.status, func.count()).group_by(Post.status)).all())  # type: ignore[call-overload]
    print(f"stored {posts} posts and {links} tracked links: {by_status}")

    base_b = baseline_in_child(cfg, templates)
    label = f"plan + store {args.events} events" + (" (content guard off)" if args.no_guard else "")
    report(label, measured, min(base_a[0], base_b[0]), "<= 3x")
    report(label + ", CPU time", measured_cpu, min(base_a[1], base_b[1]), "<= 3x")
    print(f"  baseline rendered and inserted {base_a[2]} rows")

    start = time.perf_counter()
    with db.session(write=True) as session:
        before = session.execute(select(func.max(Post.updated_at))).scalar_one()
        events = session.exec(select(Event)).scalars().all()
        outcomes = plan_events(session, cfg, templates, events, now, "bench")
        after = session.execute(select(func.max(Post.updated_at))).scalar_one()
    replan = time.perf_counter() - start
    changed = sum(o.created + o.updated + o.cancelled for o in outcomes.values())
    print(f"re-plan with nothing changed: {replan:.2f} s, {changed} posts changed, rows rewritten: {before != after}")
    print(f"peak memory: {peak:.0f} MB (this process: events, planning and the re-plan: {peak_rss_mb():.0f} MB)")
    db.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    if scratch is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
