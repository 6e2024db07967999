"""Login, logout, safe `next`, public routes, security headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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


def test_login_attempts_are_limited_across_processes(rt, make_config) -> None:  # type: ignore[no-untyped-def]
    """Failures live in the database: a second app (another gunicorn process) sees the same count."""
    from service.db import Database
    from service.runtime import Runtime
    from service.web import create_app

    add_user(rt)
    other_rt = Runtime(cfg=rt.cfg, db=Database(rt.cfg.database_url))
    apps = [create_app(runtime=rt), create_app(runtime=other_rt)]
    clients = [a.test_client() for a in apps]
    for i in range(5):
        resp = login(clients[i % 2], password="wrong password!")
        assert resp.status_code == 200 and "Wrong email or password" in resp.get_data(as_text=True)
    # Locked now, even with the right password, from either process.
    for c in clients:
        resp = login(c)
        assert resp.status_code == 429
        assert "Too many failed logins" in resp.get_data(as_text=True)
    other_rt.db.dispose()


def test_lockout_ends_after_the_window_and_success_clears_it(rt, client) -> None:  # type: ignore[no-untyped-def]
    import time_machine

    from service.auth import FAILURE_WINDOW

    add_user(rt)
    for _ in range(4):
        login(client, password="wrong password!")
    assert login(client).status_code == 302  # 4 failures: still allowed; success forgets them
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    for _ in range(5):
        login(client, password="wrong password!")
    assert login(client).status_code == 429
    with time_machine.travel(datetime.now(UTC) + FAILURE_WINDOW + timedelta(minutes=1)):
        assert login(client).status_code == 302


def test_unknown_email_counts_too(rt, client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(5):
        login(client, email="nobody@example.org", password="whatever pw")
    resp = login(client, email="nobody@example.org", password="whatever pw")
    assert resp.status_code == 429


def test_session_cookie_secure_when_base_url_is_https(make_config) -> None:  # type: ignore[no-untyped-def]
    from service.db import Database
    from service.runtime import Runtime
    from service.web import create_app

    cfg = make_config(base_url="https://events.example.org")
    rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
    app = create_app(runtime=rt)
    cookie = app.test_client().get("/login").headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    rt.db.dispose()


def test_roles_from_the_command_line(rt) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import run_cli

    res = run_cli(
        str(rt.cfg.path), "user", "add", "v@example.org", "--role", "viewer", "--password-stdin", input="pw123456789\n"
    )
    assert res.exit_code == 0, res.output
    res = run_cli(str(rt.cfg.path), "user", "add", "v@example.org", "--password-stdin", input="pw123456789\n")
    assert res.exit_code == 1 and "already exists" in res.stderr
