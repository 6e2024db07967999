"""`eventpromo policy check`: the content guard on texts from stdin."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from typing import IO
from urllib.parse import urlsplit

import click

from .. import config as config_mod
from ..config import NETWORKS, Config
from ..policy import check_text
from .common import print_json


def register(cli: click.Group) -> None:
    """Add the policy commands."""
    cli.add_command(policy)


@click.group()
def policy() -> None:
    """The content guard (no patient information, only the organisation's contacts)."""


def _load(ctx: click.Context) -> Config:
    # The guard needs the [policy] section and base_url only: no database is opened.
    obj = ctx.find_root().obj or {}
    return config_mod.load(obj.get("config_path"))


def _network(ctx: click.Context, value: str | None) -> str | None:
    """A network name, or the network of a configured channel of that name; else a usage error."""
    if value is None or value in NETWORKS:
        return value
    cfg = _load(ctx)
    for channel in cfg.channels:
        if channel.name == value:
            return channel.network
    raise click.BadParameter(
        f"unknown network {value!r} (known: {', '.join(NETWORKS)}, or a channel name from the config)",
        param_hint="--network",
    )


def _texts(stream: IO[str], nul: bool) -> Iterator[str]:
    """The texts on stdin: one per line (every line, blank ones too), or NUL-separated with --null."""
    if nul:
        data = stream.read()
        parts = data.split("\0")
        if parts and parts[-1] in ("", "\n"):
            parts.pop()
        yield from parts
        return
    for line in stream:
        yield line.rstrip("\r\n")


@policy.command()
@click.option(
    "--network",
    metavar="N",
    default=None,
    help=f"Also hold texts too long for this network ({', '.join(NETWORKS)}) or a configured channel's network.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a list of {text, verdict, reasons} in input order.")
@click.option(
    "-0", "--null", "nul", is_flag=True, help="Texts are separated by NUL characters (for posts of several lines)."
)
@click.pass_context
def check(ctx: click.Context, network: str | None, as_json: bool, nul: bool) -> None:
    """Read post texts from stdin, one per line; print a verdict per line (ok, warn, hold) with reasons.

    Exit status 0 whatever the verdicts; 1 when the config is broken; 2 for an unknown network.
    """
    network = _network(ctx, network)
    cfg = _load(ctx)
    own = tuple(h for h in (urlsplit(cfg.base_url).hostname,) if h)
    # Posts are UTF-8 whatever the locale; a stray bad byte becomes U+FFFD rather than a crash.
    stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    try:
        verdicts = (check_text(text, cfg.policy, own, network=network) for text in _texts(stream, nul))
        if as_json:
            print_json([v.as_dict() for v in verdicts])
            return
        for v in verdicts:
            click.echo(f"{v.verdict}\t{'; '.join(v.reasons)}" if v.reasons else v.verdict)
    finally:
        stream.detach()  # sys.stdin stays usable (and open) for whoever reads it next
