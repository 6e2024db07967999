"""Alembic migrations create exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from service import migrate
from service.db import Database

PG_URL = os.environ.get("EVENTPROMO_TEST_DATABASE_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    request.getfixturevalue("pg_database")  # skips or fails like every PostgreSQL test
    assert PG_URL
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"epmig_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_matches_models(empty_url: str) -> None:
    db = Database(empty_url)
    migrate.upgrade(db.engine)
    assert migrate.current(db.engine) == migrate.head()
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
    # Running it again is a no-op.
    migrate.upgrade(db.engine)
    names = set(inspect(db.engine).get_table_names())
    assert {"event", "post", "tracked_link", "click", "user", "calendar_source", "campaign"} <= names
    db.dispose()


def test_hot_query_indexes_exist(empty_url: str) -> None:
    db = Database(empty_url)
    migrate.upgrade(db.engine)
    insp = inspect(db.engine)
    post_indexes = {tuple(ix["column_names"]) for ix in insp.get_indexes("post")}
    assert ("status", "due_at") in post_indexes
    link_unique = {tuple(u["column_names"]) for u in insp.get_unique_constraints("tracked_link")}
    link_unique |= {tuple(ix["column_names"]) for ix in insp.get_indexes("tracked_link") if ix.get("unique")}
    assert ("code",) in link_unique
    db.dispose()


def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    db.dispose()
