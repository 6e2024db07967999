"""Fault injection for the crash tests: kill this process at a named point of a publish.

Only tests set EVENTPROMO_TEST_FAULT ("point" or "point:N", the Nth time the point is reached in
this process). Points: after_claim, before_request, after_request, after_commit.
"""

from __future__ import annotations

import os
import signal

ENV = "EVENTPROMO_TEST_FAULT"
POINTS = ("after_claim", "before_request", "after_request", "after_commit")

_hits: dict[str, int] = {}


def point(name: str) -> None:
    """SIGKILL this process here if the tests asked for it (no cleanup, like a power cut)."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    wanted, _, nth = spec.partition(":")
    if wanted != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
