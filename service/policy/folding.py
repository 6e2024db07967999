"""A folded view of a post for matching, with a map back to the original characters.

People (and copy-paste) hide words from filters with look-alike letters (a Cyrillic "a" for the Latin one),
fullwidth digits, zero-width spaces and accents. The rules match on the folded view, where all of
those are plain ASCII-like characters, and quote the original text back to the coordinator.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from .confusables import CONFUSABLES

# Typographic punctuation the rules should read as its ASCII counterpart.
_PUNCT = {
    "\u2014": "-",  # em dash
    "\u2015": "-",
    "\u2212": "-",  # minus sign
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u00ab": '"',
    "\u00bb": '"',
}
# Scripts whose letters can pass for Latin ones; a word mixing them with Latin is suspicious.
_LOOKALIKE_SCRIPTS = frozenset({"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC", "LISU", "CANADIAN"})


@lru_cache(maxsize=8192)
def fold_char(ch: str) -> str:
    """The folded form of one non-ASCII character (possibly empty, possibly several characters)."""
    if ch in _PUNCT:
        return _PUNCT[ch]
    category = unicodedata.category(ch)
    if category == "Cf":  # zero-width spaces and joiners, direction marks, soft hyphens: invisible
        return ""
    if category in ("Zs", "Zl", "Zp"):
        return " " if category == "Zs" else "\n"
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        if c.isascii():
            out.append(c)
        elif c in CONFUSABLES:
            out.append(CONFUSABLES[c])
        else:
            # Accents off ("é" -> "e"); letters of other scripts stay as they are.
            out.append("".join(d for d in unicodedata.normalize("NFD", c) if not unicodedata.combining(d)))
    return "".join(out)


@dataclass(frozen=True)
class Folded:
    """`text` is the folded view of `source`; `starts[i]`/`ends[i]` bound the source of folded char i."""

    source: str
    text: str
    starts: tuple[int, ...] | None = None  # None: the view is the source itself (plain ASCII)
    ends: tuple[int, ...] | None = None

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that folded characters [start, end) came from."""
        if self.starts is None or self.ends is None:
            return start, end
        if start >= end:
            at = self.starts[start] if start < len(self.starts) else len(self.source)
            return at, at
        return self.starts[start], self.ends[end - 1]

    def original(self, start: int, end: int) -> str:
        """The original text behind folded characters [start, end)."""
        a, b = self.source_span(start, end)
        return self.source[a:b]

    def view_index(self, source_index: int) -> int:
        """The first folded character that comes from `source_index` or later."""
        if self.starts is None:
            return source_index
        return bisect_right(self.starts, source_index - 1)


def fold(text: str) -> Folded:
    """The folded view of `text` (the text itself when it is plain ASCII)."""
    if text.isascii():
        return Folded(text, text)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        piece = ch if ch.isascii() else fold_char(ch)
        for c in piece:
            out.append(c)
            starts.append(i)
            ends.append(i + 1)
    return Folded(text, "".join(out), tuple(starts), tuple(ends))


def _script(ch: str) -> str:
    try:
        return unicodedata.name(ch).split(" ", 1)[0]
    except ValueError:
        return ""


def mixes_scripts(word: str) -> bool:
    """True when a word mixes Latin letters with letters of a script that can pass for Latin."""
    if word.isascii():
        return False
    scripts = {_script(c) for c in word if c.isalpha()}
    return "LATIN" in scripts and bool(scripts & _LOOKALIKE_SCRIPTS)
