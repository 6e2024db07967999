"""`eventpromo sync` and `eventpromo events list` as INTERFACE.md describes them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import time_machine

from service.cli.sync import TerminalProgress
from service.runtime import Runtime
from tests.calendars.conftest import CALENDARS, calendar_toml
from tests.conftest import NOW
from tests.helpers import run_cli


def test_sync_json_is_a_list_with_one_object_per_source(runtime_for: Callable[..., Runtime]) -> None:
    rt = runtime_for(
        calendar_toml("google", str(CALENDARS / "google-calendar.ics"))
        + calendar_toml("broken", str(CALENDARS / "broken-events.ics"))
    )
    out = run_cli(str(rt.cfg.path), "sync", "--now", NOW.isoformat(), "--json")
    assert out.exit_code == 0, out.output
    reports = json.loads(out.stdout)
    assert [r["source"] for r in reports] == ["google", "broken"]
    for r in reports:
        assert {"added", "updated", "cancelled", "removed", "unchanged", "errors"} <= set(r)
        assert all(set(e) == {"uid", "message"} for e in r["errors"])
    assert (reports[0]["added"], reports[0]["cancelled"], reports[0]["errors"]) == (20, 1, [])
    assert [e["uid"] for e in reports[1]["errors"]] == ["bad-date@example.org", "bad-rule@example.org"]


def test_a_failing_source_exits_1_with_one_line_and_the_others_still_sync(
    runtime_for: Callable[..., Runtime], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.ics"
    broken.write_bytes((CALENDARS / "broken-truncated.ics").read_bytes())
    rt = runtime_for(calendar_toml("bad", str(broken)) + calendar_toml("good", str(CALENDARS / "apple-calendar.ics")))
    out = run_cli(str(rt.cfg.path), "sync", "--now", NOW.isoformat(), "--json")
    assert out.exit_code == 1
    assert out.stderr.strip().splitlines()[-1] == (
        "eventpromo: bad: the calendar is cut short: BEGIN:VCALENDAR (line 1) has no END:VCALENDAR"
    )
    reports = {r["source"]: r for r in json.loads(out.stdout)}
    assert reports["good"]["added"] == 5 and reports["bad"]["error"].startswith("bad: the calendar is cut short")


def test_a_failing_source_says_so_in_exactly_one_line_from_a_real_process(
    runtime_for: Callable[..., Runtime], tmp_path: Path
) -> None:
    # In-process runs hide stray log lines (pytest captures logging); a real process shows all of stderr.
    broken = tmp_path / "broken.ics"
    broken.write_text("<html>maintenance</html>\n")
    rt = runtime_for(calendar_toml("bad", str(broken)))
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "--config", str(rt.cfg.path), "sync", "--now", NOW.isoformat()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["eventpromo: bad: not an iCalendar file (line 1 is '<html>maintenance</html>')"]


def test_source_option_and_unknown_names(runtime_for: Callable[..., Runtime]) -> None:
    rt = runtime_for(
        calendar_toml("apple", str(CALENDARS / "apple-calendar.ics"))
        + calendar_toml("thunderbird", str(CALENDARS / "thunderbird.ics"))
    )
    out = run_cli(str(rt.cfg.path), "sync", "--source", "thunderbird", "--now", NOW.isoformat(), "--json")
    assert [r["source"] for r in json.loads(out.stdout)] == ["thunderbird"]
    bad = run_cli(str(rt.cfg.path), "sync", "--source", "nope")
    assert bad.exit_code == 1 and bad.stderr.strip() == "eventpromo: eventpromo.toml: no calendar named 'nope'"


def test_table_output_lists_changes_warnings_and_skipped_events(
    runtime_for: Callable[..., Runtime], tmp_path: Path
) -> None:
    path = tmp_path / "cal.ics"
    path.write_bytes((CALENDARS / "outlook-desktop.ics").read_bytes())
    rt = runtime_for(calendar_toml("outlook", str(path)))
    first = run_cli(str(rt.cfg.path), "sync", "--now", NOW.isoformat())
    assert first.exit_code == 0
    assert first.stdout.splitlines()[1].split() == ["outlook", "2", "0", "0", "0", "0", "0"]
    assert "warning: outlook: 1 private event instance(s) left out" in first.stderr
    path.write_bytes(path.read_bytes().replace(b"Survivors' Coffee Hour", b"Survivors' Tea Hour"))
    second = run_cli(str(rt.cfg.path), "sync", "--now", NOW.isoformat())
    assert "outlook: updated (title): Survivors' Tea Hour" in second.stdout


def test_events_list_json(runtime_for: Callable[..., Runtime]) -> None:
    rt = runtime_for(calendar_toml("google", str(CALENDARS / "google-calendar.ics")))
    run_cli(str(rt.cfg.path), "sync", "--now", NOW.isoformat())
    out = run_cli(
        str(rt.cfg.path), "events", "list", "--from", "2027-01-01T00:00:00-05:00", "--to", "2027-01-21", "--json"
    )
    events = json.loads(out.stdout)
    assert [e["title"][:20] for e in events] == [
        "Lunch & Learn: Manag",  # the moved Dec 31 occurrence, Saturday Jan 2
        "Lunch & Learn: Manag",
        "Lunch & Learn: Manag",
        "Clinical Trials Expl",
    ]
    moved = events[0]
    assert set(moved) >= {
        "id", "source", "uid", "recurrence_id", "title", "start", "end", "timezone", "all_day", "status",
        "rsvp_url", "template", "channels", "warnings",
    }  # fmt: skip
    assert moved["start"] == "2027-01-02T10:00:00-05:00" and moved["recurrence_id"] == "20261231T170000Z"
    assert moved["template"] == "support-group" and moved["channels"] == ["x"]
    assert events[2]["status"] == "cancelled"
    art = json.loads(run_cli(str(rt.cfg.path), "events", "list", "--json").stdout)
    studio = next(e for e in art if e["title"] == "Art Therapy Open Studio")
    assert studio["rsvp_url"] is None
    assert studio["warnings"] == ["RSVP javascript: link refused: only http(s) links are accepted", "no RSVP link"]


def test_sync_without_now_uses_the_clock(runtime_for: Callable[..., Runtime]) -> None:
    rt = runtime_for(calendar_toml("google", str(CALENDARS / "google-calendar.ics")))
    # Frozen the day before the spring-forward change: the relay across it is imported, in local time.
    with time_machine.travel(datetime(2027, 3, 13, 12, tzinfo=UTC), tick=False):
        out = run_cli(str(rt.cfg.path), "sync", "--json")
    assert out.exit_code == 0
    events = json.loads(run_cli(str(rt.cfg.path), "events", "list", "--json").stdout)
    relay = next(e for e in events if e["title"].startswith("Overnight Relay"))
    assert (relay["start"], relay["end"]) == ("2027-03-13T20:00:00-05:00", "2027-03-14T08:00:00-04:00")
    assert min(e["start"] for e in events) >= "2027-03-10"  # the window starts three days back


def test_the_progress_bar_draws_on_a_terminal_only() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    bar = TerminalProgress(stream, delay=0, mininterval=0)
    bar.stage("big: importing", 10_000)
    bar.advance(5_000)
    bar.stage("big: planning campaigns", 200)
    bar.advance(200)
    bar.close()
    drawn = stream.getvalue()
    assert "big: importing:  50%" in drawn and "5000/10000" in drawn and "big: planning campaigns: 100%" in drawn


def test_no_progress_bar_when_stderr_is_not_a_terminal(runtime_for: Callable[..., Runtime]) -> None:
    rt = runtime_for(calendar_toml("google", str(CALENDARS / "google-calendar.ics")))
    out = run_cli(str(rt.cfg.path), "sync", "--now", NOW.isoformat())
    assert "%|" not in out.stderr and out.stderr == ""
