"""Mastodon through its REST API: POST /api/v1/statuses with an Idempotency-Key, images via /api/v2/media.

An image Mastodon answers 202 for is still being processed: it is polled (GET /api/v1/media/:id)
until it has a `url`, briefly; one still processing after that goes out without the image, noted.

Mastodon keeps an `Idempotency-Key` for an hour: a retry of the same post within it returns the
status already made instead of a second one. After an unknown outcome, reconcile reads the
account's recent statuses and looks for the post's tracked link (unique per post) in the content
or the preview card; a post without a link is matched on its text.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

import requests
from bs4 import BeautifulSoup, Tag

from ..campaigns.fitting import rules_for
from ..errors import AuthError, ChannelError, DuplicateContent, OutcomeUnknown, RetryableError
from . import rest
from .base import OutgoingPost, PublishResult, text_problems
from .images import ImageUnavailable, fetch_image

log = logging.getLogger(__name__)

# Pages of 40 statuses (Mastodon's maximum) read by reconcile before it gives up ("unsure").
RECONCILE_PAGES = 3
RECONCILE_SLACK = timedelta(minutes=10)
# Polls of an image Mastodon answered 202 (still processing) for, all within one request timeout.
MEDIA_POLL_TRIES = 5


class MastodonChannel:
    """Publishes to one Mastodon account with a user access token."""

    def __init__(
        self,
        name: str,
        network: str,
        *,
        api_base: str,
        access_token: str,
        timeout: float = 20.0,
        visibility: str = "public",
        language: str | None = None,
        images: bool = True,
    ):
        self.name = name
        self.network = network
        self.rules = rules_for(network)
        self.visibility = visibility
        self.language = language
        self.images = images
        self.api = rest.ApiClient(name, api_base, timeout, {"Authorization": f"Bearer {access_token}"})
        self._account_id: str | None = None

    def validate(self, post: OutgoingPost) -> list[str]:
        """Mastodon's count (500, every link 23) and a non-empty text."""
        return text_problems(post.text, self.network)

    def publish(self, post: OutgoingPost) -> PublishResult:
        """Upload the image (if any), then create the status once (the key makes a retry harmless)."""
        media_ids, note = self._media(post)
        form: list[tuple[str, str]] = [("status", post.text), ("visibility", self.visibility)]
        if self.language:
            form.append(("language", self.language))
        form += [("media_ids[]", m) for m in media_ids]
        resp = self.api.send(
            "POST",
            "/api/v1/statuses",
            doing="posting",
            creates=True,
            data=form,
            headers={"Idempotency-Key": post.idempotency_key},
        )
        if not 200 <= resp.status_code < 300:
            raise _error(self.name, "posting", resp)
        status = rest.body(resp)
        if not status.get("id"):
            raise OutcomeUnknown(f"{self.name}: Mastodon answered {resp.status_code} without a status id")
        return PublishResult(
            external_id=str(status["id"]),
            url=status.get("url") or status.get("uri"),
            note=note,
            rate_limited_until=_spent_until(resp),
        )

    def reconcile(self, post: OutgoingPost) -> PublishResult | None:
        """Look for the post among the account's recent statuses; None only when surely absent."""
        try:
            account = self._account()
            max_id: str | None = None
            for _ in range(RECONCILE_PAGES):
                params = {"limit": "40", "exclude_reblogs": "true", **({"max_id": max_id} if max_id else {})}
                resp = self.api.send("GET", f"/api/v1/accounts/{account}/statuses", doing="reading", params=params)
                if resp.status_code != 200:
                    raise _error(self.name, "reading the account's statuses", resp)
                statuses = resp.json()
                if not isinstance(statuses, list) or not statuses:
                    return None
                for status in statuses:
                    if isinstance(status, dict) and _matches(status, post):
                        return PublishResult(external_id=str(status["id"]), url=status.get("url"))
                max_id = str(statuses[-1].get("id"))
                # A short page is not the end: Mastodon filters pages after fetching them.
                if rest.too_old(rest.iso_time(statuses[-1].get("created_at")), post.first_sent_at, RECONCILE_SLACK):
                    return None
        except (ChannelError, ValueError) as exc:
            raise OutcomeUnknown(f"{self.name}: cannot read the account's recent statuses: {exc}") from None
        raise OutcomeUnknown(f"{self.name}: not among the account's {RECONCILE_PAGES * 40} most recent statuses")

    def close(self) -> None:
        """Close the HTTP connections."""
        self.api.close()

    def _account(self) -> str:
        if self._account_id is None:
            resp = self.api.send("GET", "/api/v1/accounts/verify_credentials", doing="reading the account")
            if resp.status_code != 200:
                raise _error(self.name, "reading the account", resp)
            self._account_id = str(rest.body(resp)["id"])
        return self._account_id

    def _media(self, post: OutgoingPost) -> tuple[list[str], str | None]:
        """Upload the event's image; one that cannot be fetched or is refused is left out, with a note."""
        if not (self.images and post.image_url):
            return [], None
        try:
            image = fetch_image(post.image_url, timeout=min(self.api.timeout, 10.0))
        except ImageUnavailable as exc:
            log.warning("%s: post %s goes out without its image: %s", self.name, post.post_id, exc)
            return [], f"posted without its image: {exc}"
        files = {"file": ("image", image.content, image.content_type)}
        # No status exists yet: a lost answer here only leaves an unattached upload behind.
        resp = self.api.send("POST", "/api/v2/media", doing="uploading the image", files=files)
        if resp.status_code in (400, 413, 415, 422):
            note = f"posted without its image: Mastodon refused it ({resp.status_code} {_message(resp)})"
            log.warning("%s: post %s: %s", self.name, post.post_id, note)
            return [], note
        if resp.status_code not in (200, 202):
            raise _error(self.name, "uploading the image", resp)
        media = rest.body(resp)
        media_id = media.get("id")
        if not media_id:
            raise RetryableError(f"{self.name}: the image upload answered without a media id")
        if resp.status_code == 202 and not media.get("url") and not self._processed(str(media_id)):
            # Attaching an unprocessed upload is refused (422): better the words on time without it.
            note = "posted without its image: Mastodon was still processing it"
            log.warning("%s: post %s: %s", self.name, post.post_id, note)
            return [], note
        return [str(media_id)], None

    def _processed(self, media_id: str) -> bool:
        """Poll GET /api/v1/media/:id a few times within one request timeout until it has a `url`."""
        budget = self.api.timeout
        deadline = time.monotonic() + budget
        for attempt in range(MEDIA_POLL_TRIES):
            if attempt:
                time.sleep(max(0.0, min(budget / MEDIA_POLL_TRIES, deadline - time.monotonic())))
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                resp = self.api.send("GET", f"/api/v1/media/{media_id}", doing="checking the image", timeout=left)
            except ChannelError:
                return False
            # 206 Partial Content: still processing; 200 with a url: ready.
            if resp.status_code == 200 and rest.body(resp).get("url"):
                return True
            if resp.status_code not in (200, 206):
                return False
        return False


