"""One dispatch tick (find and claim the due posts) with 1,000,000 posts stored vs 10,000; both have 1,000 due.

Goal: the big table costs at most 2x the small one (indexes, no table scans). Prints the query plan
of the claim query (EXPLAIN) on each database, the ratio and peak memory. Runs on SQLite, and on
PostgreSQL when one answers at EVENTPROMO_BENCH_DATABASE_URL (default 127.0.0.1:5432, database test).

    python benchmarks/bench_dispatch.py [--big 1000000] [--small 10000] [--due 1000] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import median_time, peak_rss_mb, report
from sqlalchemy import create_engine, event, insert, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

from service import publishing
from service.config import PublishingConfig
from service.db import Database
from service.models import CalendarSource, Campaign, Event, Post, PostStatus, TrackedLink

NOW = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
PER_EVENT = 20
CHUNK = 20_000
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def fill(db: Database, total: int, due: int) -> None:
    """`total` posts: `due` of them due now, the rest published in the past or scheduled ahead."""
    n_events = (total + PER_EVENT - 1) // PER_EVENT
    started = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(
            insert(CalendarSource), [{"id": 1, "name": "bench", "kind": "ics_file", "location": "", "event_count": 0}]
        )
        for lo in range(0, n_events, CHUNK):
            rows = []
            for i in range(lo, min(n_events, lo + CHUNK)):
                start = NOW + timedelta(days=3) + timedelta(minutes=i % 5000)
                rows.append(
                    {
                        "id": i + 1,
                        "source_id": 1,
                        "uid": f"e{i}",
                        "recurrence_id": "",
                        "title": f"Event {i}",
                        "description": "",
                        "location": "",
                        "start_at": start,
                        "end_at": start + timedelta(hours=1),
                        "timezone": "America/Phoenix",
                        "all_day": False,
                        "status": "confirmed",
                        "hashtags": "",
                        "slug": f"e{i}",
                        "warnings": [],
                        "sequence": 0,
                        "content_hash": "",
                        "first_seen_at": NOW,
                        "updated_at": NOW,
                    }
                )
            conn.execute(insert(Event), rows)
            conn.execute(
                insert(Campaign),
                [
                    {
                        "id": r["id"],
                        "event_id": r["id"],
                        "template": "webinar",
                        "template_chosen": False,
                        "paused": False,
                        "created_at": r["first_seen_at"],
                        "updated_at": r["first_seen_at"],
                    }
                    for r in rows
                ],
            )
        for lo in range(0, total, CHUNK):
            posts, links = [], []
            for i in range(lo, min(total, lo + CHUNK)):
                ev = i // PER_EVENT + 1
                if i < due:
                    status, when = PostStatus.SCHEDULED, NOW - timedelta(seconds=30)
                elif i % 10 < 6:
                    status, when = PostStatus.PUBLISHED, NOW - timedelta(days=1 + i % 90)
                elif i % 10 < 9:
                    status, when = PostStatus.SCHEDULED, NOW + timedelta(hours=1 + i % 2000)
                else:
                    status, when = PostStatus.SKIPPED, NOW - timedelta(days=i % 30)
                t = when
                posts.append(
                    {
                        "id": i + 1,
                        "campaign_id": ev,
                        "event_id": ev,
                        "step": f"s{i % PER_EVENT}",
                        "channel": f"ch{i % 4}",
                        "network": "x",
                        "scheduled_at": t,
                        "due_at": t,
                        "status": status,
                        "text": f"Post {i}",
                        "rendered_text": f"Post {i}",
                        "edited": False,
                        "moved": False,
                        "link_kind": "rsvp",
                        "attempts": 0,
                        "published_at": t if status == PostStatus.PUBLISHED else None,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
                links.append({"id": i + 1, "code": f"k{i:09d}", "post_id": i + 1, "created_at": NOW})
            conn.execute(insert(Post), posts)
            conn.execute(insert(TrackedLink), links)
            print(f"  {min(total, lo + CHUNK):>9,}/{total:,} posts", end="\r", file=sys.stderr, flush=True)
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(f"  stored {total:,} posts in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def tick(db: Database) -> int:
    """Find and claim every due post, in batches, each batch committed (as the worker does)."""
    claimed = 0
    cfg = PublishingConfig(backlog_spacing_seconds=0)
    while True:
        with db.session(write=True) as session:
            batch = publishing.claim_due(session, NOW, "bench:1:x", cfg, 20)
        claimed += len(batch.claims)
        if batch.examined == 0:
            return claimed


def reset(db: Database) -> None:
    """Put the claimed posts back, so every repetition claims the same 1,000."""
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE post SET status = 'scheduled', attempt_id = NULL, claimed_by = NULL, lease_until = NULL "
                "WHERE status = 'publishing'"
            )
        )
        conn.execute(text("DELETE FROM post_attempt"))


def explain(db: Database) -> list[str]:
    """The plan of the claim query exactly as the worker sends it (captured, then EXPLAINed)."""
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM post JOIN campaign" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.session(write=True) as session:
            publishing.claim_due(session, NOW, "bench:1:x", PublishingConfig(), 20)
            session.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    statement, params = seen[0]
    prefix = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, params).fetchall()
    return [str(r[-1]) for r in rows]


def plan_scans_post(plan: list[str], dialect: str) -> bool:
    """True when the plan reads the whole post table."""
    if dialect == "sqlite":
        return any(line.startswith("SCAN post") and "USING" not in line for line in plan)
    return any("Seq Scan on post" in line for line in plan)


@contextmanager
def database(dialect: str) -> Iterator[Database]:
    """A fresh, empty database of that dialect with every table."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/bench.db")
            SQLModel.metadata.create_all(db.engine)
            yield db
            db.dispose()
        return
    admin_url = os.environ.get("EVENTPROMO_BENCH_DATABASE_URL", PG_DEFAULT)
    admin: Engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"epbench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        db = Database(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
        SQLModel.metadata.create_all(db.engine)
        yield db
        db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_available() -> bool:
    try:
        engine = create_engine(os.environ.get("EVENTPROMO_BENCH_DATABASE_URL", PG_DEFAULT))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def ready(db: Database, total: int, due: int) -> list[str]:
    """Fill, settle (checkpoint, statistics), check one tick claims every due post; the claim query's plan."""
    fill(db, total, due)
    if db.dialect == "sqlite":
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    plan = explain(db)
    assert tick(db) == due, "the tick did not claim every due post"
    reset(db)
    return plan


