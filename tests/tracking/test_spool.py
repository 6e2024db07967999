"""The click spool: lines in, rows out exactly once, whoever reads, whenever a writer dies."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from service.models import Click, ClickSpool
from service.runtime import Runtime
from service.tracking import BotDetector, Hit, SuspectWindow
from service.tracking.ingest import Flusher, drain
from service.tracking.spool import SpoolWriter, decode_line, encode_hit
from tests.helpers import session
from tests.tracking.conftest import CHROME, Link

DETECTOR = BotDetector()


def hits(link_id: int, n: int, start: float | None = None, ua: str = CHROME) -> list[Hit]:
    t0 = start or time.time()
    return [Hit(t0 + i * 0.001, link_id, f"{i:032x}", None, ua) for i in range(n)]


def count(rt: Runtime) -> int:
    with session(rt) as s:
        return int(s.exec(select(func.count()).select_from(Click)).one())


def spool(rt: Runtime) -> Path:
    return rt.cfg.instance_dir / "clicks"


def test_lines_round_trip() -> None:
    hit = Hit(1764351000.123456, 42, "ab" * 16, "t.co", "Mozilla/5.0\tweird\nagent", True)
    line = encode_hit(hit)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    back = decode_line(line)
    assert back == Hit(1764351000.123456, 42, "ab" * 16, "t.co", "Mozilla/5.0 weird agent", True)


@pytest.mark.parametrize(
    "line",
    [
        b"",
        b"garbage",
        b"1\t1.0\t5\tkey\t\t-",
        b"2\t1.0\t5\tkey\t\t-\tua",
        b"1\tnan\t5\tkey\t\t-\tua",
        b"1\t1.0\t-5\tkey\t\t-\tua",
        b"1\t1.0\t5\t\t\t-\tua",
        b"1\t1.0\tfive\tkey\t\t-\tua",
    ],
)
def test_unreadable_lines_are_refused(line: bytes) -> None:
    assert decode_line(line) is None


def test_live_file_is_read_but_kept_finished_file_is_deleted(rt: Runtime, link: Link) -> None:
    writer = SpoolWriter(spool(rt))
    for h in hits(link.link_id, 5):
        writer.append(h)
    assert drain(rt.db, spool(rt), 100, DETECTOR) == 5
    assert writer.path is not None and writer.path.exists()  # a writer still holds it
    assert drain(rt.db, spool(rt), 100, DETECTOR) == 0  # nothing read twice
    for h in hits(link.link_id, 3):
        writer.append(h)
    writer.close()
    assert drain(rt.db, spool(rt), 100, DETECTOR) == 3
    assert list(spool(rt).glob("*.clicks")) == []
    assert count(rt) == 8
    with session(rt) as s:
        rows = s.exec(select(ClickSpool)).all()
        assert len(rows) == 1 and rows[0].finished and rows[0].position > 0


def test_a_late_reader_never_reads_a_finished_file_again(rt: Runtime, link: Link) -> None:
    writer = SpoolWriter(spool(rt))
    for h in hits(link.link_id, 4):
        writer.append(h)
    assert writer.path is not None
    name, content = writer.path.name, None
    writer.close()
    content = (spool(rt) / name).read_bytes()
    assert drain(rt.db, spool(rt), 100, DETECTOR) == 4
    # A reader that opened the file before it was deleted sees it again: the finished row stops it.
    (spool(rt) / name).write_bytes(content)
    assert drain(rt.db, spool(rt), 100, DETECTOR) == 0
    assert count(rt) == 4


def test_concurrent_readers_store_each_line_once(rt: Runtime, link: Link) -> None:
    lid = link.link_id
    writers = [SpoolWriter(spool(rt)) for _ in range(3)]
    total = 0
    for i, w in enumerate(writers):
        for h in hits(lid, 200 + i):
            w.append(h)
            total += 1
    writers[0].close()  # one finished, two live
    results: list[int] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            results.append(drain(rt.db, spool(rt), 10_000, DETECTOR))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(results) == total == count(rt)


def test_a_torn_last_line_of_a_dead_writer_is_skipped(
    rt: Runtime, link: Link, caplog: pytest.LogCaptureFixture
) -> None:
    writer = SpoolWriter(spool(rt))
    for h in hits(link.link_id, 3):
        writer.append(h)
    assert writer.path is not None
    path = writer.path
    writer.close()
    with path.open("ab") as fh:
        fh.write(b"1\t17643510")  # the process died in the middle of a line
    assert drain(rt.db, spool(rt), 100, DETECTOR) == 3
    assert not path.exists()
    assert "unreadable line" in caplog.text


def test_clicks_of_deleted_links_are_dropped_not_blocking(rt: Runtime, link: Link) -> None:
    writer = SpoolWriter(spool(rt))
    for h in hits(link.link_id, 2) + hits(999_999, 2):
        writer.append(h)
    writer.close()
    assert drain(rt.db, spool(rt), 100, DETECTOR) == 2
    assert list(spool(rt).glob("*.clicks")) == []


def test_rotation_keeps_every_line(rt: Runtime, link: Link) -> None:
    writer = SpoolWriter(spool(rt), rotate_bytes=2_000)
    for h in hits(link.link_id, 100):
        writer.append(h)
    assert len(list(spool(rt).glob("*.clicks"))) > 3
    assert drain(rt.db, spool(rt), 1000, DETECTOR) == 100
    assert len(list(spool(rt).glob("*.clicks"))) == 1  # only the live one is left
    writer.close()
    drain(rt.db, spool(rt), 1000, DETECTOR)
    assert list(spool(rt).glob("*.clicks")) == [] and count(rt) == 100


def test_fsync_each_click_mode(rt: Runtime, link: Link) -> None:
    writer = SpoolWriter(spool(rt), fsync_each=True)
    for h in hits(link.link_id, 5):
        writer.append(h)
    writer.close()
    assert drain(rt.db, spool(rt), 100, DETECTOR) == 5


def test_clicks_survive_a_killed_writer(rt: Runtime, link: Link) -> None:
    """SIGKILL right after the lines were written: every one of them reaches the database."""
    script = textwrap.dedent(f"""
        import os, signal, time
        from pathlib import Path
        from service.tracking import Hit
        from service.tracking.spool import SpoolWriter
        w = SpoolWriter(Path({str(spool(rt))!r}))
        for i in range(250):
            w.append(Hit(time.time(), {link.link_id}, f"{{i:032x}}", None, "Mozilla/5.0"))
        print(w.path, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert Path(proc.stdout.strip()).exists()
    assert drain(rt.db, spool(rt), 1000, DETECTOR) == 250
    assert count(rt) == 250 and list(spool(rt).glob("*.clicks")) == []


def test_the_flusher_stores_within_its_interval_and_drains_at_stop(rt: Runtime, link: Link) -> None:
    writer = SpoolWriter(spool(rt))
    flusher = Flusher(rt.db, spool(rt), writer, 100, DETECTOR, interval=0.05)
    flusher.start()
    try:
        for h in hits(link.link_id, 10):
            writer.append(h)
        deadline = time.monotonic() + 30
        while count(rt) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert count(rt) == 10
        for h in hits(link.link_id, 5):
            writer.append(h)
    finally:
        flusher.stop()
    assert count(rt) == 15 and list(spool(rt).glob("*.clicks")) == []


def test_one_process_is_elected_to_read(rt: Runtime) -> None:
    first = Flusher(rt.db, spool(rt), SpoolWriter(spool(rt)), 10, DETECTOR, 1.0)
    second = Flusher(rt.db, spool(rt), SpoolWriter(spool(rt)), 10, DETECTOR, 1.0)
    assert first._elected() and not second._elected()
    first.stop()
    assert second._elected()
    second.stop()


def test_suspect_window_rule() -> None:
    window = SuspectWindow(limit=3, remember=True)
    t = 1000.0
    flags = [window.check("v", t + i) for i in range(5)]
    assert flags == [False, False, False, True, True]
    assert window.check("other", t + 5) is False
    assert window.check("v", t + 200) is False  # a minute later the visitor is fresh again


def test_spooled_rows_read_back_like_orm_rows(rt: Runtime, link: Link) -> None:
    """The driver-level insert writes the same text the ORM would: times compare, sort and read back equal."""
    from datetime import UTC, datetime

    from service.tracking.clicks import sqlite_instant

    at = datetime(2026, 3, 8, 9, 59, 59, 250000, tzinfo=UTC)
    assert sqlite_instant(at.timestamp()) == "2026-03-08 09:59:59.250000"
    assert sqlite_instant(datetime(2026, 3, 8, 10, tzinfo=UTC).timestamp()) == "2026-03-08 10:00:00.000000"
    with rt.db.session(write=True) as s:
        s.add(Click(link_id=link.link_id, at=at, visitor_key="orm"))
        from service.tracking import store_hits

        store_hits(s, [Hit(at.timestamp(), link.link_id, "spool", None, CHROME)], SuspectWindow(10), DETECTOR)
    with session(rt) as s:
        rows = s.exec(select(Click).where(Click.at == at).order_by(Click.visitor_key)).all()
        assert [(c.visitor_key, c.at) for c in rows] == [("orm", at), ("spool", at)]
        assert len(s.exec(select(Click).where(Click.at > at)).all()) == 0


def test_record_click_stores_one_row_now(rt: Runtime, link: Link) -> None:
    """The direct API (scripts, tests): one ORM row, same classification, the rate seen through the session."""
    from datetime import UTC, datetime

    from service.tracking import record_click

    at = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)
    with rt.db.session(write=True) as s:
        made = [record_click(s, link.link_id, at, "192.0.2.9", CHROME, "https://t.co/x", 2) for _ in range(3)]
        bot = record_click(s, link.link_id, at, "192.0.2.9", "Twitterbot/1.0", None, 2)
        missing = record_click(s, 999_999, at, "192.0.2.9", CHROME, None, 2)
    assert [c.is_suspect for c in made if c] == [False, False, True]
    assert bot is not None and bot.is_bot and missing is None
    assert made[0] is not None and made[0].referrer_host == "t.co" and made[0].visitor_key == made[1].visitor_key
    assert count(rt) == 4


def test_the_worker_stores_clicks_a_dead_web_process_left_behind(rt: Runtime, link: Link) -> None:
    from service.worker import CLICKS_JOB, Worker

    writer = SpoolWriter(spool(rt))
    for h in hits(link.link_id, 4):
        writer.append(h)
    writer.close()  # the web process is gone and nobody drained its file
    worker = Worker(rt, background=True)
    assert worker.store_clicks() == 4
    assert count(rt) == 4 and list(spool(rt).glob("*.clicks")) == []
    assert worker.store_clicks() == 0  # nothing stored twice
    worker.request_stop()  # the jobs are registered, but none does any work
    worker.start()
    try:
        assert worker.scheduler.get_job(CLICKS_JOB) is not None
    finally:
        worker.stop()
