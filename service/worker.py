"""The scheduler: syncs each calendar on its interval and publishes posts when they fall due.

APScheduler 3's memory job store is only a ticker and belongs to this process alone; the database
holds the posts and coordinates any number of workers. The publish job reschedules itself for the
moment the next post falls due (or a rate limit or lease ends), and never sleeps longer than
`[publishing] poll_seconds`, so posts created or moved by other processes are seen soon. A third job
stores clicks spooled by web processes every minute, so a web process that died leaves none behind.
"""

from __future__ import annotations

import atexit
import hashlib
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text
from sqlmodel import select

from . import dispatch, jobs, publishing
from .models import CalendarSource, utcnow
from .runtime import Runtime
from .tracking.tracker import flush_pending

log = logging.getLogger(__name__)

PUBLISH_JOB = "publish"
CLICKS_JOB = "clicks"
# Clicks spooled by a web process that died (and was not restarted) still reach the stats this soon.
CLICKS_EVERY = timedelta(seconds=60)
# After a tick that changed something, look again right away (more may have fallen due meanwhile).
AGAIN = timedelta(milliseconds=50)
# Something is due but the tick could do nothing with it (locked by another worker): do not spin.
IDLE_RETRY = timedelta(seconds=2)
# A failing tick (database down) is retried this soon.
ERROR_RETRY = timedelta(seconds=5)


