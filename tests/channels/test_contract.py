"""Every channel through the same cases: validate, publish once, reconcile, error translation."""

from __future__ import annotations

import pytest

from service.errors import AuthError, OutcomeUnknown, RateLimited, RejectedError, RetryableError
from tests.channels.conftest import Harness


def test_validate_accepts_a_fitting_post_and_names_what_is_wrong(harness: Harness) -> None:
    assert harness.channel.validate(harness.post()) == []
    assert harness.channel.validate(harness.post(text="   ")) == ["empty text"]
    too_long = harness.post(text="word " * (harness.channel.rules.limit // 4))
    problems = harness.channel.validate(too_long)
    assert problems and problems[0].startswith(f"too long for {harness.network}")


def test_publish_delivers_the_exact_text_once_and_reconcile_finds_it(harness: Harness) -> None:
    post = harness.post()
    result = harness.channel.publish(post)
    assert result.external_id
    assert harness.delivered(post) == [post.text]
    if harness.kind == "webhook" and not getattr(harness.channel, "idempotent", False):
        # A receiver that does not drop repeats cannot be asked: "cannot tell", never "absent".
        with pytest.raises(OutcomeUnknown):
            harness.channel.reconcile(post)
    else:
        found = harness.channel.reconcile(post)
        assert found is not None and found.external_id == result.external_id
    assert harness.delivered(post) == [post.text]  # looking never posts again


def test_reconcile_never_claims_a_post_that_is_not_there(harness: Harness) -> None:
    harness.channel.publish(harness.post())  # another post is there
    missing = harness.post()
    try:
        found = harness.channel.reconcile(missing)
    except OutcomeUnknown:
        found = None  # "cannot tell" is allowed (a receiver that does not dedupe)
        assert harness.kind == "webhook" and not getattr(harness.channel, "idempotent", False)
    else:
        if getattr(harness.channel, "idempotent", False):
            # A receiver that dedupes: reconciling is resending with the same key, so it is there now, once.
            assert found is not None and harness.delivered(missing) == [missing.text]
            return
    assert found is None
    assert harness.delivered(missing) == []


def test_a_temporary_failure_is_retryable_and_the_retry_carries_the_same_text(harness: Harness) -> None:
    post = harness.post()
    harness.break_next()
    with pytest.raises(RetryableError):
        harness.channel.publish(post)
    harness.heal()
    assert harness.delivered(post) == []
    harness.channel.publish(post)
    assert harness.delivered(post) == [post.text]


def test_a_refused_post_is_rejected_with_the_networks_message(harness: Harness) -> None:
    if "reject" not in harness.caps:
        pytest.skip("the outbox refuses nothing")
    harness.reject_next()
    with pytest.raises(RejectedError) as info:
        harness.channel.publish(harness.post())
    assert "400" in str(info.value) and str(info.value).startswith("test: ")


def test_a_lost_answer_is_an_unknown_outcome_that_reconcile_settles_without_a_second_post(harness: Harness) -> None:
    if "lose" not in harness.caps:
        pytest.skip("the outbox writes a local file: its answer cannot be lost")
    post = harness.post()
    harness.lose_answer_next()
    with pytest.raises(OutcomeUnknown):
        harness.channel.publish(post)
    assert harness.delivered(post) == [post.text]
    try:
        found = harness.channel.reconcile(post)
    except OutcomeUnknown:
        assert harness.kind == "webhook" and not getattr(harness.channel, "idempotent", False)
    else:
        assert found is not None
    assert harness.delivered(post) == [post.text]


def test_a_rate_limit_says_when_to_try_again_and_posts_nothing(harness: Harness) -> None:
    if "rate" not in harness.caps:
        pytest.skip("the outbox has no rate limit of its own")
    post = harness.post()
    harness.rate_limit_next()
    with pytest.raises(RateLimited) as info:
        harness.channel.publish(post)
    assert info.value.retry_at is not None
    assert harness.delivered(post) == []


def test_a_revoked_token_asks_for_reconnecting_and_posts_nothing(harness: Harness) -> None:
    if "auth" not in harness.caps:
        pytest.skip("no credentials to revoke")
    post = harness.post()
    harness.revoke_next()
    with pytest.raises(AuthError):
        harness.channel.publish(post)
    assert harness.delivered(post) == []


def test_publishing_the_same_post_again_after_a_lost_answer_never_posts_twice(harness: Harness) -> None:
    """The worst case: the answer was lost and the retry went out before anyone reconciled."""
    if harness.kind not in ("mastodon", "bluesky"):
        pytest.skip("this channel has no idempotency key: reconcile settles a lost answer instead")
    post = harness.post()
    harness.lose_answer_next()
    with pytest.raises(OutcomeUnknown):
        harness.channel.publish(post)
    again = harness.channel.publish(post)
    assert again.external_id
    assert harness.delivered(post) == [post.text]
