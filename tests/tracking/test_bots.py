"""Bots vs people: realistic user agents of crawlers, previews, tools and browsers (tests/data/tracking)."""

from __future__ import annotations

from pathlib import Path

import pytest
from crawlerdetect import CrawlerDetect

from service.errors import ConfigError
from service.tracking import BotDetector, is_bot, is_prefetch
from service.tracking.bots import BOT_AGENTS_FILE, load_patterns

DATA = Path(__file__).resolve().parent.parent / "data" / "tracking"


def agents(name: str) -> list[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


BOTS = agents("bot_agents.txt")
BROWSERS = agents("browser_agents.txt")


@pytest.mark.parametrize("ua", BOTS)
def test_crawlers_previews_and_tools_are_bots(ua: str) -> None:
    assert is_bot(ua)


@pytest.mark.parametrize("ua", BROWSERS)
def test_browsers_and_in_app_browsers_are_people(ua: str) -> None:
    assert not is_bot(ua)


@pytest.mark.parametrize("ua", [None, "", "   ", "\t"])
def test_empty_agents_are_bots(ua: str | None) -> None:
    assert is_bot(ua)


def test_the_lists_are_realistic_and_large() -> None:
    assert len(BOTS) >= 60 and len(BROWSERS) >= 25
    named = [
        "Twitterbot",
        "facebookexternalhit",
        "LinkedInBot",
        "Slackbot",
        "Discordbot",
        "TelegramBot",
        "WhatsApp",
        "Mastodon",
        "Cardyb",
        "Googlebot",
        "bingbot",
        "curl/",
        "Wget",
    ]
    for name in named:
        assert any(name.lower() in ua.lower() for ua in BOTS), name


def test_our_list_covers_what_crawlerdetect_misses() -> None:
    """crawlerdetect alone misses some preview fetchers (Bluesky's Cardyb, Akkoma, Misskey, ...): our data file
    must be what catches them, and must not turn a browser into a bot."""
    library = CrawlerDetect()
    missed = [ua for ua in BOTS if not library.isCrawler(ua)]
    assert missed, "crawlerdetect now knows every agent: the extra list may shrink"
    ours = BotDetector()
    assert all(ours.is_bot(ua) for ua in missed)
    assert not any(library.isCrawler(ua) for ua in BROWSERS)


def test_bundled_patterns_are_data_and_valid() -> None:
    patterns = load_patterns(BOT_AGENTS_FILE)
    assert "twitterbot" in patterns and "\\bcardyb\\b" in patterns


def test_extra_file_adds_patterns(tmp_path: Path) -> None:
    extra = tmp_path / "ours.txt"
    extra.write_text("# our monitoring\n^acme-kiosk/\n", encoding="utf-8")
    assert not BotDetector().is_bot("acme-kiosk/2.0")
    assert BotDetector([extra]).is_bot("acme-kiosk/2.0")
    assert not BotDetector([extra]).is_bot(BROWSERS[0])


def test_a_broken_pattern_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("fine\n\n(unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.txt: line 3: not a valid regular expression"):
        BotDetector([bad])


def test_very_long_agents_are_cut_before_matching() -> None:
    assert not is_bot(BROWSERS[0] + " x" * 50_000)
    assert is_bot("Twitterbot/1.0 " + "y" * 50_000)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Sec-Purpose": "prefetch"}, True),
        ({"Sec-Purpose": "prefetch;prerender"}, True),
        ({"Purpose": "prefetch"}, True),
        ({"X-Purpose": "preview"}, True),
        ({"X-Moz": "prefetch"}, True),
        ({}, False),
        ({"Sec-Fetch-Mode": "navigate"}, False),
    ],
)
def test_prefetch_headers(headers: dict[str, str], expected: bool) -> None:
    assert is_prefetch(headers) is expected
