"""Codes: CSPRNG base62, at least 8 characters, unique on insert (a collision is replaced, text included)."""

from __future__ import annotations

import json
import secrets

import pytest
from sqlmodel import select

from service.models import Post, TrackedLink
from service.runtime import Runtime
from service.tracking import BASE62, CODE_LENGTH, add_link, is_code, mint_code, tracked_url
from tests.conftest import NOW
from tests.helpers import run_cli, session
from tests.tracking.conftest import make_event, make_link


def test_codes_are_long_random_base62(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = {mint_code() for _ in range(20_000)}
    assert len(codes) == 20_000
    assert all(len(c) == CODE_LENGTH >= 8 and set(c) <= set(BASE62) and is_code(c) for c in codes)
    # Every character is drawn from the OS CSPRNG (secrets), not from `random`.
    calls: list[str] = []
    real = secrets.choice

    def spy(seq: str) -> str:
        calls.append(seq)
        return real(seq)

    monkeypatch.setattr(secrets, "choice", spy)
    mint_code()
    assert calls == [BASE62] * CODE_LENGTH


def test_tracked_url() -> None:
    assert tracked_url("https://go.example.org/", "Ab3dE5gH9k") == "https://go.example.org/r/Ab3dE5gH9k"


def test_a_taken_code_is_replaced_in_the_link_and_the_text(rt: Runtime) -> None:
    with rt.db.session(write=True) as s:
        event = make_event(s)
        first = make_link(s, event)
        taken = first.code
        post = Post(
            campaign_id=1,
            event_id=event.id,
            step="day-before",
            channel="x",
            network="x",
            scheduled_at=NOW,
            due_at=NOW,
            text=f"Tomorrow! http://127.0.0.1:8000/r/{taken} #MPN",
            rendered_text=f"Tomorrow! http://127.0.0.1:8000/r/{taken} #MPN",
        )
        s.add(post)
        s.flush()
        stored = add_link(s, post, taken, NOW)  # the same code again: astronomically rare, handled
        assert stored != taken and is_code(stored)
        assert post.text == f"Tomorrow! http://127.0.0.1:8000/r/{stored} #MPN" == post.rendered_text
    with session(rt) as s:
        links = {link.post_id: link.code for link in s.exec(select(TrackedLink))}
    assert links == {first.post_id: taken, post.id: stored}


def test_planning_gives_each_post_its_own_link_in_its_text_and_keeps_it(rt: Runtime) -> None:
    cfg_path = str(rt.cfg.path)
    assert run_cli(cfg_path, "sync", "--now", NOW.isoformat()).exit_code == 0
    posts = json.loads(run_cli(cfg_path, "posts", "list", "--json").stdout)
    with_links = [p for p in posts if p["tracked_url"]]
    assert len(with_links) == len(posts) > 20
    assert len({p["tracked_url"] for p in with_links}) == len(with_links)
    for p in with_links:
        code = p["tracked_url"].rsplit("/", 1)[1]
        assert p["tracked_url"] == f"http://127.0.0.1:8000/r/{code}" and is_code(code)
    events = json.loads(run_cli(cfg_path, "events", "list", "--json").stdout)
    has_rsvp = {e["id"] for e in events if e["rsvp_url"]}
    rsvp = [p for p in with_links if p["status"] == "scheduled" and p["event_id"] in has_rsvp]
    assert rsvp and all(p["tracked_url"] in p["text"] for p in rsvp)
    # Re-planning from a later instant keeps every code.
    later = NOW.replace(day=NOW.day + 1).isoformat()
    assert run_cli(cfg_path, "sync", "--now", later).exit_code == 0
    again = {p["id"]: p["tracked_url"] for p in json.loads(run_cli(cfg_path, "posts", "list", "--json").stdout)}
    assert all(again[p["id"]] == p["tracked_url"] for p in with_links)
