"""An optional notice to a person's chat or automation when a post fails or needs them."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import requests

from .channels import http

log = logging.getLogger(__name__)

TIMEOUT = 5.0
# A tick with many failures sends this many notices and one that counts the rest (a hung receiver
# must not hold the worker for long).
MAX_PER_TICK = 10


@dataclass(frozen=True)
class Notice:
    """One thing a person should look at."""

    kind: str  # failed | unknown_outcome | needs_reconnect | more (a count of the rest)
    channel: str
    reason: str
    post_id: int | None = None
    event: str | None = None
    step: str | None = None

    def text(self) -> str:
        """A line for Slack / Teams (their `text` field)."""
        if self.kind == "more":
            return f"eventpromo: {self.reason} on {self.channel} (see the web page)"
        what = {
            "failed": "A post failed",
            "unknown_outcome": "A post's outcome is unknown: check the account",
            "needs_reconnect": "A channel needs reconnecting",
        }.get(self.kind, self.kind)
        about = f" (post {self.post_id}, {self.event}: {self.step})" if self.post_id is not None else ""
        return f"eventpromo: {what} on {self.channel}{about}: {self.reason}"


def send(url: str | None, notices: list[Notice]) -> int:
    """POST each notice as JSON to `url`; failures are logged, never raised. Returns how many went out."""
    if not url or not notices:
        return 0
    if len(notices) > MAX_PER_TICK:
        rest = notices[MAX_PER_TICK - 1 :]
        summary = Notice("more", ", ".join(sorted({n.channel for n in rest})), f"{len(rest)} more posts need a look")
        notices = [*notices[: MAX_PER_TICK - 1], summary]
    sent = 0
    session = http.plain_session(TIMEOUT, url)
    try:
        for notice in notices:
            body = {
                "text": notice.text(),
                "kind": notice.kind,
                "channel": notice.channel,
                "post_id": notice.post_id,
                "event": notice.event,
                "step": notice.step,
                "reason": notice.reason,
            }
            try:
                resp = session.post(
                    url,
                    data=json.dumps(body, ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                log.warning("failure notice not delivered: %s", http.describe(exc))
                continue
            if 200 <= resp.status_code < 300:
                sent += 1
            else:
                log.warning("failure notice not delivered: HTTP %s", resp.status_code)
    finally:
        session.close()
    return sent
