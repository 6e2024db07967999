"""Bluesky through the AT Protocol's XRPC: a session from an app password, one createRecord per post.

Every post is created under a record key computed from its id (bluesky_text.record_key), so a
second create of the same post is refused by the server instead of posting twice, and an unknown
outcome is settled exactly by `com.atproto.repo.getRecord` on that key. A found record counts as
this post only if it carries the post's tracked link (or, without a link, its text).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import requests

from ..campaigns.fitting import rules_for
from ..errors import AuthError, ChannelError, OutcomeUnknown, RateLimited, RejectedError, RetryableError
from . import http, redact, rest
from .base import OutgoingPost, PublishResult, text_problems
from .bluesky_text import facets, record_key

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://bsky.social"
COLLECTION = "app.bsky.feed.post"
MAX_TEXT_BYTES = 3000  # the lexicon's maxLength for a post's text, beside the 300 graphemes
_EXPIRED = ("ExpiredToken", "InvalidToken")


class BlueskyChannel:
    """Publishes to one Bluesky account with its handle and an app password."""

    def __init__(
        self,
        name: str,
        network: str,
        *,
        handle: str,
        app_password: str,
        api_base: str = DEFAULT_API_BASE,
        timeout: float = 20.0,
        language: str = "en",
        link_card: bool = True,
    ):
        self.name = name
        self.network = network
        self.rules = rules_for(network)
        self.handle = handle
        self.language = language
        self.link_card = link_card
        self._password = app_password
        redact.register(app_password)
        self.api = rest.ApiClient(name, api_base, timeout)
        self._did: str | None = None
        self._access: str | None = None
        self._refresh: str | None = None

    def validate(self, post: OutgoingPost) -> list[str]:
        """300 graphemes and at most 3000 UTF-8 bytes."""
        problems = text_problems(post.text, self.network)
        if not problems and len(post.text.encode("utf-8")) > MAX_TEXT_BYTES:
            problems.append(f"too long for bluesky: {len(post.text.encode('utf-8'))}/{MAX_TEXT_BYTES} bytes")
        return problems

    def publish(self, post: OutgoingPost) -> PublishResult:
        """Create the post's record under its own key; a key already taken by this post is success."""
        rkey = record_key(post.post_id)
        payload = {"repo": "", "collection": COLLECTION, "rkey": rkey, "record": self.record(post)}
        resp = self._xrpc("POST", "com.atproto.repo.createRecord", doing="posting", creates=True, json=payload)
        if 200 <= resp.status_code < 300:
            uri = str(rest.body(resp).get("uri") or "")
            if not uri:
                raise OutcomeUnknown(f"{self.name}: Bluesky answered {resp.status_code} without a record uri")
            return PublishResult(external_id=uri, url=self._web_url(rkey), rate_limited_until=_spent_until(resp))
        error = _error(self.name, "posting", resp)
        if isinstance(error, (RejectedError, RetryableError)) and not isinstance(error, RateLimited):
            # Perhaps refused because an earlier try of this post made the record: look before failing.
            try:
                mine = self._find(post, rkey)  # a key held by another post raises its own RejectedError
            except (RetryableError, OutcomeUnknown, AuthError):
                mine = None
            if mine is not None:
                return mine
        raise error

    def reconcile(self, post: OutgoingPost) -> PublishResult | None:
        """getRecord on the post's key: found, surely absent, or unsure when Bluesky cannot be asked."""
        try:
            return self._find(post, record_key(post.post_id))
        except ChannelError as exc:
            raise OutcomeUnknown(f"{self.name}: cannot look up the post's record: {exc}") from None

    def close(self) -> None:
        """Close the HTTP connections."""
        self.api.close()

    def record(self, post: OutgoingPost) -> dict[str, Any]:
        """The app.bsky.feed.post record: text, clickable links and hashtags, and a link card."""
        record: dict[str, Any] = {
            "$type": COLLECTION,
            "text": post.text,
            "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "langs": [self.language],
        }
        found = facets(post.text)
        if found:
            record["facets"] = found
        if self.link_card and post.link:
            card = {"uri": post.link, "title": post.event_title[:300], "description": ""}
            record["embed"] = {"$type": "app.bsky.embed.external", "external": card}
        return record

    # -- helpers ---------------------------------------------------------------------------------

    def _find(self, post: OutgoingPost, rkey: str) -> PublishResult | None:
        params = {"repo": self._session(), "collection": COLLECTION, "rkey": rkey}
        resp = self._xrpc("GET", "com.atproto.repo.getRecord", doing="looking up the post", params=params)
        data = rest.body(resp)
        if resp.status_code == 400 and data.get("error") == "RecordNotFound":
            return None
        if resp.status_code != 200:
            raise _error(self.name, "looking up the post", resp)
        value = data.get("value") or {}
        if not _is_this_post(value, post):
            raise RejectedError(f"{self.name}: the record key {rkey} holds another post; this post was not created")
        return PublishResult(external_id=str(data.get("uri") or ""), url=self._web_url(rkey))

    def _web_url(self, rkey: str) -> str:
        return f"https://bsky.app/profile/{self.handle}/post/{rkey}"

    def _session(self) -> str:
        """The account's DID, logging in once (createSession is strictly rate limited: keep the session)."""
        if self._did is None or self._access is None:
            resp = self.api.send(
                "POST",
                "/xrpc/com.atproto.server.createSession",
                doing="logging in",
                json={"identifier": self.handle, "password": self._password},
            )
            self._take_session(resp, "logging in")
        assert self._did is not None
        return self._did

    def _take_session(self, resp: requests.Response, doing: str) -> None:
        data = rest.body(resp)
        if resp.status_code != 200 or not data.get("accessJwt"):
            self._did = self._access = self._refresh = None
            raise _error(self.name, doing, resp, login=True)
        self._did, self._access, self._refresh = str(data["did"]), str(data["accessJwt"]), data.get("refreshJwt")
        redact.register(self._access, self._refresh)

    def _refresh_session(self) -> None:
        """A new access token from the refresh token; a refused refresh logs in again."""
        if self._refresh:
            resp = self.api.send(
                "POST",
                "/xrpc/com.atproto.server.refreshSession",
                doing="refreshing the session",
                headers={"Authorization": f"Bearer {self._refresh}"},
            )
            if resp.status_code == 200:
                self._take_session(resp, "refreshing the session")
                return
        self._did = self._access = None
        self._session()

    def _xrpc(self, method: str, nsid: str, *, doing: str, creates: bool = False, **kw: Any) -> requests.Response:
        """Call `nsid` with the session; an expired access token is refreshed once (the call was refused)."""
        for attempt in range(2):
            did = self._session()
            if "json" in kw and "repo" in kw["json"]:
                kw["json"]["repo"] = did
            if "params" in kw:
                kw["params"]["repo"] = did
            headers = {"Authorization": f"Bearer {self._access}"}
            resp = self.api.send(method, f"/xrpc/{nsid}", doing=doing, creates=creates, headers=headers, **kw)
            if attempt == 0 and resp.status_code in (400, 401) and rest.body(resp).get("error") in _EXPIRED:
                self._refresh_session()
                continue
            return resp
        return resp


