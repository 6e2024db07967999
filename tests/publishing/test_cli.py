"""The publishing commands: worker --once, posts list/retry/resolve/publish-now, channels list/reconnect."""

from __future__ import annotations

import json
from datetime import timedelta

from service import dispatch
from service.errors import AuthError, OutcomeUnknown, RejectedError
from service.models import PostStatus
from service.runtime import Runtime
from tests.helpers import run_cli
from tests.publishing import factory
from tests.publishing.conftest import T0, Clock, ScriptedChannel


def test_worker_once_publishes_what_is_due_as_of_now_and_reports_it(rt: Runtime) -> None:
    ids = factory.due_posts(rt, 2, T0)
    cfg = str(rt.cfg.path)
    early = run_cli(cfg, "worker", "--once", "--now", (T0 - timedelta(minutes=1)).isoformat(), "--json")
    assert early.exit_code == 0 and json.loads(early.stdout)["published"] == 0
    res = run_cli(cfg, "worker", "--once", "--now", T0.isoformat(), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["published"] == 2
    lines = (rt.cfg.instance_dir / "outbox.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["post_id"] for line in lines) == sorted(ids)
    plain = run_cli(cfg, "worker", "--once", "--now", T0.isoformat())
    assert "published 0, failed 0" in plain.stderr


def test_worker_rejects_now_without_once(rt: Runtime) -> None:
    res = run_cli(str(rt.cfg.path), "worker", "--now", T0.isoformat())
    assert res.exit_code == 2 and "--now goes with --once" in res.output


def test_a_failed_post_shows_its_reason_and_can_be_retried(
    rt: Runtime, scripted: ScriptedChannel, clock: Clock
) -> None:
    (pid,) = factory.due_posts(rt, 1, T0)
    scripted.script.append(RejectedError("x: X refused the post: 403 Forbidden: You are not permitted"))
    dispatch.publish_due(rt, clock)
    cfg = str(rt.cfg.path)
    (row,) = json.loads(run_cli(cfg, "posts", "list", "--status", "failed", "--json").stdout)
    assert row["id"] == pid and row["last_error"] == "x: X refused the post: 403 Forbidden: You are not permitted"
    assert "403 Forbidden" in run_cli(cfg, "posts", "list").stdout
    res = run_cli(cfg, "posts", "retry", str(pid), "--now", (T0 + timedelta(minutes=3)).isoformat())
    assert res.exit_code == 0 and f"post {pid} is scheduled" in res.stderr
    again = run_cli(cfg, "posts", "retry", str(pid))
    assert again.exit_code == 1 and again.stderr.startswith(f"eventpromo: post {pid} is scheduled")
    missing = run_cli(cfg, "posts", "retry", "424242")
    assert missing.exit_code == 1 and "post 424242 does not exist" in missing.stderr


def test_resolve_settles_an_unknown_outcome(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    (pid,) = factory.due_posts(rt, 1, T0)
    scripted.script.append(OutcomeUnknown("x: timed out"))
    scripted.reconcile_script.append(OutcomeUnknown("x: cannot read"))
    dispatch.publish_due(rt, clock)
    cfg = str(rt.cfg.path)
    (row,) = json.loads(run_cli(cfg, "posts", "list", "--status", "held", "--json").stdout)
    assert (row["hold_kind"], row["hold_reason"]) == ("unknown_outcome", "outcome unknown: check the account")
    res = run_cli(cfg, "posts", "resolve", str(pid), "--published", "--url", "https://x.com/c/status/9")
    assert res.exit_code == 0, res.output
    post = factory.get(rt, pid)
    assert (post.status, post.external_url) == (PostStatus.PUBLISHED, "https://x.com/c/status/9")
    assert run_cli(cfg, "posts", "resolve", str(pid)).exit_code == 2  # --published/--not-published is required


def test_channels_list_and_reconnect(rt: Runtime, scripted: ScriptedChannel, clock: Clock) -> None:
    factory.due_posts(rt, 1, T0)
    scripted.script.append(AuthError("x: X no longer accepts the account's token: 401 Unauthorized"))
    dispatch.publish_due(rt, clock)
    cfg = str(rt.cfg.path)
    (state,) = json.loads(run_cli(cfg, "channels", "list", "--json").stdout)
    assert state["name"] == "x" and state["needs_reconnect"] is True and "401" in state["reason"]
    assert state["scheduled"] == 1
    assert "needs reconnecting" in run_cli(cfg, "channels", "list").stdout
    res = run_cli(cfg, "channels", "reconnect", "x")
    assert res.exit_code == 0 and "1 scheduled post(s)" in res.stderr
    (state,) = json.loads(run_cli(cfg, "channels", "list", "--json").stdout)
    assert state["needs_reconnect"] is False
    bad = run_cli(cfg, "channels", "reconnect", "nope")
    assert bad.exit_code == 1 and "no channel named 'nope'" in bad.stderr


def test_publish_now_from_the_command_line(rt: Runtime) -> None:
    from sqlmodel import select

    from service import jobs
    from service.models import Post
    from tests.conftest import NOW

    jobs.sync_calendars(rt, NOW)
    with rt.db.session() as s:
        pid = s.exec(select(Post.id).where(Post.status == PostStatus.SCHEDULED)).first()
    assert pid is not None
    cfg = str(rt.cfg.path)
    res = run_cli(cfg, "posts", "publish-now", str(pid), "--now", NOW.isoformat())
    assert res.exit_code == 0 and f"post {pid} is scheduled" in res.stderr
    assert factory.get(rt, pid).scheduled_at == NOW
    # (Planning may have other posts due then too, such as a catch-up: this one must be among them.)
    assert json.loads(run_cli(cfg, "worker", "--once", "--now", NOW.isoformat(), "--json").stdout)["published"] >= 1
    assert factory.get(rt, pid).status == PostStatus.PUBLISHED
