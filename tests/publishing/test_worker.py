"""The long-running worker: wakes at the next due post, notices new posts, stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from service.db import Database
from service.models import PostStatus, utcnow
from service.runtime import Runtime
from service.worker import Worker
from tests.conftest import ConfigFactory
from tests.fakes.x_api import ENV, FakeX
from tests.publishing import factory, procs


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll `check` until it is true (a deadline, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.fixture
def quiet_rt(make_config: ConfigFactory) -> Iterator[Runtime]:
    """No calendars (nothing but the test's posts), a long poll so only due times wake the worker."""
    cfg = make_config(calendars="", extra="[publishing]\npoll_seconds = 300\n")
    rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
    yield rt
    rt.db.dispose()


def test_the_publish_job_sleeps_exactly_until_the_next_due_post(quiet_rt: Runtime) -> None:
    due = (utcnow() + timedelta(seconds=40)).replace(microsecond=0)
    factory.due_posts(quiet_rt, 1, due)
    worker = Worker(quiet_rt, background=True)
    worker.start()
    try:
        assert wait_for(lambda: worker.next_publish_run() is not None and worker.next_publish_run() == due)
    finally:
        worker.stop()


def test_a_post_due_now_goes_out_and_one_made_elsewhere_is_noticed(make_config: ConfigFactory) -> None:
    cfg = make_config(calendars="", extra="[publishing]\npoll_seconds = 1\n")
    rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
    worker = Worker(rt, background=True)
    worker.start()
    try:
        (first,) = factory.due_posts(rt, 1, utcnow() + timedelta(seconds=1))
        assert wait_for(lambda: factory.get(rt, first).status == PostStatus.PUBLISHED)
        post = factory.get(rt, first)
        assert post.published_at is not None and post.published_at >= post.scheduled_at
        # Made by "another process" (the web page) while the worker sleeps: seen within poll_seconds.
        (second,) = factory.due_posts(rt, 1, utcnow())
        assert wait_for(lambda: factory.get(rt, second).status == PostStatus.PUBLISHED)
    finally:
        worker.stop()
        rt.db.dispose()


def test_wake_runs_the_publisher_at_once_instead_of_after_the_poll(quiet_rt: Runtime) -> None:
    worker = Worker(quiet_rt, background=True)
    worker.start()
    try:
        assert wait_for(lambda: worker.ticks >= 1)
        later = worker.next_publish_run()
        assert later is not None and later > utcnow() + timedelta(seconds=200)  # nothing due: the long poll
        worker.wake()
        assert wait_for(lambda: worker.ticks >= 2)
    finally:
        worker.stop()


X_CHANNEL = """
[[channels]]
name = "x"
kind = "x"
api_base = "{url}"
consumer_key = "env:X_CONSUMER_KEY"
consumer_secret = "env:X_CONSUMER_SECRET"
access_token = "env:X_ACCESS_TOKEN"
access_token_secret = "env:X_ACCESS_TOKEN_SECRET"
"""


@pytest.mark.slow
def test_sigterm_finishes_the_post_being_sent_and_releases_the_rest(make_config: ConfigFactory) -> None:
    with FakeX(latency=1.5) as fake:
        cfg = make_config(calendars="", channels=textwrap.dedent(X_CHANNEL.format(url=fake.url)), environ=ENV)
        rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
        ids = factory.due_posts(rt, 4, utcnow())
        proc = procs.start(cfg.path, "worker", extra_env=ENV)
        try:
            assert wait_for(lambda: len(fake.server.received("POST", "/2/tweets")) >= 1, timeout=60)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert "worker stopped" in err
        rows = [factory.get(rt, i) for i in ids]
        statuses = [r.status for r in rows]
        assert PostStatus.PUBLISHING not in statuses
        assert statuses[0] == PostStatus.PUBLISHED  # the one in flight was finished, not abandoned
        assert PostStatus.SCHEDULED in statuses  # the rest were given back ...
        assert all(r.attempts == 0 for r in rows if r.status == PostStatus.SCHEDULED)  # ... without using an attempt
        assert len(fake.texts()) == statuses.count(PostStatus.PUBLISHED)
        rt.db.dispose()


@pytest.mark.slow
def test_serve_runs_the_worker_and_stops_cleanly(make_config: ConfigFactory, unused_port: int) -> None:
    cfg = make_config(calendars="")
    rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
    (pid,) = factory.due_posts(rt, 1, utcnow())
    proc = procs.start(cfg.path, "serve", "--port", str(unused_port))
    try:
        assert wait_for(lambda: factory.get(rt, pid).status == PostStatus.PUBLISHED, timeout=60)
        health: dict[str, Any] = requests.get(f"http://127.0.0.1:{unused_port}/healthz", timeout=5).json()
        assert health["database"] is True and health["worker_last_tick"] is not None
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    rt.db.dispose()


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
