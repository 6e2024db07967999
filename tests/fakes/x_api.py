"""A local fake of X's API v2, for tweepy talking real HTTP.

Implements POST /2/tweets (t.co links, duplicate-content 403, rate-limit headers), GET /2/users/me,
GET /2/users/:id/tweets (newest first, entities.urls with expanded_url, pagination) and
POST /2/media/upload. Checks every OAuth 1.0a signature against the URL the request really reached.
Faults are queued with `fail_next(...)`: "429", "429-24h", "500", "503", "401", "400", "403",
"timeout" (hang without creating), "timeout_after_create", "drop_after_create", "drop".
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from oauthlib.oauth1 import Client
from oauthlib.oauth1.rfc5849 import signature, utils

from tests.fakes.http import FakeServer, Request, Response

CREDENTIALS = {
    "consumer_key": "fake-consumer-key",
    "consumer_secret": "fake-consumer-secret",
    "access_token": "fake-access-token",
    "access_token_secret": "fake-access-secret",
}
ENV = {f"X_{k.upper()}": v for k, v in CREDENTIALS.items()}
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
_URL = re.compile(r"https?://[^\s]+")


class FakeX:
    """Use as `with FakeX() as x:`; `x.url` goes into the channel's api_base."""

    def __init__(
        self,
        user_id: str = "1500000000000000001",
        latency: float = 0.0,
        hang: float = 3.0,
        page_size: int = 100,
        post_limit: int = 10_000,
        verify_signatures: bool = True,
    ):
        self.server = FakeServer()
        self.user_id = user_id
        self.latency = latency
        self.hang = hang
        self.page_size = page_size
        self.post_limit = post_limit
        self.verify_signatures = verify_signatures
        self.tweets: list[dict[str, Any]] = []  # oldest first
        self.media: dict[str, int] = {}
        self.faults: deque[str] = deque()
        self.revoked = False
        self.bad_signatures: list[str] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1_900_000_000_000_000_001)
        self._sent_in_window = 0
        self.reset_at = int(time.time()) + 900
        self.server.route("POST", "/2/tweets", self._create)
        self.server.route("GET", "/2/users/me", self._me)
        self.server.route("GET", f"/2/users/{user_id}/tweets", self._timeline)
        self.server.route("POST", "/2/media/upload", self._upload)

    # -- test controls ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The fake's base URL."""
        return self.server.url

    def fail_next(self, *kinds: str) -> None:
        """The next POST /2/tweets requests fail like this, in order."""
        with self._lock:
            self.faults.extend(kinds)

    def texts(self) -> list[str]:
        """The posted texts as sent (before t.co), oldest first."""
        with self._lock:
            return [t["original_text"] for t in self.tweets]

    def count_link(self, link: str) -> int:
        """How many posts carry this link."""
        with self._lock:
            return sum(1 for t in self.tweets if any(u["expanded_url"] == link for u in t["entities"]["urls"]))

    def add_existing(self, text: str) -> dict[str, Any]:
        """A post already on the account (made elsewhere)."""
        with self._lock:
            return self._store(text, [])

    def __enter__(self) -> FakeX:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)

    # -- handlers --------------------------------------------------------------------------------

    def _limit_headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.post_limit),
            "x-rate-limit-remaining": str(max(0, self.post_limit - self._sent_in_window)),
            "x-rate-limit-reset": str(self.reset_at),
        }

    def _auth(self, req: Request) -> Response | None:
        if self.latency:
            time.sleep(self.latency)
        if self.revoked:
            return Response(
                401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}
            )
        problem = self._check_signature(req)
        if problem:
            self.bad_signatures.append(problem)
            return Response(
                401, {"title": "Unauthorized", "status": 401, "detail": f"Could not authenticate you: {problem}"}
            )
        return None

    def _check_signature(self, req: Request) -> str | None:
        header = req.headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            return "no OAuth header"
        params = dict(utils.parse_authorization_header(header))
        if params.get("oauth_consumer_key") != CREDENTIALS["consumer_key"]:
            return "wrong consumer key"
        if params.get("oauth_token") != CREDENTIALS["access_token"]:
            return "wrong token"
        if not self.verify_signatures:
            return None
        pairs = [(k, v) for k, vs in req.query.items() for v in vs]
        collected = signature.collect_parameters(
            uri_query=urlencode(pairs), headers={"Authorization": header}, exclude_oauth_signature=True
        )
        base = signature.signature_base_string(
            req.method, signature.base_string_uri(self.url + req.path), signature.normalize_parameters(collected)
        )
        client = Client(
            CREDENTIALS["consumer_key"],
            client_secret=CREDENTIALS["consumer_secret"],
            resource_owner_key=CREDENTIALS["access_token"],
            resource_owner_secret=CREDENTIALS["access_token_secret"],
        )
        expected = signature.sign_hmac_sha1_with_client(base, client)
        return None if utils.unescape(params.get("oauth_signature", "")) == expected else "bad signature"

    def _me(self, req: Request) -> Response:
        return self._auth(req) or Response(200, {"data": {"id": self.user_id, "name": "Clinic", "username": "clinic"}})

    def _store(self, text: str, media_ids: list[str]) -> dict[str, Any]:
        tid = str(next(self._ids))
        urls = []
        shown = text
        for i, m in enumerate(_URL.finditer(text)):
            tco = f"https://t.co/{tid[-6:]}{i:04d}"
            urls.append(
                {
                    "start": m.start(),
                    "end": m.end(),
                    "url": tco,
                    "expanded_url": m.group(0),
                    "display_url": m.group(0)[8:40],
                }
            )
            shown = shown.replace(m.group(0), tco, 1)
        tweet = {
            "id": tid,
            "text": shown.replace("&", "&amp;"),
            "original_text": text,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "entities": {"urls": urls},
            "media_ids": media_ids,
        }
        self.tweets.append(tweet)
        return tweet

    def _create(self, req: Request) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        body = req.json() or {}
        text = str(body.get("text") or "")
        media_ids = [str(m) for m in ((body.get("media") or {}).get("media_ids") or [])]
        with self._lock:
            fault = self.faults.popleft() if self.faults else None
            headers = self._limit_headers()
            if fault is None and self._sent_in_window >= self.post_limit:
                fault = "429"
            if fault == "429":
                return Response(
                    429, {"title": "Too Many Requests", "status": 429, "detail": "Too Many Requests"}, headers
                )
            if fault == "429-24h":
                day = {
                    "x-user-limit-24hour-remaining": "0",
                    "x-user-limit-24hour-reset": str(int(time.time()) + 86_400),
                }
                return Response(
                    429,
                    {"title": "Too Many Requests", "status": 429, "detail": "Too Many Requests"},
                    {**headers, **day},
                )
            if fault in ("500", "503"):
                return Response(
                    int(fault), {"title": "Internal Error", "status": int(fault), "detail": "Something broke"}, headers
                )
            if fault == "401":
                return Response(401, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"}, headers)
            if fault == "400":
                return Response(
                    400,
                    {
                        "errors": [{"message": "Invalid Request: text is not valid"}],
                        "title": "Invalid Request",
                        "detail": "One or more parameters to your request was invalid.",
                    },
                    headers,
                )
            if fault == "403":
                return Response(
                    403,
                    {"title": "Forbidden", "status": 403, "detail": "You are not permitted to perform this action."},
                    headers,
                )
            if fault == "timeout":
                return Response(503, {"detail": "too late"}, delay=self.hang)
            if fault == "drop":
                return Response(drop=True)
            if any(t["original_text"] == text for t in self.tweets):
                return Response(
                    403, {"detail": DUPLICATE, "type": "about:blank", "title": "Forbidden", "status": 403}, headers
                )
            tweet = self._store(text, media_ids)
            self._sent_in_window += 1
            headers = self._limit_headers()
        answer = Response(
            201, {"data": {"id": tweet["id"], "text": tweet["text"], "edit_history_tweet_ids": [tweet["id"]]}}, headers
        )
        if fault == "timeout_after_create":
            answer.delay = self.hang
        if fault == "drop_after_create":
            answer = Response(drop=True)
        return answer

    def _timeline(self, req: Request) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        size = min(int((req.query.get("max_results") or ["10"])[0]), self.page_size)
        start = int((req.query.get("pagination_token") or ["0"])[0])
        with self._lock:
            newest_first = list(reversed(self.tweets))
        page = newest_first[start : start + size]
        fields = (req.query.get("tweet.fields") or [""])[0].split(",")
        data = []
        for t in page:
            item: dict[str, Any] = {"id": t["id"], "text": t["text"], "edit_history_tweet_ids": [t["id"]]}
            if "entities" in fields and t["entities"]["urls"]:
                item["entities"] = t["entities"]
            if "created_at" in fields:
                item["created_at"] = t["created_at"]
            data.append(item)
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta["newest_id"], meta["oldest_id"] = data[0]["id"], data[-1]["id"]
        if start + size < len(newest_first):
            meta["next_token"] = str(start + size)
        body: dict[str, Any] = {"meta": meta}
        if data:
            body["data"] = data
        return Response(200, body)

    def _upload(self, req: Request) -> Response:
        denied = self._auth(req)
        if denied:
            return denied
        ctype = req.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data") or b'name="media"' not in req.body:
            return Response(400, {"errors": [{"message": "media is required"}]})
        if b"tweet_image" not in req.body:
            return Response(400, {"errors": [{"message": "media_category is required"}]})
        mid = str(next(self._ids))
        with self._lock:
            self.media[mid] = len(req.body)
        return Response(
            200, {"data": {"id": mid, "media_key": f"3_{mid}", "size": len(req.body), "expires_after_secs": 86400}}
        )
