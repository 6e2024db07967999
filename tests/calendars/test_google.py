"""Google Calendar with the real googleapiclient against a local fake: paging, sync tokens, deletions, 410."""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from service.calendars import google as google_mod
from service.calendars.base import SourceState
from service.calendars.google import GoogleCalendarSource, api_endpoint
from service.errors import ConfigError, FetchError, ParseError
from service.models import CalendarSource, Event
from service.runtime import Runtime
from tests.calendars.conftest import days, sync
from tests.conftest import NOW
from tests.fakes.google_calendar import FakeGoogleCalendar, timed, write_authorized_user, write_service_account
from tests.fakes.http import FakeServer, Response
from tests.helpers import session


@pytest.fixture
def google() -> Iterator[FakeGoogleCalendar]:
    with FakeServer() as server:
        yield FakeGoogleCalendar(server)


def google_toml(fake: FakeGoogleCalendar, credentials: Path | str, name: str = "google", extra: str = "") -> str:
    return textwrap.dedent(f"""
        [[calendars]]
        name = "{name}"
        google_calendar_id = "{fake.calendar_id}"
        credentials = "{credentials}"
        api_base = "{fake.server.url}"
        token_uri = "{fake.token_uri}"
        template = "webinar"
        channels = ["x"]
    """) + textwrap.dedent(extra)


@pytest.fixture
def rt_google(runtime_for: Callable[..., Runtime], google: FakeGoogleCalendar, tmp_path: Path) -> Runtime:
    creds = write_service_account(tmp_path / "service-account.json", google.token_uri)
    return runtime_for(google_toml(google, creds))


def stored(rt: Runtime) -> dict[tuple[str, str], Event]:
    with session(rt) as s:
        return {(e.uid, e.recurrence_id): e for e in s.exec(select(Event))}


def token_of(rt: Runtime) -> str | None:
    with session(rt) as s:
        return s.exec(select(CalendarSource.sync_token)).one()


def series(series_id: str, starts: list[datetime], **extra: Any) -> list[dict[str, Any]]:
    """Instances of a recurring event as singleEvents=true lists them."""
    out = []
    for start in starts:
        original = start.strftime("%Y%m%dT%H%M%SZ")
        out.append(
            timed(
                f"{series_id}_{original}",
                start,
                recurringEventId=series_id,
                originalStartTime={
                    "dateTime": start.isoformat().replace("+00:00", "Z"),
                    "timeZone": "America/New_York",
                },
                summary="Support group",
                **extra,
            )
        )
    return out


def seed(google: FakeGoogleCalendar) -> None:
    google.put(
        timed("single1", days(5), description="<b>Join us</b><br>RSVP: <a href='https://example.org/r/1'>here</a>"),
        timed("single2", days(12), zone="Europe/Berlin", summary="Berlin forum"),
        {"id": "allday", "summary": "Screening day", "start": {"date": "2027-01-15"}, "end": {"date": "2027-01-16"}},
        *series("weekly", [days(7 * i + 3) for i in range(4)]),
    )


