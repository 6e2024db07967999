"""The worker publishes through a network channel end to end: config -> `worker --once` -> the fake network."""

from __future__ import annotations

import json
import textwrap

import pytest

from service.db import Database
from service.models import PostStatus
from service.runtime import Runtime
from tests.conftest import ConfigFactory
from tests.fakes.instagram import ACCOUNT_ID, FakeInstagram
from tests.fakes.instagram import TOKEN as INSTAGRAM_TOKEN
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


INSTAGRAM = """
[[channels]]
name = "insta"
kind = "instagram"
api_base = "{url}"
account_id = "{account}"
timeout_seconds = 2
access_token = "env:INSTAGRAM_TOKEN"
"""


def test_worker_once_publishes_to_instagram_and_fails_a_post_without_an_image(
    make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTAGRAM_TOKEN", INSTAGRAM_TOKEN)
    with FakeInstagram() as fake:
        channels = textwrap.dedent(INSTAGRAM.format(url=fake.url, account=ACCOUNT_ID))
        cfg = make_config(calendars="", channels=channels, environ={"INSTAGRAM_TOKEN": INSTAGRAM_TOKEN})
        rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
        try:
            image = "https://example.org/banner.png"
            ids = factory.due_posts(rt, 2, T0, channel="insta", network="instagram", image_url=image)
            (bare,) = factory.due_posts(rt, 1, T0, channel="insta", network="instagram")
            fake.fail_next("slow")  # the first container is still processing on the first polls
            res = run_cli(str(cfg.path), "worker", "--once", "--now", T0.isoformat(), "--json")
            assert res.exit_code == 0, res.output
            rows = [factory.get(rt, i) for i in ids]
            assert [r.status for r in rows] == [PostStatus.PUBLISHED, PostStatus.PUBLISHED]
            assert sorted(fake.texts()) == sorted(r.text for r in rows)
            assert {r.external_id for r in rows} == {m["id"] for m in fake.posts}
            assert {m["image_url"] for m in fake.posts} == {image}
            failed = factory.get(rt, bare)
            assert failed.status == PostStatus.FAILED
            assert failed.last_error is not None and "Instagram needs an image" in failed.last_error
            assert fake.server.received("POST", f"/v21.0/{ACCOUNT_ID}/media") != []
        finally:
            rt.db.dispose()


def test_a_lost_instagram_answer_is_reconciled_not_posted_twice(
    make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSTAGRAM_TOKEN", INSTAGRAM_TOKEN)
    with FakeInstagram() as fake:
        channels = textwrap.dedent(INSTAGRAM.format(url=fake.url, account=ACCOUNT_ID))
        cfg = make_config(calendars="", channels=channels, environ={"INSTAGRAM_TOKEN": INSTAGRAM_TOKEN})
        rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
        try:
            (pid,) = factory.due_posts(rt, 1, T0, channel="insta", network="instagram", image_url="https://e.org/a.png")
            fake.fail_next("timeout_after_create")
            res = run_cli(str(cfg.path), "worker", "--once", "--now", T0.isoformat(), "--json")
            assert res.exit_code == 0, res.output
            row = factory.get(rt, pid)
            assert row.status == PostStatus.PUBLISHED
            assert len(fake.posts) == 1 and row.external_id == fake.posts[0]["id"]
        finally:
            rt.db.dispose()
