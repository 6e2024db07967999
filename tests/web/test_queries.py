"""No N+1: the events page and a campaign page run the same number of SQL queries for 10 or 100 rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlmodel import select

from service.models import CalendarSource, Campaign, Click, Event, Post, TrackedLink
from tests.conftest import NOW


@contextmanager
def count_queries(engine: Any) -> Iterator[list[str]]:
    """Record every statement the engine runs inside the block."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            seen.append(statement)

    sa_event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa_event.remove(engine, "before_cursor_execute", before)


def _seed(rt: Any, events: int, posts_per_event: int) -> int:
    """`events` events with campaigns, posts, links and a click each; returns the first event's id."""
    with rt.db.session(write=True) as s:
        src = s.exec(select(CalendarSource).where(CalendarSource.name == "bench")).first()
        if src is None:
            src = CalendarSource(name="bench", kind="ics_file")
            s.add(src)
            s.flush()
        first = None
        start = len(s.exec(select(Event.id)).all())
        for i in range(start, start + events):
            ev = Event(
                source_id=src.id,  # type: ignore[arg-type]
                uid=f"e{i}",
                title=f"Event {i}",
                start_at=NOW + timedelta(days=1, hours=i),
                end_at=NOW + timedelta(days=1, hours=i + 1),
                timezone="America/Phoenix",
                rsvp_url=None if i % 3 else "https://example.org/r",
                warnings=[],
            )
            s.add(ev)
            s.flush()
            first = first or ev.id
            camp = Campaign(event_id=ev.id, template="webinar")  # type: ignore[arg-type]
            s.add(camp)
            s.flush()
            for j in range(posts_per_event):
                post = Post(
                    campaign_id=camp.id,  # type: ignore[arg-type]
                    event_id=ev.id,  # type: ignore[arg-type]
                    step=f"s{j}",
                    channel="x",
                    network="x",
                    scheduled_at=NOW + timedelta(hours=j + 1),
                    due_at=NOW + timedelta(hours=j + 1),
                    status=("scheduled", "held", "failed", "published")[j % 4],
                    text=f"Post {j} of event {i}",
                )
                s.add(post)
                s.flush()
                link = TrackedLink(code=f"c{i}x{j}", post_id=post.id)  # type: ignore[arg-type]
                s.add(link)
                s.flush()
                s.add(Click(link_id=link.id, at=NOW, is_bot=j % 2 == 0, visitor_key=f"v{j}"))  # type: ignore[arg-type]
    assert first is not None
    return first


def _queries(rt: Any, client: Any, path: str) -> int:
    client.get(path)  # warm: the parsed template sets are cached after the first page (one query more)
    with count_queries(rt.db.engine) as seen:
        resp = client.get(path)
    assert resp.status_code == 200
    return len(seen)


def test_events_page_query_count_is_fixed(rt: Any, viewer: Any) -> None:
    _seed(rt, 10, 4)
    small = _queries(rt, viewer, "/")
    small_filtered = _queries(rt, viewer, "/?status=attention&source=bench")
    _seed(rt, 90, 4)
    big = _queries(rt, viewer, "/")
    assert big == small, (small, big)
    assert small <= 8, small  # login, count, page, post counts, clicks, sources, tick + next due, channels
    assert _queries(rt, viewer, "/?status=attention&source=bench") == small_filtered
    assert _queries(rt, viewer, "/?page=4") == small


def test_campaign_page_query_count_is_fixed(rt: Any, viewer: Any) -> None:
    few = _seed(rt, 1, 10)
    many = _seed(rt, 1, 100)
    assert _queries(rt, viewer, f"/events/{few}") == _queries(rt, viewer, f"/events/{many}")
    assert _queries(rt, viewer, f"/events/{few}/clicks") == _queries(rt, viewer, f"/events/{many}/clicks")
