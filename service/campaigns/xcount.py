"""X's weighted text length, fast, with the same answers as twitter-text-parser (the reference).

`twitter_text.parse_tweet` takes about a millisecond per call: most of it is its emoji regex (thousands
of alternatives tried at every position) and a per-character Python loop. The answer is a sum over
the text, and no URL or emoji ever contains a space or a line break, so the text is split on those and
each piece is weighed on its own, cached (pieces repeat across posts: words of the templates and
titles). A piece of plain ASCII without a dot followed by a letter holds no URL and no emoji: it weighs
its length. Any other piece is weighed by the reference's own extractors. tests/campaigns/test_xcount.py
checks this against `parse_tweet` on X's conformance cases and on random texts (hypothesis).
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from functools import lru_cache

with warnings.catch_warnings():
    # twitter-text-parser imports pkg_resources, which warns on import (see PITFALLS.md).
    warnings.simplefilter("ignore")
    from twitter_text import parse_tweet
    from twitter_text.config import config as _tt_config
    from twitter_text.extract_urls import extract_urls_with_indices

LIMIT = 280
_OPTIONS = _tt_config["defaults"]
_URL_WEIGHT = _OPTIONS["transformed_url_length"]
_SPLIT_RE = re.compile(r"[ \n]")
# A URL needs a domain: a dot followed by the first letter of a top-level domain.
_ASCII_URL_HINT_RE = re.compile(r"\.[A-Za-z]")
# A whole piece (between spaces and line breaks) that holds a dot followed by a letter.
_ASCII_URL_PIECE_RE = re.compile(r"[^ \n]*\.[A-Za-z][^ \n]*")
_SCHEME_RE = re.compile(r"^https?://", re.IGNORECASE)
_LAST_SEGMENT_RE = re.compile(r"/([A-Za-z0-9]+)$")


def reference_length(text: str) -> int:
    """X's weighted length by twitter-text-parser itself (slow; the reference)."""
    return int(parse_tweet(text).weightedLength)


# The extractor treats a piece differently at the very start of the text (no preceding character: a
# leading non-alphanumeric character may be taken as the URL's "preceding character") than after a space
# or line break. A piece that is not first is therefore weighed after a space, and the space taken off.


@lru_cache(maxsize=65536)
def _ascii_piece(piece: str, first: bool) -> int:
    # ASCII holds no emoji (every emoji sequence has a code point above U+00A8): only URLs differ.
    probe = piece if first else " " + piece
    length = len(probe)
    for url in extract_urls_with_indices(probe):
        start, end = url["indices"]
        length += _URL_WEIGHT - (end - start)
    return length - (0 if first else 1)


def _canonical(piece: str) -> str:
    """The piece with a trailing alphanumeric path segment replaced by 'a's: tracked links share one key.

    Inside a URL's path letters and digits are interchangeable for the extractor (same character
    classes, same length), so the weight is the same; the host is never touched.
    """
    m = _LAST_SEGMENT_RE.search(piece)
    if m is None:
        return piece
    rest = _SCHEME_RE.sub("", piece)
    host_end = rest.find("/")
    if host_end < 0 or len(piece) - len(rest) + host_end > m.start():
        return piece  # the segment is (part of) the host, or there is no path
    return piece[: m.start(1)] + "a" * len(m.group(1))


@lru_cache(maxsize=65536)
def _unicode_piece(piece: str, first: bool) -> int:
    if first:
        return int(parse_tweet(piece).weightedLength)
    return int(parse_tweet(" " + piece).weightedLength) - 1


def weighted_length(text: str) -> int:
    """X's weighted length of `text`: links count 23, CJK and emoji 2, most other characters 1."""
    if not text:
        return 0
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.isascii():
        # ASCII: every character weighs 1; only pieces that may hold a URL weigh differently.
        total = len(text)
        for m in _ASCII_URL_PIECE_RE.finditer(text):
            piece = m.group(0)
            total += _ascii_piece(_canonical(piece), m.start() == 0) - len(piece)
        return total
    pieces = _SPLIT_RE.split(text)
    total = len(pieces) - 1  # the separators: a space or a line break weighs 1
    for i, piece in enumerate(pieces):
        if not piece:
            continue
        if piece.isascii():
            total += _ascii_piece(_canonical(piece), i == 0) if _ASCII_URL_HINT_RE.search(piece) else len(piece)
        else:
            total += _unicode_piece(piece, i == 0)
    return total
