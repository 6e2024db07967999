"""Channels are chosen by the config; a bad kind or option fails at start-up with one line naming the key."""

from __future__ import annotations

import textwrap

import pytest

from service import config as config_mod
from service.channels import FACTORIES, build_channels
from service.channels.outbox import OutboxChannel
from service.channels.webhook import WebhookChannel
from service.channels.x import XChannel
from service.errors import ConfigError
from service.runtime import Runtime
from tests.conftest import ConfigFactory
from tests.fakes.x_api import ENV

X_LIVE = """
[[channels]]
name = "x"
kind = "outbox"

[[channels]]
name = "x-live"
kind = "x"
api_base = "http://127.0.0.1:9"
consumer_key = "env:X_CONSUMER_KEY"
consumer_secret = "env:X_CONSUMER_SECRET"
access_token = "env:X_ACCESS_TOKEN"
access_token_secret = "env:X_ACCESS_TOKEN_SECRET"
"""


def test_every_kind_the_registry_builds_is_a_kind_the_config_accepts() -> None:
    assert set(FACTORIES) <= set(config_mod.CHANNEL_KINDS)
    assert {"outbox", "x", "webhook"} <= set(FACTORIES)


def test_the_config_chooses_each_channels_kind(make_config: ConfigFactory) -> None:
    channels = X_LIVE + '\n[[channels]]\nname = "team-chat"\nkind = "webhook"\nurl = "http://127.0.0.1:9/hook"\n'
    cfg = make_config(channels=channels, environ=ENV)
    built = build_channels(cfg)
    assert isinstance(built["x"], OutboxChannel)
    assert isinstance(built["x-live"], XChannel) and built["x-live"].network == "x"
    assert isinstance(built["team-chat"], WebhookChannel) and built["team-chat"].network == "webhook"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('consumer_key = "env:X_CONSUMER_KEY"\n', ""),
            "eventpromo.toml: channels[1] (x-live).consumer_key: is required",
        ),
        (
            ('api_base = "http://127.0.0.1:9"', 'api_base = "ftp://example.org"'),
            "eventpromo.toml: channels[1] (x-live).api_base: expected an http(s) URL",
        ),
        (
            ('api_base = "http://127.0.0.1:9"', 'api_bsae = "http://127.0.0.1:9"'),
            "eventpromo.toml: channels[1] (x-live).api_bsae: unknown option for a 'x' channel",
        ),
        (
            ('api_base = "http://127.0.0.1:9"', "timeout_seconds = 600"),
            "eventpromo.toml: channels[1] (x-live).timeout_seconds: must be between 0.1 and 30",
        ),
    ],
)
def test_bad_x_options_fail_at_start_up_naming_the_key(
    make_config: ConfigFactory, change: tuple[str, str], message: str
) -> None:
    cfg = make_config(channels=X_LIVE.replace(*change), environ=ENV)
    with pytest.raises(ConfigError) as info:
        build_channels(cfg)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_a_secret_written_into_the_file_is_refused(make_config: ConfigFactory) -> None:
    with pytest.raises(ConfigError, match=r"channels\[1\]\.consumer_secret: secrets are read from the environment"):
        make_config(channels=X_LIVE.replace('"env:X_CONSUMER_SECRET"', '"hunter2"'), environ=ENV)


def test_a_missing_secret_names_the_variable(make_config: ConfigFactory) -> None:
    env = {k: v for k, v in ENV.items() if k != "X_ACCESS_TOKEN"}
    with pytest.raises(ConfigError, match="access_token: environment variable X_ACCESS_TOKEN is not set"):
        make_config(channels=X_LIVE, environ=env)


def test_every_kind_the_config_accepts_is_built() -> None:
    assert set(FACTORIES) == set(config_mod.CHANNEL_KINDS)


def test_a_kind_without_a_factory_fails_at_start_up(
    make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kind the config accepts but this build lacks (a trimmed build, a kind added to the config first)."""
    monkeypatch.delitem(FACTORIES, "instagram")
    cfg = make_config(
        channels=textwrap.dedent("""
        [[channels]]
        name = "x"
        kind = "instagram"
        network = "x"
    """),
    )
    with pytest.raises(ConfigError, match=r"channels\[0\] \(x\)\.kind: kind 'instagram' is not available"):
        build_channels(cfg)


def test_the_runtime_builds_channels_when_it_starts(
    make_config: ConfigFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = make_config(channels=X_LIVE.replace('consumer_key = "env:X_CONSUMER_KEY"\n', ""), environ=ENV)
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError, match="consumer_key: is required"):
        Runtime.from_config(str(cfg.path))


def test_webhook_options_are_checked(make_config: ConfigFactory) -> None:
    channels = '[[channels]]\nname = "x"\nkind = "webhook"\nurl = "http://127.0.0.1:9/h"\nidempotent = "yes"\n'
    with pytest.raises(ConfigError, match=r"channels\[0\] \(x\)\.idempotent: expected true or false"):
        build_channels(make_config(channels=channels))
