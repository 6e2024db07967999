"""Per-network length rules (how long a text counts, how long it may be) and fitting a text into them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import grapheme

from .xcount import weighted_length

# Mastodon counts every http(s) link as 23 characters, whatever its length.
_LINK_RE = re.compile(r"https?://[^\s<>\"]+", re.I)
# A hashtag as Instagram counts one: '#' not inside a word or link, then word characters, not all digits.
_HASHTAG_RE = re.compile(r"(?<![\w/#&])#(?=\w*[^\W\d])\w+")
MIN_TITLE = 24  # a title is never cut shorter than this (with its ellipsis)
ELLIPSIS = "…"


@dataclass(frozen=True)
class NetworkRules:
    """Length limit and link weighting of one network."""

    name: str
    limit: int
    link_length: int | None  # every link counts as this many characters; None: as written
    counting: str  # "twitter" (X's weighted count), "graphemes", "chars"
    max_hashtags: int | None = None  # Instagram refuses a caption with more


NETWORK_RULES: dict[str, NetworkRules] = {
    "x": NetworkRules("x", 280, 23, "twitter"),
    "bluesky": NetworkRules("bluesky", 300, None, "graphemes"),
    "mastodon": NetworkRules("mastodon", 500, 23, "chars"),
    "linkedin": NetworkRules("linkedin", 3000, None, "chars"),
    "facebook": NetworkRules("facebook", 63206, None, "chars"),
    "instagram": NetworkRules("instagram", 2200, None, "chars", max_hashtags=30),
    "webhook": NetworkRules("webhook", 4000, None, "chars"),
}


def rules_for(network: str) -> NetworkRules:
    """The rules of a network; an unknown network gets the strictest (X's)."""
    return NETWORK_RULES.get(network, NETWORK_RULES["x"])


@lru_cache(maxsize=8192)
def _graphemes(text: str) -> int:
    return int(grapheme.length(text))


def text_length(text: str, network: str) -> int:
    """The length of `text` as `network` counts it."""
    rules = rules_for(network)
    if rules.counting == "twitter":
        return weighted_length(text)
    if rules.link_length is not None:
        text = _LINK_RE.sub("x" * rules.link_length, text)
    if rules.counting == "graphemes":
        return len(text) if text.isascii() else _graphemes(unicodedata.normalize("NFC", text))
    return len(text)


def hashtag_count(text: str) -> int:
    """How many hashtags `text` has (links and '#1'-style numbers are not hashtags)."""
    return len(_HASHTAG_RE.findall(_LINK_RE.sub(" ", text)))


def hashtag_problem(text: str, network: str) -> str | None:
    """Why `text` has too many hashtags for `network`, or None."""
    most = rules_for(network).max_hashtags
    count = hashtag_count(text) if most is not None else 0
    if most is not None and count > most:
        return f"too many hashtags for {network}: {count}/{most}"
    return None


def fits(text: str, network: str) -> bool:
    """True when `text` is within the network's limit."""
    return text_length(text, network) <= rules_for(network).limit


@dataclass(frozen=True)
class Fitted:
    """A rendered text and how it was made to fit (or why it could not be)."""

    text: str
    length: int
    limit: int
    shortened: str | None = None  # what was dropped or cut, for the preview
    problem: str | None = None  # set when the text is still too long: the post is held


def shorten_title(title: str, keep: int) -> str:
    """`title` cut to at most `keep` characters (graphemes), at a word boundary when one is near, with '…'."""
    clusters = list(grapheme.graphemes(title))
    if len(clusters) <= keep:
        return title
    cut = "".join(clusters[: max(1, keep - 1)]).rstrip()
    space = cut.rfind(" ")
    if space >= keep * 0.5:
        cut = cut[:space]
    return cut.rstrip(" ,;:-\u2013\u2014") + ELLIPSIS


def _keep_first_part(values: dict[str, Any], key: str) -> bool:
    """Keep only what comes before the first comma ("Desert Vista Cancer Center, 1200 N ..." -> the name).

    `where` ("at <location>") follows the location. False when there is nothing to drop.
    """
    value = str(values.get(key) or "")
    head = value.split(",", 1)[0].strip()
    if not head or head == value.strip():
        return False
    values[key] = head
    if key == "location" and str(values.get("where", "")).startswith("at "):
        values["where"] = f"at {head}"
    return True


def fit_text(render: Callable[[Mapping[str, Any]], str], values: Mapping[str, Any], network: str) -> Fitted:
    """Render, and if too long drop the least important part first: the description, the address after
    the venue's name, the speaker's affiliation, then cut the title.

    The link, the hashtags and the time are never touched; a text that still does not fit comes back
    with `problem` set.
    """
    limit = rules_for(network).limit
    text = render(values)
    length = text_length(text, network)
    if length <= limit:
        # Hashtags are never dropped (the coordinator chose them): too many holds the post.
        return Fitted(text, length, limit, problem=hashtag_problem(text, network))
    trimmed = dict(values)
    shortened: list[str] = []
    if trimmed.get("description"):
        trimmed["description"] = ""
        shortened.append("description dropped")
        text = render(trimmed)
        length = text_length(text, network)
        if length <= limit:
            return Fitted(text, length, limit, "; ".join(shortened))
    # Before the title: the street address after the venue's name, then the speaker's affiliation.
    for key, note in (("location", "address dropped"), ("speaker", "affiliation dropped")):
        if _keep_first_part(trimmed, key):
            shortened.append(note)
            text = render(trimmed)
            length = text_length(text, network)
            if length <= limit:
                return Fitted(text, length, limit, "; ".join(shortened))
    title = str(trimmed.get("title", ""))
    total = grapheme.length(title)
    if total > MIN_TITLE:
        # The longest title (at least MIN_TITLE) that fits: binary search, each probe one render.
        best: tuple[str, int] | None = None
        lo, hi = MIN_TITLE, total - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            trimmed["title"] = shorten_title(title, mid)
            probe = render(trimmed)
            probe_length = text_length(probe, network)
            if probe_length <= limit:
                best = (probe, probe_length)
                lo = mid + 1
            else:
                hi = mid - 1
        if best is not None:
            shortened.append("title shortened")
            return Fitted(best[0], best[1], limit, "; ".join(shortened))
        trimmed["title"] = shorten_title(title, MIN_TITLE)
        text = render(trimmed)
        length = text_length(text, network)
        shortened.append("title shortened")
    tried = f" even with the {' and the '.join(s.split()[0] for s in shortened)} cut" if shortened else ""
    problem = f"too long for {network}: {length}/{limit} characters{tried}"
    return Fitted(text, length, limit, "; ".join(shortened) or None, problem)
