"""A local webhook receiver (a team chat or an automation) for the webhook channel's tests."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from tests.fakes.http import FakeServer, Request, Response

PATH = "/hooks/team-chat"


class FakeReceiver:
    """Records every POST; `dedupe=True` keeps one delivery per Idempotency-Key, like a careful receiver."""

    def __init__(self, dedupe: bool = False, hang: float = 3.0, latency: float = 0.0):
        self.server = FakeServer()
        self.dedupe = dedupe
        self.hang = hang
        self.latency = latency
        self.deliveries: list[dict[str, Any]] = []  # what the receiver acted on
        self.faults: deque[str] = deque()
        self._lock = threading.Lock()
        self.server.route("POST", PATH, self._receive)

    @property
    def url(self) -> str:
        """The webhook URL to configure."""
        return self.server.url + PATH

    def fail_next(self, *kinds: str) -> None:
        """ "429", "500", "404", "400", "timeout" (hang, nothing delivered), "timeout_after_delivery"."""
        with self._lock:
            self.faults.extend(kinds)

    def requests(self) -> list[Request]:
        """Every request received, delivered or not."""
        return self.server.received("POST", PATH)

    def count(self, post_id: int) -> int:
        """How many deliveries of this post the receiver acted on."""
        with self._lock:
            return sum(1 for d in self.deliveries if d["body"]["post_id"] == post_id)

    def _receive(self, req: Request) -> Response:
        if self.latency:
            time.sleep(self.latency)
        with self._lock:
            fault = self.faults.popleft() if self.faults else None
            if fault == "429":
                return Response(429, "slow down", {"Retry-After": "120"})
            if fault in ("500", "404", "400", "401"):
                return Response(int(fault), f"fault {fault}")
            if fault == "timeout":
                return Response(200, "ok", delay=self.hang)
            key = req.headers.get("Idempotency-Key")
            seen = any(d["key"] == key for d in self.deliveries)
            if not (self.dedupe and seen):
                self.deliveries.append({"key": key, "body": req.json(), "headers": req.headers, "raw": req.body})
        if fault == "timeout_after_delivery":
            return Response(200, "ok", delay=self.hang)
        return Response(200, "ok")

    def __enter__(self) -> FakeReceiver:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)
