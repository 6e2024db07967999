"""Small helpers for tests: CSRF-aware login, running the CLI."""

from __future__ import annotations

import re
from typing import Any

from click.testing import CliRunner, Result
from sqlmodel import Session

from service.auth import create_user
from service.cli import cli
from service.runtime import Runtime

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: Any, path: str = "/login") -> str:
    """The CSRF token of the form on `path`."""
    html = client.get(path).get_data(as_text=True)
    m = _CSRF_RE.search(html)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


def add_user(
    rt: Runtime, email: str = "coord@example.org", password: str = "correct horse battery", role: str = "coordinator"
) -> None:
    """Create a login directly in the database."""
    with rt.db.session(write=True) as session:
        create_user(session, email, password, role)


def login(
    client: Any, email: str = "coord@example.org", password: str = "correct horse battery", next_path: str | None = None
) -> Any:
    """Log in through the real form (CSRF included); returns the response."""
    token = csrf_token(client)
    url = "/login" + (f"?next={next_path}" if next_path else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def run_cli(cfg_path: str, *args: str, input: str | None = None) -> Result:
    """Run `eventpromo --config cfg_path ARGS` in-process; stdout and stderr kept apart."""
    runner = CliRunner()
    return runner.invoke(cli, ["--config", cfg_path, *args], input=input, catch_exceptions=False)


def session(rt: Runtime) -> Session:
    """A plain session for assertions (caller closes it)."""
    return Session(rt.db.engine, expire_on_commit=False)