def _is_this_post(value: dict[str, Any], post: OutgoingPost) -> bool:
    text = str(value.get("text") or "")
    if post.link:
        links = [
            str(f.get("uri"))
            for facet in value.get("facets") or []
            for f in (facet.get("features") or [])
            if isinstance(f, dict)
        ]
        return post.link in links or post.link in text
    return text == post.text


def _spent_until(resp: requests.Response) -> datetime | None:
    return http.epoch(resp.headers.get("ratelimit-reset")) if resp.headers.get("ratelimit-remaining") == "0" else None


def _error(name: str, doing: str, resp: requests.Response, login: bool = False) -> Exception:
    """An XRPC error answer ({"error", "message"}) as one of our errors."""
    data = rest.body(resp)
    code = str(data.get("error") or "")
    message = rest.one_line(f"{resp.status_code} {code or resp.reason}: {data.get('message') or resp.text}")
    status = resp.status_code
    if status == 429:
        reset = http.epoch(resp.headers.get("ratelimit-reset")) or http.retry_after(resp.headers)
        return RateLimited(f"{name}: Bluesky rate limit reached while {doing}: {message}", retry_at=reset)
    if status == 401 or code in (*_EXPIRED, "AuthenticationRequired", "AccountTakedown", "AccountDeactivated"):
        what = "refuses the handle or app password" if login else "no longer accepts the session"
        return AuthError(f"{name}: Bluesky {what}: {message}")
    if status >= 500:
        return RetryableError(f"{name}: Bluesky server error while {doing}: {message}")
    return RejectedError(f"{name}: Bluesky refused the post: {message}")
