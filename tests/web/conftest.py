"""Fixtures for the web tests: a synced bundled calendar, the clock pinned to NOW, logged-in clients per role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import col, select

from service import jobs
from service.models import Event, Post
from tests.conftest import NOW
from tests.helpers import add_user, login, session

PASSWORD = "correct horse battery"


@pytest.fixture
def app(rt: Any) -> Any:
    """The app with the request clock pinned to NOW (the bundled calendar is synced as of NOW)."""
    from service.web import create_app

    flask_app = create_app(runtime=rt)
    flask_app.config.update(TESTING=True, EVENTPROMO_NOW=NOW)
    return flask_app


@pytest.fixture
def synced(rt: Any) -> Any:
    """The bundled calendar synced and planned as of NOW."""
    reports = jobs.sync_calendars(rt, NOW)
    assert reports and not reports[0].error
    return rt


ClientFor = Callable[[str], Any]


@pytest.fixture
def client_for(rt: Any, app: Any) -> ClientFor:
    """A logged-in test client for a role: admin, coordinator or viewer."""

    def make(role: str) -> Any:
        email = f"{role}@example.org"
        with session(rt) as s:
            from service.models import User

            exists = s.exec(select(User).where(User.email == email)).first() is not None
        if not exists:
            add_user(rt, email, PASSWORD, role)
        c = app.test_client()
        assert login(c, email, PASSWORD).status_code == 302
        return c

    return make


@pytest.fixture
def coordinator(client_for: ClientFor) -> Any:
    """A coordinator's client."""
    return client_for("coordinator")


@pytest.fixture
def viewer(client_for: ClientFor) -> Any:
    """A viewer's client."""
    return client_for("viewer")


def webinar(rt: Any) -> Event:
    """The first MPN webinar after NOW (Dec 10, 2026, 5:30 PM MST)."""
    with session(rt) as s:
        return s.exec(
            select(Event).where(col(Event.title).startswith("Living Well with MPN")).order_by(col(Event.start_at))
        ).first()  # type: ignore[return-value]


def posts_of(rt: Any, event_id: int) -> list[Post]:
    """The event's posts in time order."""
    with session(rt) as s:
        return list(s.exec(select(Post).where(Post.event_id == event_id).order_by(col(Post.scheduled_at))))


def set_post(rt: Any, post_id: int, **values: Any) -> Post:
    """Change a post row directly (to put it in a state for a test)."""
    with rt.db.session(write=True) as s:
        post = s.get(Post, post_id)
        for k, v in values.items():
            setattr(post, k, v)
        s.add(post)
    with session(rt) as s:
        return s.get(Post, post_id)  # type: ignore[return-value]


def get_post(rt: Any, post_id: int) -> Post:
    """A fresh copy of a post row."""
    with session(rt) as s:
        return s.get(Post, post_id)  # type: ignore[return-value]
