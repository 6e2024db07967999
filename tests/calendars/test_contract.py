"""Contract tests: every calendar source (file, feed, Google) through the same cases, with one fixture."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import pytest

from service.runtime import Runtime
from tests.calendars.conftest import calendar_toml, days, make_ics, sync
from tests.conftest import NOW
from tests.fakes.google_calendar import FakeGoogleCalendar, timed, write_service_account
from tests.fakes.http import FakeServer, Response
from tests.helpers import run_cli

ZONE = "America/New_York"


@dataclass(frozen=True)
class Spec:
    """One event instance as the test wants the calendar to show it."""

    uid: str
    start: datetime
    summary: str = "Patient webinar"
    original: datetime | None = None  # an instance of the series `uid` that was first at `original`
    cancelled: bool = False
    rsvp: str = "https://example.org/register/{uid}"
    broken: bool = False

    @property
    def rid(self) -> str:
        return f"{self.original:%Y%m%dT%H%M%SZ}" if self.original else ""


class Harness(Protocol):
    rt: Runtime

    def publish(self, specs: list[Spec]) -> None: ...

    def fail(self) -> None: ...


def _vevent(s: Spec) -> str:
    local = s.start.astimezone(ZoneInfo(ZONE))
    lines = ["BEGIN:VEVENT", f"UID:{s.uid}", "DTSTAMP:20261101T000000Z"]
    if s.original:
        lines.append(f"RECURRENCE-ID:{s.original:%Y%m%dT%H%M%SZ}")
    if s.broken:
        lines.append("DTSTART:not-a-date")
    else:
        lines.append(f"DTSTART;TZID={ZONE}:{local:%Y%m%dT%H%M%S}")
        lines.append(f"DTEND;TZID={ZONE}:{local + timedelta(hours=1):%Y%m%dT%H%M%S}")
    lines += [f"SUMMARY:{s.summary}", "DESCRIPTION:RSVP: " + s.rsvp.format(uid=s.uid)]
    if s.cancelled:
        lines.append("STATUS:CANCELLED")
    return "\r\n".join([*lines, "END:VEVENT"])


def _ics(specs: list[Spec]) -> bytes:
    return make_ics(*[_vevent(s) for s in specs])


class FileHarness:
    def __init__(self, build: Callable[..., Runtime], tmp_path: Path):
        self.path = tmp_path / "contract.ics"
        self.path.write_bytes(_ics([]))
        self.rt = build(calendar_toml("contract", str(self.path)))

    def publish(self, specs: list[Spec]) -> None:
        self.path.write_bytes(_ics(specs))

    def fail(self) -> None:
        self.path.write_bytes(b"BEGIN:VCALENDAR\r\nnot a content line\r\nEND:VCALENDAR\r\n")


class FeedHarness:
    def __init__(self, build: Callable[..., Runtime], server: FakeServer):
        self.body = _ics([])
        self.failing = False
        server.route("GET", "/contract.ics", lambda req: Response(503) if self.failing else Response(200, self.body))
        self.rt = build(calendar_toml("contract", server.url + "/contract.ics"))

    def publish(self, specs: list[Spec]) -> None:
        self.body, self.failing = _ics(specs), False

    def fail(self) -> None:
        self.failing = True


class GoogleHarness:
    def __init__(self, build: Callable[..., Runtime], server: FakeServer, tmp_path: Path):
        self.fake = FakeGoogleCalendar(server)
        creds = write_service_account(tmp_path / "sa.json", self.fake.token_uri)
        self.rt = build(
            textwrap.dedent(f"""
                [[calendars]]
                name = "contract"
                google_calendar_id = "{self.fake.calendar_id}"
                credentials = "{creds}"
                api_base = "{server.url}"
                token_uri = "{self.fake.token_uri}"
                template = "webinar"
                channels = ["x"]
            """)
        )
        self.shown: dict[str, dict[str, Any]] = {}

    @staticmethod
    def _id(s: Spec) -> str:
        return f"{s.uid}_{s.rid}" if s.original else s.uid

    def _resource(self, s: Spec) -> dict[str, Any]:
        extra: dict[str, Any] = {"summary": s.summary, "description": "RSVP: " + s.rsvp.format(uid=s.uid)}
        if s.original:
            extra["recurringEventId"] = s.uid
            extra["originalStartTime"] = {"dateTime": s.original.isoformat(), "timeZone": ZONE}
        resource = timed(self._id(s), s.start, zone=ZONE, **extra)
        if s.broken:
            del resource["start"]
        return resource

    def publish(self, specs: list[Spec]) -> None:
        self.fake.fail_next = []
        wanted = {self._id(s): s for s in specs}
        for event_id in list(self.shown):
            if event_id not in wanted:
                self.fake.delete(event_id)
                del self.shown[event_id]
        for event_id, s in wanted.items():
            resource = self._resource(s)
            if s.cancelled:  # Google's cancelled instance: a deleted occurrence of the series
                if event_id not in self.shown:
                    self.fake.put(resource)
                self.fake.delete(event_id)
            elif self.shown.get(event_id) != resource:
                self.fake.put(resource)
            self.shown[event_id] = resource

    def fail(self) -> None:
        self.fake.fail_next = [Response(503, {"error": {"code": 503, "message": "Backend Error"}})] * 2


@pytest.fixture(params=["file", "feed", "google"])
def harness(request: pytest.FixtureRequest, runtime_for: Callable[..., Runtime], tmp_path: Path) -> Iterator[Harness]:
    """The same calendar behind each kind of source."""
    if request.param == "file":
        yield FileHarness(runtime_for, tmp_path)
        return
    with FakeServer() as server:
        if request.param == "feed":
            yield FeedHarness(runtime_for, server)
        else:
            yield GoogleHarness(runtime_for, server, tmp_path)


def calendar() -> list[Spec]:
    """Six singles and a three-instance series."""
    singles = [Spec(f"single{i}", days(5 + i)) for i in range(6)]
    series = [Spec("series", days(3 + 7 * i), summary="Support group", original=days(3 + 7 * i)) for i in range(3)]
    return singles + series


def listed(h: Harness) -> list[dict[str, Any]]:
    out = run_cli(str(h.rt.cfg.path), "events", "list", "--json")
    assert out.exit_code == 0, out.output
    keys = ("uid", "recurrence_id", "title", "start", "end", "timezone", "status", "rsvp_url", "all_day")
    rows = [{k: e[k] for k in keys} for e in json.loads(out.stdout)]
    return sorted(rows, key=lambda r: (r["start"], r["uid"], r["recurrence_id"] or ""))


def expected(specs: list[Spec]) -> list[dict[str, Any]]:
    zone = ZoneInfo(ZONE)
    rows = [
        {
            "uid": s.uid,
            "recurrence_id": s.rid or None,
            "title": s.summary,
            "start": s.start.astimezone(zone).isoformat(),
            "end": (s.start + timedelta(hours=1)).astimezone(zone).isoformat(),
            "timezone": ZONE,
            "status": "cancelled" if s.cancelled else "confirmed",
            "rsvp_url": s.rsvp.format(uid=s.uid),
            "all_day": False,
        }
        for s in specs
    ]
    return sorted(rows, key=lambda r: (r["start"], r["uid"], r["recurrence_id"] or ""))


def counts(report: Any) -> tuple[int, int, int, int]:
    return report.added, report.updated, report.cancelled, report.removed


def test_import_then_nothing_to_do(harness: Harness) -> None:
    harness.publish(calendar())
    report = sync(harness.rt)[0]
    assert report.error is None and counts(report) == (9, 0, 0, 0)
    assert listed(harness) == expected(calendar())
    again = sync(harness.rt, NOW + timedelta(minutes=5))[0]
    assert counts(again) == (0, 0, 0, 0) and again.error is None


def test_move_retitle_and_new_rsvp_are_updates(harness: Harness) -> None:
    specs = calendar()
    harness.publish(specs)
    sync(harness.rt)
    specs[0] = replace(specs[0], start=specs[0].start + timedelta(days=2))
    specs[1] = replace(specs[1], summary="Renamed webinar")
    specs[2] = replace(specs[2], rsvp="https://example.org/new/{uid}")
    specs[7] = replace(specs[7], start=specs[7].start + timedelta(hours=2))  # one instance of the series moved
    harness.publish(specs)
    report = sync(harness.rt, NOW + timedelta(minutes=5))[0]
    assert counts(report) == (0, 4, 0, 0)
    fields = {(c["uid"], c["recurrence_id"]): c["fields"] for c in report.changes}
    assert fields[("single0", None)] == ["time"]
    assert fields[("single1", None)] == ["title"]
    assert fields[("single2", None)] == ["RSVP", "description"]
    assert fields[("series", specs[7].rid)] == ["time"]
    assert listed(harness) == expected(specs)


def test_cancelled_instance_and_deleted_event(harness: Harness) -> None:
    specs = calendar()
    harness.publish(specs)
    sync(harness.rt)
    specs[8] = replace(specs[8], cancelled=True)
    del specs[3]
    harness.publish(specs)
    report = sync(harness.rt, NOW + timedelta(minutes=5))[0]
    assert counts(report) == (0, 0, 1, 1)
    rows = {(e["uid"], e["recurrence_id"]): e for e in listed(harness)}
    assert rows[("series", specs[-1].rid)]["status"] == "cancelled"
    assert rows[("single3", None)]["status"] == "cancelled"  # removed from its calendar: shown as cancelled


def test_one_bad_event_is_skipped_with_its_uid(harness: Harness) -> None:
    specs = [*calendar(), Spec("broken1", days(9), broken=True)]
    harness.publish(specs)
    report = sync(harness.rt)[0]
    assert report.error is None and report.added == 9
    assert [e["uid"] for e in report.errors] == ["broken1"]


def test_a_failing_source_keeps_its_events(harness: Harness) -> None:
    harness.publish(calendar())
    sync(harness.rt)
    before = listed(harness)
    harness.fail()
    report = sync(harness.rt, NOW + timedelta(days=1))[0]
    assert report.error is not None and report.error.startswith("contract: ") and "\n" not in report.error
    assert listed(harness) == before


def test_an_emptied_calendar_waits_for_confirmation(harness: Harness) -> None:
    harness.publish(calendar())
    sync(harness.rt)
    harness.publish([])
    held = sync(harness.rt, NOW + timedelta(minutes=5))[0]
    assert held.suspect and held.removed == 0
    assert all(e["status"] == "confirmed" for e in listed(harness))
    confirmed = sync(harness.rt, NOW + timedelta(minutes=10))[0]
    # Google reports deleted instances of a series as cancelled instances; the rest were removed.
    assert not confirmed.suspect and confirmed.removed + confirmed.cancelled == 9 and confirmed.removed >= 6
    assert all(e["status"] == "cancelled" for e in listed(harness))
