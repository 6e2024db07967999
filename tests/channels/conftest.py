"""One parametrized fixture that yields every channel kind with a handle on where its posts land."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from service.channels.base import Channel, OutgoingPost
from service.channels.bluesky import BlueskyChannel
from service.channels.facebook import FacebookChannel
from service.channels.instagram import InstagramChannel
from service.channels.linkedin import LinkedInChannel
from service.channels.mastodon import MastodonChannel
from service.channels.outbox import OutboxChannel
from service.channels.webhook import WebhookChannel
from service.channels.x import XChannel
from tests.fakes.bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from tests.fakes.facebook import PAGE_ID, FakeFacebook
from tests.fakes.facebook import TOKEN as FACEBOOK_TOKEN
from tests.fakes.instagram import ACCOUNT_ID, FakeInstagram
from tests.fakes.instagram import TOKEN as INSTAGRAM_TOKEN
from tests.fakes.linkedin import ORGANIZATION, FakeLinkedIn
from tests.fakes.linkedin import TOKEN as LINKEDIN_TOKEN
from tests.fakes.mastodon import TOKEN as MASTODON_TOKEN
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.webhook import FakeReceiver
from tests.fakes.x_api import CREDENTIALS, FakeX

_ids = itertools.count(1000)
WHEN = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
IMAGE_URL = "https://example.org/banner.png"
# Kinds that cannot post without an image: their harness gives every post one.
NEEDS_IMAGE = {"instagram"}


def outgoing(text: str | None = None, link: bool = True, network: str = "x", **kw: Any) -> OutgoingPost:
    """A post as the publisher hands it to a channel, with a unique tracked link."""
    pid = next(_ids)
    url = f"http://127.0.0.1:8000/r/code{pid:06d}"
    body = (
        text if text is not None else f"One week to go: Living Well with MPN, Thu Dec 10 & more. Save your spot: {url}"
    )
    values: dict[str, Any] = {
        "post_id": pid,
        "attempt_id": uuid.uuid4().hex,
        "channel": "test",
        "network": network,
        "text": body,
        "step": "one-week",
        "event_id": 7,
        "event_title": "Living Well with MPN",
        "scheduled_at": WHEN,
        "link": url if link and url in body else None,
        "event_start": WHEN + timedelta(days=7),
        "first_sent_at": datetime.now(UTC),
    }
    values.update(kw)
    return OutgoingPost(**values)


@dataclass
class Harness:
    """A channel and what tests can see and do at its destination."""

    kind: str
    channel: Channel
    network: str
    backend: Any = None
    path: Path | None = None
    caps: set[str] = field(default_factory=set)

    def post(self, **kw: Any) -> OutgoingPost:
        """A post for this channel (with an image where the network requires one)."""
        if self.kind in NEEDS_IMAGE:
            kw.setdefault("image_url", IMAGE_URL)
        return outgoing(**kw)

    def delivered(self, post: OutgoingPost) -> list[str]:
        """The texts of this post the destination acted on."""
        if self.kind == "outbox":
            assert self.path is not None
            if not self.path.exists():
                return []
            recs = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
            return [r["text"] for r in recs if r["post_id"] == post.post_id]
        if self.kind == "x":
            return [t["original_text"] for t in self.backend.tweets if t["original_text"] == post.text]
        if self.kind in NETWORK_KINDS:
            return [t for t in self.backend.texts() if t == post.text]
        return [d["body"]["text"] for d in self.backend.deliveries if d["body"]["post_id"] == post.post_id]

    def break_next(self) -> None:
        """The next publish meets a temporary failure."""
        if self.kind == "outbox":
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.mkdir()  # a folder where the file should be: writing fails
        else:
            self.backend.fail_next("500")

    def heal(self) -> None:
        """Undo break_next (the fakes heal by themselves)."""
        if self.kind == "outbox" and self.path is not None and self.path.is_dir():
            self.path.rmdir()

    def reject_next(self) -> None:
        """The next publish is refused for good."""
        self.backend.fail_next("400")

    def lose_answer_next(self) -> None:
        """The next publish reaches the destination, but its answer never comes back."""
        self.backend.fail_next("timeout_after_delivery" if self.kind == "webhook" else "timeout_after_create")

    def rate_limit_next(self) -> None:
        """The next publish meets the network's rate limit (with its reset time)."""
        self.backend.fail_next("429")

    def revoke_next(self) -> None:
        """The next publish meets an expired or revoked token."""
        self.backend.fail_next("401")


# The network channels built on rest.ApiClient, each against its fake (tests/fakes/<kind>.py).
NETWORK_KINDS = ["mastodon", "bluesky", "linkedin", "facebook", "instagram"]
KINDS = ["outbox", "x", "webhook", "webhook-idempotent", *NETWORK_KINDS]
ALL_CAPS = {"reject", "lose", "rate", "auth"}


@contextmanager
def network_channel(kind: str) -> Iterator[tuple[Channel, Any]]:
    """A network channel of `kind` talking real HTTP to its local fake (short timeouts, fake hangs 2 s)."""
    if kind == "mastodon":
        with FakeMastodon(hang=2.0) as fake:
            ch = MastodonChannel("test", "mastodon", api_base=fake.url, access_token=MASTODON_TOKEN, timeout=0.5)
            yield ch, fake
            ch.close()
        return
    if kind == "bluesky":
        with FakeBluesky(hang=2.0) as sky:
            bs = BlueskyChannel(
                "test", "bluesky", api_base=sky.url, handle=HANDLE, app_password=APP_PASSWORD, timeout=0.5
            )
            yield bs, sky
            bs.close()
        return
    if kind == "linkedin":
        with FakeLinkedIn(hang=2.0) as li:
            org = LinkedInChannel(
                "test", "linkedin", api_base=li.url, organization=ORGANIZATION, access_token=LINKEDIN_TOKEN, timeout=0.5
            )
            yield org, li
            org.close()
        return
    if kind == "facebook":
        with FakeFacebook(hang=2.0) as graph:
            page = FacebookChannel(
                "test", "facebook", api_base=graph.url, page_id=PAGE_ID, access_token=FACEBOOK_TOKEN, timeout=0.5
            )
            yield page, graph
            page.close()
        return
    if kind == "instagram":
        with FakeInstagram(hang=2.0) as ig:
            account = InstagramChannel(
                "test", "instagram", api_base=ig.url, account_id=ACCOUNT_ID, access_token=INSTAGRAM_TOKEN, timeout=0.5
            )
            yield account, ig
            account.close()
        return
    raise AssertionError(kind)


@pytest.fixture(params=KINDS)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """Every channel kind, each against its local destination."""
    kind = request.param
    if kind == "outbox":
        path = tmp_path / "instance" / "outbox.jsonl"
        yield Harness("outbox", OutboxChannel("test", "x", path), "x", path=path)
        return
    if kind in NETWORK_KINDS:
        with network_channel(kind) as (ch, fake):
            yield Harness(kind, ch, ch.network, backend=fake, caps=ALL_CAPS)
        return
    if kind == "x":
        with FakeX(hang=2.0) as fake:
            ch = XChannel("test", "x", api_base=fake.url, timeout=0.5, **CREDENTIALS)
            yield Harness("x", ch, "x", backend=fake, caps=ALL_CAPS)
            ch.close()
        return
    with FakeReceiver(dedupe=kind.endswith("idempotent"), hang=2.0) as receiver:
        ch = WebhookChannel("test", "webhook", url=receiver.url, idempotent=kind.endswith("idempotent"), timeout=0.5)
        yield Harness("webhook", ch, "webhook", backend=receiver, caps=ALL_CAPS)
        ch.close()
