"""Shared by the click-tracking benchmarks: a tracked link to click on, a throw-away PostgreSQL database."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from service.db import Database
from service.models import CalendarSource, Campaign, Event, Post, utcnow
from service.tracking import add_link, mint_code, resolve, tracked_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class SeededLink:
    """The one link a benchmark clicks on."""

    link_id: int
    code: str
    target: str


def seed_link(db: Database) -> SeededLink:
    """One event with one published post and its tracked link (a migrated, empty database)."""
    now = utcnow()
    with db.session(write=True) as s:
        s.add(CalendarSource(id=1, name="bench", kind="ics_file"))
        s.flush()
        event = Event(
            source_id=1,
            uid="bench@eventpromo",
            title="Living Well with MPN",
            slug="living-well-with-mpn",
            start_at=now + timedelta(days=7),
            end_at=now + timedelta(days=7, hours=1),
            timezone="America/Phoenix",
            rsvp_url="https://example.org/register/mpn-webinar?src=cal#form",
        )
        s.add(event)
        s.flush()
        campaign = Campaign(event_id=event.id or 0, template="webinar")
        s.add(campaign)
        s.flush()
        code = mint_code()
        post = Post(
            campaign_id=campaign.id or 0,
            event_id=event.id or 0,
            step="one-week",
            channel="x",
            network="x",
            scheduled_at=now,
            due_at=now,
            status="published",
            text=f"RSVP {tracked_url('http://127.0.0.1:8000', code)}",
        )
        s.add(post)
        s.flush()
        code = add_link(s, post, code, now)
    with db.session() as s:
        found = resolve(s, code)
    assert found is not None
    return SeededLink(found.link_id, code, found.target)


@contextlib.contextmanager
def postgres_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database on the server of `admin_url`, dropped afterwards; yields its URL."""
    name = f"{prefix}_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
