"""What recording one click costs before the redirect can be answered, per way of storing it, measured in
the same run (the choice behind [tracking] recorder/fsync; README "Click tracking"):

    memory      a list in the process (lost on SIGKILL: the floor, not an option)
    spool       write() of one line to this process's spool file (the default: survives SIGKILL)
    spool+sync  the same plus fdatasync() (survives power loss too: [tracking] fsync = "click")
    sqlite raw  one bare INSERT transaction per click through the driver, WAL, synchronous=NORMAL: the floor
                of a database write per request (no rate check, no bot check)
    sqlite      what [tracking] recorder = "direct" does per click: the same plus the checks, through SQLAlchemy
    sqlite FULL the same with synchronous=FULL (fsync per commit)
    pg raw / postgresql  the same two on PostgreSQL (synchronous_commit on), when a server answers

plus what moving a spooled click into each database costs later (the flusher's work, off the request).

    python benchmarks/bench_click_store.py [--postgres [URL]] [--clicks N]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import peak_rss_mb
from _tracking import DEFAULT_PG, postgres_database, seed_link
from sqlalchemy import event

from service import migrate
from service.db import Database
from service.tracking import BotDetector, Hit, SuspectWindow, store_hits
from service.tracking.clicks import sqlite_instant
from service.tracking.ingest import IngestState, ingest
from service.tracking.spool import SpoolWriter

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"


def per_click(fn: Callable[[int], None], n: int) -> float:
    """Microseconds of wall time per call of fn(i), over n calls (after 20 warm-up calls)."""
    for i in range(20):
        fn(i)
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n * 1e6


def hit(link_id: int, i: int) -> Hit:
    return Hit(time.time(), link_id, f"{i % 50:032x}", "t.co", UA)


def direct(db: Database, link_id: int, detector: BotDetector) -> Callable[[int], None]:
    """The `direct` recorder's work: one write transaction per click."""

    def record(i: int) -> None:
        with db.session(write=True) as s:
            store_hits(s, [hit(link_id, i)], SuspectWindow(10, remember=False), detector)

    return record


def raw_insert(db: Database, link_id: int) -> Callable[[int], None]:
    """A bare INSERT per click in its own transaction, through the driver: the cheapest write per request."""
    raw = db.engine.raw_connection()
    sqlite = db.dialect == "sqlite"
    sql = "INSERT INTO click (link_id, at, is_bot, is_suspect, referrer_host, visitor_key) VALUES " + (
        "(?, ?, 0, 0, ?, ?)" if sqlite else "(%s, now(), false, false, %s, %s)"
    )

    def record(i: int) -> None:
        cur = raw.cursor()
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
            cur.execute(sql, (link_id, sqlite_instant(time.time()), "t.co", f"{i % 50:032x}"))
            cur.execute("COMMIT")
        else:
            cur.execute(sql, (link_id, "t.co", f"{i % 50:032x}"))
            raw.commit()
        cur.close()

    return record


def ingest_cost(db: Database, link_id: int, folder: Path, n: int, detector: BotDetector) -> float:
    """Microseconds of CPU per click to move n spooled clicks into `db` (batches of 500, like the flusher)."""
    writer = SpoolWriter(folder)
    state = IngestState(SuspectWindow(10))
    spent = 0.0
    for start in range(0, n, 500):
        for i in range(start, min(n, start + 500)):
            writer.append(hit(link_id, i))
        t = time.process_time()
        ingest(db, folder, state, detector)
        spent += time.process_time() - t
    writer.close()
    ingest(db, folder, state, detector)
    return spent / n * 1e6


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_PG, metavar="URL")
    parser.add_argument("--clicks", type=int, default=3000)
    args = parser.parse_args()
    n = max(100, min(args.clicks, 50_000))
    folder = Path(tempfile.mkdtemp(prefix="bench-click-store-"))
    detector = BotDetector()
    results: dict[str, float] = {}
    ingests: dict[str, float] = {}
    try:
        memory: list[Hit] = []
        results["memory"] = per_click(lambda i: memory.append(hit(1, i)), n)
        writer = SpoolWriter(folder / "spool")
        results["spool"] = per_click(lambda i: writer.append(hit(1, i)), n)
        writer.close()
        syncing = SpoolWriter(folder / "spool-sync", fsync_each=True)
        results["spool+sync"] = per_click(lambda i: syncing.append(hit(1, i)), min(n, 1000))
        syncing.close()

        for sync in ("NORMAL", "FULL"):
            db = Database(f"sqlite:///{folder / f'{sync}.db'}")
            migrate.upgrade(db.engine)
            if sync == "FULL":
                event.listen(db.engine, "connect", lambda c, _r: c.execute("PRAGMA synchronous=FULL"))
                db.engine.dispose()
            link_id = seed_link(db).link_id
            if sync == "NORMAL":
                results["sqlite raw"] = per_click(raw_insert(db, link_id), min(n, 2000))
            results["sqlite" if sync == "NORMAL" else "sqlite FULL"] = per_click(
                direct(db, link_id, detector), min(n, 2000)
            )
            if sync == "NORMAL":
                ingests["sqlite"] = ingest_cost(db, link_id, folder / "ingest-sqlite", n, detector)
            db.dispose()

        if args.postgres:
            with postgres_database(args.postgres, "eventpromo_bench_store") as url:
                db = Database(url)
                migrate.upgrade(db.engine)
                link_id = seed_link(db).link_id
                results["pg raw"] = per_click(raw_insert(db, link_id), min(n, 2000))
                results["postgresql"] = per_click(direct(db, link_id, detector), min(n, 2000))
                ingests["postgresql"] = ingest_cost(db, link_id, folder / "ingest-pg", n, detector)
                db.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    chosen = results["spool"]
    print("cost of recording one click before the redirect is answered (wall time, one thread):")
    for name, us in results.items():
        print(f"  {name:12s} {us:9.1f} us   {us / chosen:7.2f}x the spool")
    print("cost of moving a spooled click into the database later (CPU, batches of 500):")
    for name, us in ingests.items():
        print(f"  {name:12s} {us:9.1f} us")
    print(f"peak memory: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
