"""A local fake of LinkedIn's REST posts API: POST /rest/posts (x-restli-id) and GET /rest/posts?q=author.

Checks the versioning headers and that the commentary is valid little text (no unescaped reserved
character outside a hashtag template). Faults for POST, queued with `fail_next(...)`: "429", "500",
"400", "401", "403", "422-duplicate", "timeout", "timeout_after_create".
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

from service.channels.linkedin import unescape
from tests.fakes.http import Request, Response
from tests.fakes.social import FakeNetwork

TOKEN = "fake-linkedin-token"
ORGANIZATION = "urn:li:organization:5515715"
_TEMPLATE = re.compile(r"\{hashtag\|\\#\|[^}]*\}")


def _valid_little_text(commentary: str) -> bool:
    rest = _TEMPLATE.sub("", commentary)
    rest = re.sub(r"\\.", "", rest)  # escaped characters are fine
    return not any(c in "\\|{}@[]()<>#*_~" for c in rest)


class FakeLinkedIn(FakeNetwork):
    """Use as `with FakeLinkedIn() as li:`; `li.url` is the api_base."""

    def __init__(self, hang: float = 3.0):
        super().__init__(hang)
        self._ids = itertools.count(7_200_000_000_000_000_001)
        self.server.route("POST", "/rest/posts", self._create)
        self.server.route("GET", "/rest/posts", self._list)

    def _denied(self, req: Request) -> Response | None:
        if self.revoked or req.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Response(401, {"status": 401, "serviceErrorCode": 65600, "message": "Invalid access token"})
        if not re.fullmatch(r"\d{6}", req.headers.get("LinkedIn-Version", "")):
            return Response(400, {"status": 400, "message": "A version must be present"})
        if req.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            return Response(400, {"status": 400, "message": "Restli protocol 2.0.0 required"})
        return None

    def _create(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        fault = self._fault()
        if fault == "429":
            return Response(429, {"status": 429, "message": "Resource level throttle APPLICATION DAY limit"})
        if fault in ("500", "401", "403"):
            return Response(int(fault), {"status": int(fault), "message": f"fault {fault}"})
        if fault == "400":
            return Response(400, {"status": 400, "message": "Field /commentary is invalid"})
        if fault == "422-duplicate":
            return Response(422, {"status": 422, "message": "Content is a duplicate of urn:li:share:1"})
        if fault == "timeout":
            return Response(503, {"message": "too late"}, delay=self.hang)
        body = req.json() or {}
        commentary = str(body.get("commentary") or "")
        if body.get("author") != ORGANIZATION or body.get("visibility") != "PUBLIC":
            return Response(403, {"status": 403, "message": "Not enough permissions to post as the organization"})
        if body.get("lifecycleState") != "PUBLISHED" or (body.get("distribution") or {}).get("feedDistribution") != (
            "MAIN_FEED"
        ):
            return Response(422, {"status": 422, "message": "lifecycleState and distribution are required"})
        if not _valid_little_text(commentary):
            return Response(422, {"status": 422, "message": "commentary has unescaped reserved characters"})
        urn = f"urn:li:share:{next(self._ids)}"
        with self._lock:
            self.posts.append(
                {
                    "id": urn,
                    "commentary": commentary,
                    "text": unescape(commentary),
                    "createdAt": int(time.time() * 1000),
                }
            )
        answer = Response(201, b"", {"x-restli-id": urn})
        if fault == "timeout_after_create":
            answer.delay = self.hang
        return answer

    def _list(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        if (req.query.get("q") or [""])[0] != "author" or (req.query.get("author") or [""])[0] != ORGANIZATION:
            return Response(400, {"status": 400, "message": "q=author and author are required"})
        start = int((req.query.get("start") or ["0"])[0])
        count = int((req.query.get("count") or ["10"])[0])
        with self._lock:
            newest: list[dict[str, Any]] = list(reversed(self.posts))
        page = [{k: v for k, v in p.items() if k != "text"} for p in newest[start : start + count]]
        return Response(200, {"elements": page, "paging": {"start": start, "count": count, "total": len(newest)}})
