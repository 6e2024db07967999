"""The units of work the CLI and the worker run: each opens its own sessions and commits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from . import dispatch
from .calendars import sync as sync_mod
from .errors import CalendarError
from .runtime import Runtime

log = logging.getLogger(__name__)


def sync_calendars(
    rt: Runtime,
    now: datetime,
    only: str | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[sync_mod.SyncReport]:
    """Sync every calendar (or one), one transaction per source; a failing source does not stop the others."""
    reports = []
    for cal in rt.cfg.calendars:
        if only and cal.name != only:
            continue
        if progress:
            progress(cal.name)
        try:
            with rt.db.session(write=True) as session:
                source = rt.source(cal)
                report = sync_mod.sync_source(session, rt.cfg, source, rt.templates(session), now, force=force)
        except CalendarError as exc:
            message = str(exc)
            log.warning("sync failed: %s", message)
            with rt.db.session(write=True) as session:
                sync_mod.record_failure(session, rt.cfg, cal.name, message, now)
            report = sync_mod.SyncReport(source=cal.name, error=message)
        reports.append(report)
    return reports


# The publish job lives in dispatch.py; the CLI and the worker call it through here.
PublishTick = dispatch.PublishTick
publish_due = dispatch.publish_due
