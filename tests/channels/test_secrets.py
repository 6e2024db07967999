"""No channel ever puts a token, password or secret into a log record, an error or a post's last_error."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from service.channels import redact
from service.channels.base import Channel
from service.channels.webhook import WebhookChannel
from service.channels.x import XChannel
from service.errors import ChannelError
from tests.channels.conftest import IMAGE_URL, network_channel, outgoing
from tests.fakes.bluesky import APP_PASSWORD
from tests.fakes.facebook import TOKEN as FACEBOOK_TOKEN
from tests.fakes.instagram import TOKEN as INSTAGRAM_TOKEN
from tests.fakes.linkedin import TOKEN as LINKEDIN_TOKEN
from tests.fakes.mastodon import TOKEN as MASTODON_TOKEN
from tests.fakes.webhook import PATH, FakeReceiver
from tests.fakes.x_api import CREDENTIALS, FakeX

WEBHOOK_SECRET = "whsec-fake-signing-secret"
KINDS = ["x", "webhook", "mastodon", "bluesky", "linkedin", "facebook", "instagram"]
FAULTS = ["401", "500", "timeout"]
# Secrets each channel is configured with (the webhook's URL path is a secret too: Slack-style URLs).
SECRETS: dict[str, list[str]] = {
    "x": list(CREDENTIALS.values()),
    "webhook": [WEBHOOK_SECRET, PATH],
    "mastodon": [MASTODON_TOKEN],
    # The PDS hands out session tokens too: access-N / refresh-N in the fake.
    "bluesky": [APP_PASSWORD, "access-1", "refresh-1"],
    "linkedin": [LINKEDIN_TOKEN],
    "facebook": [FACEBOOK_TOKEN],
    "instagram": [INSTAGRAM_TOKEN],
}


@contextmanager
def channel_for(kind: str) -> Iterator[tuple[Channel, Any]]:
    """The channel of `kind` against its fake, with every secret it can have configured."""
    if kind == "x":
        with FakeX(hang=2.0) as fake:
            ch = XChannel("test", "x", api_base=fake.url, timeout=0.5, **CREDENTIALS)
            yield ch, fake
            ch.close()
        return
    if kind == "webhook":
        with FakeReceiver(hang=2.0) as receiver:
            hook = WebhookChannel("test", "webhook", url=receiver.url, secret=WEBHOOK_SECRET, timeout=0.5)
            yield hook, receiver
            hook.close()
        return
    with network_channel(kind) as pair:
        yield pair


def _texts(caplog: pytest.LogCaptureFixture, errors: list[BaseException]) -> list[str]:
    """Everything a person or a log file could see: messages, arguments, tracebacks, error texts."""
    texts: list[str] = []
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args)]
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
    for exc in errors:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    return texts


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("kind", KINDS)
def test_no_secret_in_logs_or_errors_when_publishing_fails(
    kind: str, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[BaseException] = []
    with channel_for(kind) as (channel, fake):
        post = outgoing(network=channel.network, image_url=IMAGE_URL)
        fake.fail_next(fault)
        with pytest.raises(ChannelError) as info:
            channel.publish(post)
        errors.append(info.value)
        try:  # what the worker does next after an unknown outcome, and on a later try
            channel.reconcile(post)
        except ChannelError as exc:
            errors.append(exc)
        if hasattr(fake, "revoked"):
            fake.revoked = True  # a revoked token on the next reads as well
            for call in (channel.publish, channel.reconcile):
                try:
                    call(post)
                except ChannelError as exc:
                    errors.append(exc)
    texts = _texts(caplog, errors)
    assert caplog.records, "the fakes' HTTP traffic is logged at DEBUG: the check must see something"
    for secret in SECRETS[kind]:
        leaks = [t for t in texts if secret in t]
        assert not leaks, f"{kind}: {secret!r} appears in: {leaks[0][:300]}"


def test_a_registered_secret_is_masked_in_messages_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    redact.register("s3cret-value-for-test", "", None, "short")
    log = logging.getLogger("some.library")
    with caplog.at_level(logging.DEBUG):
        log.debug("sending %s", {"Authorization": "Bearer s3cret-value-for-test"})
        try:
            raise ValueError("bad token s3cret-value-for-test")
        except ValueError:
            log.exception("failed")
        log.debug("a short word stays")
    assert "s3cret-value-for-test" not in caplog.text
    assert "Bearer ****" in caplog.text and "bad token ****" in caplog.text
    assert "a short word stays" in caplog.text
