"""Bluesky rich text: link and hashtag facets with UTF-8 byte offsets, and a post's deterministic record key.

Bluesky shows a URL as plain text unless a facet marks its byte range (UTF-8, end exclusive) as
a link; hashtags likewise need `#tag` facets. The record key of app.bsky.feed.post must be a TID
(13 characters, base32-sortable), so the key is a TID computed from the post id: a retried create
of the same post meets the record already there instead of making a second one.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

_URL = re.compile(r"https?://[^\s<>\"]+", re.I)
_HASHTAG = re.compile(r"(?<!\S)[#\uff03]([^\s#\uff03]+)")
_TRAILING = ".,;:!?'\""
MAX_TAG = 64
_B32 = "234567abcdefghijklmnopqrstuvwxyz"
# Record keys count microseconds from here (plus the post id), so every post has its own key.
_KEY_EPOCH = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000


def _byte_index(text: str, start: int, end: int) -> dict[str, int]:
    before = len(text[:start].encode("utf-8"))
    return {"byteStart": before, "byteEnd": before + len(text[start:end].encode("utf-8"))}


def _trim_url(url: str) -> str:
    """Drop sentence punctuation after a URL; a closing parenthesis only when it has no opening one."""
    while url and (url[-1] in _TRAILING or (url[-1] == ")" and "(" not in url)):
        url = url[:-1]
    return url


def _trim_tag(tag: str) -> str:
    while tag and unicodedata.category(tag[-1]).startswith("P"):
        tag = tag[:-1]
    return tag


def facets(text: str) -> list[dict[str, Any]]:
    """Link facets for every http(s) URL and tag facets for every #hashtag, in text order."""
    found: list[tuple[int, dict[str, Any]]] = []
    taken: list[tuple[int, int]] = []
    for m in _URL.finditer(text):
        url = _trim_url(m.group(0))
        if not url.split("://", 1)[1]:
            continue  # "http://" alone: not a link
        end = m.start() + len(url)
        taken.append((m.start(), end))
        feature = {"$type": "app.bsky.richtext.facet#link", "uri": url}
        found.append((m.start(), {"index": _byte_index(text, m.start(), end), "features": [feature]}))
    for m in _HASHTAG.finditer(text):
        tag = _trim_tag(m.group(1))
        start, end = m.start(), m.start(1) + len(tag)
        if not tag or tag.isdigit() or len(tag) > MAX_TAG or any(a <= start < b for a, b in taken):
            continue
        feature = {"$type": "app.bsky.richtext.facet#tag", "tag": tag}
        found.append((start, {"index": _byte_index(text, start, end), "features": [feature]}))
    return [facet for _, facet in sorted(found, key=lambda item: item[0])]


def tid(micros: int, clock_id: int = 0) -> str:
    """A TID: 64 bits (top bit 0, 53 bits of microseconds, 10 of clock id) in base32-sortable, 13 characters."""
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    return "".join(_B32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def record_key(post_id: int) -> str:
    """The post's record key: the same on every try of the post, different for every post."""
    return tid(_KEY_EPOCH + post_id)
