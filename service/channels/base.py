"""What every channel implements, and what it is given and returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..campaigns.fitting import NetworkRules, fits, hashtag_problem, rules_for, text_length


@dataclass(frozen=True)
class OutgoingPost:
    """Everything a channel needs to publish one post; `attempt_id` is unique per try."""

    post_id: int
    attempt_id: str
    channel: str
    network: str
    text: str
    step: str
    event_id: int
    event_title: str
    scheduled_at: datetime
    link: str | None = None  # the post's tracked link, if the event has an RSVP URL
    image_url: str | None = None
    event_start: datetime | None = None
    # When an earlier try of this post first reached for the network (reconcile looks back to here).
    first_sent_at: datetime | None = None

    @property
    def idempotency_key(self) -> str:
        """Stable across retries of the same post: the receiver can drop a repeat."""
        return f"eventpromo-post-{self.post_id}"


@dataclass(frozen=True)
class PublishResult:
    """Where the post now lives on the network."""

    external_id: str
    url: str | None = None
    # Something worth telling a person although the post went out (e.g. "posted without its image").
    note: str | None = None
    # The network said this was the last post allowed until then: the channel waits.
    rate_limited_until: datetime | None = None


def text_problems(text: str, network: str) -> list[str]:
    """What every channel checks: a non-empty text within the network's length (counted as it counts) and hashtags."""
    if not text.strip():
        return ["empty text"]
    if not fits(text, network):
        return [f"too long for {network}: {text_length(text, network)}/{rules_for(network).limit}"]
    hashtags = hashtag_problem(text, network)
    return [hashtags] if hashtags else []


class Channel(Protocol):
    """A place posts go to. Adapters raise the ChannelError subclasses, never their library's errors."""

    name: str
    network: str
    rules: NetworkRules

    def validate(self, post: OutgoingPost) -> list[str]:
        """Reasons this post cannot be published as it is (empty when it can)."""
        ...

    def publish(self, post: OutgoingPost) -> PublishResult:
        """Publish the post once."""
        ...

    def reconcile(self, post: OutgoingPost) -> PublishResult | None:
        """After an unknown outcome: the published post if found, None if surely absent; OutcomeUnknown if unsure."""
        ...

    def close(self) -> None:
        """Release connections (end of the process)."""
        ...
