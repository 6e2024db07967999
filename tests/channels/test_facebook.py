"""The Facebook Page channel over real HTTP to the fake Graph API: Graph error codes, reconcile."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from service.channels.facebook import FacebookChannel, regain_at
from service.errors import AuthError, DuplicateContent, OutcomeUnknown, RateLimited, RejectedError, RetryableError
from tests.channels.conftest import outgoing
from tests.fakes.facebook import PAGE_ID, REGAIN_MINUTES, TOKEN, VERSION, FakeFacebook


@pytest.fixture
def fake() -> Iterator[FakeFacebook]:
    with FakeFacebook(hang=2.0) as server:
        yield server


@pytest.fixture
def fb(fake: FakeFacebook) -> Iterator[FacebookChannel]:
    channel = FacebookChannel("fb", "facebook", api_base=fake.url, page_id=PAGE_ID, access_token=TOKEN, timeout=0.5)
    yield channel
    channel.close()


def test_posts_the_message_and_the_link_with_the_token_in_a_header(fake: FakeFacebook, fb: FacebookChannel) -> None:
    post = outgoing(network="facebook")
    result = fb.publish(post)
    (req,) = fake.server.received("POST", f"/{VERSION}/{PAGE_ID}/feed")
    assert TOKEN not in req.path and TOKEN.encode() not in req.body
    assert fake.posts[0]["link"] == post.link
    assert result.url == f"https://www.facebook.com/{result.external_id}"


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("613", RateLimited, "code 613"),
        ("401", AuthError, "code 190"),
        ("506", DuplicateContent, "code 506"),
        ("368", RejectedError, "code 368"),
        ("500", RetryableError, "500"),
        ("400", RejectedError, "400"),
    ],
)
def test_graph_error_codes_are_translated(
    fake: FakeFacebook, fb: FacebookChannel, fault: str, error: type, words: str
) -> None:
    fake.fail_next(fault)
    with pytest.raises(error) as info:
        fb.publish(outgoing(network="facebook"))
    assert str(info.value).startswith("fb: ") and words in str(info.value)
    assert fake.posts == []


def test_a_rate_limit_waits_for_the_usage_headers_estimate(fake: FakeFacebook, fb: FacebookChannel) -> None:
    fake.fail_next("429")
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        fb.publish(outgoing(network="facebook"))
    assert info.value.retry_at is not None
    assert before + timedelta(minutes=REGAIN_MINUTES) <= info.value.retry_at
    assert info.value.retry_at <= datetime.now(UTC) + timedelta(minutes=REGAIN_MINUTES)
    assert regain_at({}, before) == before + timedelta(hours=1)  # no estimate: the rolling hour


def test_reconcile_pages_through_the_feed(fake: FakeFacebook) -> None:
    with FakeFacebook(page_size=2) as small:
        channel = FacebookChannel("fb", "facebook", api_base=small.url, page_id=PAGE_ID, access_token=TOKEN)
        post = outgoing(network="facebook")
        result = channel.publish(post)
        for i in range(3):
            channel.publish(outgoing(text=f"another post {i}", network="facebook"))
        found = channel.reconcile(post)
        assert found is not None and found.external_id == result.external_id
        assert channel.reconcile(outgoing(network="facebook")) is None
        channel.close()


def test_a_post_with_an_image_goes_out_as_a_photo_with_the_message(fake: FakeFacebook, fb: FacebookChannel) -> None:
    post = outgoing(network="facebook", image_url="https://example.org/banner.png")
    result = fb.publish(post)
    (req,) = fake.server.received("POST", f"/{VERSION}/{PAGE_ID}/photos")
    assert TOKEN.encode() not in req.body and fake.server.received("POST", f"/{VERSION}/{PAGE_ID}/feed") == []
    (photo,) = fake.posts
    assert photo["image_url"] == "https://example.org/banner.png" and photo["message"] == post.text
    assert result.external_id == photo["id"]  # the Page post (its story), not the photo object
    found = fb.reconcile(post)
    assert found is not None and found.external_id == result.external_id


def test_a_photo_post_meets_the_same_graph_errors(fake: FakeFacebook, fb: FacebookChannel) -> None:
    fake.fail_next("timeout_after_create")
    post = outgoing(network="facebook", image_url="https://example.org/banner.png")
    with pytest.raises(OutcomeUnknown):
        fb.publish(post)
    found = fb.reconcile(post)
    assert found is not None and len(fake.posts) == 1
