"""The content guard: nothing posted may carry patient information or contact details not the organisation's.

`check_text(text, policy, own_hosts)` gives a verdict per text: `ok`, `warn` (goes out, shown to
coordinators) or `hold` (waits for a person), with one reason per finding, holds first.

    rules.py        the [policy] allow-lists, normalised once per policy
    folding.py      the folded view the rules match on (look-alike letters, fullwidth digits, accents)
    contacts.py     links, e-mail addresses, phone numbers, IP addresses
    identifiers.py  SSNs, labelled record/plan/account numbers, long numbers, dates, ages, addresses
    people.py       names in a patient context, memorials, testimonials, patient stories
    claims.py       medical claims, the configured claim and blocked terms
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from ..config import PolicyConfig
from . import claims, contacts, identifiers, people
from .folding import mixes_scripts
from .rules import Allow, compile_policy
from .scan import HOLD, OK, RANK, WARN, Finding, Scan

__all__ = ["HOLD", "OK", "WARN", "Finding", "Guard", "Verdict", "check_text", "guard_for", "length_finding"]

Rule = Callable[[Scan, Allow], None]
# Order matters: e-mail addresses before links (X would link the domain of one), links and addresses
# before numbers (their digits are not phone numbers), the specific identifiers before the catch-all
# long-number rule, names before testimonials.
RULES: tuple[Rule, ...] = (
    contacts.check_emails,
    contacts.check_links,
    identifiers.check_addresses,
    identifiers.check_ssn,
    identifiers.check_labelled_ids,
    contacts.check_ip_addresses,
    contacts.check_phones,
    identifiers.check_long_numbers,
    identifiers.check_dates,
    people.check_named_people,
    people.check_testimonials,
    claims.check_blocked_terms,
    claims.check_claims,
)
_WORD = re.compile(r"[^\W\d_]+")
_CACHE_SIZE = 4096


@dataclass
class Verdict:
    """The guard's answer for one text."""

    text: str
    verdict: str = OK
    reasons: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list, repr=False)

    def add(self, level: str, reason: str, kind: str = "other") -> None:
        """Record a finding after those at least as severe; the verdict is the most severe one."""
        at = sum(1 for f in self.findings if RANK[f.level] >= RANK[level])
        self.findings.insert(at, Finding(level, kind, reason))
        self.reasons.insert(at, reason)
        if RANK[level] > RANK[self.verdict]:
            self.verdict = level

    def as_dict(self) -> dict[str, object]:
        """{text, verdict, reasons}: what `policy check --json` prints."""
        return {"text": self.text, "verdict": self.verdict, "reasons": list(self.reasons)}


class Guard:
    """The rules bound to one policy, with a cache of recent answers (planning checks the same texts often)."""

    def __init__(self, policy: PolicyConfig, own_hosts: tuple[str, ...] = (), *, fast: bool = True):
        self.allow = compile_policy(policy, own_hosts)
        # fast=False scans every rule in full, without prefilters: the reference for the differential tests.
        self.fast = fast
        self._findings = lru_cache(maxsize=_CACHE_SIZE)(self._scan)

    def check(self, text: str) -> Verdict:
        """The verdict for `text`."""
        verdict = Verdict(text=text)
        for f in self._findings(text):
            verdict.findings.append(f)
            verdict.reasons.append(f.message)
            if RANK[f.level] > RANK[verdict.verdict]:
                verdict.verdict = f.level
        return verdict

    def _scan(self, text: str) -> tuple[Finding, ...]:
        scan = Scan(text, fast=self.fast)
        if self.allow.allowed_terms is not None and scan.may(self.allow.allowed_terms):
            for m in self.allow.allowed_terms.finditer(scan.view.text):
                scan.mask(m.start(), m.end())
        for rule in RULES:
            rule(scan, self.allow)
        _check_lookalikes(scan)
        return _ordered(scan.findings, self.allow.hold_warnings)


def _check_lookalikes(scan: Scan) -> None:
    """Warn about words that mix Latin letters with look-alikes from other scripts ("p" + Cyrillic "a" + "tient")."""
    if scan.text.isascii():
        return
    for m in _WORD.finditer(scan.text):
        if mixes_scripts(m.group(0)):
            scan.findings.append(
                Finding(
                    WARN, "lookalike", f"{m.group(0)!r} mixes look-alike letters from other scripts", m.start(), m.end()
                )
            )


def _ordered(findings: Iterable[Finding], hold_warnings: bool) -> tuple[Finding, ...]:
    """Holds first, then warnings, each in text order; the same message once."""
    seen: set[str] = set()
    out: list[Finding] = []
    for f in sorted(findings, key=lambda f: (-RANK[f.level], f.start, f.end)):
        if f.message in seen:
            continue
        seen.add(f.message)
        if hold_warnings and f.level == WARN:
            f = Finding(HOLD, f.kind, f"{f.message} (warnings hold: policy.hold_warnings)", f.start, f.end)
        out.append(f)
    return tuple(out)


@lru_cache(maxsize=16)
def guard_for(policy: PolicyConfig, own_hosts: tuple[str, ...] = ()) -> Guard:
    """The guard for a policy (built once per policy and set of own hosts)."""
    return Guard(policy, own_hosts)


def length_finding(text: str, network: str) -> Finding | None:
    """A hold when `text` is too long for `network` by its own counting rules, else None."""
    from ..campaigns.fitting import rules_for, text_length

    limit = rules_for(network).limit
    length = text_length(text, network)
    if length <= limit:
        return None
    return Finding(HOLD, "length", f"too long for {network}: {length}/{limit} characters")


def check_text(
    text: str, policy_cfg: PolicyConfig, own_hosts: Iterable[str] = (), *, network: str | None = None
) -> Verdict:
    """Judge one post text against the policy; `own_hosts` are the service's own (tracked link) hosts.

    With `network`, a text too long for that network's rules is held as well.
    """
    verdict = guard_for(policy_cfg, tuple(own_hosts)).check(text)
    if network is not None:
        finding = length_finding(text, network)
        if finding is not None:
            verdict.add(finding.level, finding.message, finding.kind)
    return verdict
