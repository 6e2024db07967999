"""A local fake of the Instagram Graph API: media containers, media_publish, a media's fields, the account's media.

Faults, queued with `fail_next(...)`, are taken by the next container (POST /{v}/{id}/media):
- at creation: "429" (code 32 with X-Business-Use-Case-Usage), "613", "500", "400", "401"
  (code 190, expired token), "9004" (the image cannot be fetched), "2207042" (the 24-hour limit),
  "timeout" (hang, nothing created);
- while Instagram fetches the image: "slow" (IN_PROGRESS twice, then FINISHED), "stuck"
  (IN_PROGRESS for ever), "container_error" (ERROR), "expired" (EXPIRED);
- at media_publish: "publish_500", "timeout_before_publish" (hang, nothing published),
  "timeout_after_create" (published, then the answer comes too late).
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

from tests.fakes.facebook import REGAIN_MINUTES, _graph_error
from tests.fakes.http import Request, Response
from tests.fakes.social import FakeNetwork, form

TOKEN = "fake-instagram-token"
ACCOUNT_ID = "17841400000000001"
VERSION = "v21.0"
CREATE_FAULTS = {"429", "613", "500", "400", "401", "9004", "2207042", "timeout"}


class FakeInstagram(FakeNetwork):
    """Use as `with FakeInstagram() as ig:`; `ig.url` is the api_base; `ig.posts` the published media."""

    def __init__(self, hang: float = 3.0, page_size: int = 50):
        super().__init__(hang)
        self.page_size = page_size
        self.containers: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(18_000_000_000_000_001)
        self.server.route("POST", f"/{VERSION}/{ACCOUNT_ID}/media", self._create)
        self.server.route("POST", f"/{VERSION}/{ACCOUNT_ID}/media_publish", self._publish)
        self.server.route("GET", f"/{VERSION}/{ACCOUNT_ID}/media", self._media)

    def _denied(self, req: Request) -> Response | None:
        if self.revoked or req.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _graph_error(400, 190, "Error validating access token: Session has expired", error_subcode=463)
        return None

    def _create(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        fault = self._fault()
        if fault in CREATE_FAULTS:
            return self._create_fault(fault)
        values = form(req)
        image_url = (values.get("image_url") or [""])[0]
        if not image_url:
            return _graph_error(400, 100, "(#100) The parameter image_url is required")
        cid = str(next(self._ids))
        with self._lock:
            self.containers[cid] = {
                "image_url": image_url,
                "caption": (values.get("caption") or [""])[0],
                "fault": fault,
                "polls": 0,
                "published": False,
            }
        self.server.route("GET", f"/{VERSION}/{cid}", self._container)
        return Response(200, {"id": cid})

    def _create_fault(self, fault: str) -> Response:
        if fault == "429":
            usage = {
                ACCOUNT_ID: [
                    {"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": REGAIN_MINUTES}
                ]
            }
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
        if fault == "9004":
            return _graph_error(
                400,
                9004,
                "Only photo or video can be accepted as media type.",
                error_subcode=2207052,
                error_user_msg="The media could not be fetched from this URI: https://example.org/banner.png",
            )
        if fault == "2207042":
            return _graph_error(
                400,
                9,
                "Application request limit reached",
                error_subcode=2207042,
                error_user_msg="You have reached the maximum number of posts that is allowed for the API.",
            )
        return Response(503, "too late", delay=self.hang)  # "timeout"

    def _container(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        cid = req.path.rsplit("/", 1)[-1]
        with self._lock:
            box = self.containers[cid]
            box["polls"] += 1
            fault, polls = box["fault"], box["polls"]
        if box["published"]:
            return self._media_fields(req, cid)
        state, status = "FINISHED", "Finished: Media has been uploaded and it is ready to be published."
        if fault == "stuck" or (fault == "slow" and polls <= 2):
            state, status = "IN_PROGRESS", "In Progress: Media is still being processed."
        elif fault == "container_error":
            state, status = "ERROR", "Error: The image's aspect ratio is not supported (2207009)."
        elif fault == "expired":
            state, status = "EXPIRED", "Expired: The container was not published within 24 hours."
        fields = (req.query.get("fields") or ["id"])[0].split(",")
        body = {"id": cid, "status_code": state, "status": status}
        return Response(200, {k: v for k, v in body.items() if k in fields or k == "id"})

    def _publish(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        cid = (form(req).get("creation_id") or [""])[0]
        with self._lock:
            box = self.containers.get(cid)
        if box is None:
            return _graph_error(400, 100, "(#100) Param creation_id is not a valid container id")
        fault = box["fault"]
        if fault == "publish_500":
            return _graph_error(500, 2, "Service temporarily unavailable", is_transient=True)
        if fault == "timeout_before_publish":
            return Response(503, "too late", delay=self.hang)
        if box["published"]:
            return _graph_error(400, 100, "(#100) The media has already been published")
        mid = str(next(self._ids))
        with self._lock:
            box["published"] = True
            self.posts.append(
                {
                    "id": mid,
                    "text": box["caption"],
                    "caption": box["caption"],
                    "image_url": box["image_url"],
                    "permalink": f"https://www.instagram.com/p/FAKE{mid[-6:]}/",
                    "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                }
            )
        self.server.route("GET", f"/{VERSION}/{mid}", lambda r: self._media_fields(r, mid))
        answer = Response(200, {"id": mid})
        if fault == "timeout_after_create":
            answer.delay = self.hang
        return answer

    def _media_fields(self, req: Request, mid: str) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        fields = (req.query.get("fields") or ["id"])[0].split(",")
        with self._lock:
            media = next((p for p in self.posts if p["id"] == mid), None)
        if media is None:
            return _graph_error(400, 100, "Unsupported get request")
        return Response(200, {"id": mid, **{f: media[f] for f in fields if f in media and f != "text"}})

    def _media(self, req: Request) -> Response:
        denied = self._denied(req)
        if denied:
            return denied
        limit = min(int((req.query.get("limit") or ["25"])[0]), self.page_size)
        start = int((req.query.get("after") or ["0"])[0])
        fields = (req.query.get("fields") or ["id"])[0].split(",")
        with self._lock:
            newest = list(reversed(self.posts))
        page = [{"id": p["id"], **{f: p[f] for f in fields if f in p}} for p in newest[start : start + limit]]
        body: dict[str, Any] = {"data": page}
        if start + limit < len(newest):
            body["paging"] = {"cursors": {"before": str(start), "after": str(start + limit)}}
        return Response(200, body)
