"""The public test calendars shipped inside icalendar and recurring-ical-events: each imports or fails clearly."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
import recurring_ical_events

from service import jobs
from service.calendars.ics import IcsParser
from service.errors import ParseError

CORPUS = sorted(
    {
        *Path(icalendar.__file__).parent.joinpath("tests").rglob("*.ics"),
        *Path(recurring_ical_events.__file__).parent.joinpath("test").rglob("*.ics"),
    }
)


def _first_start(data: bytes) -> datetime:
    """Roughly where the file's events are, so the window has something in it."""
    for line in data.decode("utf-8", "replace").splitlines():
        if line.upper().startswith("DTSTART"):
            digits = "".join(ch for ch in line.rsplit(":", 1)[-1] if ch.isdigit())[:8]
            try:
                return datetime.combine(date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])), time(), UTC)
            except (ValueError, IndexError):
                break
    return datetime(2020, 1, 1, tzinfo=UTC)


def test_the_corpus_is_there() -> None:
    assert len(CORPUS) > 100


@pytest.mark.filterwarnings("ignore")  # the corpus exercises the libraries' own deprecation paths
@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_public_test_calendar_imports_or_fails_with_one_clear_line(path: Path) -> None:
    data = path.read_bytes()
    start = _first_start(data) - timedelta(days=3)
    parser = IcsParser(path.name, "America/Phoenix", time(9))
    try:
        parsed = parser.read(data, start, start + timedelta(days=400))
    except ParseError as exc:
        message = str(exc)
        assert message.startswith(f"{path.name}: ") and "\n" not in message
        return
    for event in parsed.events:
        assert event.start.tzinfo is UTC and event.end >= event.start and event.uid
    for _uid, message in parsed.errors:
        assert message.startswith("skipped: ") and "\n" not in message


def test_the_corpus_through_the_whole_sync_path(make_config: Any, tmp_path: Path) -> None:
    # Every corpus file in turn as the content of one calendar, applied on the database: nothing crashes, a
    # failure is one line naming the calendar, and the next good file still applies.
    from service.calendars import sync as sync_mod
    from service.db import Database
    from service.runtime import Runtime

    path = tmp_path / "corpus.ics"
    path.write_bytes(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    cfg = make_config(
        horizon_days=30,
        calendars=f'[[calendars]]\nname = "corpus"\nics = "{path}"\ntemplate = "webinar"\nchannels = ["x"]\n',
    )
    rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
    imported = failed = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for corpus_file in CORPUS:
                data = corpus_file.read_bytes()
                path.write_bytes(data)
                now = _first_start(data) + timedelta(days=1)
                report = jobs.sync_calendars(rt, now, force=True)[0]
                if report.error:
                    assert report.error.startswith("corpus: ") and "\n" not in report.error, report.error
                    assert "sync failed" not in report.error  # our own bug, not the file's
                    failed += 1
                else:
                    imported += 1
        with rt.db.session() as s:
            count = len(s.exec(sync_mod.select(sync_mod.Event)).all())
    finally:
        rt.db.dispose()
    assert imported > 150 and failed < 70 and count > 100
