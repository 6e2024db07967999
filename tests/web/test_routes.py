"""Every route and who may use it: anonymous -> login, viewer reads, coordinator acts, admin manages users."""

from __future__ import annotations

from typing import Any

import pytest

from service.models import PostStatus
from tests.helpers import csrf_token
from tests.web.conftest import get_post, posts_of, set_post, webinar

READ_PAGES = [
    "/",
    "/?when=past",
    "/?status=attention&source=oncology-events&page=2",
    "/status",
    "/history",
    "/history?page=2",
    "/templates",
    "/templates/webinar",
    "/events/{event}",
    "/events/{event}/clicks",
]


def _fill(path: str, rt: Any) -> str:
    return path.format(event=webinar(rt).id)


def _post_routes(rt: Any) -> list[tuple[str, dict[str, str]]]:
    ev = webinar(rt)
    post = next(p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED)
    return [
        (f"/posts/{post.id}/text", {"text": "Hello #MPN"}),
        (f"/posts/{post.id}/revert", {}),
        (f"/posts/{post.id}/move", {"when": "2026-12-04T10:00"}),
        (f"/posts/{post.id}/skip", {}),
        (f"/posts/{post.id}/unskip", {}),
        (f"/posts/{post.id}/publish-now", {}),
        (f"/posts/{post.id}/approve", {}),
        (f"/posts/{post.id}/retry", {}),
        (f"/posts/{post.id}/outcome", {"published": "no"}),
        (f"/events/{ev.id}/pause", {}),
        (f"/events/{ev.id}/resume", {}),
        (f"/events/{ev.id}/template", {"template": "webinar"}),
        ("/templates/webinar", {"action": "check", "body": "x"}),
        ("/templates", {"name": "new-set", "base": "webinar"}),
        ("/users", {"email": "x@example.org", "role": "viewer"}),
        ("/users/1", {"role": "viewer"}),
    ]


@pytest.mark.parametrize("path", READ_PAGES)
def test_anonymous_is_sent_to_login(synced: Any, client: Any, path: str) -> None:
    resp = client.get(_fill(path, synced))
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=")


def test_anonymous_cannot_post(synced: Any, client: Any) -> None:
    token = csrf_token(client)
    for path, data in _post_routes(synced):
        resp = client.post(path, data={**data, "csrf_token": token})
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path
    assert client.post("/api/length", json={"text": "x"}, headers={"X-CSRFToken": token}).status_code == 302
    assert client.get("/users").status_code == 302


@pytest.mark.parametrize("path", READ_PAGES)
def test_viewer_reads_every_page(synced: Any, viewer: Any, path: str) -> None:
    resp = viewer.get(_fill(path, synced))
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    # Viewers see no action forms.
    assert "/publish-now" not in html and "Save text" not in html and 'value="save"' not in html


def test_viewer_cannot_act(synced: Any, viewer: Any) -> None:
    rt = synced
    token = csrf_token(viewer, "/")
    before = {p.id: (p.status, p.text, p.scheduled_at) for p in posts_of(rt, webinar(rt).id)}
    for path, data in _post_routes(rt):
        resp = viewer.post(path, data={**data, "csrf_token": token})
        assert resp.status_code == 403, path
        assert "can read this page but not change it" in resp.get_data(as_text=True)
    after = {p.id: (p.status, p.text, p.scheduled_at) for p in posts_of(rt, webinar(rt).id)}
    assert before == after
    assert viewer.get("/users").status_code == 403


