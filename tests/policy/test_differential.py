"""The fast guard (prefilters, shared views) gives exactly the reference guard's findings, in the same order."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings

import service.campaigns.apply as apply_mod
from service import jobs
from service.config import Config, PolicyConfig
from service.db import Database
from service.policy import Verdict
from service.policy.scan import Scan
from service.runtime import Runtime
from tests.conftest import ConfigFactory
from tests.policy.differential import TERMS, corpus_texts, differences, mixed_texts
from tests.policy.test_corpus import EVENTS, rendered_posts

RENDERED = sorted({p for i, e in enumerate(EVENTS) for p in rendered_posts(e, i)})
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def terms_policy(policy_with: Callable[[str], PolicyConfig]) -> PolicyConfig:
    """The corpus policy with allowed, blocked and claim terms, and warnings that hold."""
    lines = [f"{k} = [{', '.join(repr(t).replace(chr(39), chr(34)) for t in v)}]" for k, v in TERMS.items()]
    return policy_with("\n".join(lines) + "\nhold_warnings = true\n")


def test_the_corpus_agrees(corpus_policy: PolicyConfig) -> None:
    assert differences(corpus_policy, corpus_texts()) == []


def test_rendered_promotion_agrees(corpus_policy: PolicyConfig) -> None:
    assert len(RENDERED) > 500
    assert differences(corpus_policy, RENDERED) == []


def test_the_corpus_agrees_with_configured_terms(terms_policy: PolicyConfig) -> None:
    assert terms_policy.blocked_terms and terms_policy.hold_warnings
    assert differences(terms_policy, corpus_texts() + RENDERED[:300]) == []


def _planned_texts(cfg: Config) -> list[str]:
    """Every text planning the bundled calendar hands to the guard (tracked links as the guard sees them)."""
    seen: list[str] = []
    check = apply_mod.check_text

    def recording(text: str, *args: object, **kwargs: object) -> Verdict:
        seen.append(text)
        return check(text, *args, **kwargs)  # type: ignore[arg-type]

    apply_mod.check_text = recording  # type: ignore[assignment]
    rt = Runtime(cfg=cfg, db=Database(cfg.database_url))
    try:
        jobs.sync_calendars(rt, datetime(2026, 11, 20, 19, 0, tzinfo=UTC))
    finally:
        apply_mod.check_text = check
        rt.db.dispose()
    return seen


CHANNELS = "".join(
    f'\n[[channels]]\nname = "{n}"\nkind = "outbox"\nnetwork = "{n}"\n'
    for n in ("x", "mastodon", "bluesky", "linkedin")
)


def test_planning_the_bundled_calendar_agrees(make_config: ConfigFactory) -> None:
    calendars = '[[calendars]]\nname = "oncology-events"\nics = "{}"\ntemplate = "webinar"\nchannels = {}\n'
    from tests.conftest import BUNDLED_ICS

    cfg = make_config(
        calendars=calendars.format(BUNDLED_ICS, '["x", "mastodon", "bluesky", "linkedin"]'), channels=CHANNELS
    )
    texts = _planned_texts(cfg)
    assert len(set(texts)) > 50
    assert differences(cfg.policy, texts) == []


@SETTINGS
@given(text=mixed_texts(RENDERED))
def test_generated_texts_agree(corpus_policy: PolicyConfig, text: str) -> None:
    assert differences(corpus_policy, [text]) == []


@SETTINGS
@given(text=mixed_texts(RENDERED))
def test_generated_texts_agree_with_configured_terms(terms_policy: PolicyConfig, text: str) -> None:
    assert differences(terms_policy, [text]) == []


# --- The differential tests can fail: a prefilter that wrongly skips is caught ----------------------


def _gated_patterns(policy: PolicyConfig, texts: list[str]) -> list[re.Pattern[str]]:
    """The patterns the fast guard asks `Scan.may` about on `texts`."""
    asked: dict[str, re.Pattern[str]] = {}
    may = Scan.may

    def recording(self: Scan, pattern: re.Pattern[str], text: str | None = None) -> bool:
        asked.setdefault(pattern.pattern, pattern)
        return may(self, pattern, text)

    Scan.may = recording  # type: ignore[method-assign]
    try:
        differences(policy, texts)
    finally:
        Scan.may = may  # type: ignore[method-assign]
    return list(asked.values())


@pytest.fixture
def skip_one(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[re.Pattern[str]], None]]:
    """Break the prefilter of one pattern: it always says the pattern cannot match."""
    may = Scan.may

    def breaker(broken: re.Pattern[str]) -> None:
        def wrong(self: Scan, pattern: re.Pattern[str], text: str | None = None) -> bool:
            return (not self.fast or pattern is not broken) and may(self, pattern, text)

        monkeypatch.setattr(Scan, "may", wrong)

    yield breaker


def test_every_prefilter_is_exercised_by_the_corpus(
    terms_policy: PolicyConfig, skip_one: Callable[[re.Pattern[str]], None]
) -> None:
    """For each prefilter, wrongly skipping its pattern changes some finding of the corpus."""
    texts = corpus_texts() + RENDERED[:300]
    gated = _gated_patterns(terms_policy, texts)
    assert len(gated) >= 10
    silent = []
    for pattern in gated:
        skip_one(pattern)
        if not differences(terms_policy, texts):
            silent.append(pattern.pattern[:60])
    assert silent == [], silent


def _never(*args: object) -> bool:
    return False


NEVER = re.compile(r"(?!)")
# Each of the other shortcuts of the fast guard, broken so that it wrongly skips work.
BROKEN_SHORTCUTS = {
    "first-person words": ("service.policy.people._may_be_first_person", _never),
    "written-out e-mail addresses": ("service.policy.contacts._SPELLED_COUNTS", NEVER),
    "first character after a name": ("service.policy.people._AFTER_START", NEVER),
    "cue words in a window": ("service.policy.people._People.cues_in", lambda self, a, b: (False,) * 5),
    "trigger words": ("service.policy.people._People.triggered", _never),
}


@pytest.mark.parametrize("shortcut", sorted(BROKEN_SHORTCUTS))
def test_every_other_shortcut_is_exercised_by_the_corpus(
    corpus_policy: PolicyConfig, monkeypatch: pytest.MonkeyPatch, shortcut: str
) -> None:
    target, wrong = BROKEN_SHORTCUTS[shortcut]
    monkeypatch.setattr(target, wrong)
    assert differences(corpus_policy, corpus_texts())
