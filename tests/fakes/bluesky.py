"""A local fake of a Bluesky PDS (XRPC): sessions with expiring tokens, createRecord with rkeys, getRecord.

Faults for createRecord, queued with `fail_next(...)`: "429" (ratelimit-reset in epoch seconds),
"500", "400", "401", "expired" (the access token has expired: refresh), "timeout" (nothing created),
"timeout_after_create". A create under a taken rkey is refused like a PDS does (400 InvalidRequest).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from tests.fakes.http import Request, Response
from tests.fakes.social import FakeNetwork

HANDLE = "clinic.example.org"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
DID = "did:plc:fakeclinic0000000000000"
COLLECTION = "app.bsky.feed.post"


class FakeBluesky(FakeNetwork):
    """Use as `with FakeBluesky() as b:`; `b.url` is the PDS's api_base."""

    def __init__(self, hang: float = 3.0):
        super().__init__(hang)
        self.records: dict[str, dict[str, Any]] = {}  # rkey -> record
        self.sessions = 0
        self.refreshes = 0
        self.reset_at = int(time.time()) + 300
        self._tokens = itertools.count(1)
        self._access: set[str] = set()
        self._refresh: set[str] = set()
        x = "/xrpc/"
        self.server.route("POST", x + "com.atproto.server.createSession", self._create_session)
        self.server.route("POST", x + "com.atproto.server.refreshSession", self._refresh_session)
        self.server.route("POST", x + "com.atproto.repo.createRecord", self._create)
        self.server.route("GET", x + "com.atproto.repo.getRecord", self._get)

    def expire_tokens(self) -> None:
        """Every access token expires now (refresh tokens stay good)."""
        with self._lock:
            self._access.clear()

    def _new_session(self) -> Response:
        n = next(self._tokens)
        access, refresh = f"access-{n}", f"refresh-{n}"
        self._access.add(access)
        self._refresh.add(refresh)
        return Response(200, {"did": DID, "handle": HANDLE, "accessJwt": access, "refreshJwt": refresh})

    def _create_session(self, req: Request) -> Response:
        body = req.json() or {}
        if self.revoked or body.get("identifier") != HANDLE or body.get("password") != APP_PASSWORD:
            return Response(401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"})
        with self._lock:
            self.sessions += 1
            return self._new_session()

    def _refresh_session(self, req: Request) -> Response:
        token = req.headers.get("Authorization", "").removeprefix("Bearer ")
        with self._lock:
            if token not in self._refresh:
                return Response(400, {"error": "ExpiredToken", "message": "Token has expired"})
            self._refresh.discard(token)
            self.refreshes += 1
            return self._new_session()

    def _denied(self, req: Request) -> Response | None:
        token = req.headers.get("Authorization", "").removeprefix("Bearer ")
        with self._lock:
            if token not in self._access:
                return Response(400, {"error": "ExpiredToken", "message": "Token has expired"})
        return None

    def _create(self, req: Request) -> Response:
        fault = self.faults[0] if self.faults else None
        if fault == "expired":
            self._fault()
            self.expire_tokens()
        denied = self._denied(req)
        if denied:
            return denied
        fault = self._fault()
        if fault == "429":
            headers = {"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": str(self.reset_at)}
            return Response(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers)
        if fault == "500":
            return Response(500, {"error": "InternalServerError", "message": "Internal Server Error"})
        if fault == "400":
            return Response(400, {"error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record"})
        if fault == "401":
            return Response(401, {"error": "AuthenticationRequired", "message": "Token has been revoked"})
        if fault == "timeout":
            return Response(503, {"error": "too late"}, delay=self.hang)
        body = req.json() or {}
        record, rkey = body.get("record") or {}, str(body.get("rkey") or "")
        problem = _check(body, record, rkey)
        if problem:
            return Response(400, {"error": "InvalidRequest", "message": problem})
        with self._lock:
            if rkey in self.records:
                return Response(400, {"error": "InvalidRequest", "message": "Record already exists"})
            self.records[rkey] = record
            self.posts.append({"text": record["text"], "rkey": rkey, "record": record})
        uri = f"at://{DID}/{COLLECTION}/{rkey}"
        answer = Response(200, {"uri": uri, "cid": f"bafyrei{rkey}", "validationStatus": "valid"})
        if fault == "timeout_after_create":
            answer.delay = self.hang
        return answer

    def _get(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        rkey = (req.query.get("rkey") or [""])[0]
        with self._lock:
            record = self.records.get(rkey)
        if record is None or (req.query.get("repo") or [""])[0] != DID:
            return Response(400, {"error": "RecordNotFound", "message": f"Could not locate record: {rkey}"})
        return Response(200, {"uri": f"at://{DID}/{COLLECTION}/{rkey}", "cid": f"bafyrei{rkey}", "value": record})


_B32 = set("234567abcdefghijklmnopqrstuvwxyz")


def _check(body: dict[str, Any], record: dict[str, Any], rkey: str) -> str | None:
    """What a PDS's lexicon validation would refuse here (a subset)."""
    if body.get("repo") != DID or body.get("collection") != COLLECTION:
        return "wrong repo or collection"
    if len(rkey) != 13 or not set(rkey) <= _B32 or rkey[0] not in "234567abcdefghij":
        return f"Record/rkey must be a valid TID: {rkey!r}"
    if record.get("$type") != COLLECTION or not isinstance(record.get("text"), str) or not record.get("createdAt"):
        return "Record/text, Record/createdAt and $type are required"
    encoded = record["text"].encode()
    for facet in record.get("facets") or []:
        index = facet["index"]
        if not 0 <= index["byteStart"] < index["byteEnd"] <= len(encoded):
            return "facet index out of range"
    return None
