"""The policy as the rules use it: allow-lists normalised once (E.164 phones, street keys, term patterns)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from ..config import PolicyConfig
from .addresses import StreetKey, po_boxes, street_keys, zip_codes
from .folding import fold


@dataclass(frozen=True)
class Allow:
    """Everything the organisation owns, and the terms it chose to allow, block or flag."""

    domains: tuple[str, ...]
    own_hosts: frozenset[str]
    phones: frozenset[str]  # E.164
    region: str
    streets: tuple[StreetKey, ...]
    po_boxes: frozenset[str]
    zips: frozenset[str]
    allowed_terms: re.Pattern[str] | None
    blocked_terms: re.Pattern[str] | None
    claim_terms: re.Pattern[str] | None
    hold_warnings: bool


def phone_region(policy: PolicyConfig) -> str:
    """The region for numbers written without a country code: configured, else the first own number's, else US."""
    if policy.phone_region:
        return policy.phone_region
    for raw in policy.allowed_phones:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(raw, "US"))
        except phonenumbers.NumberParseException:
            continue
        if region:
            return str(region)
    return "US"


def _e164(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any of `terms` as whole words, on folded text."""
    if not terms:
        return None
    parts = sorted({r"\s+".join(re.escape(w) for w in fold(t).text.split()) for t in terms if t.strip()}, key=len)
    return re.compile(r"(?<!\w)(?:" + "|".join(reversed(parts)) + r")(?!\w)", re.I)


def compile_policy(policy: PolicyConfig, own_hosts: tuple[str, ...]) -> Allow:
    """Normalise the configured allow-lists once per policy."""
    region = phone_region(policy)
    hosts = frozenset(h.lower().rstrip(".") for h in own_hosts if h)
    phones = frozenset(p for p in (_e164(x, region) for x in policy.allowed_phones) if p)
    addresses = tuple(policy.allowed_addresses)
    return Allow(
        domains=tuple(policy.allowed_domains) + tuple(sorted(hosts)),
        own_hosts=hosts,
        phones=phones,
        region=region,
        streets=tuple(k for a in addresses for k in street_keys(a)),
        po_boxes=frozenset(b for a in addresses for b in po_boxes(a)),
        zips=frozenset(z for a in addresses for z in zip_codes(a)),
        allowed_terms=terms_pattern(policy.allowed_terms),
        blocked_terms=terms_pattern(policy.blocked_terms),
        claim_terms=terms_pattern(policy.claim_terms),
        hold_warnings=policy.hold_warnings,
    )
