"""X (Twitter) through tweepy's v2 Client with OAuth 1.0a user context; images through v2 media upload.

X has no idempotency key, so an unknown outcome is settled by reading the account's recent posts:
each post's tracked link is unique, and X shows links as t.co in the text, so the match is on the
entities' expanded URLs (or, for a post without a link, on the text itself).
"""

from __future__ import annotations

import html
import logging
import re
from datetime import datetime, timedelta
from typing import Any

import requests
import tweepy
from requests_oauthlib import OAuth1

from ..campaigns.fitting import rules_for
from ..errors import AuthError, DuplicateContent, OutcomeUnknown, RateLimited, RejectedError, RetryableError
from . import http, redact
from .base import OutgoingPost, PublishResult, text_problems
from .images import ImageUnavailable, fetch_image

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.x.com"
# tweepy builds every URL on this host; the adapter sends them to the configured api_base.
TWEEPY_HOST = "https://api.twitter.com"
# How far back reconcile reads the account's timeline (pages of 100 posts).
RECONCILE_PAGES = 3
# A post cannot have been created before its first try; older timeline entries end the search.
RECONCILE_SLACK = timedelta(minutes=10)

_WS = re.compile(r"\s+")


class XChannel:
    """Publishes to one X account."""

    def __init__(
        self,
        name: str,
        network: str,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = 20.0,
        user_id: str | None = None,
        images: bool = True,
    ):
        self.name = name
        self.network = network
        self.rules = rules_for(network)
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self.images = images
        self._user_id = user_id
        self.client = tweepy.Client(
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            return_type=requests.Response,  # keeps the rate-limit headers of successful calls
        )
        self._oauth = OAuth1(consumer_key, consumer_secret, access_token, access_token_secret)
        redact.register(consumer_key, consumer_secret, access_token, access_token_secret)
        http.rebased_session(self.client.session, self.api_base, timeout, signer=self._oauth)

    # -- the Channel interface -------------------------------------------------------------------

    def validate(self, post: OutgoingPost) -> list[str]:
        """X's weighted length (links count 23) and a non-empty text."""
        return text_problems(post.text, self.network)

    def publish(self, post: OutgoingPost) -> PublishResult:
        """Upload the image (if any), then create the post once."""
        media_ids, note = self._media(post)
        try:
            resp = self.client.create_tweet(text=post.text, media_ids=media_ids or None, user_auth=True)
        except tweepy.TweepyException as exc:
            raise self._translate(exc, "posting") from None
        except requests.RequestException as exc:
            raise self._transport(exc, "posting") from None
        body = _json(resp)
        tweet_id = str((body.get("data") or {}).get("id") or "")
        if not tweet_id:
            # 2xx without an id: it may well exist; let reconciliation look for it.
            raise OutcomeUnknown(f"{self.name}: X answered {resp.status_code} without a post id")
        return PublishResult(
            external_id=tweet_id,
            url=self._status_url(tweet_id),
            note=note,
            rate_limited_until=_exhausted_until(resp.headers),
        )

    def reconcile(self, post: OutgoingPost) -> PublishResult | None:
        """Look for the post among the account's recent posts; None only when surely absent."""
        try:
            user_id = self._account_id()
            token: str | None = None
            for _ in range(RECONCILE_PAGES):
                resp = self.client.get_users_tweets(
                    user_id,
                    max_results=100,
                    tweet_fields=["created_at", "entities"],
                    pagination_token=token,
                    user_auth=True,
                )
                body = _json(resp)
                tweets = body.get("data") or []
                for tweet in tweets:
                    if _matches(tweet, post):
                        tid = str(tweet["id"])
                        return PublishResult(external_id=tid, url=self._status_url(tid))
                token = (body.get("meta") or {}).get("next_token")
                if not token or _older_than_post(tweets, post):
                    return None
        except tweepy.TweepyException as exc:
            raise OutcomeUnknown(f"{self.name}: cannot read the account's recent posts: {_message(exc)}") from None
        except requests.RequestException as exc:
            raise OutcomeUnknown(f"{self.name}: cannot read the account's recent posts: {http.describe(exc)}") from None
        raise OutcomeUnknown(f"{self.name}: not among the account's {RECONCILE_PAGES * 100} most recent posts")

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.session.close()

    # -- helpers ---------------------------------------------------------------------------------

    def _account_id(self) -> str:
        if self._user_id is None:
            body = _json(self.client.get_me(user_auth=True))
            self._user_id = str((body.get("data") or {})["id"])
        return self._user_id

    def _status_url(self, tweet_id: str) -> str:
        return f"https://x.com/i/web/status/{tweet_id}"

    def _media(self, post: OutgoingPost) -> tuple[list[str], str | None]:
        """Upload the event's image; an image that cannot be fetched is left out (with a note), not fatal."""
        if not (self.images and post.image_url):
            return [], None
        try:
            image = fetch_image(post.image_url, timeout=min(self.timeout, 10.0))
        except ImageUnavailable as exc:
            log.warning("%s: post %s goes out without its image: %s", self.name, post.post_id, exc)
            return [], f"posted without its image: {exc}"
        try:
            resp = self.client.session.post(
                f"{TWEEPY_HOST}/2/media/upload",
                files={"media": ("image", image.content, image.content_type)},
                data={"media_category": "tweet_image", "media_type": image.content_type},
                auth=self._oauth,
            )
        except requests.RequestException as exc:
            # No post was created yet: an upload that timed out only leaves an orphan image behind.
            raise RetryableError(f"{self.name}: image upload {http.describe(exc)}") from None
        if 400 <= resp.status_code < 500 and resp.status_code not in (401, 429):
            # The image was refused (too big, wrong type, no upload here): the words still go out.
            note = f"posted without its image: X refused it ({resp.status_code} {_body_message(resp)})"
            log.warning("%s: post %s: %s", self.name, post.post_id, note)
            return [], note
        if not 200 <= resp.status_code < 300:
            raise _status_error(self.name, "image upload", resp)
        data = _json(resp).get("data") or {}
        media_id = str(data.get("id") or data.get("media_id") or "")
        if not media_id:
            raise RetryableError(f"{self.name}: image upload answered without a media id")
        return [media_id], None

    def _translate(self, exc: tweepy.TweepyException, doing: str) -> Exception:
        if isinstance(exc, tweepy.HTTPException):
            return _status_error(self.name, doing, exc.response, _message(exc))
        return OutcomeUnknown(f"{self.name}: {doing}: {exc}")

    def _transport(self, exc: requests.RequestException, doing: str) -> Exception:
        what = f"{self.name}: {doing}: {http.describe(exc)}"
        if http.surely_not_sent(exc):
            return RetryableError(what)
        return OutcomeUnknown(what)


