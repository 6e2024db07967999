"""A Facebook Page through the Graph API: POST /{version}/{page_id}/feed with the Page access token.

Graph errors carry a numeric code whatever the HTTP status: 4/17/32/613/80001 are rate limits,
190 an expired or revoked token (reconnect), 506 a duplicate post, 368 a post blocked by policy.
The Graph API has no idempotency key: after an unknown outcome, reconcile reads the Page's recent
feed and looks for the post's tracked link (the `link` field or in the message).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from ..campaigns.fitting import rules_for
from ..errors import (
    AuthError,
    ChannelError,
    DuplicateContent,
    OutcomeUnknown,
    RateLimited,
    RejectedError,
    RetryableError,
)
from . import rest
from .base import OutgoingPost, PublishResult, text_problems

DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001})
AUTH_CODES = frozenset({102, 190, 10})
RECONCILE_PAGES = 3
PAGE_SIZE = 50
RECONCILE_SLACK = timedelta(minutes=10)
# Page limits are a rolling hour: without an estimate in the usage headers, wait that long.
DEFAULT_WAIT = timedelta(hours=1)


class FacebookChannel:
    """Publishes to one Facebook Page with its Page access token."""

    def __init__(
        self,
        name: str,
        network: str,
        *,
        page_id: str,
        access_token: str,
        api_base: str = DEFAULT_API_BASE,
        version: str = DEFAULT_VERSION,
        timeout: float = 20.0,
    ):
        self.name = name
        self.network = network
        self.rules = rules_for(network)
        self.page_id = page_id
        self.prefix = f"/{version}"
        # The token goes in a header, never in a URL (URLs end up in proxies' and servers' logs).
        self.api = rest.ApiClient(name, api_base, timeout, {"Authorization": f"Bearer {access_token}"})

    def validate(self, post: OutgoingPost) -> list[str]:
        """Facebook's 63,206 characters and a non-empty text."""
        return text_problems(post.text, self.network)

    def publish(self, post: OutgoingPost) -> PublishResult:
        """Create the Page post once (the tracked link also as `link`, for the preview)."""
        form = {"message": post.text, **({"link": post.link} if post.link else {})}
        path = f"{self.prefix}/{self.page_id}/feed"
        resp = self.api.send("POST", path, doing="posting", creates=True, data=form)
        if resp.status_code != 200:
            raise _error(self.name, "posting", resp)
        post_id = str(rest.body(resp).get("id") or "")
        if not post_id:
            raise OutcomeUnknown(f"{self.name}: Facebook answered {resp.status_code} without a post id")
        return PublishResult(external_id=post_id, url=f"https://www.facebook.com/{post_id}")

    def reconcile(self, post: OutgoingPost) -> PublishResult | None:
        """Look for the post in the Page's recent feed; None only when surely absent."""
        after: str | None = None
        try:
            for _ in range(RECONCILE_PAGES):
                params = {"fields": "message,link,created_time", "limit": str(PAGE_SIZE)}
                if after:
                    params["after"] = after
                resp = self.api.send("GET", f"{self.prefix}/{self.page_id}/feed", doing="reading", params=params)
                if resp.status_code != 200:
                    raise _error(self.name, "reading the Page's feed", resp)
                data = rest.body(resp)
                items = [i for i in data.get("data") or [] if isinstance(i, dict)]
                for item in items:
                    if _matches(item, post):
                        pid = str(item.get("id") or "")
                        return PublishResult(external_id=pid, url=f"https://www.facebook.com/{pid}")
                after = ((data.get("paging") or {}).get("cursors") or {}).get("after")
                last = rest.iso_time(_iso(items[-1].get("created_time"))) if items else None
                if not items or not after or rest.too_old(last, post.first_sent_at, RECONCILE_SLACK):
                    return None
        except ChannelError as exc:
            raise OutcomeUnknown(f"{self.name}: cannot read the Page's recent posts: {exc}") from None
        raise OutcomeUnknown(f"{self.name}: not among the Page's {RECONCILE_PAGES * PAGE_SIZE} latest posts")

    def close(self) -> None:
        """Close the HTTP connections."""
        self.api.close()


def _iso(value: Any) -> str | None:
    """Graph times look like 2026-12-03T17:00:00+0000: add the colon fromisoformat wants."""
    text = str(value or "")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    return text or None


def _matches(item: dict[str, Any], post: OutgoingPost) -> bool:
    message = str(item.get("message") or "")
    if post.link:
        return str(item.get("link") or "").rstrip("/") == post.link.rstrip("/") or post.link in message
    return " ".join(message.split()) == " ".join(post.text.split())


def regain_at(headers: Any, now: datetime | None = None) -> datetime:
    """When the Page may post again: the usage headers' estimate (minutes), else an hour from now."""
    now = now or datetime.now(UTC)
    minutes = 0
    for name in ("X-Business-Use-Case-Usage", "X-Page-Usage", "X-App-Usage"):
        raw = headers.get(name)
        if not raw:
            continue
        try:
            usage = json.loads(raw)
        except ValueError:
            continue
        # The business header maps ids to lists of usages; the page and app headers are one usage.
        if name == "X-Business-Use-Case-Usage" and isinstance(usage, dict):
            entries = [e for v in usage.values() for e in (v if isinstance(v, list) else [v])]
        else:
            entries = [usage]
        for entry in entries:
            if isinstance(entry, dict):
                minutes = max(minutes, int(entry.get("estimated_time_to_regain_access") or 0))
    return now + (timedelta(minutes=minutes) if minutes else DEFAULT_WAIT)


def _error(name: str, doing: str, resp: requests.Response) -> Exception:
    """A Graph error ({"error": {"message", "code", "error_subcode", "is_transient"}}) as one of ours."""
    error = rest.body(resp).get("error") or {}
    error = error if isinstance(error, dict) else {}
    code = int(error.get("code") or 0)
    text = error.get("message") or resp.text or resp.reason
    message = rest.one_line(f"{resp.status_code} (code {code}): {text}")
    if resp.status_code == 429 or code in RATE_LIMIT_CODES:
        return RateLimited(
            f"{name}: Facebook rate limit reached while {doing}: {message}", retry_at=regain_at(resp.headers)
        )
    if code in AUTH_CODES or 200 <= code < 300 or resp.status_code == 401:
        return AuthError(f"{name}: Facebook no longer accepts the Page token: {message}")
    if code == 506:
        return DuplicateContent(f"{name}: Facebook refused the post as a duplicate: {message}")
    if code == 368:
        return RejectedError(f"{name}: Facebook blocked the post: {message}")
    if resp.status_code >= 500 or code in (1, 2) or error.get("is_transient"):
        return RetryableError(f"{name}: Facebook server error while {doing}: {message}")
    return RejectedError(f"{name}: Facebook refused the post: {message}")
