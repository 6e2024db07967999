"""SIGKILL a worker at each point of a publish; after a restart every post is out exactly once or held.

The worker kills itself at a fault point (EVENTPROMO_TEST_FAULT, tests only) the third time it gets
there, in the middle of a batch of five due posts. The restart comes 30 seconds later (the lease has
not run out: the dead process is recognised on this machine).
"""

from __future__ import annotations

import json
import signal
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from service import faults
from service.db import Database
from service.models import Post, PostAttempt, PostStatus
from service.runtime import Runtime
from tests.conftest import ConfigFactory
from tests.fakes.webhook import FakeReceiver
from tests.fakes.x_api import ENV, FakeX
from tests.publishing import factory, procs
from tests.publishing.conftest import T0

pytestmark = pytest.mark.slow

KINDS = ["outbox", "x", "webhook", "webhook-idempotent"]


@contextmanager
def destination(kind: str, rt_dir: Any) -> Iterator[tuple[str, Callable[[Post], int]]]:
    """The channel config for `kind` and a counter of deliveries per post."""
    if kind == "outbox":
        path = rt_dir / "instance" / "outbox.jsonl"

        def count_outbox(post: Post) -> int:
            if not path.exists():
                return 0
            return sum(1 for line in path.read_text().splitlines() if json.loads(line)["post_id"] == post.id)

        yield '[[channels]]\nname = "x"\nkind = "outbox"\n', count_outbox
        return
    if kind == "x":
        with FakeX() as fake:
            yield (
                textwrap.dedent(f"""
                [[channels]]
                name = "x"
                kind = "x"
                api_base = "{fake.url}"
                timeout_seconds = 2
                consumer_key = "env:X_CONSUMER_KEY"
                consumer_secret = "env:X_CONSUMER_SECRET"
                access_token = "env:X_ACCESS_TOKEN"
                access_token_secret = "env:X_ACCESS_TOKEN_SECRET"
            """),
                lambda post: fake.texts().count(post.text),
            )
        return
    with FakeReceiver(dedupe=kind.endswith("idempotent")) as receiver:
        idempotent = "true" if kind.endswith("idempotent") else "false"
        yield (
            (
                f'[[channels]]\nname = "x"\nkind = "webhook"\nnetwork = "x"\nurl = "{receiver.url}"\n'
                f"idempotent = {idempotent}\ntimeout_seconds = 2\n"
            ),
            lambda post: receiver.count(post.id or 0),
        )


@pytest.mark.parametrize("point", faults.POINTS)
@pytest.mark.parametrize("kind", KINDS)
def test_a_killed_worker_loses_no_post_and_posts_none_twice(
    make_config: ConfigFactory, tmp_path: Any, kind: str, point: str
) -> None:
    with destination(kind, tmp_path) as (channels, delivered):
        cfg = make_config(calendars="", channels=channels, environ=ENV)
        rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
        ids = factory.due_posts(rt, 5, T0)

        crashed = procs.run(
            cfg.path, "worker", "--once", "--now", T0.isoformat(), extra_env={**ENV, faults.ENV: f"{point}:3"}
        )
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        with rt.db.session() as s:
            after_crash = {p.id: p.status for p in s.exec(select(Post))}
        assert list(after_crash.values()).count(PostStatus.PUBLISHED) == (3 if point == "after_commit" else 2)

        restarted = procs.run(
            cfg.path, "worker", "--once", "--now", (T0 + timedelta(seconds=30)).isoformat(), "--json", extra_env=ENV
        )
        assert restarted.returncode == 0, restarted.stderr
        tick = json.loads(restarted.stdout)

        with rt.db.session() as s:
            posts = {p.id: p for p in s.exec(select(Post))}
            attempts = s.exec(select(PostAttempt)).all()
        for pid in ids:
            post = posts[pid]
            n = delivered(post)
            assert n <= 1, f"post {pid} went out {n} times"
            if post.status == PostStatus.PUBLISHED:
                assert n == 1, f"post {pid} is marked published but is not there"
            else:
                # Only a receiver that cannot be asked leaves a post for a person.
                assert kind == "webhook" and point in ("before_request", "after_request")
                assert (post.status, post.hold_kind) == (PostStatus.HELD, "unknown_outcome")
        assert all(a.finished_at is not None for a in attempts), "an attempt was left open"

        held = [p for p in posts.values() if p.status == PostStatus.HELD]
        if kind == "webhook" and point in ("before_request", "after_request"):
            assert len(held) == 1 and tick["held"] == 1
        else:
            assert [posts[i].status for i in ids] == [PostStatus.PUBLISHED] * 5
        if point == "after_claim" or point == "after_commit":
            assert tick["released"] == (3 if point == "after_claim" else 2)  # never sent: no reconcile needed
        rt.db.dispose()