def test_full_sync_pages_and_stores_the_sync_token(rt_google: Runtime, google: FakeGoogleCalendar) -> None:
    seed(google)
    google.page_size = 3
    report = sync(rt_google)[0]
    assert report.error is None and report.added == 7
    requests = google.list_requests()
    assert len(requests) == 3  # seven events, three per page
    first = requests[0].query
    assert first["singleEvents"] == ["true"] and first["showDeleted"] == ["true"]
    assert first["timeMin"] == [(NOW - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert first["timeMax"] == [(NOW + timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert [r.query.get("pageToken") for r in requests] == [None, ["3"], ["6"]]
    assert token_of(rt_google) == f"sync-{google.version}"
    events = stored(rt_google)
    assert events[("single1", "")].rsvp_url == "https://example.org/r/1"
    assert events[("single2", "")].timezone == "Europe/Berlin"
    allday = events[("allday", "")]
    assert allday.all_day and allday.timezone == "America/New_York"
    assert allday.start_at == datetime(2027, 1, 15, 14, 0, tzinfo=UTC)  # 09:00 in the calendar's zone
    instance = events[("weekly", days(3).strftime("%Y%m%dT%H%M%SZ"))]
    assert instance.title == "Support group"


def test_incremental_sync_uses_the_token_and_sees_moves_deletions_and_cancelled_instances(
    rt_google: Runtime, google: FakeGoogleCalendar
) -> None:
    seed(google)
    sync(rt_google)
    token = token_of(rt_google)
    google.put(timed("single1", days(6), description="RSVP: https://example.org/r/1"))  # moved a day
    google.delete("single2")
    google.delete(f"weekly_{days(10):%Y%m%dT%H%M%SZ}")
    report = sync(rt_google, NOW + timedelta(minutes=5))[0]
    assert (report.updated, report.removed, report.cancelled, report.added) == (1, 1, 1, 0)
    last = google.list_requests()[-1].query
    assert last["syncToken"] == [token] and "timeMin" not in last and "timeMax" not in last
    events = stored(rt_google)
    assert events[("single1", "")].start_at == days(6)
    assert events[("single2", "")].removed_at is not None
    assert events[("weekly", f"{days(10):%Y%m%dT%H%M%SZ}")].status == "cancelled"
    assert token_of(rt_google) == f"sync-{google.version}"
    # Nothing changed since: an incremental sync with no items changes nothing.
    quiet = sync(rt_google, NOW + timedelta(minutes=10))[0]
    assert (quiet.added, quiet.updated, quiet.cancelled, quiet.removed) == (0, 0, 0, 0)


def test_a_deleted_recurring_event_removes_all_its_instances(rt_google: Runtime, google: FakeGoogleCalendar) -> None:
    seed(google)
    google.put(timed("single3", days(20)), timed("single4", days(21)), timed("single5", days(22)))
    sync(rt_google)
    google.put({"id": "weekly", "status": "cancelled"})  # the series itself, as Google may send it
    report = sync(rt_google, NOW + timedelta(minutes=5))[0]
    assert report.removed == 4
    assert all(e.removed_at is not None for (uid, _), e in stored(rt_google).items() if uid == "weekly")


def test_410_gone_does_a_full_sync_without_wiping_rows(rt_google: Runtime, google: FakeGoogleCalendar) -> None:
    seed(google)
    sync(rt_google)
    ids = {k: e.id for k, e in stored(rt_google).items()}
    google.expire_tokens()
    google.put(timed("late", days(30), summary="Added while the token expired"))
    with google._lock:  # the event vanished without an incremental record (as after a long outage)
        del google.events["single2"]
    report = sync(rt_google, NOW + timedelta(minutes=5))[0]
    assert report.error is None and (report.added, report.removed) == (1, 1)
    kinds = [("syncToken" in r.query, "timeMin" in r.query) for r in google.list_requests()]
    assert kinds[-2:] == [(True, False), (False, True)]  # 410, then the full listing
    after = stored(rt_google)
    assert all(after[k].id == i for k, i in ids.items())  # same rows: nothing was wiped and re-imported
    assert after[("single2", "")].removed_at is not None and after[("late", "")].removed_at is None
    assert token_of(rt_google) == f"sync-{google.version}"


def test_a_new_day_syncs_fully_so_instances_entering_the_window_are_found(
    rt_google: Runtime, google: FakeGoogleCalendar
) -> None:
    seed(google)
    sync(rt_google)
    sync(rt_google, NOW + timedelta(days=1))
    assert "timeMin" in google.list_requests()[-1].query


def test_authorized_user_token_file(
    runtime_for: Callable[..., Runtime], google: FakeGoogleCalendar, tmp_path: Path
) -> None:
    seed(google)
    creds = write_authorized_user(tmp_path / "token.json", google.token_uri)
    rt = runtime_for(google_toml(google, "env:GOOGLE_TOKEN_FILE"), environ={"GOOGLE_TOKEN_FILE": str(creds)})
    assert sync(rt)[0].added == 7
    assert google.token_requests[0]["grant_type"] == ["refresh_token"]


def test_service_account_asserts_the_calendar_scope(rt_google: Runtime, google: FakeGoogleCalendar) -> None:
    seed(google)
    assert sync(rt_google)[0].added == 7
    assert google.token_requests[0]["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]


def test_refused_credentials_fail_with_one_line(
    runtime_for: Callable[..., Runtime], google: FakeGoogleCalendar, tmp_path: Path
) -> None:
    creds = write_authorized_user(tmp_path / "token.json", google.token_uri, refresh_token="revoked")
    rt = runtime_for(google_toml(google, creds))
    report = sync(rt)[0]
    assert report.error is not None
    assert report.error.startswith("google: Google refused the credentials: invalid_grant: Token has been expired")
    assert "\n" not in report.error


def test_bad_credentials_files(runtime_for: Callable[..., Runtime], google: FakeGoogleCalendar, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert sync(runtime_for(google_toml(google, bad)))[0].error == "google: the credentials are not valid JSON"
    other = tmp_path / "other.json"
    other.write_text('{"type": "external_account"}')
    error = sync(runtime_for(google_toml(google, other)))[0].error
    assert error == (
        "google: the credentials are neither a service-account key nor an authorized-user token "
        "(type 'external_account')"
    )


def test_credentials_are_required_and_must_exist(make_config: Callable[..., Any], tmp_path: Path) -> None:
    table = '[[calendars]]\nname = "g"\ngoogle_calendar_id = "x@group.calendar.google.com"\n'
    with pytest.raises(ConfigError, match=r"calendars\[0\] \(g\)\.credentials: a Google calendar needs"):
        make_config(calendars=table)
    with pytest.raises(ConfigError, match=r"calendars\[0\] \(g\)\.credentials: file .*missing\.json does not exist"):
        make_config(calendars=table + f'credentials = "{tmp_path / "missing.json"}"\n')


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (403, "google: Google Calendar answered HTTP 403: access denied: The caller does not have permission"),
        (404, "google: Google Calendar answered HTTP 404: no such calendar: Not Found"),
    ],
)
def test_http_errors_become_one_line(rt_google: Runtime, google: FakeGoogleCalendar, status: int, message: str) -> None:
    reason = "The caller does not have permission" if status == 403 else "Not Found"
    google.fail_next = [Response(status, {"error": {"code": status, "message": reason}})]
    assert sync(rt_google)[0].error == message


def test_a_server_error_is_retried_once(rt_google: Runtime, google: FakeGoogleCalendar) -> None:
    seed(google)
    google.fail_next = [Response(503, {"error": {"code": 503, "message": "Backend Error"}})]
    assert sync(rt_google)[0].added == 7
    google.fail_next = [Response(503, {"error": {"code": 503, "message": "Backend Error"}})] * 2
    report = sync(rt_google, NOW + timedelta(days=1))[0]
    assert report.error == "google: Google Calendar answered HTTP 503: Backend Error"


def test_unreadable_answers_and_bad_items(rt_google: Runtime, google: FakeGoogleCalendar) -> None:
    google.fail_next = [Response(200, "<html>oops</html>", {"Content-Type": "application/json"})]
    error = sync(rt_google)[0].error
    assert error == "google: Google Calendar answered something other than an event list"
    seed(google)
    google.put({"id": "nostart", "summary": "No start"}, timed("private1", days(8), visibility="private"))
    report = sync(rt_google, NOW + timedelta(minutes=1))[0]
    assert report.added == 7 and [e["uid"] for e in report.errors] == ["nostart"]
    assert any("private" in w for w in report.warnings)


def test_no_network_when_the_client_is_built() -> None:
    # The discovery document ships in the package: building needs no server at all (none is reachable here).
    source = GoogleCalendarSource(
        "g",
        "x",
        '{"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}',
        "UTC",
        time(9),
    )
    client = source.client()
    assert client.events().list(calendarId="x").uri.startswith("https://www.googleapis.com/calendar/v3/")
    assert api_endpoint("http://127.0.0.1:9") == "http://127.0.0.1:9/calendar/v3/"
    assert api_endpoint("https://proxy.example.org/calendar/v3/") == "https://proxy.example.org/calendar/v3/"


def test_one_client_per_fetch(rt_google: Runtime, google: FakeGoogleCalendar, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(google)
    built: list[Any] = []
    real = google_mod.build
    monkeypatch.setattr(google_mod, "build", lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    source = rt_google.source(rt_google.cfg.calendars[0])
    start, end = NOW - timedelta(days=3), NOW + timedelta(days=120)
    threads = [threading.Thread(target=source.fetch, args=(SourceState(), start, end)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(built) == 3 and len({id(c._http) for c in built}) == 3


def test_a_repeated_page_token_is_refused(rt_google: Runtime, google: FakeGoogleCalendar) -> None:
    page = {"kind": "calendar#events", "items": [], "nextPageToken": "same"}
    google.fail_next = [Response(200, page), Response(200, page)]
    with pytest.raises(ParseError, match="repeats the page token"):
        rt_google.source(rt_google.cfg.calendars[0]).fetch(SourceState(), NOW, NOW + timedelta(days=1))


def test_fetch_errors_are_ours(rt_google: Runtime, google: FakeGoogleCalendar) -> None:
    google.server._server.shutdown()
    google.server._server.server_close()
    with pytest.raises(FetchError, match=r"^google: "):
        rt_google.source(rt_google.cfg.calendars[0]).fetch(SourceState(), NOW, NOW + timedelta(days=1))
