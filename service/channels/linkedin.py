"""LinkedIn organization posts through the versioned REST API (POST /rest/posts).

Commentary is in LinkedIn's "little text" format: its reserved characters are escaped with a
backslash (an unescaped one cuts or breaks the post) and hashtags become `{hashtag|\\#|tag}`
templates so they stay hashtags. LinkedIn has no idempotency key: after an unknown outcome,
reconcile lists the organization's recent posts and looks for the post's tracked link.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from ..campaigns.fitting import rules_for
from ..errors import AuthError, ChannelError, DuplicateContent, OutcomeUnknown, RateLimited
from . import http, rest
from .base import OutgoingPost, PublishResult, text_problems

DEFAULT_API_BASE = "https://api.linkedin.com"
DEFAULT_VERSION = "202506"
RESERVED = "\\|{}@[]()<>#*_~"
RECONCILE_PAGES = 3
PAGE_SIZE = 50
RECONCILE_SLACK = timedelta(minutes=10)
_HASHTAG = re.compile(r"(?<!\S)#(\w+)")
_TEMPLATE = re.compile(r"\{hashtag\|\\#\|([^}]*)\}")
_ESCAPED = re.compile(r"\\([\\|{}@\[\]()<>#*_~])")


def escape(text: str) -> str:
    """`text` as little text: reserved characters escaped, hashtags as hashtag templates."""
    out: list[str] = []
    last = 0
    for m in _HASHTAG.finditer(text):
        out.append(_escape_plain(text[last : m.start()]))
        out.append("{hashtag|\\#|" + _escape_plain(m.group(1)) + "}")
        last = m.end()
    out.append(_escape_plain(text[last:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    return "".join("\\" + c if c in RESERVED else c for c in text)


def unescape(commentary: str) -> str:
    """The plain text of little-text commentary (hashtag templates back to #tag)."""
    return _ESCAPED.sub(r"\1", _TEMPLATE.sub(lambda m: "#" + m.group(1), commentary))


class LinkedInChannel:
    """Publishes as one LinkedIn organization (urn:li:organization:N) with a member's access token."""

    def __init__(
        self,
        name: str,
        network: str,
        *,
        organization: str,
        access_token: str,
        api_base: str = DEFAULT_API_BASE,
        version: str = DEFAULT_VERSION,
        timeout: float = 20.0,
    ):
        self.name = name
        self.network = network
        self.rules = rules_for(network)
        self.organization = organization
        headers = {
            "Authorization": f"Bearer {access_token}",
            "LinkedIn-Version": version,
            "X-Restli-Protocol-Version": "2.0.0",
        }
        self.api = rest.ApiClient(name, api_base, timeout, headers)

    def validate(self, post: OutgoingPost) -> list[str]:
        """3,000 characters, counted on the escaped commentary LinkedIn receives."""
        problems = text_problems(post.text, self.network)
        length = len(escape(post.text))
        if not problems and length > self.rules.limit:
            problems.append(f"too long for linkedin once escaped: {length}/{self.rules.limit}")
        return problems

    def publish(self, post: OutgoingPost) -> PublishResult:
        """Create the organization's post once; its id comes back in the x-restli-id header."""
        payload = {
            "author": self.organization,
            "commentary": escape(post.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        resp = self.api.send("POST", "/rest/posts", doing="posting", creates=True, json=payload)
        if not 200 <= resp.status_code < 300:
            raise _error(self.name, "posting", resp)
        urn = resp.headers.get("x-restli-id") or resp.headers.get("x-linkedin-id") or ""
        if not urn:
            raise OutcomeUnknown(f"{self.name}: LinkedIn answered {resp.status_code} without a post id")
        return PublishResult(external_id=urn, url=_feed_url(urn))

    def reconcile(self, post: OutgoingPost) -> PublishResult | None:
        """Look for the post among the organization's recent posts; None only when surely absent."""
        try:
            for page in range(RECONCILE_PAGES):
                params = {
                    "author": self.organization,
                    "q": "author",
                    "count": str(PAGE_SIZE),
                    "start": str(page * PAGE_SIZE),
                    "sortBy": "CREATED",
                }
                resp = self.api.send("GET", "/rest/posts", doing="reading", params=params)
                if resp.status_code != 200:
                    raise _error(self.name, "reading the organization's posts", resp)
                elements = [e for e in rest.body(resp).get("elements") or [] if isinstance(e, dict)]
                for element in elements:
                    if _matches(element, post):
                        urn = str(element.get("id") or "")
                        return PublishResult(external_id=urn, url=_feed_url(urn))
                if len(elements) < PAGE_SIZE or _older(elements[-1], post):
                    return None
        except ChannelError as exc:
            raise OutcomeUnknown(f"{self.name}: cannot read the organization's recent posts: {exc}") from None
        raise OutcomeUnknown(f"{self.name}: not among the organization's {RECONCILE_PAGES * PAGE_SIZE} latest posts")

    def close(self) -> None:
        """Close the HTTP connections."""
        self.api.close()


def _feed_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def _matches(element: dict[str, Any], post: OutgoingPost) -> bool:
    text = unescape(str(element.get("commentary") or ""))
    if post.link:
        return post.link in text.split() or post.link in text
    return " ".join(text.split()) == " ".join(post.text.split())


def _older(element: dict[str, Any], post: OutgoingPost) -> bool:
    created = element.get("createdAt") or element.get("publishedAt")
    if not isinstance(created, int):
        return False
    return rest.too_old(datetime.fromtimestamp(created / 1000, UTC), post.first_sent_at, RECONCILE_SLACK)


def _next_midnight_utc() -> datetime:
    # LinkedIn's application and member limits are per day and reset at midnight UTC.
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)


def _error(name: str, doing: str, resp: requests.Response) -> Exception:
    """LinkedIn's answer ({"status", "serviceErrorCode", "message"}) as one of our errors."""
    data = rest.body(resp)
    status = resp.status_code
    message = rest.one_line(f"{status} {resp.reason}: {data.get('message') or resp.text}")
    if status == 429:
        until = http.retry_after(resp.headers) or _next_midnight_utc()
        return RateLimited(f"{name}: LinkedIn rate limit reached while {doing}: {message}", retry_at=until)
    if status == 401:
        return AuthError(f"{name}: LinkedIn no longer accepts the access token: {message}")
    if status == 403:
        return AuthError(f"{name}: LinkedIn refused access (token scopes or organization role): {message}")
    if status == 422 and "duplicate" in message.lower():
        return DuplicateContent(f"{name}: LinkedIn refused the post: {message}")
    if status >= 500:
        return rest.generic_error(f"{name}: LinkedIn server error while {doing}: {message}", status)
    return rest.generic_error(f"{name}: LinkedIn refused the post: {message}", status)
