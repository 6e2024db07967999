"""One text under inspection: its folded view, the spans already explained, and the findings so far."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .folding import Folded, fold
from .prefilter import needs, view, words_view

OK, WARN, HOLD = "ok", "warn", "hold"
RANK = {OK: 0, WARN: 1, HOLD: 2}
_QUOTE_MAX = 60
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s)|\n+")
# Words before a "." that do not end a sentence: titles, initials, street and time abbreviations.
_NO_BREAK = re.compile(
    r"(?:\b(?:dr|mr|mrs|ms|mx|prof|rev|st|jr|sr|vs|no|nos|dept|inc|ltd|co|ave|blvd|rd|ln|hwy|apt|ste|ext|tel|"
    r"approx|est|etc|fig|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|mon|tue|tues|wed|thu|thurs|fri|sat|sun|"
    r"e\.g|i\.e|a\.m|p\.m|u\.s|d\.o\.b)|\b[A-Za-z])$",
    re.I,
)


@dataclass(frozen=True)
class Finding:
    """One thing the guard noticed: how serious, what kind, where in the original text, and why."""

    level: str  # warn | hold
    kind: str  # phone, email, link, name, ...
    message: str
    start: int = 0
    end: int = 0


@dataclass
class Scan:
    """A text being checked: the rules read `view.text` (folded) and report spans of it."""

    text: str
    view: Folded = field(init=False)
    masked: str = field(init=False)  # the view with allowed terms blanked out
    covered: list[tuple[int, int]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # False: every rule scans in full (the reference path the differential tests compare with).
    fast: bool = True
    _sentences: list[tuple[int, int]] | None = None
    _views: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # text -> its prefilter views
    _blanked: tuple[int, str] | None = None  # (len(covered) it was made for, the blanked view)

    def __post_init__(self) -> None:
        self.view = fold(self.text)
        self.masked = self.view.text

    def mask(self, start: int, end: int) -> None:
        """Blank out [start, end) of the view for every later rule (an allowed term)."""
        self.masked = self.masked[:start] + " " * (end - start) + self.masked[end:]
        self.cover(start, end)

    def may(self, pattern: re.Pattern[str], text: str | None = None) -> bool:
        """False when `pattern` cannot match `text` (default: the masked view), nor any slice of it."""
        if not self.fast:
            return True
        text = self.masked if text is None else text
        seen = self._views.get(text)
        if seen is None:
            seen = self._views[text] = (view(text), words_view(text))
        return needs(pattern).met(*seen)

    def cover(self, start: int, end: int) -> None:
        """Mark [start, end) as explained (a link, an allowed number, a reported identifier)."""
        self.covered.append((start, end))

    def free(self, start: int, end: int) -> bool:
        """True when no explained span overlaps [start, end)."""
        return all(end <= a or start >= b for a, b in self.covered)

    def blanked(self) -> str:
        """The masked view with every explained span blanked (for number rules)."""
        # Spans are only ever added, and the masked view only changes before the rules run: the
        # number of spans tells whether the last copy is still current.
        if self.fast and self._blanked is not None and self._blanked[0] == len(self.covered):
            return self._blanked[1]
        chars = list(self.masked)
        for a, b in self.covered:
            chars[a:b] = " " * (b - a)
        text = "".join(chars)
        self._blanked = (len(self.covered), text)
        return text

    def quote(self, start: int, end: int) -> str:
        """The original text behind view span [start, end), on one line and not too long."""
        text = " ".join(self.view.original(start, end).split())
        return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 1] + "…"

    def report(self, level: str, kind: str, start: int, end: int, message: str) -> None:
        """Record a finding for view span [start, end) and mark the span explained."""
        a, b = self.view.source_span(start, end)
        self.findings.append(Finding(level, kind, message, a, b))
        self.cover(start, end)

    def sentences(self) -> list[tuple[int, int]]:
        """Spans of the view's sentences (lines split too; "Dr." and initials do not end one)."""
        if self._sentences is None:
            spans: list[tuple[int, int]] = []
            text = self.masked
            begin = 0
            for m in _SENTENCE_END.finditer(text):
                if m.group(0).startswith(".") and _NO_BREAK.search(text[begin : m.start()]):
                    continue
                if m.start() > begin:
                    spans.append((begin, m.end()))
                begin = m.end()
            if begin < len(text):
                spans.append((begin, len(text)))
            self._sentences = spans
        return self._sentences
