"""What Facebook and Instagram share: the Graph API's error body and codes, usage headers, time format.

Graph errors carry a numeric code whatever the HTTP status: 4/17/32/613/80001 are rate limits,
190 (and 102, 10, 200-299) an expired, revoked or under-scoped token (reconnect), 506 a duplicate
post, 368 a post blocked by policy. Instagram adds media errors (9004 "cannot fetch the image",
subcodes 2207xxx) that are permanent unless flagged transient, and subcode 2207042: the account's
24-hour publishing limit, a rate limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

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

RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001})
RATE_LIMIT_SUBCODES = frozenset({2207042})  # Instagram: the 24-hour limit of API-published posts
AUTH_CODES = frozenset({102, 190, 10})
# Page limits are a rolling hour: without an estimate in the usage headers, wait that long.
DEFAULT_WAIT = timedelta(hours=1)
# Reconcile reads at most this many pages of this many recent items before it says "unsure".
RECONCILE_PAGES = 3
PAGE_SIZE = 50
RECONCILE_SLACK = timedelta(minutes=10)


@dataclass(frozen=True)
class Voice:
    """How a Graph network is named in our messages: 'Facebook' and 'the Page token', and so on."""

    network: str
    token: str


def graph_time(value: Any) -> datetime | None:
    """A Graph time such as 2026-12-03T17:00:00+0000 (no colon in the offset) as an aware datetime."""
    text = str(value or "")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    return rest.iso_time(text or None)


@dataclass(frozen=True)
class Listing:
    """A Graph edge of recent items that reconcile searches: the feed of a Page, the media of an account."""

    path: str  # e.g. /v21.0/{page_id}/feed
    fields: str  # the fields to ask for, the time field among them
    time_field: str  # "created_time" (feed) or "timestamp" (media)
    whose: str  # how messages name it: "the Page's", "the account's"
    noun: str  # "feed", "media"
    items: str  # "posts", "media"


def find_recent(
    api: rest.ApiClient,
    name: str,
    voice: Voice,
    listing: Listing,
    matches: Callable[[dict[str, Any]], bool],
    first_sent_at: datetime | None,
) -> dict[str, Any] | None:
    """The first recent item that `matches`; None once the listing is older than the first try (surely absent).

    Raises OutcomeUnknown when the listing cannot be read or the search runs out of pages first.
    """
    after: str | None = None
    try:
        for _ in range(RECONCILE_PAGES):
            params = {"fields": listing.fields, "limit": str(PAGE_SIZE)}
            if after:
                params["after"] = after
            resp = api.send("GET", listing.path, doing="reading", params=params)
            if resp.status_code != 200:
                raise error(name, voice, f"reading {listing.whose} {listing.noun}", resp)
            data = rest.body(resp)
            items = [i for i in data.get("data") or [] if isinstance(i, dict)]
            for item in items:
                if matches(item):
                    return item
            after = ((data.get("paging") or {}).get("cursors") or {}).get("after")
            last = graph_time(items[-1].get(listing.time_field)) if items else None
            if not items or not after or rest.too_old(last, first_sent_at, RECONCILE_SLACK):
                return None
    except ChannelError as exc:
        raise OutcomeUnknown(f"{name}: cannot read {listing.whose} recent {listing.items}: {exc}") from None
    raise OutcomeUnknown(f"{name}: not among {listing.whose} {RECONCILE_PAGES * PAGE_SIZE} latest posts")


def regain_at(headers: Any, now: datetime | None = None) -> datetime:
    """When the account may post again: the usage headers' estimate (minutes), else an hour from now."""
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


def error(name: str, voice: Voice, doing: str, resp: requests.Response) -> Exception:
    """A Graph error ({"error": {"message", "code", "error_subcode", "is_transient"}}) as one of ours."""
    body = rest.body(resp).get("error") or {}
    body = body if isinstance(body, dict) else {}
    code = _int(body.get("code"))
    subcode = _int(body.get("error_subcode"))
    # Instagram's media errors explain themselves best in error_user_msg ("The aspect ratio ...").
    text = body.get("error_user_msg") or body.get("message") or resp.text or resp.reason
    message = rest.one_line(f"{resp.status_code} (code {code}{f'/{subcode}' if subcode else ''}): {text}")
    net = voice.network
    if resp.status_code == 429 or code in RATE_LIMIT_CODES or subcode in RATE_LIMIT_SUBCODES:
        return RateLimited(
            f"{name}: {net} rate limit reached while {doing}: {message}", retry_at=regain_at(resp.headers)
        )
    if code in AUTH_CODES or 200 <= code < 300 or resp.status_code == 401:
        return AuthError(f"{name}: {net} no longer accepts {voice.token}: {message}")
    if code == 506:
        return DuplicateContent(f"{name}: {net} refused the post as a duplicate: {message}")
    if code == 368:
        return RejectedError(f"{name}: {net} blocked the post: {message}")
    if resp.status_code >= 500 or code in (1, 2) or body.get("is_transient"):
        return RetryableError(f"{name}: {net} server error while {doing}: {message}")
    if code == 9004 or 2207000 <= subcode < 2208000:
        return RejectedError(f"{name}: {net} refused the image: {message}")
    return RejectedError(f"{name}: {net} refused the post: {message}")


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
