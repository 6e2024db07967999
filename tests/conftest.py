"""Shared fixtures: every test that touches the database runs on SQLite and, when configured, PostgreSQL.

- `db_url`: a fresh, empty, migrated-by-metadata database per test (SQLite file; PostgreSQL: one
  database per test session, tables truncated after each test).
- `make_config(...)`: writes an eventpromo.toml for the test and loads it.
- `rt`: a Runtime on the default test config; `app` / `client`: the Flask app on it.
"""

from __future__ import annotations

import os
import secrets
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from service import config as config_mod
from service import models  # noqa: F401  (registers the tables)
from service.db import Database
from service.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent
BUNDLED_ICS = ROOT / "calendars" / "oncology-events.ics"
TEMPLATES = ROOT / "campaign_templates"
DATA = Path(__file__).resolve().parent / "data"
PG_URL = os.environ.get("EVENTPROMO_TEST_DATABASE_URL")
REQUIRE_PG = os.environ.get("REQUIRE_POSTGRES") == "1"
# A fixed instant for tests: Saturday 2026-11-28 12:00 in Phoenix.
NOW = datetime(2026, 11, 28, 19, 0, tzinfo=UTC)


def _pg_unavailable(reason: str) -> None:
    if REQUIRE_PG:
        pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A database of its own for this test session on the configured server; dropped at the end."""
    if not PG_URL:
        _pg_unavailable("EVENTPROMO_TEST_DATABASE_URL is not set")
    assert PG_URL is not None
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"eptest_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # unreachable server, wrong credentials
        admin.dispose()
        _pg_unavailable(f"cannot create a test database at {PG_URL}: {type(exc).__name__}: {exc}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database with every table, on each dialect."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        db = Database(url)
        SQLModel.metadata.create_all(db.engine)
        db.dispose()
        yield url
        return
    url = request.getfixturevalue("pg_database")
    try:
        yield url
    finally:
        _truncate(url)


ConfigFactory = Callable[..., config_mod.Config]


@pytest.fixture
def make_config(tmp_path: Path, db_url: str) -> ConfigFactory:
    """Write an eventpromo.toml into tmp_path (bundled templates, outbox channel) and load it."""

    def factory(
        ics: str | Path | None = BUNDLED_ICS,
        extra: str = "",
        channels: str | None = None,
        calendars: str | None = None,
        environ: dict[str, str] | None = None,
        **top: Any,
    ) -> config_mod.Config:
        settings = {
            "database_url": db_url,
            "base_url": "http://127.0.0.1:8000",
            "timezone": "America/Phoenix",
            "templates": str(TEMPLATES),
            "horizon_days": 120,
            "instance_dir": str(tmp_path / "instance"),
            "secret_key": "test-secret-key",
        }
        settings.update(top)
        lines = [f"{k} = {_toml(v)}" for k, v in settings.items()]
        if calendars is None:
            calendars = textwrap.dedent(f"""
                [[calendars]]
                name = "oncology-events"
                ics = {_toml(str(ics))}
                template = "webinar"
                channels = ["x"]
            """)
        if channels is None:
            channels = textwrap.dedent("""
                [[channels]]
                name = "x"
                kind = "outbox"
                network = "x"
            """)
        body = "\n".join(lines) + "\n" + calendars + "\n" + channels + "\n" + textwrap.dedent(extra)
        path = tmp_path / "eventpromo.toml"
        path.write_text(body, encoding="utf-8")
        return config_mod.load(path, environ=environ or {})

    return factory


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def cfg(make_config: ConfigFactory) -> config_mod.Config:
    """The default test config: the bundled calendar, the bundled templates, an outbox channel `x`."""
    return make_config()


@pytest.fixture
def rt(cfg: config_mod.Config) -> Iterator[Runtime]:
    """A runtime on the default test config."""
    runtime = Runtime(cfg=cfg, db=Database(cfg.database_url))
    yield runtime
    runtime.db.dispose()


@pytest.fixture
def app(rt: Runtime) -> Any:
    """The Flask app on the test runtime (no worker), with CSRF checks on as in production."""
    from service.web import create_app

    flask_app = create_app(runtime=rt)
    flask_app.config.update(TESTING=True)
    return flask_app


@pytest.fixture
def client(app: Any) -> Any:
    """A Flask test client."""
    return app.test_client()
