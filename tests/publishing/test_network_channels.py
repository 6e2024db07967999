"""The worker publishes through a network channel end to end: config -> `worker --once` -> the fake network."""

from __future__ import annotations

import json
import textwrap

import pytest

from service.db import Database
from service.models import PostStatus
from service.runtime import Runtime
from tests.conftest import ConfigFactory
from tests.fakes.mastodon import TOKEN, FakeMastodon
from tests.helpers import run_cli
from tests.publishing import factory
from tests.publishing.conftest import T0

MASTODON = """
[[channels]]
name = "masto"
kind = "mastodon"
api_base = "{url}"
timeout_seconds = 2
access_token = "env:MASTODON_TOKEN"
"""


def test_worker_once_publishes_to_mastodon_and_records_the_status(
    make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    with FakeMastodon() as fake:
        cfg = make_config(
            calendars="", channels=textwrap.dedent(MASTODON.format(url=fake.url)), environ={"MASTODON_TOKEN": TOKEN}
        )
        rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
        try:
            ids = factory.due_posts(rt, 2, T0, channel="masto", network="mastodon")
            fake.fail_next("timeout_after_create")  # the first answer is lost: reconciled, not posted twice
            res = run_cli(str(cfg.path), "worker", "--once", "--now", T0.isoformat(), "--json")
            assert res.exit_code == 0, res.output
            rows = [factory.get(rt, i) for i in ids]
            assert [r.status for r in rows] == [PostStatus.PUBLISHED, PostStatus.PUBLISHED]
            assert sorted(fake.texts()) == sorted(r.text for r in rows)
            assert {r.external_id for r in rows} == {s["id"] for s in fake.posts}
            listed = json.loads(run_cli(str(cfg.path), "posts", "list", "--json").stdout)
            assert {p["channel"] for p in listed} == {"masto"}
        finally:
            rt.db.dispose()
