"""The Bluesky channel over real XRPC to the fake PDS: facets, record keys, sessions, errors, reconcile."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from service.channels.bluesky import BlueskyChannel
from service.channels.bluesky_text import facets, record_key, tid
from service.errors import AuthError, OutcomeUnknown, RateLimited, RejectedError
from tests.channels.conftest import outgoing
from tests.fakes.bluesky import APP_PASSWORD, HANDLE, FakeBluesky
from tests.fakes.http import Response

TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    with FakeBluesky(hang=2.0) as server:
        yield server


@pytest.fixture
def sky(fake: FakeBluesky) -> Iterator[BlueskyChannel]:
    channel = BlueskyChannel("sky", "bluesky", api_base=fake.url, handle=HANDLE, app_password=APP_PASSWORD, timeout=0.5)
    yield channel
    channel.close()


def _slice(text: str, facet: dict) -> str:
    index = facet["index"]
    return text.encode("utf-8")[index["byteStart"] : index["byteEnd"]].decode("utf-8")


def test_link_and_tag_facets_use_utf8_byte_offsets_past_emoji_and_accents() -> None:
    text = "🎗️ Café-Gespräch über MPN — jetzt anmelden: https://example.org/r/äbc123. #MPN #Myelofibrose! #2026 👩‍⚕️"
    found = facets(text)
    assert [_slice(text, f) for f in found] == ["https://example.org/r/äbc123", "#MPN", "#Myelofibrose"]
    assert found[0]["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.org/r/äbc123"}]
    assert found[1]["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "MPN"}]
    assert found[2]["features"][0]["tag"] == "Myelofibrose"  # the "!" is not part of it; "#2026" is no tag
    assert found[0]["index"]["byteStart"] > text.index("https")  # bytes, not characters


def test_a_url_in_parentheses_and_a_hash_inside_a_url_are_read_right() -> None:
    text = "RSVP (https://example.org/r/x1) or https://example.org/a#b"
    assert [_slice(text, f) for f in facets(text)] == ["https://example.org/r/x1", "https://example.org/a#b"]


def test_record_keys_are_tids_fixed_per_post_and_distinct() -> None:
    keys = [record_key(i) for i in (1, 2, 10**9)]
    assert all(TID.match(k) for k in keys) and len(set(keys)) == 3
    assert record_key(1) == record_key(1)
    assert tid(0) == "2222222222222" and tid((1 << 53) - 1, 1023) == "bzzzzzzzzzzzz"  # the top bit stays 0


def test_the_post_is_created_under_its_key_with_facets_card_and_language(
    fake: FakeBluesky, sky: BlueskyChannel
) -> None:
    link = "http://127.0.0.1:8000/r/code1"
    post = replace(outgoing(network="bluesky"), text=f"Join us 💬 #MPN: {link}", link=link)
    result = sky.publish(post)
    (stored,) = fake.posts
    assert stored["rkey"] == record_key(post.post_id)
    assert result.url == f"https://bsky.app/profile/{HANDLE}/post/{stored['rkey']}"
    record = stored["record"]
    assert record["langs"] == ["en"] and record["createdAt"].endswith("Z")
    assert [_slice(record["text"], f) for f in record["facets"]] == ["#MPN", "http://127.0.0.1:8000/r/code1"]
    assert record["embed"]["external"]["uri"] == post.link
    datetime.fromisoformat(record["createdAt"].replace("Z", "+00:00"))


def test_logs_in_once_and_refreshes_an_expired_token(fake: FakeBluesky, sky: BlueskyChannel) -> None:
    sky.publish(outgoing(network="bluesky"))
    fake.fail_next("expired")
    sky.publish(outgoing(network="bluesky"))
    assert fake.sessions == 1 and fake.refreshes == 1 and len(fake.posts) == 2


def test_a_refused_app_password_needs_reconnecting(fake: FakeBluesky) -> None:
    channel = BlueskyChannel("sky", "bluesky", api_base=fake.url, handle=HANDLE, app_password="wrong", timeout=0.5)
    with pytest.raises(AuthError, match="refuses the handle or app password"):
        channel.publish(outgoing(network="bluesky"))
    assert fake.posts == []
    channel.close()


def test_429_waits_until_ratelimit_reset(fake: FakeBluesky, sky: BlueskyChannel) -> None:
    fake.fail_next("429")
    with pytest.raises(RateLimited) as info:
        sky.publish(outgoing(network="bluesky"))
    assert info.value.retry_at == datetime.fromtimestamp(fake.reset_at, UTC)


def test_reconcile_is_unsure_when_the_pds_cannot_answer(fake: FakeBluesky, sky: BlueskyChannel) -> None:
    fake.server.queue("GET", "/xrpc/com.atproto.repo.getRecord", Response(502, "bad gateway"))
    with pytest.raises(OutcomeUnknown):
        sky.reconcile(outgoing(network="bluesky"))


def test_a_key_held_by_another_post_is_never_claimed(fake: FakeBluesky, sky: BlueskyChannel) -> None:
    post = outgoing(network="bluesky")
    fake.records[record_key(post.post_id)] = {"$type": "app.bsky.feed.post", "text": "someone else", "createdAt": "x"}
    with pytest.raises(RejectedError, match="holds another post"):
        sky.publish(post)
    with pytest.raises(OutcomeUnknown):
        sky.reconcile(post)


def test_text_over_3000_bytes_is_refused_before_sending(sky: BlueskyChannel) -> None:
    family = "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # one grapheme, 25 bytes
    assert sky.validate(outgoing(text=family * 120, network="bluesky")) == []
    assert sky.validate(outgoing(text=family * 121, network="bluesky")) == ["too long for bluesky: 3025/3000 bytes"]
