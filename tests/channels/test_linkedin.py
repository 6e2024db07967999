"""The LinkedIn channel over real HTTP to the fake REST API: little-text escaping, headers, errors, reconcile."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from service.channels.linkedin import LinkedInChannel, escape, unescape
from service.errors import AuthError, DuplicateContent, RateLimited, RejectedError
from tests.channels.conftest import outgoing
from tests.fakes.linkedin import ORGANIZATION, TOKEN, FakeLinkedIn

TRICKY = "Q&A (live) with @DrDoe [MPN] <free> *new* ~60 min_ \\ | {x} #MPN #Myelofibrosis: https://example.org/r/a_b(1)"


@pytest.fixture
def fake() -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn(hang=2.0) as server:
        yield server


@pytest.fixture
def li(fake: FakeLinkedIn) -> Iterator[LinkedInChannel]:
    channel = LinkedInChannel(
        "li", "linkedin", api_base=fake.url, organization=ORGANIZATION, access_token=TOKEN, timeout=0.5
    )
    yield channel
    channel.close()


def test_reserved_characters_are_escaped_and_hashtags_become_templates() -> None:
    assert escape("(a) @b #MPN_2 x_y") == "\\(a\\) \\@b {hashtag|\\#|MPN\\_2} x\\_y"
    assert unescape(escape(TRICKY)) == TRICKY
    assert escape("no reserved characters here: 10:00, 50% & more") == "no reserved characters here: 10:00, 50% & more"


def test_a_post_with_every_reserved_character_goes_out_as_written(fake: FakeLinkedIn, li: LinkedInChannel) -> None:
    link = "https://example.org/r/a_b(1)"
    post = replace(outgoing(network="linkedin"), text=TRICKY, link=link)
    result = li.publish(post)
    (stored,) = fake.posts
    assert stored["text"] == TRICKY  # the fake refuses unescaped reserved characters
    assert result.external_id.startswith("urn:li:share:")
    assert result.url == f"https://www.linkedin.com/feed/update/{result.external_id}/"
    found = li.reconcile(post)
    assert found is not None and found.external_id == result.external_id


def test_every_request_carries_the_version_headers(fake: FakeLinkedIn, li: LinkedInChannel) -> None:
    li.publish(outgoing(network="linkedin"))
    (req,) = fake.server.received("POST", "/rest/posts")
    assert req.headers["X-Restli-Protocol-Version"] == "2.0.0" and len(req.headers["LinkedIn-Version"]) == 6
    body = req.json()
    assert body["author"] == ORGANIZATION and body["distribution"]["feedDistribution"] == "MAIN_FEED"


def test_429_waits_for_the_daily_reset_at_midnight_utc(fake: FakeLinkedIn, li: LinkedInChannel) -> None:
    fake.fail_next("429")
    with pytest.raises(RateLimited) as info:
        li.publish(outgoing(network="linkedin"))
    now = datetime.now(UTC)
    assert info.value.retry_at is not None and now < info.value.retry_at <= now + timedelta(days=1)
    assert info.value.retry_at.hour == info.value.retry_at.minute == 0


@pytest.mark.parametrize(
    ("fault", "error"),
    [("401", AuthError), ("403", AuthError), ("422-duplicate", DuplicateContent), ("400", RejectedError)],
)
def test_refusals_are_translated(fake: FakeLinkedIn, li: LinkedInChannel, fault: str, error: type) -> None:
    fake.fail_next(fault)
    with pytest.raises(error) as info:
        li.publish(outgoing(network="linkedin"))
    assert str(info.value).startswith("li: ") and fault[:3] in str(info.value)


def test_the_escaped_length_counts(li: LinkedInChannel) -> None:
    assert li.validate(outgoing(text="(" * 2000, network="linkedin")) == [
        "too long for linkedin once escaped: 4000/3000"
    ]
