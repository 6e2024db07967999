"""A fake Google Calendar (events.list with paging and sync tokens) and OAuth token endpoint, on FakeServer.

The real googleapiclient and google-auth talk HTTP to it. It behaves like Google where our code depends on it:
a full listing honours timeMin/timeMax, the last page carries nextSyncToken, an incremental listing returns
changed and deleted events (status "cancelled"), an expired token answers 410, and syncToken may not be
combined with timeMin/timeMax (400).
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from tests.fakes.http import FakeServer, Request, Response

TOKEN_PATH = "/token"


def _instant(field: dict[str, Any]) -> datetime:
    if "dateTime" in field:
        return datetime.fromisoformat(field["dateTime"].replace("Z", "+00:00")).astimezone(UTC)
    return datetime.fromisoformat(field["date"] + "T00:00:00+00:00")


class FakeGoogleCalendar:
    """One calendar's events, a change log for sync tokens, and the requests it answered."""

    def __init__(self, server: FakeServer, calendar_id: str = "events@group.calendar.google.com"):
        self.server = server
        self.calendar_id = calendar_id
        self.time_zone = "America/New_York"
        self.page_size: int | None = None  # None: as many as maxResults allows
        self.events: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.changed_at: dict[str, int] = {}
        self.expired: set[str] = set()
        self.issued_tokens: list[str] = []
        self.token_requests: list[dict[str, list[str]]] = []
        self.fail_next: list[Response] = []
        self._lock = threading.Lock()
        server.route("POST", TOKEN_PATH, self._token)
        server.route("GET", self.events_path, self._list)

    @property
    def events_path(self) -> str:
        """The path googleapiclient requests (the calendar id is percent-encoded)."""
        return f"/calendar/v3/calendars/{quote(self.calendar_id, safe='')}/events"

    @property
    def token_uri(self) -> str:
        """Where the credentials get access tokens."""
        return self.server.url + TOKEN_PATH

    # --- what the test does to the calendar -------------------------------------------------------------

    def put(self, *resources: dict[str, Any]) -> None:
        """Add or change events (Google event resources)."""
        with self._lock:
            for resource in resources:
                self.version += 1
                item = {"kind": "calendar#event", "etag": f'"{self.version}"', "status": "confirmed", **resource}
                self.events[item["id"]] = item
                self.changed_at[item["id"]] = self.version

    def delete(self, event_id: str) -> None:
        """Delete an event: it stays listed, as status "cancelled", for incremental syncs."""
        with self._lock:
            self.version += 1
            old = self.events[event_id]
            self.events[event_id] = {
                k: v for k, v in old.items() if k in ("id", "recurringEventId", "originalStartTime", "kind")
            } | {"status": "cancelled", "etag": f'"{self.version}"'}
            self.changed_at[event_id] = self.version

    def expire_tokens(self) -> None:
        """Every sync token issued so far now answers 410 Gone."""
        self.expired.update(self.issued_tokens)

    def list_requests(self) -> list[Request]:
        """The events.list requests received."""
        return self.server.received("GET", self.events_path)

    # --- the endpoints ------------------------------------------------------------------------------------

    def _token(self, req: Request) -> Response:
        form = parse_qs(req.body.decode())
        self.token_requests.append(form)
        grant = form.get("grant_type", [""])[0]
        if grant == "refresh_token" and form.get("refresh_token") == ["revoked"]:
            return Response(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            payload = form["assertion"][0].split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            # google-auth puts Google's own token endpoint in `aud`, whatever the token_uri it posts to.
            audience_ok = claims.get("aud") == "https://oauth2.googleapis.com/token"
            if not audience_ok or "calendar.readonly" not in claims.get("scope", ""):
                return Response(400, {"error": "invalid_grant", "error_description": "bad assertion"})
        return Response(200, {"access_token": "ya29.fake-token", "expires_in": 3600, "token_type": "Bearer"})

    def _list(self, req: Request) -> Response:
        if self.fail_next:
            return self.fail_next.pop(0)
        headers = {k.lower(): v for k, v in req.headers.items()}  # httplib2 sends lower-case names
        if headers.get("authorization") != "Bearer ya29.fake-token":
            return Response(401, {"error": {"code": 401, "message": "Request had invalid authentication credentials."}})
        q = {k: v[0] for k, v in req.query.items()}
        with self._lock:
            if "syncToken" in q:
                if {"timeMin", "timeMax"} & set(q):
                    return _error(400, "Sync token cannot be used with timeMin or timeMax.")
                token = q["syncToken"]
                if token in self.expired or not token.startswith("sync-"):
                    return _error(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired")
                since = int(token.split("-", 1)[1])
                items = [copy.deepcopy(e) for i, e in self.events.items() if self.changed_at[i] > since]
            else:
                lo = datetime.fromisoformat(q["timeMin"].replace("Z", "+00:00")) if "timeMin" in q else None
                hi = datetime.fromisoformat(q["timeMax"].replace("Z", "+00:00")) if "timeMax" in q else None
                items = []
                for e in self.events.values():
                    if e["status"] == "cancelled":
                        if q.get("showDeleted") == "true" and e.get("recurringEventId"):
                            items.append(copy.deepcopy(e))
                        continue
                    # A malformed event (a test's) is always listed.
                    outside = (
                        "start" in e
                        and "end" in e
                        and ((lo and _instant(e["end"]) <= lo) or (hi and _instant(e["start"]) >= hi))
                    )
                    if outside:
                        continue
                    items.append(copy.deepcopy(e))
            version = self.version
        size = self.page_size or int(q.get("maxResults", 250))
        offset = int(q.get("pageToken", "0") or 0)
        page = items[offset : offset + size]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "summary": "Events",
            "timeZone": self.time_zone,
            "items": page,
        }
        if offset + size < len(items):
            body["nextPageToken"] = str(offset + size)
        else:
            token = f"sync-{version}"
            self.issued_tokens.append(token)
            body["nextSyncToken"] = token
        return Response(200, body)


def _error(code: int, message: str, reason: str = "invalid") -> Response:
    return Response(
        code, {"error": {"code": code, "message": message, "errors": [{"reason": reason, "message": message}]}}
    )


def timed(
    event_id: str, start: datetime, minutes: int = 60, zone: str = "America/New_York", **extra: Any
) -> dict[str, Any]:
    """A timed event resource."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    local = start.astimezone(ZoneInfo(zone))
    return {
        "id": event_id,
        "summary": "Patient webinar",
        "start": {"dateTime": local.isoformat(), "timeZone": zone},
        "end": {"dateTime": (local + timedelta(minutes=minutes)).isoformat(), "timeZone": zone},
        **extra,
    }


def write_service_account(path: Path, token_uri: str) -> Path:
    """A service-account key file with a fresh RSA key, its token_uri pointing at the fake."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "eventpromo-test",
        "private_key_id": "abc123",
        "private_key": pem,
        "client_email": "sync@eventpromo-test.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info))
    return path


def write_authorized_user(path: Path, token_uri: str, refresh_token: str = "1//refresh") -> Path:
    """An authorized-user token file (as google-auth-oauthlib writes it), its token_uri pointing at the fake."""
    info = {
        "type": "authorized_user",
        "client_id": "client.apps.googleusercontent.com",
        "client_secret": "secret",
        "refresh_token": refresh_token,
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info))
    return path
