"""What the fake social networks share: a loopback server, a queue of faults, the posts they hold."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.http import FakeServer, Request


class FakeNetwork:
    """Base of the per-network fakes: `fail_next(...)` queues faults for the next create requests."""

    def __init__(self, hang: float = 3.0):
        self.server = FakeServer()
        self.hang = hang
        self.posts: list[dict[str, Any]] = []  # oldest first; each has "text" as the client sent it
        self.faults: deque[str] = deque()
        self.revoked = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The fake's base URL (the channel's api_base)."""
        return self.server.url

    def fail_next(self, *kinds: str) -> None:
        """The next create requests fail like this, in order (see each fake for the kinds)."""
        with self._lock:
            self.faults.extend(kinds)

    def texts(self) -> list[str]:
        """The texts posted, as the client meant them, oldest first."""
        with self._lock:
            return [p["text"] for p in self.posts]

    def _fault(self) -> str | None:
        with self._lock:
            return self.faults.popleft() if self.faults else None

    def __enter__(self) -> Any:
        self.server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.__exit__(*exc)


def form(req: Request) -> dict[str, list[str]]:
    """An urlencoded request body as lists of values."""
    return parse_qs(req.body.decode(), keep_blank_values=True)
