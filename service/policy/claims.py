"""Medical claims ("cures", "guaranteed", "miracle", "no side effects"), the organisation's own
claim terms, and its blocked terms.

Claims warn: they go out, shown to coordinators, because a hospital's post must not promise
outcomes. "Cure" as a cause ("find a cure", "Race for the Cure") and "guaranteed" about seats
("seating is not guaranteed") are not claims.
"""

from __future__ import annotations

import re

from .rules import Allow
from .scan import HOLD, WARN, Scan
from .words import CLAIM_PATTERNS, CURE_AS_CAUSE

# One pass over the text: each built-in claim is a named group of one pattern.
_CLAIMS = re.compile(
    r"(?<!\w)(?:" + "|".join(f"(?P<c{i}>{p})" for i, (p, _) in enumerate(CLAIM_PATTERNS)) + r")(?!\w)", re.I
)
_LABELS = {f"c{i}": label for i, (_, label) in enumerate(CLAIM_PATTERNS)}
_CURE_AS_CAUSE = re.compile(CURE_AS_CAUSE, re.I)
_NOT_A_GUARANTEE = re.compile(
    r"(?:\bnot|n't|\bno|\bcannot|\bseats?|\bseating|\bspots?|\bspace|\bspaces|\bparking|\bentry|\badmission|"
    r"\bavailability|\bregistration|\bplaces?|\broom)(?:\s+\w+){0,2}\s+$",
    re.I,
)


def _not_a_claim(label: str, before: str) -> bool:
    if label == "cure":
        return _CURE_AS_CAUSE.search(before) is not None
    if label == "guaranteed":
        return _NOT_A_GUARANTEE.search(before) is not None
    return False


def check_claims(scan: Scan, allow: Allow) -> None:
    """Warn about medical claims: built-in phrases and the configured `claim_terms`."""
    text = scan.masked
    for m in _CLAIMS.finditer(text) if scan.may(_CLAIMS) else ():
        label = _LABELS[m.lastgroup or ""]
        if _not_a_claim(label, text[max(0, m.start() - 40) : m.start()]) or not scan.free(m.start(), m.end()):
            continue
        scan.report(
            WARN,
            "claim",
            m.start(),
            m.end(),
            f"medical claim {scan.quote(m.start(), m.end())!r}: a post must not promise outcomes",
        )
    if allow.claim_terms is not None and scan.may(allow.claim_terms):
        for m in allow.claim_terms.finditer(text):
            if scan.free(m.start(), m.end()):
                scan.report(
                    WARN,
                    "claim",
                    m.start(),
                    m.end(),
                    f"claim term {scan.quote(m.start(), m.end())!r} (policy.claim_terms)",
                )


def check_blocked_terms(scan: Scan, allow: Allow) -> None:
    """Hold the configured `blocked_terms`."""
    if allow.blocked_terms is None or not scan.may(allow.blocked_terms):
        return
    for m in allow.blocked_terms.finditer(scan.masked):
        scan.report(
            HOLD,
            "blocked",
            m.start(),
            m.end(),
            f"blocked term {scan.quote(m.start(), m.end())!r} (policy.blocked_terms)",
        )
