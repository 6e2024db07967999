"""Rows for publishing tests, written straight to the database (no calendar sync needed)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlmodel import Session, select

from service.models import CalendarSource, Campaign, Event, Post, PostStatus, TrackedLink
from service.runtime import Runtime
from service.tracking import tracked_url

_counter = itertools.count(1)


def source(session: Session, name: str = "oncology-events") -> CalendarSource:
    """The calendar source row (created once)."""
    row = session.exec(select(CalendarSource).where(CalendarSource.name == name)).first()
    if row is None:
        row = CalendarSource(name=name, kind="ics_file")
        session.add(row)
        session.flush()
    return row


def event(
    session: Session,
    start: datetime,
    title: str = "Living Well with MPN",
    zone: str = "America/Phoenix",
    image_url: str | None = None,
    hours: float = 1.0,
) -> tuple[Event, Campaign]:
    """An event instance and its campaign."""
    src = source(session)
    assert src.id is not None
    n = next(_counter)
    ev = Event(
        source_id=src.id,
        uid=f"evt-{n}@test",
        title=title,
        start_at=start,
        end_at=start + timedelta(hours=hours),
        timezone=zone,
        rsvp_url="https://example.org/register/mpn",
        image_url=image_url,
        slug=f"event-{n}",
    )
    session.add(ev)
    session.flush()
    assert ev.id is not None
    camp = Campaign(event_id=ev.id, template="webinar")
    session.add(camp)
    session.flush()
    return ev, camp


def post(
    session: Session,
    base_url: str,
    ev: Event,
    camp: Campaign,
    scheduled_at: datetime,
    step: str = "one-week",
    channel: str = "x",
    network: str = "x",
    text: str | None = None,
    link: bool = True,
    status: str = PostStatus.SCHEDULED,
) -> Post:
    """A post with its tracked link in the text (unique per post, as planning makes them)."""
    assert ev.id is not None and camp.id is not None
    code = f"c{next(_counter):09d}"
    url = tracked_url(base_url, code)
    body = text if text is not None else f"{ev.title}: {step} on {channel}."
    if link:
        body = f"{body} {url}"
    row = Post(
        campaign_id=camp.id,
        event_id=ev.id,
        step=step,
        channel=channel,
        network=network,
        scheduled_at=scheduled_at,
        due_at=scheduled_at,
        status=status,
        text=body,
        rendered_text=body,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    session.add(TrackedLink(code=code, post_id=row.id))
    return row


def due_posts(
    rt: Runtime,
    n: int,
    at: datetime,
    channel: str = "x",
    network: str = "x",
    event_in: timedelta = timedelta(days=3),
    per_event: int = 20,
    image_url: str | None = None,
) -> list[int]:
    """`n` posts due at `at` on one channel, spread over events (a post per step and channel)."""
    ids: list[int] = []
    with rt.db.session(write=True) as session:
        ev, camp = event(session, at + event_in, image_url=image_url)
        for i in range(n):
            if i and i % per_event == 0:
                ev, camp = event(session, at + event_in, image_url=image_url)
            p = post(
                session, rt.cfg.base_url, ev, camp, at, step=f"step-{i % per_event}", channel=channel, network=network
            )
            assert p.id is not None
            ids.append(p.id)
    return ids


def get(rt: Runtime, post_id: int) -> Post:
    """A fresh copy of a post."""
    with rt.db.session() as session:
        row = session.get(Post, post_id)
        assert row is not None
        return row
