"""Per-network length rules: how long a text counts, and how long it may be."""

from __future__ import annotations

import re
from dataclasses import dataclass

import grapheme
from twitter_text import parse_tweet

_URL_RE = re.compile(r"https?://[^\s]+", re.I)


@dataclass(frozen=True)
class NetworkRules:
    """Length limit and link weighting of one network."""

    name: str
    limit: int
    link_length: int | None  # every link counts as this many characters; None: as written
    counting: str  # "twitter" (X's weighted count), "graphemes", "chars"


NETWORK_RULES: dict[str, NetworkRules] = {
    "x": NetworkRules("x", 280, 23, "twitter"),
    "bluesky": NetworkRules("bluesky", 300, None, "graphemes"),
    "mastodon": NetworkRules("mastodon", 500, 23, "chars"),
    "linkedin": NetworkRules("linkedin", 3000, None, "chars"),
    "facebook": NetworkRules("facebook", 63206, None, "chars"),
    "instagram": NetworkRules("instagram", 2200, None, "chars"),
    "webhook": NetworkRules("webhook", 4000, None, "chars"),
}


def rules_for(network: str) -> NetworkRules:
    """The rules of a network; an unknown network gets the strictest (X's)."""
    return NETWORK_RULES.get(network, NETWORK_RULES["x"])


def text_length(text: str, network: str) -> int:
    """The length of `text` as `network` counts it."""
    rules = rules_for(network)
    if rules.counting == "twitter":
        return int(parse_tweet(text).weightedLength)
    if rules.link_length is not None:
        text = _URL_RE.sub("x" * rules.link_length, text)
    if rules.counting == "graphemes":
        return int(grapheme.length(text))
    return len(text)


def fits(text: str, network: str) -> bool:
    """True when `text` is within the network's limit."""
    return text_length(text, network) <= rules_for(network).limit
