"""A sync killed in the middle of its transaction leaves the database as it was (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.calendars.conftest import calendar_toml, days, make_ics, vevent
from tests.conftest import NOW, ROOT

pytestmark = pytest.mark.slow


def _writing(url: str) -> bool:
    """True while another process holds the write transaction of a sync."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.split("///", 1)[1], timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            conn.close()
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            query = (
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON l.relation = c.oid "
                "WHERE c.relname = 'event' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()"
            )
            return bool(conn.execute(text(query)).scalar())
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)
    finally:
        engine.dispose()


def test_kill_9_during_the_write_leaves_nothing_half_done(
    make_config: Callable[..., Any], tmp_path: Path, db_url: str
) -> None:
    path = tmp_path / "big.ics"
    path.write_bytes(make_ics(*[vevent(f"e{i}@example.org", days(5 + i % 100, 8 + i % 10)) for i in range(2000)]))
    cfg = make_config(calendars=calendar_toml("big", str(path)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    eventpromo = Path(sys.executable).parent / "eventpromo"
    cmd = [str(eventpromo), "--config", str(cfg.path), "sync", "--now", NOW.isoformat()]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not _writing(db_url):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the sync never started writing"
            time.sleep(0.05)
        time.sleep(1.0)  # well into the transaction: events inserted, campaigns being planned
        assert proc.poll() is None, "the sync finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
    for table in ("event", "campaign", "post", "calendar_source"):
        assert _count(db_url, table) == 0, table
    # The database is whole and unlocked: a smaller calendar syncs at once.
    path.write_bytes(make_ics(*[vevent(f"s{i}@example.org", days(5 + i)) for i in range(3)]))
    out = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert _count(db_url, "event") == 3
