"""The channel registry: one implementation per kind, chosen by the config."""

from __future__ import annotations

from collections.abc import Callable

from ..config import ChannelConfig, Config
from ..errors import ConfigError
from .base import Channel
from .outbox import OutboxChannel


def _outbox(cfg: Config, ch: ChannelConfig) -> Channel:
    return OutboxChannel(ch.name, ch.network, cfg.instance_dir / "outbox.jsonl")


# kind -> factory; config.CHANNEL_KINDS lists the kinds the config accepts.
FACTORIES: dict[str, Callable[[Config, ChannelConfig], Channel]] = {
    "outbox": _outbox,
}


def build_channel(cfg: Config, ch: ChannelConfig) -> Channel:
    """The channel object for one configured channel; an unavailable kind is a ConfigError naming it."""
    factory = FACTORIES.get(ch.kind)
    if factory is None:
        raise ConfigError(
            f"{cfg.path.name}: channels ({ch.name}).kind: kind {ch.kind!r} is not available in this version"
        )
    return factory(cfg, ch)


def build_channels(cfg: Config) -> dict[str, Channel]:
    """Every configured channel by name."""
    return {ch.name: build_channel(cfg, ch) for ch in cfg.channels}
