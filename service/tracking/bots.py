"""Who is not a person: crawlerdetect's list, our own data file of preview fetchers and tools, prefetch headers."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from crawlerdetect import CrawlerDetect

from ..errors import ConfigError

BOT_AGENTS_FILE = Path(__file__).resolve().parent.parent / "data" / "bot_agents.txt"
# Longer agents are cut before matching: bounds the regular expressions' work per agent.
MAX_AGENT_LENGTH = 512
# Browsers announce speculative loads (prefetch, prerender, link previews) in one of these headers.
_PREFETCH_HEADERS = ("Sec-Purpose", "Purpose", "X-Purpose", "X-Moz")
_PREFETCH_ENVIRON = tuple("HTTP_" + h.upper().replace("-", "_") for h in _PREFETCH_HEADERS)
_PREFETCH_WORDS = ("prefetch", "preview", "prerender")


def load_patterns(path: Path) -> list[str]:
    """The regular expressions of a bot-agents file; ConfigError naming the file and line of a bad one."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read bot agents file: {exc.strerror}") from None
    patterns = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            re.compile(line)
        except re.error as exc:
            raise ConfigError(f"{path.name}: line {number}: not a valid regular expression: {exc}") from None
        patterns.append(line)
    return patterns


class BotDetector:
    """Tells crawlers, previews and tools from people by User-Agent; answers are cached per agent."""

    def __init__(self, extra_files: Iterable[Path] = ()):
        patterns = load_patterns(BOT_AGENTS_FILE)
        for path in extra_files:
            patterns += load_patterns(path)
        self._ours = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        self._crawlers = CrawlerDetect()
        # crawlerdetect costs ~150 us for an agent it has not seen; real traffic repeats agents.
        self.is_bot = functools.lru_cache(maxsize=16384)(self._classify)

    def _classify(self, user_agent: str | None) -> bool:
        """True for crawlers, link-preview fetchers, command-line tools and empty agents."""
        ua = (user_agent or "").strip()[:MAX_AGENT_LENGTH]
        if not ua:
            return True
        if self._ours.search(ua):
            return True
        return bool(self._crawlers.isCrawler(ua))


@functools.cache
def default_detector() -> BotDetector:
    """The detector on the bundled list only (one per process)."""
    return BotDetector()


def is_bot(user_agent: str | None) -> bool:
    """True for crawlers, link-preview fetchers, command-line tools and empty agents (bundled list)."""
    return default_detector().is_bot(user_agent)


class _Headers(Protocol):
    def get(self, key: str, /) -> str | None: ...


def is_prefetch(headers: _Headers) -> bool:
    """True when the browser says the request is a prefetch, prerender or preview, not a click."""
    for name in _PREFETCH_HEADERS:
        value = headers.get(name)
        if value and any(word in value.lower() for word in _PREFETCH_WORDS):
            return True
    return False


def is_prefetch_environ(environ: dict[str, object]) -> bool:
    """is_prefetch() on a WSGI environ (the redirect's hot path: no header object built)."""
    for key in _PREFETCH_ENVIRON:
        value = environ.get(key)
        if isinstance(value, str) and any(word in value.lower() for word in _PREFETCH_WORDS):
            return True
    return False
