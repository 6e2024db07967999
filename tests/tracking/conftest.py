"""Builders for tracking tests: an event with posts and tracked links, written straight to the database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from service.models import CalendarSource, Campaign, Event, Post, PostStatus, TrackedLink
from service.runtime import Runtime
from service.tracking import add_link, mint_code, tracked_url
from tests.conftest import NOW

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"


@dataclass
class Link:
    """One post's tracked link as a test needs it."""

    post_id: int
    event_id: int
    link_id: int
    code: str
    step: str
    channel: str

    @property
    def path(self) -> str:
        """The redirect's path, /r/<code>."""
        return f"/r/{self.code}"


def make_event(session: Session, *, title: str = "MPN webinar", slug: str = "mpn-webinar", **fields: Any) -> Event:
    """An event (and its calendar source and campaign) with an RSVP link unless told otherwise."""
    source = session.get(CalendarSource, 1) or CalendarSource(id=1, name="test-source", kind="ics_file")
    session.add(source)
    session.flush()
    start = fields.pop("start_at", NOW + timedelta(days=7))
    event = Event(
        source_id=1,
        uid=f"{slug}@test",
        title=title,
        slug=slug,
        start_at=start,
        end_at=start + timedelta(hours=1),
        timezone=fields.pop("timezone", "America/Phoenix"),
        rsvp_url=fields.pop("rsvp_url", "https://example.org/register/123"),
        **fields,
    )
    session.add(event)
    session.flush()
    session.add(Campaign(event_id=event.id, template="webinar"))
    session.flush()
    return event


def make_link(
    session: Session,
    event: Event,
    step: str = "one-week",
    channel: str = "x",
    network: str = "x",
    status: str = PostStatus.PUBLISHED,
    link_kind: str = "rsvp",
    scheduled_at: datetime | None = None,
    base_url: str = "http://127.0.0.1:8000",
) -> Link:
    """A post of `event` with its tracked link; the text carries the link as planning writes it."""
    campaign_id = session.exec(select(Campaign.id).where(Campaign.event_id == event.id)).one()
    code = mint_code()
    when = scheduled_at or NOW
    post = Post(
        campaign_id=campaign_id,
        event_id=event.id,
        step=step,
        channel=channel,
        network=network,
        scheduled_at=when,
        due_at=when,
        status=status,
        link_kind=link_kind,
        text=f"Join us {tracked_url(base_url, code)}",
        rendered_text=f"Join us {tracked_url(base_url, code)}",
    )
    session.add(post)
    session.flush()
    code = add_link(session, post, code, NOW)
    link_id = session.exec(select(TrackedLink.id).where(TrackedLink.code == code)).one()
    assert post.id is not None and event.id is not None and link_id is not None
    return Link(post.id, event.id, link_id, code, step, channel)


@pytest.fixture
def link(rt: Runtime) -> Iterator[Link]:
    """One published post ("one-week" on channel x) of an event with an RSVP link."""
    with rt.db.session(write=True) as session:
        event = make_event(session)
        made = make_link(session, event)
    yield made


@pytest.fixture
def tracked_app(make_config: Any) -> Iterator[Any]:
    """A factory of Flask apps (TESTING) on a config with extra TOML (e.g. a [tracking] table)."""
    from service.db import Database
    from service.web import create_app

    made: list[Runtime] = []

    def factory(extra: str = "") -> Any:
        cfg = make_config(extra=extra)
        runtime = Runtime(cfg=cfg, db=Database(cfg.database_url))
        made.append(runtime)
        app = create_app(runtime=runtime)
        app.config.update(TESTING=True)
        return app

    yield factory
    for runtime in made:
        runtime.db.dispose()


def flush(app: Any) -> int:
    """Store the app's spooled clicks now (under TESTING each click already is: then 0)."""
    return int(app.extensions["eventpromo_tracker"].flush())
