"""Street addresses and post office boxes, and the organisation's own ones.

A street line is a house number, an optional direction, one to four capitalised name words (or an
ordinal like "1st") and a street suffix: "1200 N Saguaro Blvd", "45 Elm Street", "64 E 1st St".
Two lines are the same address when number, name and suffix agree after abbreviations are
expanded (a missing direction in the post still matches the configured one).
"""

from __future__ import annotations

import re
from typing import NamedTuple

_DIRECTIONS = {
    "n": "n",
    "north": "n",
    "s": "s",
    "south": "s",
    "e": "e",
    "east": "e",
    "w": "w",
    "west": "w",
    "ne": "ne",
    "northeast": "ne",
    "nw": "nw",
    "northwest": "nw",
    "se": "se",
    "southeast": "se",
    "sw": "sw",
    "southwest": "sw",
}
# USPS suffixes people write in posts; "Circle", "Court", "Run" and the like are left out because
# support groups and events are named with them ("Healing Circle", "Food Court").
_SUFFIXES = {
    "street": "st",
    "st": "st",
    "avenue": "ave",
    "ave": "ave",
    "av": "ave",
    "boulevard": "blvd",
    "blvd": "blvd",
    "road": "rd",
    "rd": "rd",
    "drive": "dr",
    "dr": "dr",
    "lane": "ln",
    "ln": "ln",
    "way": "way",
    "ct": "ct",
    "pl": "pl",
    "terrace": "ter",
    "ter": "ter",
    "cir": "cir",
    "parkway": "pkwy",
    "pkwy": "pkwy",
    "highway": "hwy",
    "hwy": "hwy",
    "trail": "trl",
    "trl": "trl",
    "loop": "loop",
    "plaza": "plz",
    "plz": "plz",
    "expressway": "expy",
    "expy": "expy",
    "freeway": "fwy",
    "fwy": "fwy",
}
_DIR = r"(?:[NSEW]|NE|NW|SE|SW|North|South|East|West|Northeast|Northwest|Southeast|Southwest)"
_SUFFIX = "|".join(sorted(_SUFFIXES, key=len, reverse=True))
# A street name word; only a short abbreviation ("St.", "Mt.") may carry a period (a longer word ends a sentence).
_NAME_WORD = r"(?:[A-Z][a-z]{0,2}\.|[A-Z][A-Za-z'-]*|\d{1,3}(?:st|nd|rd|th))"
STREET_RE = re.compile(
    rf"(?<![\w#-])(\d{{1,6}}[A-Za-z]?(?:-\d{{1,4}})?)\s+(?:({_DIR})\.?\s+)?((?:{_NAME_WORD}\s+){{1,4}}?)"
    rf"((?i:{_SUFFIX}))\b(?!(?<=[Dd]r)\.\s+[A-Z][a-z])\.?(?!\s+of\b)(?:\s+({_DIR})\b\.?)?"
)
PO_BOX_RE = re.compile(r"\b(?:P\.?\s?O\.?\s*Box|Post\s+Office\s+Box)\s*#?\s*(\d{1,8})\b", re.I)
ZIP_RE = re.compile(r"\b\d{5}(?:-\d{4})?\b")
# A number right after these words is not a house number ("Room 210 Health Way" is a room).
_NOT_HOUSE_BEFORE = re.compile(
    r"(?:room|rm|suite|ste|floor|level|part|step|week|day|phase|stage|grade|type|no|#|top|chapter|session|module|"
    r"class|lesson|vol|jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|"
    r"august|september|october|november|december)\.?\s*$",
    re.I,
)
_TIME_WORDS = frozenset(
    {"am", "pm", "a.m", "p.m", "mst", "mdt", "pst", "pdt", "cst", "cdt", "est", "edt", "noon", "utc"}
)
# "2026 Blood Drive", "Pink Ribbon Drive": drives and ways that are events, not streets.
_EVENT_WORDS = frozenset(
    [
        "blood",
        "donor",
        "food",
        "toy",
        "coat",
        "book",
        "supply",
        "registry",
        "marrow",
        "ribbon",
        "donation",
        "fund",
        "diaper",
        "sock",
        "clothing",
        "canned",
        "recruitment",
        "vaccine",
        "vaccination",
        "healthy",
        "better",
        "easy",
        "simple",
        "best",
        "right",
        "new",
    ]
)


class StreetKey(NamedTuple):
    """A street line reduced to what identifies it."""

    number: str
    direction: str
    name: str
    suffix: str


def street_key(m: re.Match[str]) -> StreetKey | None:
    """The key of a STREET_RE match, or None when it reads as an event or a time rather than a street."""
    words = [w.rstrip(".").lower() for w in m.group(3).split()]
    if any(w in _TIME_WORDS for w in words) or (words and words[-1] in _EVENT_WORDS):
        return None
    direction = _DIRECTIONS.get((m.group(2) or m.group(5) or "").lower(), "")
    return StreetKey(m.group(1).lower(), direction, " ".join(words), _SUFFIXES[m.group(4).lower()])


def find_streets(text: str) -> list[tuple[re.Match[str], StreetKey]]:
    """Street lines in `text` with their keys."""
    found = []
    for m in STREET_RE.finditer(text):
        if _NOT_HOUSE_BEFORE.search(text[max(0, m.start() - 12) : m.start()]):
            continue
        key = street_key(m)
        if key is not None:
            found.append((m, key))
    return found


def street_keys(address: str) -> list[StreetKey]:
    """The street lines of one configured address."""
    return [k for _, k in find_streets(address)]


def po_boxes(address: str) -> list[str]:
    """The post office box numbers of one configured address."""
    return [m.group(1) for m in PO_BOX_RE.finditer(address)]


def zip_codes(address: str) -> list[str]:
    """The ZIP codes of one configured address (ZIP+4 and its first five digits)."""
    out: list[str] = []
    for m in ZIP_RE.finditer(address):
        out.extend({m.group(0), m.group(0)[:5]})
    return out


def same_street(found: StreetKey, own: StreetKey) -> bool:
    """True when a street line in a post is the organisation's (a direction left out still matches)."""
    return (
        found.number == own.number
        and found.name == own.name
        and found.suffix == own.suffix
        and found.direction in ("", own.direction)
    )
