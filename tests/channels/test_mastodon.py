"""The Mastodon channel over real HTTP to the fake instance: key, images, rate limits, reconcile."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from service.channels.mastodon import MastodonChannel
from service.errors import AuthError, DuplicateContent, OutcomeUnknown, RateLimited, RejectedError
from tests.channels.conftest import outgoing
from tests.fakes.http import FakeServer, Response
from tests.fakes.mastodon import ACCOUNT_ID, TOKEN, FakeMastodon

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon(hang=2.0) as server:
        yield server


@pytest.fixture
def masto(fake: FakeMastodon) -> Iterator[MastodonChannel]:
    channel = MastodonChannel("masto", "mastodon", api_base=fake.url, access_token=TOKEN, timeout=0.5)
    yield channel
    channel.close()


def test_posts_publicly_with_the_posts_idempotency_key(fake: FakeMastodon, masto: MastodonChannel) -> None:
    post = outgoing(network="mastodon")
    result = masto.publish(post)
    (req,) = fake.server.received("POST", "/api/v1/statuses")
    assert req.headers["Idempotency-Key"] == post.idempotency_key == f"eventpromo-post-{post.post_id}"
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert b"visibility=public" in req.body
    assert result.url == f"https://mastodon.example/@clinic/{result.external_id}"


def test_429_waits_until_the_iso_reset_time(fake: FakeMastodon, masto: MastodonChannel) -> None:
    fake.fail_next("429")
    with pytest.raises(RateLimited) as info:
        masto.publish(outgoing(network="mastodon"))
    assert info.value.retry_at == fake.reset_at


@pytest.mark.parametrize(
    ("fault", "error"),
    [("401", AuthError), ("403", AuthError), ("422-duplicate", DuplicateContent), ("400", RejectedError)],
)
def test_refusals_are_translated(fake: FakeMastodon, masto: MastodonChannel, fault: str, error: type) -> None:
    fake.fail_next(fault)
    with pytest.raises(error) as info:
        masto.publish(outgoing(network="mastodon"))
    assert str(info.value).startswith("masto: ") and fault[:3] in str(info.value)


def test_the_image_is_uploaded_and_attached(fake: FakeMastodon, masto: MastodonChannel) -> None:
    with FakeServer() as files:
        files.route("GET", "/banner.png", lambda r: Response(200, PNG, {"Content-Type": "image/png"}))
        result = masto.publish(outgoing(network="mastodon", image_url=files.url + "/banner.png"))
    assert result.note is None
    (status,) = fake.posts
    assert [m["id"] for m in status["media_attachments"]] == list(fake.media)


def test_an_image_still_processing_is_polled_until_it_has_a_url(fake: FakeMastodon, masto: MastodonChannel) -> None:
    fake.process_polls = 2  # 202 on upload, then 206 twice, then 200 with a url
    with FakeServer() as files:
        files.route("GET", "/banner.png", lambda r: Response(200, PNG, {"Content-Type": "image/png"}))
        result = masto.publish(outgoing(network="mastodon", image_url=files.url + "/banner.png"))
    assert result.note is None
    (media_id,) = fake.media
    assert len(fake.server.received("GET", f"/api/v1/media/{media_id}")) == 3
    (status,) = fake.posts
    assert [m["id"] for m in status["media_attachments"]] == [media_id]


def test_an_image_still_processing_after_the_budget_is_left_out_with_a_note(
    fake: FakeMastodon, masto: MastodonChannel
) -> None:
    fake.process_polls = 1000
    with FakeServer() as files:
        files.route("GET", "/banner.png", lambda r: Response(200, PNG, {"Content-Type": "image/png"}))
        result = masto.publish(outgoing(network="mastodon", image_url=files.url + "/banner.png"))
    assert result.note == "posted without its image: Mastodon was still processing it"
    (status,) = fake.posts
    assert status["media_attachments"] == []
    assert 1 <= len(fake.server.received("GET", f"/api/v1/media/{next(iter(fake.media))}")) <= 5


def test_an_image_that_cannot_be_fetched_is_left_out_with_a_note(fake: FakeMastodon, masto: MastodonChannel) -> None:
    with FakeServer() as files:
        result = masto.publish(outgoing(network="mastodon", image_url=files.url + "/missing.png"))
    assert result.note and result.note.startswith("posted without its image")
    assert len(fake.posts) == 1 and fake.media == {}


def test_reconcile_reads_pages_back_to_the_post(fake: FakeMastodon) -> None:
    with FakeMastodon(page_size=2) as small:
        channel = MastodonChannel("masto", "mastodon", api_base=small.url, access_token=TOKEN, timeout=0.5)
        post = outgoing(network="mastodon")
        result = channel.publish(post)
        for i in range(3):
            small.add_existing(f"later post {i}")
        # Pages of 2 (short pages are not the end): the post is on the second page.
        found = channel.reconcile(post)
        assert found is not None and found.external_id == result.external_id
        assert len(small.server.received("GET", f"/api/v1/accounts/{ACCOUNT_ID}/statuses")) == 2
        assert channel.reconcile(outgoing(network="mastodon")) is None  # read to the end: surely absent
        channel.close()


def test_reconcile_that_cannot_read_is_unsure(fake: FakeMastodon, masto: MastodonChannel) -> None:
    post = outgoing(network="mastodon")
    fake.server.queue("GET", f"/api/v1/accounts/{ACCOUNT_ID}/statuses", Response(500, {"error": "down"}))
    with pytest.raises(OutcomeUnknown):
        masto.reconcile(post)


def test_reconcile_matches_a_post_without_a_link_on_its_text(fake: FakeMastodon, masto: MastodonChannel) -> None:
    post = outgoing(text="Save the date: Living Well with MPN <Thu> & more", network="mastodon")
    result = masto.publish(post)
    found = masto.reconcile(post)
    assert found is not None and found.external_id == result.external_id


def test_the_token_is_never_logged(
    fake: FakeMastodon, masto: MastodonChannel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next("401")
    with pytest.raises(AuthError) as info:
        masto.publish(outgoing(network="mastodon"))
    masto.publish(outgoing(network="mastodon", image_url="http://127.0.0.1:9/nope.png"))
    assert TOKEN not in caplog.text and TOKEN not in str(info.value)
