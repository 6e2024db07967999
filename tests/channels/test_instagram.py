"""The Instagram channel over real HTTP to the fake Graph API: image required, hashtags, container polling, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service.channels.base import OutgoingPost
from service.channels.instagram import InstagramChannel
from service.errors import AuthError, OutcomeUnknown, RateLimited, RejectedError, RetryableError
from tests.channels.conftest import IMAGE_URL, outgoing
from tests.fakes.instagram import ACCOUNT_ID, REGAIN_MINUTES, TOKEN, VERSION, FakeInstagram

MEDIA = f"/{VERSION}/{ACCOUNT_ID}/media"
PUBLISH = f"/{VERSION}/{ACCOUNT_ID}/media_publish"


@pytest.fixture
def fake() -> Iterator[FakeInstagram]:
    with FakeInstagram(hang=2.0) as server:
        yield server


@pytest.fixture
def ig(fake: FakeInstagram) -> Iterator[InstagramChannel]:
    channel = InstagramChannel(
        "ig", "instagram", api_base=fake.url, account_id=ACCOUNT_ID, access_token=TOKEN, timeout=0.5
    )
    yield channel
    channel.close()


def post(**kw: Any) -> OutgoingPost:
    """A post with an image, as Instagram needs."""
    return outgoing(network="instagram", **{"image_url": IMAGE_URL, **kw})


def test_a_post_without_an_image_is_not_publishable_and_says_why(ig: InstagramChannel) -> None:
    problems = ig.validate(outgoing(network="instagram"))
    assert problems == ["Instagram needs an image: add an 'Image:' line with a public image URL to the event"]
    assert ig.validate(outgoing(network="instagram", image_url="banner.png"))[0].startswith(
        "Instagram needs a public http(s) image URL"
    )
    assert ig.validate(post()) == []


def test_thirty_hashtags_pass_and_thirty_one_are_refused(ig: InstagramChannel) -> None:
    tags = " ".join(f"#tag{i}" for i in range(31))
    assert ig.validate(post(text="Join us " + " ".join(tags.split()[:30]))) == []
    assert ig.validate(post(text="Join us " + tags)) == ["too many hashtags for instagram: 31/30"]
    assert ig.validate(post(text="x" * 2201))[0] == "too long for instagram: 2201/2200"


def test_publishes_a_container_then_the_media_with_the_token_in_a_header(
    fake: FakeInstagram, ig: InstagramChannel
) -> None:
    p = post()
    result = ig.publish(p)
    assert len(fake.server.received("POST", MEDIA)) == len(fake.server.received("POST", PUBLISH)) == 1
    for req in fake.server.requests:
        assert TOKEN not in req.path and TOKEN not in str(req.query) and TOKEN.encode() not in req.body
        assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert fake.posts[0]["caption"] == p.text and fake.posts[0]["image_url"] == IMAGE_URL
    assert result.external_id == fake.posts[0]["id"]
    assert result.url == fake.posts[0]["permalink"]


def test_a_container_still_processing_is_polled_until_finished(fake: FakeInstagram, ig: InstagramChannel) -> None:
    fake.fail_next("slow")  # IN_PROGRESS twice, then FINISHED
    result = ig.publish(post())
    (container_id,) = fake.containers
    assert len(fake.server.received("GET", f"/{VERSION}/{container_id}")) == 3
    assert result.external_id == fake.posts[0]["id"]


def test_a_container_processing_past_the_budget_is_retryable_and_posts_nothing(
    fake: FakeInstagram, ig: InstagramChannel
) -> None:
    fake.fail_next("stuck")
    started = datetime.now(UTC)
    with pytest.raises(RetryableError, match="still processing the image"):
        ig.publish(post())
    assert datetime.now(UTC) - started < timedelta(seconds=1.5)  # bounded by the request timeout
    assert fake.posts == [] and fake.server.received("POST", PUBLISH) == []


@pytest.mark.parametrize(("fault", "state"), [("container_error", "ERROR"), ("expired", "EXPIRED")])
def test_a_container_in_error_fails_with_instagrams_message(
    fake: FakeInstagram, ig: InstagramChannel, fault: str, state: str
) -> None:
    fake.fail_next(fault)
    with pytest.raises(RejectedError) as info:
        ig.publish(post())
    assert not isinstance(info.value, RetryableError)
    assert str(info.value).startswith(f"ig: Instagram could not use the image ({state}): ")
    assert fake.posts == []


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("613", RateLimited, "code 613"),
        ("2207042", RateLimited, "maximum number of posts"),
        ("401", AuthError, "code 190"),
        ("9004", RejectedError, "could not be fetched"),
        ("500", RetryableError, "500"),
        ("400", RejectedError, "400"),
        ("publish_500", RetryableError, "500"),
    ],
)
def test_graph_error_codes_are_translated(
    fake: FakeInstagram, ig: InstagramChannel, fault: str, error: type, words: str
) -> None:
    fake.fail_next(fault)
    with pytest.raises(error) as info:
        ig.publish(post())
    assert str(info.value).startswith("ig: ") and words in str(info.value)
    assert "\n" not in str(info.value)
    assert fake.posts == []


def test_a_rate_limit_waits_for_the_usage_headers_estimate(fake: FakeInstagram, ig: InstagramChannel) -> None:
    fake.fail_next("429")
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        ig.publish(post())
    assert info.value.retry_at is not None
    assert before + timedelta(minutes=REGAIN_MINUTES) <= info.value.retry_at


def test_a_timeout_creating_the_container_is_retryable_not_unknown(fake: FakeInstagram, ig: InstagramChannel) -> None:
    """Nothing is published before media_publish: an unused container is harmless."""
    fake.fail_next("timeout")
    with pytest.raises(RetryableError) as info:
        ig.publish(post())
    assert not isinstance(info.value, OutcomeUnknown)


def test_a_timeout_at_media_publish_is_unknown_and_reconcile_tells_both_cases(
    fake: FakeInstagram, ig: InstagramChannel
) -> None:
    lost = post()
    fake.fail_next("timeout_after_create")
    with pytest.raises(OutcomeUnknown):
        ig.publish(lost)
    found = ig.reconcile(lost)
    assert found is not None and found.external_id == fake.posts[0]["id"]
    assert found.url == fake.posts[0]["permalink"]

    never = post()
    fake.fail_next("timeout_before_publish")
    with pytest.raises(OutcomeUnknown):
        ig.publish(never)
    assert ig.reconcile(never) is None
    assert len(fake.posts) == 1


def test_reconcile_pages_through_the_media_and_never_matches_a_longer_link() -> None:
    with FakeInstagram(page_size=2) as small:
        channel = InstagramChannel("ig", "instagram", api_base=small.url, account_id=ACCOUNT_ID, access_token=TOKEN)
        first = post()
        result = channel.publish(first)
        for i in range(3):
            channel.publish(post(text=f"another post {i}"))
        found = channel.reconcile(first)
        assert found is not None and found.external_id == result.external_id
        assert channel.reconcile(post()) is None
        assert first.link is not None
        longer = post(text=f"Save your spot: {first.link}9", link=f"{first.link}9")
        channel.publish(longer)
        assert channel.reconcile(post(text="x", link=first.link[:-1])) is None
        channel.close()


def test_reconcile_cannot_tell_when_the_media_cannot_be_read(fake: FakeInstagram, ig: InstagramChannel) -> None:
    fake.revoked = True
    with pytest.raises(OutcomeUnknown, match="cannot read the account's recent media"):
        ig.reconcile(post())