def alternate(small: Database, big: Database, repeat: int = 7) -> tuple[float, float]:
    """Median tick time of each, measured in turns so a busy machine weighs on both alike."""
    times: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(repeat):
        for key, db in ((0, small), (1, big)):

            def run(db: Database = db) -> None:
                tick(db)
                reset(db)

            times[key].append(median_time(run, repeat=1))
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    dialects = [args.only] if args.only else ["sqlite", "postgresql"]
    for dialect in dialects:
        if dialect == "postgresql" and not postgres_available():
            print("postgresql: not reachable, skipped")
            continue
        with database(dialect) as small_db, database(dialect) as big_db:
            small_plan = ready(small_db, args.small, args.due)
            big_plan = ready(big_db, args.big, args.due)
            small, big = alternate(small_db, big_db)
        print(f"{dialect}: claim query plan with {args.big:,} posts stored:")
        for line in big_plan:
            print(f"    {line}")
        scans = plan_scans_post(big_plan, dialect) or plan_scans_post(small_plan, dialect)
        print(f"{dialect}: table scan of post in the claim query: {'YES' if scans else 'no'}")
        report(
            f"{dialect}: dispatch tick (claim {args.due:,} due) with {args.big:,} stored vs {args.small:,}",
            big,
            small,
            "<= 2x",
        )
    print(f"peak memory: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
