"""The X channel: tweepy over real HTTP to the fake X API (api_base, OAuth 1.0a, errors, media, reconcile)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from service.channels.x import XChannel
from service.errors import AuthError, DuplicateContent, OutcomeUnknown, RateLimited, RejectedError, RetryableError
from tests.channels.conftest import outgoing
from tests.fakes.http import FakeServer, Response
from tests.fakes.x_api import CREDENTIALS, DUPLICATE, FakeX

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX(hang=2.0) as server:
        yield server


@pytest.fixture
def x(fake: FakeX) -> Iterator[XChannel]:
    channel = XChannel("x-live", "x", api_base=fake.url, timeout=0.5, **CREDENTIALS)
    yield channel
    channel.close()


def test_posts_through_api_base_with_a_valid_oauth1_signature(fake: FakeX, x: XChannel) -> None:
    post = outgoing()
    result = x.publish(post)
    assert fake.texts() == [post.text]
    assert result.url == f"https://x.com/i/web/status/{result.external_id}"
    assert fake.bad_signatures == []  # signed for the host it really went to
    assert fake.server.received("POST", "/2/tweets")[0].headers["User-Agent"].startswith("Python/")


def test_an_https_proxy_in_the_environment_does_not_capture_a_local_api_base(
    fake: FakeX, x: XChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    x.publish(outgoing())
    assert len(fake.texts()) == 1


def test_429_waits_until_the_reset_x_reports(fake: FakeX, x: XChannel) -> None:
    fake.fail_next("429")
    with pytest.raises(RateLimited) as info:
        x.publish(outgoing())
    assert info.value.retry_at == datetime.fromtimestamp(fake.reset_at, UTC)
    assert fake.texts() == []


def test_429_of_the_24_hour_limit_waits_for_that_reset(fake: FakeX, x: XChannel) -> None:
    fake.fail_next("429-24h")
    with pytest.raises(RateLimited) as info:
        x.publish(outgoing())
    assert info.value.retry_at is not None
    assert info.value.retry_at > datetime.now(UTC) + timedelta(hours=23)


def test_the_last_post_of_a_window_says_when_the_channel_may_post_again(x: XChannel) -> None:
    with FakeX(post_limit=1) as limited:
        channel = XChannel("x-live", "x", api_base=limited.url, timeout=0.5, **CREDENTIALS)
        result = channel.publish(outgoing())
        assert result.rate_limited_until == datetime.fromtimestamp(limited.reset_at, UTC)
        with pytest.raises(RateLimited):
            channel.publish(outgoing())
        channel.close()


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("500", RetryableError, "500"),
        ("503", RetryableError, "503"),
        ("401", AuthError, "401 Unauthorized"),
        ("400", RejectedError, "Invalid Request: text is not valid"),
        ("403", RejectedError, "You are not permitted to perform this action."),
    ],
)
def test_errors_are_translated_with_xs_own_message(
    fake: FakeX, x: XChannel, fault: str, error: type[Exception], words: str
) -> None:
    fake.fail_next(fault)
    with pytest.raises(error) as info:
        x.publish(outgoing())
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_duplicate_content_is_told_apart_with_xs_message(fake: FakeX, x: XChannel) -> None:
    post = outgoing()
    x.publish(post)
    with pytest.raises(DuplicateContent) as info:
        x.publish(post)
    assert DUPLICATE in str(info.value)
    assert len(fake.texts()) == 1


def test_a_revoked_token_is_an_auth_error(fake: FakeX, x: XChannel) -> None:
    fake.revoked = True
    with pytest.raises(AuthError):
        x.publish(outgoing())


def test_a_timeout_after_sending_is_an_unknown_outcome_and_reconcile_finds_the_post(fake: FakeX, x: XChannel) -> None:
    post = outgoing()
    fake.fail_next("timeout_after_create")
    with pytest.raises(OutcomeUnknown, match="timed out"):
        x.publish(post)
    found = x.reconcile(post)
    assert found is not None and found.external_id == fake.tweets[-1]["id"]
    # X shows the link as t.co: the match was on the expanded URL, not the text.
    assert post.link not in fake.tweets[-1]["text"]


def test_a_broken_connection_after_sending_is_unknown_and_a_hang_before_creating_is_absent(
    fake: FakeX, x: XChannel
) -> None:
    post = outgoing()
    fake.fail_next("drop_after_create")
    with pytest.raises(OutcomeUnknown):
        x.publish(post)
    assert x.reconcile(post) is not None
    other = outgoing()
    fake.fail_next("timeout")
    with pytest.raises(OutcomeUnknown):
        x.publish(other)
    assert x.reconcile(other) is None


def test_a_refused_connection_is_retryable_because_nothing_was_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    channel = XChannel("x-live", "x", api_base=f"http://127.0.0.1:{port}", timeout=0.5, **CREDENTIALS)
    with pytest.raises(RetryableError, match="could not connect"):
        channel.publish(outgoing())


def test_reconcile_pages_back_through_the_timeline(fake: FakeX, x: XChannel) -> None:
    post = outgoing()
    x.publish(post)
    for i in range(230):
        fake.add_existing(f"another post {i}")
    found = x.reconcile(post)
    assert found is not None
    pages = fake.server.received("GET", f"/2/users/{fake.user_id}/tweets")
    assert len(pages) == 3 and pages[0].query["tweet.fields"] == ["created_at,entities"]


def test_reconcile_cannot_tell_when_the_post_could_be_older_than_it_reads(fake: FakeX, x: XChannel) -> None:
    for i in range(350):
        fake.add_existing(f"another post {i}")
    with pytest.raises(OutcomeUnknown, match="300 most recent"):
        x.reconcile(outgoing())


def test_reconcile_stops_at_posts_older_than_the_first_try(fake: FakeX, x: XChannel) -> None:
    for i in range(150):
        fake.add_existing(f"another post {i}")
    later = outgoing(first_sent_at=datetime.now(UTC) + timedelta(hours=1))
    assert x.reconcile(later) is None
    assert len(fake.server.received("GET", f"/2/users/{fake.user_id}/tweets")) == 1


def test_reconcile_matches_a_post_without_a_link_by_its_text(fake: FakeX, x: XChannel) -> None:
    post = outgoing(text="Support group tonight at 6 PM & online. Bring a friend.", link=False)
    x.publish(post)
    assert "&amp;" in fake.tweets[-1]["text"]
    assert x.reconcile(post) is not None
    assert x.reconcile(outgoing(text="Support group tonight at 7 PM.", link=False)) is None


def test_reconcile_that_cannot_read_the_timeline_cannot_tell(fake: FakeX, x: XChannel) -> None:
    post = outgoing()
    x.publish(post)
    fake.revoked = True
    with pytest.raises(OutcomeUnknown, match="cannot read the account's recent posts"):
        x.reconcile(post)


def test_the_events_image_goes_through_v2_media_upload(fake: FakeX, x: XChannel) -> None:
    with FakeServer() as images:
        images.route("GET", "/banner.png", lambda _r: Response(200, PNG, {"Content-Type": "image/png"}))
        result = x.publish(outgoing(image_url=images.url + "/banner.png"))
    assert result.note is None
    (media_id,) = fake.media
    assert fake.tweets[-1]["media_ids"] == [media_id]
    upload = fake.server.received("POST", "/2/media/upload")[0]
    assert PNG in upload.body and b"tweet_image" in upload.body
    assert fake.bad_signatures == []


@pytest.mark.parametrize(
    "answer",
    [Response(404, "gone"), Response(200, b"<html>", {"Content-Type": "text/html"})],
)
def test_an_image_that_cannot_be_used_leaves_the_post_without_it_and_says_so(
    fake: FakeX, x: XChannel, answer: Response
) -> None:
    with FakeServer() as images:
        images.route("GET", "/banner.png", lambda _r: answer)
        result = x.publish(outgoing(image_url=images.url + "/banner.png"))
    assert result.note and result.note.startswith("posted without its image")
    assert fake.media == {} and fake.tweets[-1]["media_ids"] == []


def test_the_account_id_is_read_once(fake: FakeX, x: XChannel) -> None:
    post = outgoing()
    x.publish(post)
    x.reconcile(post)
    x.reconcile(post)
    assert len(fake.server.received("GET", "/2/users/me")) == 1


def test_a_request_that_hangs_is_cut_by_the_default_timeout(fake: FakeX, x: XChannel) -> None:
    # The fake answers 503 after hanging; tweepy sets no timeout, so without ours that 503 would arrive.
    fake.fail_next("timeout")
    with pytest.raises(OutcomeUnknown, match="timed out waiting for the answer"):
        x.publish(outgoing())


def test_an_upload_x_refuses_leaves_the_post_without_its_image(fake: FakeX, x: XChannel) -> None:
    fake.server.route(
        "POST", "/2/media/upload", lambda _r: Response(413, {"detail": "File size exceeds 5242880 bytes."})
    )
    with FakeServer() as images:
        images.route("GET", "/banner.png", lambda _r: Response(200, PNG, {"Content-Type": "image/png"}))
        result = x.publish(outgoing(image_url=images.url + "/banner.png"))
    assert result.note == "posted without its image: X refused it (413 File size exceeds 5242880 bytes.)"
    assert fake.tweets[-1]["media_ids"] == []
