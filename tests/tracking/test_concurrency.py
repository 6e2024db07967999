"""Exact counts under concurrent requests against real servers: werkzeug's threaded server in-process, and
gunicorn with two worker processes that are then killed with SIGKILL."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from service.db import Database
from service.runtime import Runtime
from service.tracking import flush_pending, post_stats
from service.web import create_app
from tests.helpers import session
from tests.tracking.conftest import CHROME, make_event, make_link

ROOT = Path(__file__).resolve().parents[2]
THREADS, PER_THREAD = 8, 40


def request(port: int, method: str, path: str, ua: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, headers={"User-Agent": ua})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def plan(thread: int) -> list[tuple[str, str]]:
    """One thread's requests: every 10th a HEAD, every 5th (+1) from curl, the rest a person's browser."""
    out = []
    for i in range(PER_THREAD):
        if i % 10 == 0:
            out.append(("HEAD", f"{CHROME} thread{thread}"))
        elif i % 5 == 1:
            out.append(("GET", "curl/8.5.0"))
        else:
            out.append(("GET", f"{CHROME} thread{thread}"))
    return out


def fire(port: int, path: str) -> tuple[int, int]:
    """Run every thread's plan at once; returns (people GETs answered 302, bot GETs answered 302)."""

    def run(thread: int) -> tuple[int, int]:
        people = bots = 0
        for method, ua in plan(thread):
            status = request(port, method, path, ua)
            assert status == 302
            if method == "GET":
                bots, people = (bots + 1, people) if ua.startswith("curl") else (bots, people + 1)
        return people, bots

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(run, range(THREADS)))
    return sum(r[0] for r in results), sum(r[1] for r in results)


@pytest.fixture
def served(make_config: Any) -> Iterator[Any]:
    """Serve the app (not TESTING: the flusher runs) on werkzeug's threaded server; yields a starter."""
    servers: list[Any] = []

    def start(extra: str) -> tuple[Any, int]:
        cfg = make_config(extra=extra)
        rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
        app = create_app(runtime=rt)
        srv = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append((srv, app, rt))
        return app, srv.server_port

    yield start
    for srv, app, rt in servers:
        srv.shutdown()
        app.extensions["eventpromo_tracker"].close()
        rt.db.dispose()


@pytest.mark.parametrize("recorder", ["spool", "direct"])
def test_exact_counts_under_concurrent_requests(served: Any, recorder: str) -> None:
    app, port = served(f'[tracking]\nrecorder = "{recorder}"\nsuspect_clicks_per_minute = 100000\n')
    rt: Runtime = app.extensions["eventpromo"]
    with rt.db.session(write=True) as s:
        made = make_link(s, make_event(s))
    people, bots = fire(port, made.path)
    app.extensions["eventpromo_tracker"].close()  # graceful stop: the flusher stores what is left
    with session(rt) as s:
        row = next(r for r in post_stats(s) if r.post_id == made.post_id)
    assert (row.clicks, row.unique_clicks, row.bot_clicks, row.suspect_clicks) == (people, THREADS, bots, 0)
    assert people + bots == THREADS * PER_THREAD - THREADS * (PER_THREAD // 10)


def wait_until_serving(port: int, log: Path) -> None:
    """Wait (up to a minute) for GET /healthz to answer 200."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if request(port, "GET", "/healthz", "probe") == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"the server did not start: {log.read_text()}"
        time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(p) for p in text.split()]


@pytest.mark.slow
def test_gunicorn_workers_killed_after_answering_lose_no_click(make_config: Any) -> None:
    """Two gunicorn workers answer concurrent clicks, then die by SIGKILL: every click answered is stored."""
    cfg = make_config(extra="[tracking]\nsuspect_clicks_per_minute = 100000\nflush_seconds = 5\n")
    db = Database(cfg.database_url)
    with db.session(write=True) as s:
        made = make_link(s, make_event(s))
    port = _free_port()
    env = {**os.environ, "EVENTPROMO_CONFIG": str(cfg.path)}
    cfg.instance_dir.mkdir(parents=True, exist_ok=True)
    log = (cfg.instance_dir / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "service.web:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        wait_until_serving(port, cfg.instance_dir / "gunicorn.log")
        people, bots = fire(port, made.path)
        workers = _children(proc.pid)
        assert len(workers) == 2
        for pid in [*workers, proc.pid]:
            os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert list((cfg.instance_dir / "clicks").glob("*.clicks")), "the killed workers left their spool"
        stored = flush_pending(cfg, db)
        with session(Runtime(cfg=cfg, db=db)) as s:
            row = next(r for r in post_stats(s) if r.post_id == made.post_id)
        assert row.clicks + row.bot_clicks + row.suspect_clicks == people + bots
        assert (row.clicks, row.bot_clicks, row.unique_clicks) == (people, bots, THREADS)
        assert stored <= people + bots
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        log.close()
        db.dispose()


@pytest.mark.slow
def test_serve_access_log_keeps_no_address_or_referrer(make_config: Any) -> None:
    """`eventpromo serve` logs each request without the client's address or referrer (from 127.0.0.2 here)."""
    cfg = make_config()
    db = Database(cfg.database_url)
    with db.session(write=True) as s:
        made = make_link(s, make_event(s))
    port = _free_port()
    cfg.instance_dir.mkdir(parents=True, exist_ok=True)
    out_path = cfg.instance_dir / "serve.log"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from service.cli import main; main()",
                "--config",
                str(cfg.path),
                "serve",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_serving(port, out_path)
            with socket.create_connection(("127.0.0.1", port), timeout=30, source_address=("127.0.0.2", 0)) as sock:
                sock.sendall(
                    f"GET {made.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {CHROME}\r\n"
                    "Referer: https://t.co/private-path\r\nConnection: close\r\n\r\n".encode()
                )
                assert sock.recv(65536).startswith(b"HTTP/1.1 302")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    log = out_path.read_text()
    assert f'"GET {made.path} HTTP/1.1" 302' in log
    assert "127.0.0.2" not in log and "t.co" not in log and "private-path" not in log
    flush_pending(cfg, db)
    with session(Runtime(cfg=cfg, db=db)) as s:
        row = next(r for r in post_stats(s) if r.post_id == made.post_id)
    assert (row.clicks, row.unique_clicks) == (1, 1)
    db.dispose()
