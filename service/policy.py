"""The content guard: nothing posted may carry patient information or contact details not the organisation's.

A verdict per text: `ok`, `warn` (goes out, shown to coordinators) or `hold` (waits for a person).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import phonenumbers

from .config import PolicyConfig

OK, WARN, HOLD = "ok", "warn", "hold"
_RANK = {OK: 0, WARN: 1, HOLD: 2}

_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_URL_RE = re.compile(r"https?://[^\s<>\"')\]]+", re.I)
_SSN_RE = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_MRN_RE = re.compile(
    r"\b(?:MRN|medical\s+record(?:\s+(?:number|no\.?|#))?|chart\s*(?:number|no\.?|#))\s*[:#]?\s*\w*\d", re.I
)
_DOB_RE = re.compile(r"\b(?:DOB|D\.O\.B\.|date\s+of\s+birth|born\s+on)\b", re.I)
_PATIENT_NAME_RE = re.compile(
    r"\b(?:patient|pt\.?|our\s+patient)\s+(?:(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+)?[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?", re.UNICODE
)
_ROOM_BED_RE = re.compile(r"\b(?:room|bed)\s+\d+[A-Z]?\b.*\b(?:admitted|discharged|diagnosed)\b", re.I)


@dataclass
class Verdict:
    """The guard's answer for one text."""

    text: str
    verdict: str = OK
    reasons: list[str] = field(default_factory=list)

    def add(self, level: str, reason: str) -> None:
        """Record a finding; the verdict is the most severe one."""
        self.reasons.append(reason)
        if _RANK[level] > _RANK[self.verdict]:
            self.verdict = level


def _allowed_host(host: str, domains: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def _normalize_phone(raw: str) -> str | None:
    try:
        num = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def check_text(text: str, policy: PolicyConfig, own_hosts: tuple[str, ...] = ()) -> Verdict:
    """Judge one post text against the policy; `own_hosts` are the service's own (tracked link) hosts."""
    verdict = Verdict(text=text)
    domains = policy.allowed_domains + tuple(h.lower() for h in own_hosts)
    allowed_phones = {p for p in (_normalize_phone(x) for x in policy.allowed_phones) if p}

    if _SSN_RE.search(text):
        verdict.add(HOLD, "looks like a Social Security number")
    if _MRN_RE.search(text):
        verdict.add(HOLD, "mentions a medical record number")
    if _DOB_RE.search(text):
        verdict.add(HOLD, "mentions a date of birth")
    m = _PATIENT_NAME_RE.search(text)
    if m:
        verdict.add(HOLD, f"may name a patient: {m.group(0)!r}")
    if _ROOM_BED_RE.search(text):
        verdict.add(HOLD, "mentions a room or bed with a clinical status")

    for match in phonenumbers.PhoneNumberMatcher(text, "US"):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in allowed_phones:
            verdict.add(HOLD, f"phone number {match.raw_string} is not one of the organisation's")

    text_without_urls = _URL_RE.sub(" ", text)
    for m2 in _EMAIL_RE.finditer(text_without_urls):
        if not _allowed_host(m2.group(1), domains):
            verdict.add(HOLD, f"e-mail address {m2.group(0)} is not the organisation's")

    for url in _URL_RE.findall(text):
        host = urlsplit(url).hostname or ""
        if not _allowed_host(host, domains):
            verdict.add(WARN, f"link to {host or url} is outside the organisation's domains")
    return verdict
