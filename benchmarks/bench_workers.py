"""4 worker processes vs 1 on PostgreSQL, publishing 2,000 posts to a fake X API with 50 ms latency.

Goal: 4 workers at least 3x faster. Each run is real `eventpromo worker --once` processes with tweepy
talking HTTP to a local fake X (127.0.0.1 only). Prints the speed-up, that every post went out exactly
once, and peak memory (this process and the largest worker).

    python benchmarks/bench_workers.py [--posts 2000] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import ROOT, peak_rss_mb, report
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from service.db import Database
from service.models import CalendarSource, Campaign, Event, Post, PostStatus, TrackedLink
from tests.fakes.x_api import CREDENTIALS, ENV, FakeX

NOW = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PER_EVENT = 20


def fill(db: Database, n: int) -> None:
    """`n` posts due now on channel `x`, each with its own tracked link (so no two texts are equal)."""
    with db.engine.begin() as conn:
        for table in ("tracked_link", "post_attempt", "post", "campaign", "event", "calendar_source", "channel_state"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(insert(CalendarSource), [{"id": 1, "name": "bench", "kind": "ics_file", "location": ""}])
        events = [
            {
                "id": e + 1,
                "source_id": 1,
                "uid": f"e{e}",
                "recurrence_id": "",
                "title": f"Event {e}",
                "start_at": NOW + timedelta(days=3),
                "end_at": NOW + timedelta(days=3, hours=1),
                "timezone": "America/Phoenix",
                "slug": f"e{e}",
                "warnings": [],
            }
            for e in range((n + PER_EVENT - 1) // PER_EVENT)
        ]
        conn.execute(insert(Event), events)
        conn.execute(insert(Campaign), [{"id": e["id"], "event_id": e["id"], "template": "webinar"} for e in events])
        posts = []
        for i in range(n):
            body = f"Benchmark post {i}: one week to go. http://127.0.0.1:8000/r/b{i:08d}"
            posts.append(
                {
                    "id": i + 1,
                    "campaign_id": i // PER_EVENT + 1,
                    "event_id": i // PER_EVENT + 1,
                    "step": f"s{i % PER_EVENT}",
                    "channel": "x",
                    "network": "x",
                    "scheduled_at": NOW,
                    "due_at": NOW,
                    "status": PostStatus.SCHEDULED,
                    "text": body,
                    "rendered_text": body,
                }
            )
        conn.execute(insert(Post), posts)
        conn.execute(insert(TrackedLink), [{"code": f"b{i:08d}", "post_id": i + 1} for i in range(n)])


def run(config: Path, workers: int, fake: FakeX, seen: list[float]) -> tuple[float, float, list[dict[str, int]]]:
    """Start `workers` processes at once; wall time, publish span at the API, and their reports."""
    seen.clear()
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", "from service.cli import main; main()", "--config", str(config)]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [*cmd, "worker", "--once", "--now", NOW.isoformat(), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=1800)
        if p.returncode != 0:
            raise SystemExit(f"worker failed: {err.strip().splitlines()[-1] if err.strip() else p.returncode}")
        reports.append(json.loads(out))
    wall = time.perf_counter() - started
    span = max(seen) - min(seen) if seen else 0.0
    return wall, span, reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    admin_url = os.environ.get("EVENTPROMO_BENCH_DATABASE_URL", PG_DEFAULT)
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        print(f"workers: PostgreSQL not reachable at {admin_url} ({type(exc).__name__}); skipped")
        return
    name = f"epbench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        db = Database(url)
        SQLModel.metadata.create_all(db.engine)
        # The fake stands in for X: it need not spend CPU checking signatures (the tests do that).
        with FakeX(latency=args.latency, verify_signatures=False) as fake, tempfile.TemporaryDirectory() as tmp:
            seen: list[float] = []
            lock = threading.Lock()
            create = fake.server._routes[("POST", "/2/tweets")]

            def timed_create(req):  # type: ignore[no-untyped-def]
                answer = create(req)
                with lock:
                    seen.append(time.perf_counter())
                return answer

            fake.server.route("POST", "/2/tweets", timed_create)
            config = Path(tmp) / "eventpromo.toml"
            lines = [
                f'database_url = "{url}"',
                f'templates = "{ROOT / "campaign_templates"}"',
                f'instance_dir = "{tmp}/instance"',
                'secret_key = "bench"',
                "[[channels]]",
                'name = "x"',
                'kind = "x"',
                f'api_base = "{fake.url}"',
                *(f'{key} = "env:X_{key.upper()}"' for key in CREDENTIALS),
            ]
            config.write_text("\n".join(lines) + "\n")
            results = {}
            for workers in (1, 4):
                fill(db, args.posts)
                fake.tweets.clear()
                wall, span, reports = run(config, workers, fake, seen)
                texts = Counter(t["original_text"] for t in fake.tweets)
                with db.engine.connect() as conn:
                    published = conn.execute(text("SELECT count(*) FROM post WHERE status = 'published'")).scalar()
                once = len(texts) == args.posts and set(texts.values()) == {1} and published == args.posts
                shares = sorted(r["published"] for r in reports)
                print(
                    f"workers={workers}: {args.posts:,} posts in {span:.1f} s at the API ({wall:.1f} s with start-up); "
                    f"each exactly once: {'yes' if once else 'NO'}; per worker {shares}"
                )
                results[workers] = (wall, span)
            report("workers: 1 worker's time over 4 workers' (API span)", results[1][1], results[4][1], ">= 3x")
            report(
                "workers: 1 worker's time over 4 workers' (wall, with start-up)", results[1][0], results[4][0], ">= 3x"
            )
        db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: {peak_rss_mb():.0f} MB (this process), {children:.0f} MB (largest worker)")


if __name__ == "__main__":
    main()