class Worker:
    """Owns one APScheduler with a sync job per calendar and a self-rescheduling publish job."""

    def __init__(self, rt: Runtime, background: bool = False):
        self.rt = rt
        self.scheduler: BaseScheduler = (
            BackgroundScheduler(timezone=UTC) if background else BlockingScheduler(timezone=UTC)
        )
        self.poll = timedelta(seconds=rt.cfg.publishing.poll_seconds)
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._running = False
        self._wake_requested = False
        self._signals = 0
        self.ticks = 0  # publish runs finished (tests and logs)

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Add the jobs and start (blocks unless background)."""
        now = datetime.now(UTC)
        for cal in self.rt.cfg.calendars:
            self.scheduler.add_job(
                self.sync_one,
                "interval",
                args=[cal.name],
                id=f"sync:{cal.name}",
                minutes=cal.sync_interval_minutes,
                next_run_time=now,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        # An interval trigger keeps the job alive whatever happens; each run sets the next run itself.
        self.scheduler.add_job(
            self.publish,
            "interval",
            id=PUBLISH_JOB,
            seconds=self.poll.total_seconds(),
            next_run_time=now,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        if self.rt.cfg.tracking.recorder == "spool":
            self.scheduler.add_job(
                self.store_clicks,
                "interval",
                id=CLICKS_JOB,
                seconds=CLICKS_EVERY.total_seconds(),
                next_run_time=now,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        log.info(
            "worker %s started: %d calendar(s), channels %s, polling at most every %gs",
            self.rt.worker_id,
            len(self.rt.cfg.calendars),
            ", ".join(self.rt.channels) or "(none)",
            self.poll.total_seconds(),
        )
        self.scheduler.start()

    def request_stop(self) -> None:
        """Ask the publish job to stop after the post it is sending (the rest of its batch is released)."""
        self.stopping.set()

    def stop(self, wait: bool = True) -> None:
        """Stop scheduling; the running jobs finish (a claimed post is published or released)."""
        self.request_stop()
        if self.scheduler.state != STATE_STOPPED:
            self.scheduler.shutdown(wait=wait)
        for channel in self.rt.channels.values():
            channel.close()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the worker cleanly; a second one exits at once (like a crash)."""

        def _stop(signum: int, _frame: FrameType | None) -> None:
            self._signals += 1
            if self._signals > 1:
                log.warning("signal %s again: exiting now; posts in flight are reconciled by the next worker", signum)
                os._exit(1)
            log.info("signal %s: stopping after the post being sent", signum)
            self.request_stop()
            threading.Thread(target=self.stop, name="worker-stop", daemon=True).start()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)

    def chain_signal_handlers(self) -> None:
        """Inside another server (gunicorn): on its stop signals, stop publishing first, then let it stop."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            previous = signal.getsignal(sig)

            def _chained(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
                self.request_stop()
                if callable(previous):
                    previous(signum, frame)

            signal.signal(sig, _chained)

    # -- jobs ------------------------------------------------------------------------------------

    def sync_one(self, name: str) -> None:
        """The sync job of one calendar (skipped while another worker syncs it or just did)."""
        if self.stopping.is_set():
            return
        cal = self.rt.cfg.calendar(name)
        try:
            if _synced_recently(self.rt, name, timedelta(minutes=cal.sync_interval_minutes / 2)):
                return
            with _calendar_lock(self.rt, name) as mine:
                if not mine:
                    return
                for report in jobs.sync_calendars(self.rt, utcnow(), only=name):
                    if report.error:
                        log.warning("sync %s failed: %s", name, report.error)
        except Exception:
            log.exception("sync %s crashed", name)
        self.wake()

    def store_clicks(self) -> int:
        """Move spooled clicks into the database (those a dead web process left behind); returns how many."""
        if self.stopping.is_set():
            return 0
        try:
            return flush_pending(self.rt.cfg, self.rt.db)
        except Exception:
            log.exception("storing spooled clicks failed; trying again in %ss", CLICKS_EVERY.total_seconds())
            return 0

    def publish(self) -> None:
        """Publish what is due, then sleep until the next thing to do (at most poll_seconds)."""
        with self._lock:
            self._running = True
            self._wake_requested = False
        next_run = utcnow() + ERROR_RETRY
        try:
            if not self.stopping.is_set():
                tick = dispatch.publish_due(self.rt, utcnow, stop=self.stopping)
                if tick.busy():
                    log.info("publish tick: %s", tick.counts())
                next_run = self._next_run(tick.busy())
        except Exception:
            log.exception("publish tick crashed; trying again in %ss", ERROR_RETRY.total_seconds())
        finally:
            with self._lock:
                self._running = False
                if self._wake_requested:
                    next_run = utcnow()
        self._set_next_run(next_run, only_earlier=False)
        self.ticks += 1

    def _next_run(self, busy: bool) -> datetime:
        now = utcnow()
        with self.rt.db.session() as session:
            wake = publishing.next_wake_at(session, now)
        latest = now + self.poll
        if wake is None or wake > latest:
            return latest
        if wake > now:
            return wake
        return now + (AGAIN if busy else IDLE_RETRY)

    def wake(self) -> None:
        """Run the publisher soon (after a sync or an edit may have made posts due)."""
        with self._lock:
            if self._running:
                self._wake_requested = True
                return
        self._set_next_run(utcnow(), only_earlier=True)

    def next_publish_run(self) -> datetime | None:
        """When the publish job runs next (for tests and logs)."""
        job = self.scheduler.get_job(PUBLISH_JOB)
        return job.next_run_time if job is not None else None

    def _set_next_run(self, when: datetime, only_earlier: bool) -> None:
        if self.stopping.is_set() or self.scheduler.state == STATE_STOPPED:
            return
        job = self.scheduler.get_job(PUBLISH_JOB)
        if job is None:
            return
        if only_earlier and job.next_run_time is not None and job.next_run_time <= when:
            return
        job.modify(next_run_time=when)


def start_embedded(rt: Runtime) -> Worker:
    """The worker inside the web process (`eventpromo serve`): background thread, stops with the server."""
    worker = Worker(rt, background=True)
    worker.start()
    worker.chain_signal_handlers()
    atexit.register(worker.stop)
    return worker


def _synced_recently(rt: Runtime, name: str, within: timedelta) -> bool:
    with rt.db.session() as session:
        last = session.exec(select(CalendarSource.last_attempt_at).where(CalendarSource.name == name)).first()
    # A sync run with --now in the future wrote a future time: that says nothing about now.
    return last is not None and timedelta(0) <= utcnow() - last < within


@contextmanager
def _calendar_lock(rt: Runtime, name: str) -> Iterator[bool]:
    """On PostgreSQL, one worker at a time syncs a calendar (a session advisory lock); SQLite has one worker."""
    if rt.db.dialect != "postgresql":
        yield True
        return
    key = int.from_bytes(hashlib.sha256(f"eventpromo-sync:{name}".encode()).digest()[:8], "big", signed=True)
    with rt.db.engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
