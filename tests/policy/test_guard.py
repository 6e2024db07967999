"""check_text's contract and the [policy] keys that shape it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from service.config import PolicyConfig
from service.policy import HOLD, OK, WARN, Verdict, check_text
from tests.policy.corpus import OWN_HOSTS

PolicyWith = Callable[[str], PolicyConfig]


def test_signature_is_kept_for_callers(corpus_policy: PolicyConfig) -> None:
    # The campaigns helper calls check_text(text, cfg.policy, own_hosts) and reads .verdict/.reasons.
    v = check_text("Call 602-555-0199", corpus_policy, ("127.0.0.1",))
    assert isinstance(v, Verdict) and v.text == "Call 602-555-0199"
    assert v.verdict == HOLD and v.reasons == ["phone number 602-555-0199 is not one of the organisation's"]
    assert check_text("Hello", corpus_policy).verdict == OK
    assert check_text("Hello", corpus_policy, ["127.0.0.1"]).verdict == OK  # a list is fine too


def test_holds_come_before_warnings_and_the_verdict_is_the_worst(corpus_policy: PolicyConfig) -> None:
    v = check_text("Guaranteed! See bit.ly/x or call 602-555-0199.", corpus_policy, OWN_HOSTS)
    assert v.verdict == HOLD
    assert [f.level for f in v.findings] == [HOLD, WARN, WARN]
    assert "602-555-0199" in v.reasons[0]


def test_findings_point_at_the_original_text(corpus_policy: PolicyConfig) -> None:
    text = "Our pаtient Maria is home. Call ６０２-５５５-０１９９."  # Cyrillic а, fullwidth digits
    v = check_text(text, corpus_policy, OWN_HOSTS)
    spans = {f.kind: text[f.start : f.end] for f in v.findings}
    assert spans["phone"] == "６０２-５５５-０１９９"
    assert spans["name"] == "Our pаtient Maria"
    assert "６０２-５５５-０１９９" in " ".join(v.reasons)


def test_answers_are_fresh_objects_even_from_the_cache(corpus_policy: PolicyConfig) -> None:
    first = check_text("Call 602-555-0199", corpus_policy, OWN_HOSTS)
    first.reasons.append("changed by a caller")
    first.add(WARN, "another")
    again = check_text("Call 602-555-0199", corpus_policy, OWN_HOSTS)
    assert again.reasons == ["phone number 602-555-0199 is not one of the organisation's"]


def test_add_keeps_holds_first() -> None:
    v = Verdict("x")
    v.add(WARN, "w1")
    v.add(HOLD, "h1")
    v.add(WARN, "w2")
    assert (v.verdict, v.reasons) == (HOLD, ["h1", "w1", "w2"])
    assert v.as_dict() == {"text": "x", "verdict": HOLD, "reasons": ["h1", "w1", "w2"]}


def test_own_hosts_are_allowed_links_and_nothing_else_is(corpus_policy: PolicyConfig) -> None:
    link = "Join: https://promo.hospital.test/r/AbCd1234"
    assert check_text(link, corpus_policy, ("promo.hospital.test",)).verdict == OK
    assert check_text(link, corpus_policy, ()).verdict == WARN
    ip_link = "Join: http://127.0.0.1:8000/r/AbCd1234"
    assert check_text(ip_link, corpus_policy, ("127.0.0.1",)).verdict == OK
    assert check_text(ip_link, corpus_policy, ()).verdict == HOLD  # an IP address that is not ours


def test_subdomains_of_allowed_domains_but_not_lookalike_suffixes(corpus_policy: PolicyConfig) -> None:
    assert check_text("https://a.b.example.org/x and mail@c.example.org", corpus_policy).verdict == OK
    assert check_text("https://badexample.org/x", corpus_policy).verdict == WARN
    assert check_text("mail@badexample.org", corpus_policy).verdict == HOLD


def test_network_length(corpus_policy: PolicyConfig) -> None:
    text = "Register now for our free webinar. " * 9  # 315 characters
    v = check_text(text, corpus_policy, OWN_HOSTS, network="x")
    assert v.verdict == HOLD and v.reasons[-1] == "too long for x: 315/280 characters"
    assert check_text(text, corpus_policy, OWN_HOSTS, network="mastodon").verdict == OK
    assert check_text(text, corpus_policy, OWN_HOSTS).verdict == OK  # no network: no length rule
    # A link counts 23 on X whatever its length.
    long_link = "Join: https://example.org/" + "a" * 300
    assert check_text(long_link, corpus_policy, OWN_HOSTS, network="x").verdict == OK
    both = check_text(text + " bit.ly/x", corpus_policy, OWN_HOSTS, network="x")
    assert [f.level for f in both.findings] == [HOLD, WARN] and both.reasons[0].startswith("too long for x")


def test_hold_warnings(policy_with: PolicyWith) -> None:
    policy = policy_with("hold_warnings = true")
    v = check_text("See bit.ly/x", policy, OWN_HOSTS)
    assert v.verdict == HOLD
    assert v.reasons == [
        "link shortener bit.ly hides where the link goes (outside the organisation's domains) "
        "(warnings hold: policy.hold_warnings)"
    ]


def test_allowed_terms_are_never_flagged(policy_with: PolicyWith) -> None:
    text = "Curing Kids Cancer joins us. Call 1-800-227-2345 or visit cancer.org."
    before = check_text(text, policy_with(""), OWN_HOSTS)
    assert before.verdict == HOLD
    after = check_text(text, policy_with('allowed_terms = ["Curing Kids Cancer", "1-800-227-2345", "cancer.org"]'))
    assert (after.verdict, after.reasons) == (OK, [])


def test_blocked_terms_hold_and_claim_terms_warn(policy_with: PolicyWith) -> None:
    policy = policy_with('blocked_terms = ["Project Falcon"]\nclaim_terms = ["painless", "best in the state"]')
    v = check_text("Project  falcon update: painless screening, the best in the state.", policy, OWN_HOSTS)
    assert v.verdict == HOLD
    assert v.reasons == [
        "blocked term 'Project falcon' (policy.blocked_terms)",
        "claim term 'painless' (policy.claim_terms)",
        "claim term 'best in the state' (policy.claim_terms)",
    ]
    assert check_text("Falcons game night", policy).verdict == OK  # whole words only


def test_phone_region_reads_national_numbers(policy_with: PolicyWith) -> None:
    uk = policy_with('phone_region = "GB"\nallowed_phones = ["+44 20 7946 0000"]')
    assert check_text("Ring us on 020 7946 0000", uk).verdict == OK
    v = check_text("Ring us on 020 7946 0958", uk)
    assert v.verdict == HOLD and "020 7946 0958" in v.reasons[0]


def test_allowed_phones_match_in_any_format(corpus_policy: PolicyConfig) -> None:
    for written in ("480-555-0100", "(480) 555 0100", "+1.480.555.0100", "1 480 555 0100", "4805550100"):
        assert check_text(f"Call {written} today", corpus_policy).verdict == OK, written


@pytest.mark.parametrize(
    "text",
    [
        "Speaker: Dr. Jane Doe, Medical Oncology",
        "Join Maria Lopez, RN, our nurse navigator, for coffee.",
        "Thank you, Mr. Alvarez, for 20 years of volunteering at the front desk.",
        "Hodgkin's lymphoma, Alzheimer's disease and Crohn's disease: research updates.",
        "Dr. Chen's treatment team welcomes new patients.",
        "St. Jude's cancer research program visits Mesa.",
        "Our patient navigator Maria will call you back.",
        "Patient Advocate Maria Lopez leads the tour.",
        "A Survivor Celebration, Sunday at noon.",
        "The Patient Experience Awards go to our infusion nurses.",
    ],
)
def test_names_outside_a_patient_context_are_ok(corpus_policy: PolicyConfig, text: str) -> None:
    verdict = check_text(text, corpus_policy, OWN_HOSTS)
    assert (verdict.verdict, verdict.reasons) == (OK, [])


def test_empty_and_whitespace_texts_are_ok(corpus_policy: PolicyConfig) -> None:
    assert check_text("", corpus_policy).verdict == OK
    assert check_text(" \n\t ", corpus_policy).verdict == OK


def test_planning_style_masked_tracked_links_are_ok(corpus_policy: PolicyConfig) -> None:
    # Planning masks the random code of our own tracked link before asking (its verdicts are cached per text).
    text = "Tomorrow at 5:30 PM MST: Living Well with MPN.\nThere is still room: http://127.0.0.1:8000/r/LINKCODE\n#MPN"
    assert check_text(text, corpus_policy, ("127.0.0.1",)).verdict == OK


def test_many_findings_of_one_kind_are_all_reported(corpus_policy: PolicyConfig) -> None:
    v = check_text("Call 602-555-0199 or 602-555-0198; email a@gmail.com or b@yahoo.com.", corpus_policy)
    assert [f.kind for f in v.findings] == ["phone", "phone", "email", "email"]
    assert len(set(v.reasons)) == 4


def test_the_same_finding_twice_is_reported_once(corpus_policy: PolicyConfig) -> None:
    v = check_text("bit.ly/x and again bit.ly/x", corpus_policy)
    assert v.reasons == ["link shortener bit.ly hides where the link goes (outside the organisation's domains)"]
