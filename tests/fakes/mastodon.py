"""A local fake of Mastodon's REST API: statuses (with Idempotency-Key), media, the account's statuses.

Faults for POST /api/v1/statuses, queued with `fail_next(...)`: "429" (X-RateLimit-Reset as ISO time),
"500", "400", "422-duplicate", "401", "403", "timeout" (hang, nothing created),
"timeout_after_create" (created, then the answer comes too late). `process_polls = n`: uploads are
answered 202 and GET /api/v1/media/:id answers 206 (still processing) n times before it has a url.
"""

from __future__ import annotations

import html
import itertools
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.http import Request, Response
from tests.fakes.social import FakeNetwork, form

TOKEN = "fake-mastodon-token"
ACCOUNT_ID = "109000000000000001"
_URL = re.compile(r"https?://[^\s<>\"]+")


class FakeMastodon(FakeNetwork):
    """Use as `with FakeMastodon() as m:`; `m.url` is the instance's api_base."""

    def __init__(self, hang: float = 3.0, page_size: int = 40):
        super().__init__(hang)
        self.page_size = page_size
        self.reset_at = (datetime.now(UTC) + timedelta(minutes=5)).replace(microsecond=0)
        self.keys: dict[str, dict[str, Any]] = {}  # Idempotency-Key -> the status it made
        self.media: dict[str, int] = {}
        # Uploads answered 202: media id -> how many more GETs answer 206 (still processing).
        self.processing: dict[str, int] = {}
        self.process_polls = 0  # set before an upload: answer it 202 and 206 this many times
        self._ids = itertools.count(110_000_000_000_000_001)
        self.server.route("POST", "/api/v1/statuses", self._create)
        self.server.route("POST", "/api/v2/media", self._upload)
        self.server.route("GET", "/api/v1/accounts/verify_credentials", self._me)
        self.server.route("GET", f"/api/v1/accounts/{ACCOUNT_ID}/statuses", self._statuses)

    def add_existing(self, text: str) -> dict[str, Any]:
        """A status made elsewhere."""
        with self._lock:
            return self._store(text, [])

    def _denied(self, req: Request) -> Response | None:
        if self.revoked or req.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response(401, {"error": "The access token is invalid"})
        return None

    def _store(self, text: str, media_ids: list[str]) -> dict[str, Any]:
        sid = str(next(self._ids))
        links = _URL.findall(text)
        content = html.escape(text)
        for link in links:
            shown = html.escape(link)
            content = content.replace(shown, f'<a href="{shown}" rel="nofollow noopener" target="_blank">{shown}</a>')
        status = {
            "id": sid,
            "text": text,
            "content": f"<p>{content}</p>",
            "url": f"https://mastodon.example/@clinic/{sid}",
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "card": {"url": links[0], "title": "RSVP"} if links else None,
            "media_attachments": [{"id": m} for m in media_ids],
        }
        self.posts.append(status)
        return status

    def _rate_headers(self, remaining: int = 299) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": self.reset_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }

    def _create(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        values = form(req)
        text = (values.get("status") or [""])[0]
        key = req.headers.get("Idempotency-Key", "")
        fault = self._fault()
        if fault == "429":
            return Response(429, {"error": "Too many requests"}, self._rate_headers(0))
        if fault in ("500", "401", "403"):
            return Response(int(fault), {"error": f"fault {fault}"})
        if fault == "400":
            return Response(400, {"error": "Validation failed: bad request"})
        if fault == "422-duplicate":
            return Response(422, {"error": "Validation failed: duplicate"})
        if fault == "timeout":
            return Response(503, {"error": "too late"}, delay=self.hang)
        if not text.strip():
            return Response(422, {"error": "Validation failed: Text can't be blank"})
        with self._lock:
            unready = any(self.processing.get(m) for m in values.get("media_ids[]") or [])
        if unready:
            return Response(422, {"error": "Cannot attach files that have not finished processing. Try again"})
        if (values.get("visibility") or [""])[0] != "public":
            return Response(422, {"error": "Validation failed: visibility"})
        with self._lock:
            if key and key in self.keys:
                status = self.keys[key]  # Mastodon answers a repeated key with the status it made
            else:
                status = self._store(text, values.get("media_ids[]") or [])
                if key:
                    self.keys[key] = status
        answer = Response(200, _public(status), self._rate_headers())
        if fault == "timeout_after_create":
            answer.delay = self.hang
        return answer

    def _upload(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        if b'name="file"' not in req.body:
            return Response(422, {"error": "Validation failed: File can't be blank"})
        mid = str(next(self._ids))
        with self._lock:
            self.media[mid] = len(req.body)
            polls = self.process_polls
        self.server.route("GET", f"/api/v1/media/{mid}", self._media)
        if polls:
            with self._lock:
                self.processing[mid] = polls
            return Response(202, {"id": mid, "type": "image", "url": None})
        return Response(200, {"id": mid, "type": "image", "url": f"https://files.example/{mid}.png"})

    def _media(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        mid = req.path.rsplit("/", 1)[-1]
        with self._lock:
            left = self.processing.get(mid, 0)
            self.processing[mid] = max(0, left - 1)
        if left:
            return Response(206, {"id": mid, "type": "image", "url": None})
        return Response(200, {"id": mid, "type": "image", "url": f"https://files.example/{mid}.png"})

    def _me(self, req: Request) -> Response:
        return self._denied(req) or Response(200, {"id": ACCOUNT_ID, "username": "clinic", "acct": "clinic"})

    def _statuses(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        limit = min(int((req.query.get("limit") or ["20"])[0]), self.page_size)
        max_id = (req.query.get("max_id") or [None])[0]
        with self._lock:
            newest_first = [s for s in reversed(self.posts) if max_id is None or int(s["id"]) < int(max_id)]
        return Response(200, [_public(s) for s in newest_first[:limit]])


def _public(status: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in status.items() if k != "text"}
