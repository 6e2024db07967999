"""A scripted channel that checks the database at the moment of the network call, and a clock."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from service.campaigns.fitting import rules_for
from service.channels.base import OutgoingPost, PublishResult
from service.models import Post, PostAttempt, PostStatus
from service.runtime import Runtime

# Thursday 2026-12-03 10:00 in Phoenix (UTC-7, no DST).
T0 = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


class Clock:
    """An injected clock: `clock()` is now; `clock.advance(...)` moves it."""

    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> Clock:
        """Move the clock on; returns the clock, to pass on as the job's clock."""
        self.now += timedelta(**kw)
        return self


@dataclass
class ScriptedChannel:
    """Does what the test queued (a result or an exception) and records what the database said meanwhile."""

    rt: Runtime
    name: str = "x"
    network: str = "x"
    script: deque[Any] = field(default_factory=deque)
    reconcile_script: deque[Any] = field(default_factory=deque)
    sent: list[OutgoingPost] = field(default_factory=list)
    seen_in_db: list[tuple[str, int, bool]] = field(default_factory=list)
    on_publish: Callable[[OutgoingPost], None] | None = None

    @property
    def rules(self):  # type: ignore[no-untyped-def]
        return rules_for(self.network)

    def validate(self, post: OutgoingPost) -> list[str]:
        return [] if post.text.strip() else ["empty text"]

    def publish(self, post: OutgoingPost) -> PublishResult:
        # What another process would see at this moment: the claim must already be committed.
        with Session(self.rt.db.engine) as s:
            row = s.get(Post, post.post_id)
            attempt = s.exec(select(PostAttempt).where(PostAttempt.attempt_id == post.attempt_id)).one()
            assert row is not None
            self.seen_in_db.append((row.status, row.attempts, attempt.sent_at is not None))
        self.sent.append(post)
        if self.on_publish:
            self.on_publish(post)
        step = self.script.popleft() if self.script else "ok"
        if isinstance(step, BaseException):
            raise step
        return PublishResult(external_id=f"{self.name}-{post.post_id}-{len(self.sent)}")

    def reconcile(self, post: OutgoingPost) -> PublishResult | None:
        step = self.reconcile_script.popleft() if self.reconcile_script else None
        if isinstance(step, BaseException):
            raise step
        return step

    def close(self) -> None:
        pass


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def scripted(rt: Runtime) -> ScriptedChannel:
    """The runtime's channel `x`, replaced by a scripted one."""
    channel = ScriptedChannel(rt)
    rt.__dict__["channels"] = {"x": channel}
    return channel


def statuses(rt: Runtime, ids: list[int]) -> list[str]:
    with rt.db.session() as s:
        rows = {p.id: p.status for p in s.exec(select(Post).where(Post.id.in_(ids)))}  # type: ignore[union-attr]
    return [rows[i] for i in ids]


__all__ = ["T0", "Clock", "PostStatus", "ScriptedChannel", "statuses"]
