"""A Facebook Page through the Graph API: POST /{version}/{page_id}/feed (or /photos with the event's
image) with the Page access token.

Graph errors (rate limits, an expired token, duplicates, blocked posts) are read by `graph.error`.
The Graph API has no idempotency key: after an unknown outcome, reconcile reads the Page's recent
feed and looks for the post's tracked link (the `link` field or in the message).
"""

from __future__ import annotations

from typing import Any

import requests

from ..campaigns.fitting import rules_for
from ..errors import OutcomeUnknown
from . import graph, rest
from .base import OutgoingPost, PublishResult, text_problems
from .graph import regain_at

__all__ = ["FacebookChannel", "regain_at"]

DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
VOICE = graph.Voice("Facebook", "the Page token")


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
        self.feed = graph.Listing(
            f"{self.prefix}/{page_id}/feed", "message,link,created_time", "created_time", "the Page's", "feed", "posts"
        )
        # The token goes in a header, never in a URL (URLs end up in proxies' and servers' logs).
        self.api = rest.ApiClient(name, api_base, timeout, {"Authorization": f"Bearer {access_token}"})

    def validate(self, post: OutgoingPost) -> list[str]:
        """Facebook's 63,206 characters and a non-empty text."""
        return text_problems(post.text, self.network)

    def publish(self, post: OutgoingPost) -> PublishResult:
        """Create the Page post once: a photo post when the event has an image, else a link post."""
        if post.image_url:
            # Facebook fetches the image itself; the photo's story carries the message (link as text).
            form = {"url": post.image_url, "message": post.text}
            path = f"{self.prefix}/{self.page_id}/photos"
        else:
            form = {"message": post.text, **({"link": post.link} if post.link else {})}
            path = f"{self.prefix}/{self.page_id}/feed"
        resp = self.api.send("POST", path, doing="posting", creates=True, data=form)
        if resp.status_code != 200:
            raise _error(self.name, "posting", resp)
        data = rest.body(resp)
        post_id = str(data.get("post_id") or data.get("id") or "")
        if not post_id:
            raise OutcomeUnknown(f"{self.name}: Facebook answered {resp.status_code} without a post id")
        return PublishResult(external_id=post_id, url=f"https://www.facebook.com/{post_id}")

    def reconcile(self, post: OutgoingPost) -> PublishResult | None:
        """Look for the post in the Page's recent feed; None only when surely absent."""
        item = graph.find_recent(self.api, self.name, VOICE, self.feed, lambda i: _matches(i, post), post.first_sent_at)
        if item is None:
            return None
        pid = str(item.get("id") or "")
        return PublishResult(external_id=pid, url=f"https://www.facebook.com/{pid}")

    def close(self) -> None:
        """Close the HTTP connections."""
        self.api.close()


def _matches(item: dict[str, Any], post: OutgoingPost) -> bool:
    message = str(item.get("message") or "")
    if post.link:
        return str(item.get("link") or "").rstrip("/") == post.link.rstrip("/") or post.link in message
    return " ".join(message.split()) == " ".join(post.text.split())


def _error(name: str, doing: str, resp: requests.Response) -> Exception:
    return graph.error(name, VOICE, doing, resp)
