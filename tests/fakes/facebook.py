"""A local fake of the Graph API for a Page: POST /{v}/{page_id}/feed and /photos, GET /{v}/{page_id}/feed.

Graph errors come as {"error": {"message", "type", "code", ...}}. Faults for POST, queued with
`fail_next(...)`: "429" (code 32 with X-Business-Use-Case-Usage), "613", "500", "400", "401"
(code 190, expired token), "506" (duplicate), "368" (blocked), "timeout", "timeout_after_create".
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

from tests.fakes.http import Request, Response
from tests.fakes.social import FakeNetwork, form

TOKEN = "fake-page-token"
PAGE_ID = "104000000000001"
VERSION = "v21.0"
REGAIN_MINUTES = 17


def _graph_error(status: int, code: int, message: str, **extra: Any) -> Response:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Afake", **extra}
    return Response(status, {"error": error})


class FakeFacebook(FakeNetwork):
    """Use as `with FakeFacebook() as fb:`; `fb.url` is the api_base."""

    def __init__(self, hang: float = 3.0, page_size: int = 50):
        super().__init__(hang)
        self.page_size = page_size
        self._ids = itertools.count(900_000_000_000_001)
        path = f"/{VERSION}/{PAGE_ID}/feed"
        self.server.route("POST", path, self._create)
        self.server.route("GET", path, self._feed)
        self.server.route("POST", f"/{VERSION}/{PAGE_ID}/photos", self._photo)

    def _denied(self, req: Request) -> Response | None:
        if self.revoked or req.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _graph_error(400, 190, "Error validating access token: Session has expired", error_subcode=463)
        return None

    def _create(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        fault = self._fault()
        if fault == "429":
            usage = {PAGE_ID: [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": REGAIN_MINUTES}]}
            answer = _graph_error(400, 32, "Page request limit reached")
            answer.headers["X-Business-Use-Case-Usage"] = json.dumps(usage)
            return answer
        if fault == "613":
            return _graph_error(400, 613, "Calls to this api have exceeded the rate limit.")
        if fault == "500":
            return _graph_error(500, 2, "Service temporarily unavailable", is_transient=True)
        if fault == "400":
            return _graph_error(400, 100, "Invalid parameter")
        if fault == "401":
            return _graph_error(400, 190, "Error validating access token: Session has expired", error_subcode=463)
        if fault == "506":
            return _graph_error(400, 506, "Duplicate status message")
        if fault == "368":
            return _graph_error(400, 368, "The action attempted has been deemed abusive or is otherwise disallowed")
        if fault == "timeout":
            return Response(503, "too late", delay=self.hang)
        values = form(req)
        message = (values.get("message") or [""])[0]
        if not message:
            return _graph_error(400, 100, "(#100) Missing message or attachment")
        pid = f"{PAGE_ID}_{next(self._ids)}"
        with self._lock:
            self.posts.append(
                {
                    "id": pid,
                    "text": message,
                    "message": message,
                    "link": (values.get("link") or [None])[0],
                    "created_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                }
            )
        answer = Response(200, {"id": pid})
        if fault == "timeout_after_create":
            answer.delay = self.hang
        return answer

    def _photo(self, req: Request) -> Response:
        """A photo post: {"id": photo id, "post_id": the Page post's id}, which the feed lists."""
        values = form(req)
        url = (values.get("url") or [""])[0]
        if not url:
            return _graph_error(400, 324, "(#324) Requires upload file")
        answer = self._create(req)
        if answer.status != 200 or not isinstance(answer.body, dict):
            return answer
        with self._lock:
            self.posts[-1]["image_url"] = url
        answer.body = {"id": str(next(self._ids)), "post_id": answer.body["id"]}
        return answer

    def _feed(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        limit = min(int((req.query.get("limit") or ["25"])[0]), self.page_size)
        start = int((req.query.get("after") or ["0"])[0])
        fields = (req.query.get("fields") or ["message"])[0].split(",")
        with self._lock:
            newest = list(reversed(self.posts))
        page = [
            {"id": p["id"], **{f: p[f] for f in fields if p.get(f) is not None}} for p in newest[start : start + limit]
        ]
        body: dict[str, Any] = {"data": page}
        if start + limit < len(newest):
            body["paging"] = {"cursors": {"before": str(start), "after": str(start + limit)}}
        return Response(200, body)
