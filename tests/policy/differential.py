"""Helpers of the differential tests: the fast guard against the reference (every rule scanned in full)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hypothesis import strategies as st

from service.config import PolicyConfig
from service.policy import Finding, Guard, claims, contacts, identifiers, people
from service.policy.addresses import STREET_RE
from service.policy.prefilter import needs
from tests.policy.corpus import OWN_HOSTS, ordinary_lines, tricky_cases

# Every pattern of the rule modules (what the prefilters are derived from).
PATTERNS: tuple[re.Pattern[str], ...] = (
    *(
        v
        for mod in (people, identifiers, contacts, claims)
        for v in vars(mod).values()
        if isinstance(v, re.Pattern) and isinstance(v.pattern, str)  # not the derived first-character classes
    ),
    STREET_RE,
)

# The configured-term patterns of TERMS_POLICY are prefiltered too.
TERMS = {
    "allowed_terms": ("Race for the Cure", "Relay for Life", "Miracle Mile"),
    "blocked_terms": ("bingo night", "raffle"),
    "claim_terms": ("immune boost", "superfood"),
}


def findings(guard: Guard, text: str) -> tuple[Finding, ...]:
    """Every finding of `text` (level, kind, message, span), in the guard's order."""
    return tuple(guard.check(text).findings)


def differences(policy: PolicyConfig, texts: Iterable[str]) -> list[tuple[str, object, object]]:
    """The texts on which the fast guard and the reference disagree, with both answers."""
    fast = Guard(policy, OWN_HOSTS)
    slow = Guard(policy, OWN_HOSTS, fast=False)
    out: list[tuple[str, object, object]] = []
    for text in texts:
        a, b = findings(fast, text), findings(slow, text)
        if a != b:
            out.append((text, a, b))
    return out


# Texts with the configured terms of TERMS (the corpus policy has none), and findings no corpus text
# has on its own (a bare SSN, life dates).
EXTRA_TEXTS = [
    "The form with 123-45-6789 was mailed back.",
    "We planted a tree for Robert Miles (1948-2023) in the garden.",
    "Walk with us on the Miracle Mile this Saturday, then join the Race for the Cure.",
    "Bingo night for survivors and their families: free raffle tickets at the door.",
    "This superfood smoothie is an immune boost, and it is guaranteed to work.",
]


def corpus_texts() -> list[str]:
    """The hand-written corpus: ordinary posts, tricky cases, and each tricky case's sentences on their own."""
    texts = list(ordinary_lines()) + EXTRA_TEXTS
    for case in tricky_cases():
        texts.append(case["text"])
        texts.extend(s for s in re.split(r"(?<=[.!?])\s+", case["text"]) if s)
    return texts


def _trigger_words() -> list[str]:
    """Every literal word the prefilters look for, as written and capitalised."""
    words = sorted({w.strip() for p in PATTERNS for clause in needs(p).plain for w in clause if w.strip()})
    return words + [w.capitalize() for w in words if w[:1].isalpha()]


NAMES = ["Maria", "Maria Lopez", "John Smith", "Mrs. Jones", "Mr. O'Brien", "@maria_l", "Dr. Elena Marquez", "Dave"]
DATES = ["March 3, 2024", "3/14/1958", "last Tuesday", "yesterday", "2024-01-05", "Dec 9", "on Friday", "(1950-2024)"]
NUMBERS = [
    "602-555-0199",
    "(480) 555-0100",
    "480-555-0142",
    "+44 20 7946 0958",
    "1-800-4-CANCER",
    "480-555-O1OO",
    "six zero two five five five one two three four",
    "123-45-6789",
    "SSN 123 45 6789",
    "MRN 00482913",
    "Member ID: AB12345",
    "4111 1111 1111 1111",
    "10.1.2.3",
    "fe80::1",
    "85201",
    "age 93",
    "94-year-old",
    "54",
    "2026",
]
CONTACTS = [
    "jane.doe@gmail.com",
    "events@example.org",
    "jane (at) gmail (dot) com",
    "info at yahoo dot com",
    "join us at the center.org",
    "bit.ly/x",
    "https://example.org/register",
    "http://127.0.0.1:8000/r/AbCdEfGh12",
    "wa.me/15555550100",
    "http://10.0.0.1/x",
    "ex\u0430mple.org",
]
PLACES = ["1200 N Saguaro Blvd", "45 Elm Street", "PO Box 4410", "P.O. Box 99", "Room 210", "3400 E Baseline Rd"]
ODD = [
    "p\u0430tient",
    "M\u0430ria",
    "\uff16\uff10\uff12",
    "\u200b",
    "Jos\u00e9",
    "\u017ftage",
    "\u0131ll",
    "\u212a",
    "🎗️",
    "癌症",
    "💜",
]
SEPARATORS = [" ", " ", " ", ", ", ". ", "! ", "\n", ": ", " - ", "'s ", '"', " (", ") ", " #", " -- "]


def pieces(templates: Iterable[str]) -> st.SearchStrategy[str]:
    """Sentence pieces: template text, names, dates, numbers, contacts, look-alikes and every trigger word."""
    sentences = sorted({s for t in templates for s in re.split(r"(?<=[.!?:\n])\s*", t) if s.strip()})
    tricky = sorted({w for t in corpus_texts() for w in re.split(r"(?<=[,.!?])\s+", t)})
    return st.one_of(
        st.sampled_from(sentences),
        st.sampled_from(tricky),
        st.sampled_from(_trigger_words()),
        st.sampled_from(NAMES + DATES + NUMBERS + CONTACTS + PLACES + ODD),
    )


def mixed_texts(templates: Iterable[str]) -> st.SearchStrategy[str]:
    """Texts of 1-12 pieces joined by spaces and punctuation."""
    part = pieces(list(templates))
    return st.lists(st.tuples(part, st.sampled_from(SEPARATORS)), min_size=1, max_size=12).map(
        lambda items: "".join(p + s for p, s in items).strip()
    )
