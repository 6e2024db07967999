"""Several worker processes at once: each post is published exactly once.

PostgreSQL: 4 workers and 2,000 due posts (FOR UPDATE SKIP LOCKED). SQLite is meant for one worker,
but two started by accident must still not double-post (the claim runs inside BEGIN IMMEDIATE).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select

from service.db import Database
from service.models import Post, PostAttempt, PostStatus
from service.runtime import Runtime
from tests.conftest import ConfigFactory
from tests.publishing import factory, procs
from tests.publishing.conftest import T0

pytestmark = pytest.mark.slow


def test_concurrent_workers_publish_each_post_exactly_once(
    make_config: ConfigFactory, db_url: str, tmp_path: Any
) -> None:
    postgres = db_url.startswith("postgresql")
    workers, n = (4, 2000) if postgres else (2, 300)
    cfg = make_config(calendars="", channels='[[channels]]\nname = "x"\nkind = "outbox"\n')
    rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
    ids = factory.due_posts(rt, n, T0)

    running = [procs.start(cfg.path, "worker", "--once", "--now", T0.isoformat(), "--json") for _ in range(workers)]
    ticks = []
    for proc in running:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        ticks.append(json.loads(out))

    lines = (cfg.instance_dir / "outbox.jsonl").read_text().splitlines()
    sent = Counter(json.loads(line)["post_id"] for line in lines)
    assert sorted(sent) == sorted(ids) and set(sent.values()) == {1}
    with rt.db.session() as s:
        assert s.exec(select(func.count()).select_from(Post).where(Post.status == PostStatus.PUBLISHED)).one() == n
        per_post = Counter(s.exec(select(PostAttempt.post_id)).all())
    assert set(per_post.values()) == {1}  # no post was even claimed twice
    assert sum(t["published"] for t in ticks) == n
    if postgres:
        # The work was shared (not one worker doing everything while the others waited).
        assert sum(1 for t in ticks if t["published"] > 0) >= 2
    rt.db.dispose()
