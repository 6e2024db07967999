"""The [policy] section: every key validated, one-line errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import config as config_mod
from service.errors import ConfigError
from service.policy import check_text
from tests.policy.corpus import load_policy

ROOT = Path(__file__).resolve().parent.parent.parent


def test_full_section(tmp_path: Path) -> None:
    policy = load_policy(
        tmp_path,
        """
        [policy]
        allowed_domains = ["Example.ORG", ".cancer.example.net.", "bücher.example"]
        allowed_phones = ["+1 480 555 0100", "(480) 555-0142"]
        allowed_addresses = ["1200 N Saguaro Blvd, Mesa, AZ 85201", "PO Box 4410, Mesa, AZ 85211"]
        allowed_terms = ["Race for the Cure"]
        blocked_terms = ["Project Falcon"]
        claim_terms = ["painless"]
        hold_warnings = true
        require_approval = true
        phone_region = "us"
        """,
    )
    assert policy.allowed_domains == ("example.org", "cancer.example.net", "xn--bcher-kva.example")
    assert policy.allowed_phones == ("+1 480 555 0100", "(480) 555-0142")
    assert policy.allowed_addresses == ("1200 N Saguaro Blvd, Mesa, AZ 85201", "PO Box 4410, Mesa, AZ 85211")
    assert (policy.allowed_terms, policy.blocked_terms, policy.claim_terms) == (
        ("Race for the Cure",),
        ("Project Falcon",),
        ("painless",),
    )
    assert policy.hold_warnings and policy.require_approval and policy.phone_region == "US"
    hash(policy)  # the guard is cached per policy


def test_defaults(tmp_path: Path) -> None:
    policy = load_policy(tmp_path, "")
    assert policy == config_mod.PolicyConfig()
    # With nothing allowed, every link warns and every number holds.
    assert check_text("https://example.org", policy).verdict == "warn"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            'allowed_domains = ["https://example.org/"]',
            "policy.allowed_domains[0]: expected a domain like 'example.org' (no scheme, path or port), "
            "got 'https://example.org/'",
        ),
        ('allowed_domains = "example.org"', "policy.allowed_domains: expected list, got str 'example.org'"),
        ("allowed_domains = [5]", "policy.allowed_domains[0]: expected a non-empty string, got 5"),
        ('allowed_domains = ["example.org", " "]', "policy.allowed_domains[1]: expected a non-empty string, got ' '"),
        ('allowed_domains = ["localhost"]', "policy.allowed_domains[0]: expected a domain like 'example.org'"),
        ('allowed_phones = ["call us"]', "policy.allowed_phones[0]: not a phone number: 'call us'"),
        ('allowed_phones = ["+1 480 555"]', "policy.allowed_phones[0]: not a possible phone number: '+1 480 555'"),
        (
            'allowed_addresses = ["Mesa, AZ 85201"]',
            "policy.allowed_addresses[0]: no street line or PO box found in 'Mesa, AZ 85201'",
        ),
        ('allowed_terms = ["ok", ""]', "policy.allowed_terms[1]: expected a non-empty string, got ''"),
        ("blocked_terms = [true]", "policy.blocked_terms[0]: expected a non-empty string, got True"),
        ('claim_terms = ["' + "x" * 301 + '"]', "policy.claim_terms[0]: longer than 300 characters"),
        ('hold_warnings = "yes"', "policy.hold_warnings: expected bool, got str 'yes'"),
        ('phone_region = "XX"', "policy.phone_region: unknown region 'XX'"),
        ('alowed_domains = ["example.org"]', "policy.alowed_domains: unknown key"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_policy(tmp_path, "[policy]\n" + line + "\n")
    text = str(err.value)
    assert text.startswith("eventpromo.toml: " + message)
    assert "\n" not in text


def test_secrets_style_env_values_work_in_policy(tmp_path: Path) -> None:
    path = tmp_path / "eventpromo.toml"
    from tests.policy.corpus import write_config

    write_config(tmp_path, '[policy]\nallowed_phones = ["env:MAIN_LINE"]\n')
    cfg = config_mod.load(path, environ={"MAIN_LINE": "+1 480 555 0100"})
    assert cfg.policy.allowed_phones == ("+1 480 555 0100",)


def test_shipped_config_allows_its_own_calendar(tmp_path: Path) -> None:
    cfg = config_mod.load(ROOT / "eventpromo.toml", environ={"EVENTPROMO_SECRET_KEY": "x"})
    assert cfg.policy.allowed_domains == ("example.org",)
    assert cfg.policy.allowed_addresses  # the bundled calendar's venue
    located = "Caregiver Support Group meets at Desert Vista Cancer Center, Room 210, 1200 N Saguaro Blvd, Mesa, AZ."
    assert check_text(located, cfg.policy, ("127.0.0.1",)).verdict == "ok"
