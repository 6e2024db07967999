"""A JSON POST per post to a URL (team chat, an automation); Slack and Teams read its `text` field.

Every request carries `Idempotency-Key: eventpromo-post-<id>` (the same on every try of a post) and,
with a `secret`, `X-Eventpromo-Timestamp` and `X-Eventpromo-Signature: sha256=<hex>`, the HMAC-SHA256
of `<timestamp>.<body>`. The body is the same on every try.

After an unknown outcome (a timeout after sending), the post is sent again with the same key only
when the channel says `idempotent = true` (the receiver drops repeats of a key); otherwise a person
checks the receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC
from typing import Any
from urllib.parse import urlsplit

import requests

from ..campaigns.fitting import rules_for
from ..errors import AuthError, OutcomeUnknown, RateLimited, RejectedError, RetryableError
from . import http, redact
from .base import OutgoingPost, PublishResult, text_problems

SIGNATURE_HEADER = "X-Eventpromo-Signature"
TIMESTAMP_HEADER = "X-Eventpromo-Timestamp"
# Answers that say the URL or its secret is no longer good: a person must fix the channel, not the post.
_CHANNEL_BROKEN = (401, 403, 404, 410)


def payload(post: OutgoingPost) -> dict[str, Any]:
    """The JSON body: deterministic for a post, whichever try it is."""
    return {
        "text": post.text,
        "url": post.link,
        "event": post.event_title,
        "event_id": post.event_id,
        "event_start": post.event_start.astimezone(UTC).isoformat() if post.event_start else None,
        "step": post.step,
        "post_id": post.post_id,
        "scheduled_at": post.scheduled_at.astimezone(UTC).isoformat(),
        "image": post.image_url,
        "channel": post.channel,
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookChannel:
    """POSTs each post as JSON to one URL."""

    def __init__(
        self,
        name: str,
        network: str,
        *,
        url: str,
        secret: str | None = None,
        idempotent: bool = False,
        timeout: float = 20.0,
    ):
        self.name = name
        self.network = network
        self.rules = rules_for(network)
        self.url = url
        self.secret = secret
        self.idempotent = idempotent
        self.session = http.plain_session(timeout, url)
        # The URL's path and query are the secret of most chat webhooks (Slack, Teams, Discord).
        parts = urlsplit(url)
        redact.register(secret, url, parts.path + (f"?{parts.query}" if parts.query else ""), parts.query)

    def validate(self, post: OutgoingPost) -> list[str]:
        """A non-empty text within the network's length."""
        return text_problems(post.text, self.network)

    def publish(self, post: OutgoingPost) -> PublishResult:
        """POST the post once."""
        body = json.dumps(payload(post), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": post.idempotency_key,
            "User-Agent": "eventpromo-webhook/1",
        }
        if self.secret:
            stamp = str(int(time.time()))
            headers[TIMESTAMP_HEADER] = stamp
            headers[SIGNATURE_HEADER] = sign(self.secret, stamp, body)
        try:
            resp = self.session.post(self.url, data=body, headers=headers, allow_redirects=False)
        except requests.RequestException as exc:
            what = f"{self.name}: {http.describe(exc)}"
            raise (RetryableError(what) if http.surely_not_sent(exc) else OutcomeUnknown(what)) from None
        if 200 <= resp.status_code < 300:
            return PublishResult(external_id=_answer_id(resp) or f"webhook-{post.post_id}")
        raise self._error(resp)

    def reconcile(self, post: OutgoingPost) -> PublishResult | None:
        """Resend with the same Idempotency-Key if the receiver dedupes; otherwise nobody here can tell."""
        if not self.idempotent:
            raise OutcomeUnknown(
                f"{self.name}: the receiver may have the post; it does not drop repeats "
                "(set idempotent = true if it does), so check it"
            )
        try:
            return self.publish(post)
        except (RetryableError, OutcomeUnknown, RejectedError) as exc:
            raise OutcomeUnknown(f"{self.name}: resending with the same key failed: {exc}") from None

    def close(self) -> None:
        """Close the HTTP connections."""
        self.session.close()

    def _error(self, resp: requests.Response) -> Exception:
        status = resp.status_code
        what = f"{self.name}: the webhook answered {status} {resp.reason}"
        detail = resp.text[:200].strip().replace("\n", " ")
        if detail:
            what += f": {detail}"
        if status == 429:
            return RateLimited(what, retry_at=http.retry_after(resp.headers))
        if status in (408, 425) or status >= 500:
            return RetryableError(what)
        if status in _CHANNEL_BROKEN or 300 <= status < 400:
            return AuthError(what)
        return RejectedError(what)


def _answer_id(resp: requests.Response) -> str | None:
    try:
        body = resp.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        value = body.get("id") or body.get("ts")
        return str(value)[:200] if value else None
    return None
