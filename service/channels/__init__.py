"""The channel registry: one implementation per kind, chosen by the config, options checked at start-up."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..config import ChannelConfig, Config
from ..errors import ConfigError
from .base import Channel
from .outbox import OutboxChannel

# Keys every kind accepts (read by config.py itself).
_COMMON = frozenset({"rate_limit_posts", "rate_limit_window_minutes"})


class _Options:
    """A channel's options with one-line errors naming `file: channels[i] (name).key`."""

    def __init__(self, cfg: Config, ch: ChannelConfig, allowed: set[str]):
        self.where = f"{cfg.path.name}: channels[{_index(cfg, ch)}] ({ch.name})"
        self.values: Mapping[str, Any] = ch.options
        unknown = sorted(set(self.values) - allowed - _COMMON)
        if unknown:
            raise self.fail(
                unknown[0], f"unknown option for a {ch.kind!r} channel (known: {', '.join(sorted(allowed))})"
            )

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where}.{key}: {problem}")

    def text(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.values.get(key, default)
        if value is None or value == "":
            if required:
                raise self.fail(key, "is required")
            return default
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {type(value).__name__}")
        return value

    def url(self, key: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.text(key, default, required)
        if value is not None and not value.startswith(("http://", "https://")):
            raise self.fail(key, f"expected an http(s) URL, got {value[:60]!r}")
        return value

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a number, got {value!r}")
        if not low <= value <= high:
            raise self.fail(key, f"must be between {low:g} and {high:g}")
        return float(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value


def _index(cfg: Config, ch: ChannelConfig) -> int:
    return next((i for i, c in enumerate(cfg.channels) if c.name == ch.name), 0)


def _timeout(cfg: Config, opts: _Options) -> float:
    # A request must end well within the lease, or another worker could reconcile it mid-flight.
    limit = cfg.publishing.lease_seconds / 4
    return opts.number("timeout_seconds", min(20.0, limit), 0.1, limit)


def _outbox(cfg: Config, ch: ChannelConfig) -> Channel:
    _Options(cfg, ch, set())
    return OutboxChannel(ch.name, ch.network, cfg.instance_dir / "outbox.jsonl")


def _x(cfg: Config, ch: ChannelConfig) -> Channel:
    from .x import DEFAULT_API_BASE, XChannel

    keys = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    opts = _Options(cfg, ch, {*keys, "api_base", "timeout_seconds", "user_id", "images"})
    secrets = {k: opts.text(k, required=True) or "" for k in keys}
    user_id = opts.text("user_id")
    if user_id is not None and not user_id.isdigit():
        raise opts.fail("user_id", f"expected the account's numeric id, got {user_id[:40]!r}")
    return XChannel(
        ch.name,
        ch.network,
        api_base=opts.url("api_base", DEFAULT_API_BASE) or DEFAULT_API_BASE,
        timeout=_timeout(cfg, opts),
        user_id=user_id,
        images=opts.flag("images", True),
        **secrets,
    )


def _webhook(cfg: Config, ch: ChannelConfig) -> Channel:
    from .webhook import WebhookChannel

    opts = _Options(cfg, ch, {"url", "secret", "idempotent", "timeout_seconds"})
    return WebhookChannel(
        ch.name,
        ch.network,
        url=opts.url("url", required=True) or "",
        secret=opts.text("secret"),
        idempotent=opts.flag("idempotent", False),
        timeout=_timeout(cfg, opts),
    )


def _mastodon(cfg: Config, ch: ChannelConfig) -> Channel:
    from .mastodon import MastodonChannel

    opts = _Options(cfg, ch, {"api_base", "access_token", "timeout_seconds", "visibility", "language", "images"})
    visibility = opts.text("visibility", "public") or "public"
    if visibility not in ("public", "unlisted"):
        raise opts.fail("visibility", f"expected public or unlisted, got {visibility!r}")
    return MastodonChannel(
        ch.name,
        ch.network,
        api_base=opts.url("api_base", required=True) or "",
        access_token=opts.text("access_token", required=True) or "",
        timeout=_timeout(cfg, opts),
        visibility=visibility,
        language=_language(opts),
        images=opts.flag("images", True),
    )


def _bluesky(cfg: Config, ch: ChannelConfig) -> Channel:
    from .bluesky import DEFAULT_API_BASE, BlueskyChannel

    opts = _Options(cfg, ch, {"api_base", "handle", "app_password", "timeout_seconds", "language", "link_card"})
    handle = opts.text("handle", required=True) or ""
    if handle.startswith("@") or "." not in handle or any(c.isspace() for c in handle):
        raise opts.fail("handle", f"expected a handle such as clinic.bsky.social (no @), got {handle[:60]!r}")
    return BlueskyChannel(
        ch.name,
        ch.network,
        handle=handle,
        app_password=opts.text("app_password", required=True) or "",
        api_base=opts.url("api_base", DEFAULT_API_BASE) or DEFAULT_API_BASE,
        timeout=_timeout(cfg, opts),
        language=_language(opts) or "en",
        link_card=opts.flag("link_card", True),
    )


def _linkedin(cfg: Config, ch: ChannelConfig) -> Channel:
    from .linkedin import DEFAULT_API_BASE, DEFAULT_VERSION, LinkedInChannel

    opts = _Options(cfg, ch, {"api_base", "organization", "access_token", "timeout_seconds", "version"})
    organization = opts.text("organization", required=True) or ""
    if not re.fullmatch(r"urn:li:organization:\d+", organization):
        raise opts.fail("organization", f"expected urn:li:organization:<number>, got {organization[:60]!r}")
    version = opts.text("version", DEFAULT_VERSION) or DEFAULT_VERSION
    if not re.fullmatch(r"20\d{2}(0[1-9]|1[0-2])", version):
        raise opts.fail("version", f"expected a LinkedIn-Version such as {DEFAULT_VERSION!r} (YYYYMM), got {version!r}")
    return LinkedInChannel(
        ch.name,
        ch.network,
        organization=organization,
        access_token=opts.text("access_token", required=True) or "",
        api_base=opts.url("api_base", DEFAULT_API_BASE) or DEFAULT_API_BASE,
        version=version,
        timeout=_timeout(cfg, opts),
    )


def _facebook(cfg: Config, ch: ChannelConfig) -> Channel:
    from .facebook import DEFAULT_API_BASE, DEFAULT_VERSION, FacebookChannel

    opts = _Options(cfg, ch, {"api_base", "page_id", "access_token", "timeout_seconds", "version"})
    page_id = _numeric_id(opts, "page_id", "the Page's")
    version = _graph_version(opts, DEFAULT_VERSION)
    return FacebookChannel(
        ch.name,
        ch.network,
        page_id=page_id,
        access_token=opts.text("access_token", required=True) or "",
        api_base=opts.url("api_base", DEFAULT_API_BASE) or DEFAULT_API_BASE,
        version=version,
        timeout=_timeout(cfg, opts),
    )


def _instagram(cfg: Config, ch: ChannelConfig) -> Channel:
    from .instagram import DEFAULT_API_BASE, DEFAULT_VERSION, InstagramChannel

    opts = _Options(cfg, ch, {"api_base", "account_id", "access_token", "timeout_seconds", "version"})
    account_id = _numeric_id(opts, "account_id", "the Instagram account's")
    return InstagramChannel(
        ch.name,
        ch.network,
        account_id=account_id,
        access_token=opts.text("access_token", required=True) or "",
        api_base=opts.url("api_base", DEFAULT_API_BASE) or DEFAULT_API_BASE,
        version=_graph_version(opts, DEFAULT_VERSION),
        timeout=_timeout(cfg, opts),
    )


def _numeric_id(opts: _Options, key: str, whose: str) -> str:
    """A required numeric id option (a Page, an account), refused with one line otherwise."""
    value = opts.text(key, required=True) or ""
    if not value.isdigit():
        raise opts.fail(key, f"expected {whose} numeric id, got {value[:40]!r}")
    return value


def _graph_version(opts: _Options, default: str) -> str:
    version = opts.text("version", default) or default
    if not re.fullmatch(r"v\d+\.\d+", version):
        raise opts.fail("version", f"expected a Graph API version such as {default!r}, got {version!r}")
    return version


def _language(opts: _Options) -> str | None:
    value = opts.text("language")
    if value is not None and not (2 <= len(value) <= 3 and value.isalpha() and value.islower()):
        raise opts.fail("language", f"expected an ISO 639 code such as 'en', got {value[:20]!r}")
    return value


# kind -> factory; config.CHANNEL_KINDS lists the kinds the config accepts.
FACTORIES: dict[str, Callable[[Config, ChannelConfig], Channel]] = {
    "outbox": _outbox,
    "x": _x,
    "webhook": _webhook,
    "mastodon": _mastodon,
    "bluesky": _bluesky,
    "linkedin": _linkedin,
    "facebook": _facebook,
    "instagram": _instagram,
}


def build_channel(cfg: Config, ch: ChannelConfig) -> Channel:
    """The channel object for one configured channel; an unavailable kind or bad option is a ConfigError."""
    factory = FACTORIES.get(ch.kind)
    if factory is None:
        raise ConfigError(
            f"{cfg.path.name}: channels[{_index(cfg, ch)}] ({ch.name}).kind: "
            f"kind {ch.kind!r} is not available in this version (available: {', '.join(FACTORIES)})"
        )
    return factory(cfg, ch)


def build_channels(cfg: Config) -> dict[str, Channel]:
    """Every configured channel by name (no network traffic: clients connect on first use)."""
    return {ch.name: build_channel(cfg, ch) for ch in cfg.channels}