def test_coordinator_acts_with_a_message(synced: Any, coordinator: Any) -> None:
    rt = synced
    ev = webinar(rt)
    post = next(p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED)
    token = csrf_token(coordinator, f"/events/{ev.id}")
    resp = coordinator.post(f"/posts/{post.id}/skip", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/events/{ev.id}#post-{post.id}"
    page = coordinator.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"Skipped post {post.id} ({post.step} on {post.channel}): it will not go out." in page
    assert get_post(rt, post.id).status == PostStatus.SKIPPED
    # A refusal is a clear message too, and changes nothing.
    resp = coordinator.post(f"/posts/{post.id}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert "is skipped, so it cannot be retried" in resp.get_data(as_text=True)
    assert coordinator.get("/users").status_code == 403


def test_every_action_route_works_for_a_coordinator(synced: Any, coordinator: Any) -> None:
    rt = synced
    ev = webinar(rt)
    post = next(p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED)
    token = csrf_token(coordinator, f"/events/{ev.id}")

    def do(path: str, **data: str) -> str:
        resp = coordinator.post(path, data={**data, "csrf_token": token}, follow_redirects=True)
        assert resp.status_code == 200, (path, resp.status_code)
        return resp.get_data(as_text=True)

    assert "Saved the text" in do(f"/posts/{post.id}/text", text="Hello from a person #MPN")
    assert "template&#39;s text again" in do(f"/posts/{post.id}/revert")
    assert "Moved post" in do(f"/posts/{post.id}/move", when="2026-12-04T10:00")
    assert "goes out now" in do(f"/posts/{post.id}/publish-now")
    set_post(rt, post.id, status=PostStatus.HELD, hold_kind="approval", hold_reason="needs a person")
    assert "Approved post" in do(f"/posts/{post.id}/approve")
    set_post(rt, post.id, status=PostStatus.FAILED, last_error="rejected")
    assert "will be retried" in do(f"/posts/{post.id}/retry")
    set_post(rt, post.id, status=PostStatus.HELD, hold_kind="unknown_outcome")
    assert "Marked post" in do(f"/posts/{post.id}/outcome", published="yes")
    assert "Paused the campaign" in do(f"/events/{ev.id}/pause")
    assert "Resumed the campaign" in do(f"/events/{ev.id}/resume")
    assert "now uses seminar" in do(f"/events/{ev.id}/template", template="seminar")
    other = next(p for p in posts_of(rt, ev.id) if p.status == PostStatus.SCHEDULED)
    do(f"/posts/{other.id}/skip")
    assert "scheduled again" in do(f"/posts/{other.id}/unskip")
    history = coordinator.get("/history").get_data(as_text=True)
    for action in ("edit text", "revert text", "move", "publish now", "approve", "retry", "outcome published"):
        assert f"{action} <small>post {post.id}</small>" in history, action
    assert "webinar → seminar" in history and "coordinator@example.org" in history


def test_unknown_ids_are_404(synced: Any, coordinator: Any) -> None:
    token = csrf_token(coordinator, "/")
    assert coordinator.get("/events/999999").status_code == 404
    assert coordinator.get("/events/999999/clicks").status_code == 404
    assert coordinator.post("/posts/999999/skip", data={"csrf_token": token}).status_code == 404
    assert coordinator.post("/events/999999/pause", data={"csrf_token": token}).status_code == 404
    assert coordinator.get("/templates/no-such-set").status_code == 404
    assert coordinator.get("/templates/..%2Fetc").status_code == 404


def test_forms_without_csrf_are_refused(synced: Any, coordinator: Any) -> None:
    ev = webinar(synced)
    post = posts_of(synced, ev.id)[1]
    resp = coordinator.post(f"/posts/{post.id}/skip")
    assert resp.status_code == 400 and "nothing was changed" in resp.get_data(as_text=True)
    assert get_post(synced, post.id).status == post.status


def test_length_api_is_the_servers_count(synced: Any, viewer: Any) -> None:
    token = csrf_token(viewer, "/")
    body = {"text": "Join https://example.org/" + "a" * 200 + " 日本", "network": "x"}
    data = viewer.post("/api/length", json=body, headers={"X-CSRFToken": token}).get_json()
    assert data == {"network": "x", "length": 5 + 23 + 1 + 4, "limit": 280, "fits": True}
