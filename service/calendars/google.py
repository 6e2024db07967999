"""Google Calendar through google-api-python-client: events.list with singleEvents, paging, sync tokens, 410 Gone.

The client is built from the discovery document shipped in the package (no network at build time), and a new
one for every fetch: its HTTP layer (httplib2) is not thread-safe, and the worker syncs in threads.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from ..errors import FetchError, ParseError
from . import zones
from .base import NULL_PROGRESS, EventData, FetchResult, Progress, SourceState
from .ics import recurrence_key
from .text import clean_line, clean_text, clip_uid

SCOPES = ["https://www.googleapis.com/auth/calendar.readonly"]
PAGE_SIZE = 2500  # the most events.list returns per page
MAX_PAGES = 100  # 250,000 events: far beyond any real calendar, short of exhausting memory
_STATUS = {"confirmed": "confirmed", "tentative": "tentative", "cancelled": "cancelled"}
_PRIVATE = {"private", "confidential"}


class _Gone(Exception):
    """The sync token expired (HTTP 410): a full sync is needed."""


def load_credentials(name: str, ref: str, subject: str | None = None, token_uri: str | None = None) -> Any:
    """Credentials from a service-account JSON or an authorized-user token file (a path, or the JSON itself).

    `token_uri` replaces Google's token endpoint (a proxy, or a test's fake server).
    """
    try:
        text = ref if ref.lstrip().startswith("{") else Path(ref).read_text(encoding="utf-8")
    except OSError as exc:
        raise FetchError(f"{name}: cannot read the credentials file {ref}: {exc.strerror or exc}") from None
    try:
        info = json.loads(text)
    except ValueError:
        raise FetchError(f"{name}: the credentials are not valid JSON") from None
    kind = info.get("type") if isinstance(info, dict) else None
    try:
        creds: Any = None
        if kind == "service_account":
            creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
            creds = creds.with_subject(subject) if subject else creds
        elif kind == "authorized_user" or (isinstance(info, dict) and "refresh_token" in info):
            creds = user_credentials.Credentials.from_authorized_user_info(info, scopes=SCOPES)
        if creds is not None:
            return creds.with_token_uri(token_uri) if token_uri else creds
    except (ValueError, KeyError) as exc:
        raise FetchError(f"{name}: the {kind or 'token'} credentials are incomplete: {exc}") from None
    raise FetchError(
        f"{name}: the credentials are neither a service-account key nor an authorized-user token (type {kind!r})"
    )


def api_endpoint(api_base: str) -> str:
    """The client's endpoint for `api_base` (a host like http://127.0.0.1:8080, or the full .../calendar/v3/)."""
    base = api_base.rstrip("/")
    if base.endswith("/calendar/v3"):
        return base + "/"
    return base + "/calendar/v3/"


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GoogleCalendarSource:
    """One Google calendar; full sync over the window, then incremental with the stored sync token."""

    def __init__(
        self,
        name: str,
        calendar_id: str,
        credentials: str,
        default_zone: str,
        all_day_hour: time,
        api_base: str | None = None,
        timeout: float = 30.0,
        subject: str | None = None,
        retries: int = 1,
        token_uri: str | None = None,
    ):
        self.name = name
        self.calendar_id = calendar_id
        self.credentials = credentials
        self.default_zone = default_zone
        self.all_day_hour = all_day_hour
        self.api_base = api_base
        self.timeout = timeout
        self.subject = subject
        self.retries = retries
        self.token_uri = token_uri

    def client(self) -> Any:
        """A new calendar v3 client (static discovery document, our timeout, the configured endpoint)."""
        creds = load_credentials(self.name, self.credentials, self.subject, self.token_uri)
        http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(timeout=self.timeout))
        options = {"api_endpoint": api_endpoint(self.api_base)} if self.api_base else None
        return build("calendar", "v3", http=http, static_discovery=True, cache_discovery=False, client_options=options)

    def fetch(
        self, state: SourceState, window_start: datetime, window_end: datetime, progress: Progress = NULL_PROGRESS
    ) -> FetchResult:
        """Incremental when a sync token is stored (410: full sync instead); else a full sync of the window."""
        service = self.client()
        try:
            if state.sync_token:
                try:
                    return self._list(service, {"syncToken": state.sync_token}, complete=False, progress=progress)
                except _Gone:
                    pass  # the token expired: a full sync, whose complete result removes what vanished
            window = {"timeMin": _rfc3339(window_start), "timeMax": _rfc3339(window_end)}
            try:
                return self._list(service, window, complete=True, progress=progress)
            except _Gone:
                raise FetchError(f"{self.name}: Google Calendar answered 410 Gone to a full sync") from None
        finally:
            service.close()  # the job's own connections: nothing is left open for another thread to reuse

    def _list(self, service: Any, extra: dict[str, str], complete: bool, progress: Progress) -> FetchResult:
        progress.stage(f"{self.name}: reading Google Calendar")
        result = FetchResult(complete=complete)
        params: dict[str, Any] = {
            "calendarId": self.calendar_id,
            "singleEvents": True,
            "showDeleted": True,
            "maxResults": PAGE_SIZE,
            **extra,
        }
        page_token: str | None = None
        seen_tokens: set[str] = set()
        items: list[dict[str, Any]] = []
        cal_zone = self.default_zone
        for _page in range(MAX_PAGES):
            response = self._execute(service.events().list(pageToken=page_token, **params))
            if not isinstance(response, dict):
                raise ParseError(f"{self.name}: Google Calendar answered something other than an event list")
            cal_zone = zones.iana_name(str(response.get("timeZone") or "")) or cal_zone
            page = response.get("items") or []
            if not isinstance(page, list):
                raise ParseError(f"{self.name}: Google Calendar answered a malformed event list")
            items.extend(i for i in page if isinstance(i, dict))
            progress.advance()
            page_token = response.get("nextPageToken")
            if not page_token:
                token = response.get("nextSyncToken")
                result.state = SourceState(sync_token=str(token) if token else None)
                break
            if page_token in seen_tokens:
                raise ParseError(f"{self.name}: Google Calendar repeats the page token {page_token[:20]!r}")
            seen_tokens.add(page_token)
        else:
            raise ParseError(f"{self.name}: Google Calendar sent more than {MAX_PAGES} pages")
        private: list[str] = []
        for item in items:
            self._take(item, cal_zone, result, private)
        if private:
            result.warnings.append(
                f"{self.name}: {len(private)} private event instance(s) left out: {', '.join(sorted(set(private))[:5])}"
            )
        return result

    def _execute(self, request: Any) -> Any:
        try:
            return request.execute(num_retries=self.retries)
        except HttpError as exc:
            status = int(getattr(exc.resp, "status", 0) or 0)
            if status == 410:
                raise _Gone from None
            reason = clean_line(str(getattr(exc, "reason", "") or exc._get_reason() or ""))[:200]
            hint = {401: "the credentials were refused", 403: "access denied", 404: "no such calendar"}.get(status)
            detail = f"{hint}: {reason}" if hint and reason else hint or reason
            raise FetchError(f"{self.name}: Google Calendar answered HTTP {status}: {detail}") from None
        except google.auth.exceptions.RefreshError as exc:
            raise FetchError(f"{self.name}: Google refused the credentials: {_first_line(exc)}") from None
        except google.auth.exceptions.GoogleAuthError as exc:
            raise FetchError(f"{self.name}: cannot authorize with Google: {_first_line(exc)}") from None
        except (httplib2.HttpLib2Error, OSError) as exc:
            raise FetchError(f"{self.name}: cannot reach Google Calendar: {type(exc).__name__}") from None
        except ValueError as exc:  # a body that is not JSON
            raise ParseError(f"{self.name}: Google Calendar answered unreadable data: {_first_line(exc)}") from None

    def _take(self, item: dict[str, Any], cal_zone: str, result: FetchResult, private: list[str]) -> None:
        event_id = str(item.get("id") or "")
        series_id = str(item.get("recurringEventId") or "")
        try:
            if series_id:
                uid, rid = clip_uid(series_id), _original_key(item.get("originalStartTime"))
            else:
                uid, rid = clip_uid(event_id), ""
            if not uid:
                raise ValueError("the event has no id")
            if item.get("status") == "cancelled":
                # A cancelled instance is cancelled; a cancelled event without a series is deleted (with its instances).
                (result.cancelled if series_id else result.deleted).append((uid, rid))
                return
            if str(item.get("visibility", "")).lower() in _PRIVATE:
                private.append(uid)
                return
            result.events.append(self._event(item, uid, rid, cal_zone))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            result.errors.append((clip_uid(series_id or event_id) or "(no id)", f"skipped: {_first_line(exc)}"))

    def _event(self, item: dict[str, Any], uid: str, rid: str, cal_zone: str) -> EventData:
        start_field, end_field = item.get("start") or {}, item.get("end") or {}
        zone = zones.iana_name(str(start_field.get("timeZone") or "")) or cal_zone
        notes: list[str] = []
        if start_field.get("date"):
            day = date.fromisoformat(start_field["date"])
            last = date.fromisoformat(end_field["date"]) if end_field.get("date") else day + timedelta(days=1)
            start = zones.all_day_start(day, self.all_day_hour, zone)
            end = zones.all_day_end(max(last, day + timedelta(days=1)), zone)
            all_day = True
        else:
            start = _instant(start_field["dateTime"], zone)
            end = _instant(end_field["dateTime"], zone) if end_field.get("dateTime") else start
            end = max(end, start)
            all_day = False
        source = item.get("source") or {}
        url = source.get("url") if isinstance(source, dict) else None
        return EventData(
            uid=uid,
            recurrence_id=rid,
            title=clean_line(str(item.get("summary") or "")),
            start=start,
            end=end,
            timezone=zone,
            all_day=all_day,
            status=_STATUS.get(str(item.get("status") or "confirmed"), "confirmed"),
            description=clean_text(str(item.get("description") or "")),
            location=clean_line(str(item.get("location") or "")),
            url=clean_line(str(url)) or None if url else None,
            sequence=int(item.get("sequence") or 0),
            warnings=tuple(notes),
        )


def _instant(text: str, zone: str) -> datetime:
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if value.tzinfo is None:  # Google always sends an offset; be safe with one that does not
        return zones.localize(value, zone)
    return value.astimezone(UTC)


def _original_key(original: Any) -> str:
    """The stored RECURRENCE-ID of a Google instance, from its originalStartTime."""
    if not isinstance(original, dict):
        raise ValueError("an instance without originalStartTime")
    if original.get("date"):
        return recurrence_key(date.fromisoformat(original["date"]))
    zone = zones.iana_name(str(original.get("timeZone") or "")) or "UTC"
    return recurrence_key(_instant(original["dateTime"], zone))


def _first_line(exc: BaseException) -> str:
    # google-auth's errors carry (message, response body) in args: the message is what people need.
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    text = first.strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
