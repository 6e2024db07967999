"""Login, logout, safe `next`, public routes, security headers."""

from __future__ import annotations

import pytest

from tests.helpers import add_user, csrf_token, login


def test_pages_need_login_but_public_routes_do_not(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/r/unknown1234").status_code == 404


def test_login_and_logout(rt, client) -> None:  # type: ignore[no-untyped-def]
    add_user(rt)
    assert login(client, password="wrong password!").status_code == 200
    resp = login(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_login_form_requires_csrf(rt, client) -> None:  # type: ignore[no-untyped-def]
    add_user(rt)
    resp = client.post("/login", data={"email": "coord@example.org", "password": "correct horse battery"})
    assert resp.status_code == 400


@pytest.mark.parametrize(
    ("next_path", "expected"),
    [
        ("/posts?x=1", "/posts?x=1"),
        ("https://evil.example.com/", "/"),
        ("//evil.example.com/", "/"),
        ("/\\evil.example.com", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_only_to_local_paths(rt, client, next_path: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    add_user(rt)
    resp = login(client, next_path=next_path)
    assert resp.status_code == 302
    assert resp.headers["Location"] == expected


def test_security_headers(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
