"""An Instagram professional account through the Graph API: a media container, then media_publish.

Publishing is two steps: POST /{version}/{account_id}/media (image_url, caption) makes a container,
which Instagram fills by fetching the image itself; once its status_code is FINISHED,
POST /{version}/{account_id}/media_publish makes the post. A crash or a lost answer before
media_publish leaves only an unpublished container (harmless, it expires in a day); a lost
media_publish answer is the unknown case, settled by reconcile: it reads the account's recent media
and looks for the post's tracked link in the captions (links are not clickable on Instagram, but
the caption keeps the text). Every post needs an image. Graph errors are read by `graph.error`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..campaigns.fitting import rules_for
from ..errors import ChannelError, OutcomeUnknown, RejectedError, RetryableError
from . import graph, rest
from .base import OutgoingPost, PublishResult, text_problems

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
VOICE = graph.Voice("Instagram", "the access token")
POLL_TRIES = 5
# Reading the permalink is a courtesy: it never takes long enough to matter to the lease.
PERMALINK_TIMEOUT = 2.0


class InstagramChannel:
    """Publishes image posts to one Instagram professional account with its access token."""

    def __init__(
        self,
        name: str,
        network: str,
        *,
        account_id: str,
        access_token: str,
        api_base: str = DEFAULT_API_BASE,
        version: str = DEFAULT_VERSION,
        timeout: float = 20.0,
    ):
        self.name = name
        self.network = network
        self.rules = rules_for(network)
        self.account_id = account_id
        self.prefix = f"/{version}"
        self.media = graph.Listing(
            f"{self.prefix}/{account_id}/media",
            "caption,timestamp,permalink",
            "timestamp",
            "the account's",
            "media",
            "media",
        )
        # The token goes in a header, never in a URL (URLs end up in proxies' and servers' logs).
        self.api = rest.ApiClient(name, api_base, timeout, {"Authorization": f"Bearer {access_token}"})

    def validate(self, post: OutgoingPost) -> list[str]:
        """Instagram's 2,200 characters and 30 hashtags, and an image (Instagram has no text-only posts)."""
        problems = text_problems(post.text, self.network)
        if not post.image_url:
            problems.append("Instagram needs an image: add an 'Image:' line with a public image URL to the event")
        elif not post.image_url.startswith(("http://", "https://")):
            problems.append(f"Instagram needs a public http(s) image URL, got {post.image_url[:60]!r}")
        return problems

    def publish(self, post: OutgoingPost) -> PublishResult:
        """Make the container, wait until Instagram has the image, then publish it once."""
        creation_id = self._container(post)
        self._wait_until_finished(creation_id)
        path = f"{self.prefix}/{self.account_id}/media_publish"
        resp = self.api.send("POST", path, doing="publishing", creates=True, data={"creation_id": creation_id})
        if resp.status_code != 200:
            raise graph.error(self.name, VOICE, "publishing", resp)
        media_id = str(rest.body(resp).get("id") or "")
        if not media_id:
            raise OutcomeUnknown(f"{self.name}: Instagram answered {resp.status_code} without a media id")
        return PublishResult(external_id=media_id, url=self._permalink(media_id))

    def reconcile(self, post: OutgoingPost) -> PublishResult | None:
        """Look for the post among the account's recent media; None only when surely absent."""
        item = graph.find_recent(
            self.api, self.name, VOICE, self.media, lambda i: _matches(i, post), post.first_sent_at
        )
        if item is None:
            return None
        return PublishResult(external_id=str(item.get("id") or ""), url=item.get("permalink"))

    def close(self) -> None:
        """Close the HTTP connections."""
        self.api.close()

    def _container(self, post: OutgoingPost) -> str:
        # Nothing is published yet: a lost answer leaves at most an unused container, so a plain retry is safe.
        form = {"image_url": post.image_url or "", "caption": post.text}
        path = f"{self.prefix}/{self.account_id}/media"
        resp = self.api.send("POST", path, doing="uploading the image", data=form)
        if resp.status_code != 200:
            raise graph.error(self.name, VOICE, "uploading the image", resp)
        creation_id = str(rest.body(resp).get("id") or "")
        if not creation_id:
            raise RetryableError(f"{self.name}: Instagram answered {resp.status_code} without a container id")
        return creation_id

    def _wait_until_finished(self, creation_id: str) -> None:
        """Poll the container a few times within one request timeout (the lease must cover the publish)."""
        budget = self.api.timeout
        deadline = time.monotonic() + budget
        for attempt in range(POLL_TRIES):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            params = {"fields": "status_code,status"}
            path = f"{self.prefix}/{creation_id}"
            resp = self.api.send("GET", path, doing="checking the image", params=params, timeout=left)
            if resp.status_code != 200:
                raise graph.error(self.name, VOICE, "checking the image", resp)
            data = rest.body(resp)
            state = str(data.get("status_code") or "")
            if state in ("FINISHED", "PUBLISHED"):
                return
            if state in ("ERROR", "EXPIRED"):
                detail = rest.one_line(str(data.get("status") or state))
                raise RejectedError(f"{self.name}: Instagram could not use the image ({state}): {detail}")
            if attempt < POLL_TRIES - 1:
                time.sleep(max(0.0, min(budget / POLL_TRIES, deadline - time.monotonic())))
        raise RetryableError(f"{self.name}: Instagram was still processing the image after {budget:g} s")

    def _permalink(self, media_id: str) -> str | None:
        """The post's instagram.com address; None when it cannot be read quickly (the post is out anyway)."""
        try:
            resp = self.api.send(
                "GET",
                f"{self.prefix}/{media_id}",
                doing="reading the permalink",
                params={"fields": "permalink"},
                timeout=min(PERMALINK_TIMEOUT, self.api.timeout),
            )
        except ChannelError as exc:
            log.info("%s: no permalink for media %s: %s", self.name, media_id, exc)
            return None
        link = rest.body(resp).get("permalink") if resp.status_code == 200 else None
        return str(link) if link else None


def _matches(item: dict[str, Any], post: OutgoingPost) -> bool:
    caption = str(item.get("caption") or "")
    if post.link:
        return _has_link(caption, post.link)
    return " ".join(caption.split()) == " ".join(post.text.split())


def _has_link(caption: str, link: str) -> bool:
    """`link` in the caption as a whole link: /r/abc must not match inside /r/abcd."""
    start = caption.find(link)
    while start >= 0:
        after = caption[start + len(link) : start + len(link) + 1]
        if not (after.isalnum() or after in ("-", "_", "/")):
            return True
        start = caption.find(link, start + 1)
    return False
