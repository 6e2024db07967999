"""The webhook channel: payload, Idempotency-Key, HMAC signature, errors, reconcile by resending."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from service.channels.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookChannel
from service.errors import AuthError, OutcomeUnknown, RateLimited, RejectedError, RetryableError
from tests.channels.conftest import WHEN, outgoing
from tests.fakes.webhook import FakeReceiver


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    with FakeReceiver(hang=2.0) as fake:
        yield fake


def channel(receiver: FakeReceiver, **kw: object) -> WebhookChannel:
    return WebhookChannel("team-chat", "webhook", url=receiver.url, timeout=0.5, **kw)  # type: ignore[arg-type]


def test_the_payload_is_slack_compatible_and_carries_the_post(receiver: FakeReceiver) -> None:
    post = outgoing(image_url="https://example.org/banner.png")
    result = channel(receiver).publish(post)
    assert result.external_id == f"webhook-{post.post_id}"
    (delivery,) = receiver.deliveries
    assert delivery["body"] == {
        "text": post.text,
        "url": post.link,
        "event": "Living Well with MPN",
        "event_id": 7,
        "event_start": (WHEN + timedelta(days=7)).isoformat(),
        "step": "one-week",
        "post_id": post.post_id,
        "scheduled_at": WHEN.isoformat(),
        "image": "https://example.org/banner.png",
        "channel": "test",
    }
    assert delivery["key"] == f"eventpromo-post-{post.post_id}"
    assert delivery["headers"]["Content-Type"].startswith("application/json")
    assert SIGNATURE_HEADER not in delivery["headers"]


def test_every_try_of_a_post_sends_the_same_body_and_key(receiver: FakeReceiver) -> None:
    post = outgoing()
    ch = channel(receiver)
    ch.publish(post)
    ch.publish(post)
    first, second = receiver.deliveries
    assert first["raw"] == second["raw"] and first["key"] == second["key"]


def test_the_hmac_signature_covers_timestamp_and_body(receiver: FakeReceiver) -> None:
    channel(receiver, secret="s3cret").publish(outgoing())
    (delivery,) = receiver.deliveries
    stamp = delivery["headers"][TIMESTAMP_HEADER]
    expected = hmac.new(b"s3cret", stamp.encode() + b"." + delivery["raw"], hashlib.sha256).hexdigest()
    assert delivery["headers"][SIGNATURE_HEADER] == f"sha256={expected}"
    assert abs(int(stamp) - datetime.now(UTC).timestamp()) < 3600


@pytest.mark.parametrize(
    ("fault", "error"),
    [("500", RetryableError), ("404", AuthError), ("401", AuthError), ("400", RejectedError)],
)
def test_answers_are_translated(receiver: FakeReceiver, fault: str, error: type[Exception]) -> None:
    receiver.fail_next(fault)
    with pytest.raises(error, match=f"answered {fault}"):
        channel(receiver).publish(outgoing())


def test_429_waits_for_retry_after(receiver: FakeReceiver) -> None:
    receiver.fail_next("429")
    before = datetime.now(UTC)
    with pytest.raises(RateLimited) as info:
        channel(receiver).publish(outgoing())
    assert info.value.retry_at is not None
    assert before + timedelta(seconds=119) <= info.value.retry_at <= datetime.now(UTC) + timedelta(seconds=121)


def test_a_receiver_that_does_not_dedupe_is_never_sent_a_post_twice(receiver: FakeReceiver) -> None:
    post = outgoing()
    receiver.fail_next("timeout_after_delivery")
    ch = channel(receiver)
    with pytest.raises(OutcomeUnknown):
        ch.publish(post)
    with pytest.raises(OutcomeUnknown, match="set idempotent = true"):
        ch.reconcile(post)
    assert len(receiver.requests()) == 1


def test_a_receiver_that_dedupes_is_resent_the_same_key() -> None:
    with FakeReceiver(dedupe=True, hang=2.0) as receiver:
        post = outgoing()
        receiver.fail_next("timeout_after_delivery")
        ch = channel(receiver, idempotent=True)
        with pytest.raises(OutcomeUnknown):
            ch.publish(post)
        assert ch.reconcile(post) is not None
        assert len(receiver.requests()) == 2 and receiver.count(post.post_id) == 1
        assert {r.headers["Idempotency-Key"] for r in receiver.requests()} == {post.idempotency_key}
