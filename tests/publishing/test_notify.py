"""Failure notices: Slack/Teams-compatible text, never raising, bounded per tick."""

from __future__ import annotations

from service import notify
from tests.fakes.http import FakeServer, Response


def test_notices_are_posted_with_a_text_field_and_capped_per_tick() -> None:
    with FakeServer() as hook:
        hook.route("POST", "/n", lambda _r: Response(200, "ok"))
        notices = [notify.Notice("failed", "x", f"reason {i}", i, "Living Well", "one-week") for i in range(15)]
        assert notify.send(hook.url + "/n", notices) == notify.MAX_PER_TICK
        bodies = [r.json() for r in hook.received("POST", "/n")]
    assert bodies[0]["text"] == "eventpromo: A post failed on x (post 0, Living Well: one-week): reason 0"
    assert bodies[-1]["kind"] == "more" and "6 more posts need a look" in bodies[-1]["text"]


def test_a_receiver_that_is_down_is_logged_not_raised() -> None:
    with FakeServer() as hook:
        hook.route("POST", "/n", lambda _r: Response(500, "down"))
        assert notify.send(hook.url + "/n", [notify.Notice("needs_reconnect", "x", "401")]) == 0
    assert notify.send("http://127.0.0.1:9/n", [notify.Notice("failed", "x", "r")]) == 0
    assert notify.send(None, [notify.Notice("failed", "x", "r")]) == 0
