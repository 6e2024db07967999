"""The worker syncs each calendar on its own interval (default 5 minutes, `sync_interval_minutes` per calendar)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

from sqlmodel import select

from service.models import CalendarSource
from service.runtime import Runtime
from service.worker import Worker
from tests.calendars.conftest import CALENDARS, calendar_toml
from tests.helpers import session


def test_each_calendar_gets_a_sync_job_on_its_interval(runtime_for: Callable[..., Runtime]) -> None:
    rt = runtime_for(
        calendar_toml("apple", str(CALENDARS / "apple-calendar.ics"))
        + calendar_toml("thunderbird", str(CALENDARS / "thunderbird.ics"), "sync_interval_minutes = 1.5\n")
    )
    worker = Worker(rt, background=True)
    worker.start()
    try:
        jobs = {j.id: j for j in worker.scheduler.get_jobs()}
        assert jobs["sync:apple"].trigger.interval == timedelta(minutes=5)
        assert jobs["sync:thunderbird"].trigger.interval == timedelta(minutes=1.5)
        # Both run at once on start: wait (bounded) until each source has synced.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with session(rt) as s:
                done = [r.name for r in s.exec(select(CalendarSource)) if r.last_success_at is not None]
            if sorted(done) == ["apple", "thunderbird"]:
                break
            time.sleep(0.1)
        assert sorted(done) == ["apple", "thunderbird"]
    finally:
        worker.stop()