def _status_error(name: str, doing: str, resp: requests.Response, message: str | None = None) -> Exception:
    """X's answer as one of our errors, with X's own message."""
    status = resp.status_code
    message = message or f"{status} {resp.reason}: {_body_message(resp)}".rstrip(": ")
    if status == 429:
        until = _reset_at(resp.headers)
        return RateLimited(f"{name}: X rate limit reached while {doing}: {message}", retry_at=until)
    if status == 401:
        return AuthError(f"{name}: X no longer accepts the account's token: {message}")
    if status == 403 and "duplicate" in message.lower():
        return DuplicateContent(f"{name}: X refused the post: {message}")
    if status >= 500:
        return RetryableError(f"{name}: X server error while {doing}: {message}")
    return RejectedError(f"{name}: X refused the post: {message}")


def _message(exc: tweepy.TweepyException) -> str:
    """tweepy's message ("403 Forbidden\\nYou are not allowed ...") on one line."""
    return ": ".join(part.strip() for part in str(exc).splitlines() if part.strip())


def _body_message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:200].strip()
    if isinstance(body, dict):
        for key in ("detail", "error", "title"):
            if isinstance(body.get(key), str):
                return str(body[key])
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or errors[0])
    return str(body)[:200]


def _reset_at(headers: Any) -> datetime | None:
    """When X lets us post again: the 15-minute window's reset, or the 24-hour one if that is spent."""
    resets = [http.epoch(headers.get("x-rate-limit-reset"))]
    if headers.get("x-user-limit-24hour-remaining") == "0":
        resets.append(http.epoch(headers.get("x-user-limit-24hour-reset")))
    if headers.get("x-app-limit-24hour-remaining") == "0":
        resets.append(http.epoch(headers.get("x-app-limit-24hour-reset")))
    known = [r for r in resets if r is not None]
    return max(known) if known else http.retry_after(headers)


def _exhausted_until(headers: Any) -> datetime | None:
    """After a success: if that was the last post allowed in a window, when the window resets."""
    spent = headers.get("x-rate-limit-remaining") == "0" or any(
        headers.get(f"x-{who}-limit-24hour-remaining") == "0" for who in ("user", "app")
    )
    return _reset_at(headers) if spent else None


def _json(resp: Any) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _norm(text: str) -> str:
    return _WS.sub(" ", html.unescape(text)).strip()


def _norm_url(url: str) -> str:
    return url.strip().rstrip("/")


def _matches(tweet: dict[str, Any], post: OutgoingPost) -> bool:
    """The tracked link among the expanded URLs (X rewrites links to t.co), else the same text."""
    if post.link:
        urls = ((tweet.get("entities") or {}).get("urls")) or []
        wanted = _norm_url(post.link)
        return any(_norm_url(str(u.get("expanded_url") or "")) == wanted for u in urls if isinstance(u, dict))
    return _norm(str(tweet.get("text") or "")) == _norm(post.text)


def _older_than_post(tweets: list[dict[str, Any]], post: OutgoingPost) -> bool:
    """True when this page already reaches before the post's first try: it cannot be further back."""
    if post.first_sent_at is None or not tweets:
        return False
    oldest: datetime | None = None
    for tweet in tweets:
        try:
            created = datetime.fromisoformat(str(tweet.get("created_at", "")).replace("Z", "+00:00"))
        except ValueError:
            return False
        oldest = created if oldest is None else min(oldest, created)
    return oldest is not None and oldest < post.first_sent_at - RECONCILE_SLACK
