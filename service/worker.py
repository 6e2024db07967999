"""The scheduler: syncs each calendar on its interval and publishes posts when they fall due.

APScheduler's memory job store is only a ticker: the database holds the posts and coordinates workers.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from . import jobs
from .models import utcnow
from .runtime import Runtime

log = logging.getLogger(__name__)

# The longest the publisher sleeps: posts created or moved on the web page are picked up this fast.
MAX_SLEEP = timedelta(seconds=30)


class Worker:
    """Owns one APScheduler with a sync job per calendar and a self-rescheduling publish job."""

    def __init__(self, rt: Runtime, background: bool = False):
        self.rt = rt
        self.scheduler: BaseScheduler = (
            BackgroundScheduler(timezone=UTC) if background else BlockingScheduler(timezone=UTC)
        )
        self._lock = threading.Lock()

    def start(self) -> None:
        """Add the jobs and start (blocks unless background)."""
        for cal in self.rt.cfg.calendars:
            self.scheduler.add_job(
                self.sync_one,
                "interval",
                args=[cal.name],
                id=f"sync:{cal.name}",
                minutes=cal.sync_interval_minutes,
                next_run_time=datetime.now(UTC),
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        self.scheduler.add_job(
            self.publish,
            "date",
            id="publish",
            run_date=datetime.now(UTC) + timedelta(seconds=2),
            misfire_grace_time=None,
        )
        log.info("worker %s started", self.rt.worker_id)
        self.scheduler.start()

    def stop(self, wait: bool = True) -> None:
        """Stop scheduling; the job running now finishes (a claimed post is published or released)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the worker cleanly."""

        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s: stopping after the current job", signum)
            threading.Thread(target=self.stop, daemon=True).start()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)

    def sync_one(self, name: str) -> None:
        """The sync job of one calendar."""
        try:
            for report in jobs.sync_calendars(self.rt, utcnow(), only=name):
                if report.error:
                    log.warning("sync %s failed: %s", name, report.error)
        except Exception:
            log.exception("sync %s crashed", name)
        self.wake()

    def publish(self) -> None:
        """Publish what is due, then sleep until the next due post (at most MAX_SLEEP)."""
        next_run = utcnow() + MAX_SLEEP
        try:
            with self._lock:
                tick = jobs.publish_due(self.rt, utcnow)
            if tick.published or tick.failed or tick.skipped:
                log.info("publish tick: %s", tick)
            with self.rt.db.session() as session:
                from .publishing import next_due_at

                due = next_due_at(session)
            if due is not None:
                next_run = min(next_run, max(due, utcnow() + timedelta(milliseconds=200)))
        except Exception:
            log.exception("publish tick crashed")
        self._schedule_publish(next_run)

    def wake(self) -> None:
        """Run the publisher soon (after a sync or an edit may have made posts due)."""
        self._schedule_publish(utcnow() + timedelta(milliseconds=200))

    def _schedule_publish(self, when: datetime) -> None:
        if not self.scheduler.running and self.scheduler.state == 0:
            return
        job = self.scheduler.get_job("publish")
        if job is None:
            self.scheduler.add_job(self.publish, "date", id="publish", run_date=when, misfire_grace_time=None)
        elif job.next_run_time is None or when < job.next_run_time:
            job.modify(next_run_time=when)
