"""The units of work the CLI and the worker run: each opens its own sessions and commits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from . import dispatch
from .calendars import sync as sync_mod
from .calendars.base import NULL_PROGRESS, Progress
from .config import CalendarConfig
from .errors import CalendarError, ConfigError
from .runtime import Runtime

log = logging.getLogger(__name__)


def sync_calendars(
    rt: Runtime,
    now: datetime,
    only: str | None = None,
    force: bool = False,
    progress: Callable[[str], None] | Progress | None = None,
) -> list[sync_mod.SyncReport]:
    """Sync every calendar (or one), one transaction per source; a failing source does not stop the others.

    `progress` is a Progress (stages and steps of each source) or a callable told each source's name.
    """
    reports = []
    for cal in rt.cfg.calendars:
        if only and cal.name != only:
            continue
        if isinstance(progress, Progress):
            steps: Progress = progress
        else:
            steps = NULL_PROGRESS
            if progress:
                progress(cal.name)
        reports.append(_sync_one(rt, cal, now, force, steps))
    return reports


def _sync_one(rt: Runtime, cal: CalendarConfig, now: datetime, force: bool, progress: Progress) -> sync_mod.SyncReport:
    """Fetch outside any transaction (network and parsing hold no lock), then apply in one write transaction."""
    try:
        source = rt.source(cal)
        with rt.db.session() as session:
            state = sync_mod.read_state(session, cal.name, rt.cfg, now)
        start, end = sync_mod.window(rt.cfg, now)
        result = source.fetch(state, start, end, progress)
        with rt.db.session(write=True) as session:
            return sync_mod.apply_result(
                session, rt.cfg, cal.name, result, rt.templates(session), now, force=force, progress=progress
            )
    except (CalendarError, ConfigError) as exc:
        message = str(exc)
        # The caller reports it (the CLI's one line, the worker's warning): said once, not twice.
        log.info("sync failed: %s", message)
    except Exception as exc:  # a bug or an odd library error in one source must not stop the others
        log.exception("sync of %s crashed", cal.name)
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        message = f"{cal.name}: sync failed: {type(exc).__name__}" + (f": {detail}" if detail else "")
    with rt.db.session(write=True) as session:
        sync_mod.record_failure(session, rt.cfg, cal.name, message, now)
    return sync_mod.SyncReport(source=cal.name, error=message)


# The publish job lives in dispatch.py; the CLI and the worker call it through here.
PublishTick = dispatch.PublishTick
publish_due = dispatch.publish_due