def _message(resp: requests.Response) -> str:
    data = rest.body(resp)
    return rest.one_line(str(data.get("error") or resp.text or resp.reason))


def _reset(resp: requests.Response) -> datetime | None:
    """Mastodon's X-RateLimit-Reset is an ISO 8601 time (not epoch seconds)."""
    return rest.iso_time(resp.headers.get("X-RateLimit-Reset"))


def _spent_until(resp: requests.Response) -> datetime | None:
    return _reset(resp) if resp.headers.get("X-RateLimit-Remaining") == "0" else None


def _error(name: str, doing: str, resp: requests.Response) -> Exception:
    """Mastodon's answer as one of our errors, with its own message."""
    status = resp.status_code
    message = f"{status} {resp.reason}: {_message(resp)}"
    if status in (401, 403):
        return AuthError(f"{name}: Mastodon no longer accepts the access token ({doing}): {message}")
    if status == 422 and "duplicate" in message.lower():
        return DuplicateContent(f"{name}: Mastodon refused the post: {message}")
    if status == 429:
        return rest.generic_error(f"{name}: Mastodon rate limit reached while {doing}: {message}", status, _reset(resp))
    if status >= 500:
        return rest.generic_error(f"{name}: Mastodon server error while {doing}: {message}", status)
    return rest.generic_error(f"{name}: Mastodon refused the post: {message}", status)


def _plain(soup: BeautifulSoup) -> str:
    """A status's HTML content as plain text (paragraphs and line breaks become spaces)."""
    return " ".join(soup.get_text(" ").split())


def _matches(status: dict[str, Any], post: OutgoingPost) -> bool:
    """The tracked link in the content's links or the card, else the same text."""
    soup = BeautifulSoup(str(status.get("content") or ""), "html.parser")
    if post.link:
        wanted = post.link.rstrip("/")
        links = [str(a["href"]) for a in soup.find_all("a", href=True) if isinstance(a, Tag)]
        card = status.get("card") or {}
        if isinstance(card, dict) and card.get("url"):
            links.append(str(card["url"]))
        return any(link.rstrip("/") == wanted for link in links) or wanted in _plain(soup)
    return _plain(soup) == " ".join(post.text.split())
