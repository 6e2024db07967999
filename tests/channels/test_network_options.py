"""The network kinds' options are checked at start-up: one line naming the key, secrets from the environment."""

from __future__ import annotations

import textwrap

import pytest

from service.channels import build_channels
from service.channels.bluesky import BlueskyChannel
from service.channels.facebook import FacebookChannel
from service.channels.instagram import InstagramChannel
from service.channels.linkedin import LinkedInChannel
from service.channels.mastodon import MastodonChannel
from service.errors import ConfigError
from tests.conftest import ConfigFactory

MASTODON = """
[[channels]]
name = "masto"
kind = "mastodon"
api_base = "http://127.0.0.1:9"
access_token = "env:MASTODON_TOKEN"
"""
BLUESKY = """
[[channels]]
name = "sky"
kind = "bluesky"
handle = "clinic.example.org"
app_password = "env:BLUESKY_APP_PASSWORD"
"""
LINKEDIN = """
[[channels]]
name = "li"
kind = "linkedin"
organization = "urn:li:organization:5515715"
access_token = "env:LINKEDIN_TOKEN"
"""
FACEBOOK = """
[[channels]]
name = "fb"
kind = "facebook"
page_id = "104000000000001"
access_token = "env:FACEBOOK_PAGE_TOKEN"
"""
INSTAGRAM = """
[[channels]]
name = "ig"
kind = "instagram"
account_id = "17841400000000001"
access_token = "env:INSTAGRAM_TOKEN"
"""
ENV = {
    "MASTODON_TOKEN": "t0ken",
    "BLUESKY_APP_PASSWORD": "abcd-efgh",
    "LINKEDIN_TOKEN": "li-t0ken",
    "FACEBOOK_PAGE_TOKEN": "fb-t0ken",
    "INSTAGRAM_TOKEN": "ig-t0ken",
}


def test_a_mastodon_channel_is_built_with_the_mastodon_network(make_config: ConfigFactory) -> None:
    built = build_channels(
        make_config(channels=MASTODON + BLUESKY + LINKEDIN + FACEBOOK + INSTAGRAM, environ=ENV, calendars="")
    )
    assert isinstance(built["masto"], MastodonChannel) and built["masto"].network == "mastodon"
    assert isinstance(built["sky"], BlueskyChannel) and built["sky"].network == "bluesky"
    assert isinstance(built["li"], LinkedInChannel) and built["li"].network == "linkedin"
    assert isinstance(built["fb"], FacebookChannel) and built["fb"].network == "facebook"
    assert isinstance(built["ig"], InstagramChannel) and built["ig"].network == "instagram"


@pytest.mark.parametrize(
    ("channels", "message"),
    [
        (MASTODON.replace('access_token = "env:MASTODON_TOKEN"\n', ""), "(masto).access_token: is required"),
        (MASTODON.replace('api_base = "http://127.0.0.1:9"\n', ""), "(masto).api_base: is required"),
        (MASTODON.replace("http://127.0.0.1:9", "mastodon.social"), "(masto).api_base: expected an http(s) URL"),
        (MASTODON + 'visibility = "direct"\n', "(masto).visibility: expected public or unlisted"),
        (MASTODON + 'language = "English"\n', "(masto).language: expected an ISO 639 code"),
        (MASTODON + "images = 1\n", "(masto).images: expected true or false"),
        (MASTODON + 'token = "x"\n', "(masto).token: unknown option for a 'mastodon' channel"),
        (BLUESKY.replace('handle = "clinic.example.org"\n', ""), "(sky).handle: is required"),
        (BLUESKY.replace('"clinic.example.org"', '"@clinic"'), "(sky).handle: expected a handle"),
        (BLUESKY.replace('app_password = "env:BLUESKY_APP_PASSWORD"\n', ""), "(sky).app_password: is required"),
        (BLUESKY + 'link_card = "no"\n', "(sky).link_card: expected true or false"),
        (BLUESKY + 'api_base = "bsky.social"\n', "(sky).api_base: expected an http(s) URL"),
        (LINKEDIN.replace("urn:li:organization:5515715", "5515715"), "(li).organization: expected urn:li:organization"),
        (LINKEDIN.replace('organization = "urn:li:organization:5515715"\n', ""), "(li).organization: is required"),
        (LINKEDIN + 'version = "2025-06"\n', "(li).version: expected a LinkedIn-Version"),
        (LINKEDIN.replace('access_token = "env:LINKEDIN_TOKEN"\n', ""), "(li).access_token: is required"),
        (FACEBOOK.replace('"104000000000001"', '"clinic-page"'), "(fb).page_id: expected the Page's numeric id"),
        (FACEBOOK + 'version = "21"\n', "(fb).version: expected a Graph API version"),
        (FACEBOOK.replace('access_token = "env:FACEBOOK_PAGE_TOKEN"\n', ""), "(fb).access_token: is required"),
        (INSTAGRAM.replace('account_id = "17841400000000001"\n', ""), "(ig).account_id: is required"),
        (INSTAGRAM.replace('"17841400000000001"', '"@clinic"'), "(ig).account_id: expected the Instagram account's"),
        (INSTAGRAM.replace('access_token = "env:INSTAGRAM_TOKEN"\n', ""), "(ig).access_token: is required"),
        (INSTAGRAM + 'version = "21.0"\n', "(ig).version: expected a Graph API version"),
        (INSTAGRAM + 'api_base = "graph.facebook.com"\n', "(ig).api_base: expected an http(s) URL"),
        (INSTAGRAM + "timeout_seconds = 0\n", "(ig).timeout_seconds: must be between"),
        (INSTAGRAM + 'page_id = "1"\n', "(ig).page_id: unknown option for a 'instagram' channel"),
    ],
)
def test_bad_options_fail_in_one_line_naming_the_key(make_config: ConfigFactory, channels: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_channels(make_config(channels=textwrap.dedent(channels), environ=ENV, calendars=""))
    assert f"eventpromo.toml: channels[0] {message}" in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("channels", "key", "var"),
    [
        (MASTODON, "access_token", "MASTODON_TOKEN"),
        (BLUESKY, "app_password", "BLUESKY_APP_PASSWORD"),
        (LINKEDIN, "access_token", "LINKEDIN_TOKEN"),
        (FACEBOOK, "access_token", "FACEBOOK_PAGE_TOKEN"),
        (INSTAGRAM, "access_token", "INSTAGRAM_TOKEN"),
    ],
)
def test_a_missing_secret_names_the_variable(make_config: ConfigFactory, channels: str, key: str, var: str) -> None:
    with pytest.raises(ConfigError, match=f"{key}: environment variable {var} is not set"):
        make_config(channels=channels, environ={}, calendars="")


@pytest.mark.parametrize(
    ("channels", "key"),
    [
        (MASTODON, "access_token"),
        (BLUESKY, "app_password"),
        (LINKEDIN, "access_token"),
        (FACEBOOK, "access_token"),
        (INSTAGRAM, "access_token"),
    ],
)
def test_a_secret_written_into_the_file_is_refused(make_config: ConfigFactory, channels: str, key: str) -> None:
    written = channels.replace(f'{key} = "env:', f'{key} = "')  # the value itself in the file
    with pytest.raises(ConfigError, match=f"{key}: secrets are read from the environment"):
        make_config(channels=written, environ=ENV, calendars="")
