"""`eventpromo policy check`."""

from __future__ import annotations

import sys
from dataclasses import asdict
from urllib.parse import urlsplit

import click

from ..policy import check_text
from .common import print_json, runtime


def register(cli: click.Group) -> None:
    """Add the policy commands."""
    cli.add_command(policy)


@click.group()
def policy() -> None:
    """The content guard (no patient information, only the organisation's contacts)."""


@policy.command()
@click.option("--network", default="x", show_default=True, help="Judge the texts as posts on this network.")
@click.option("--json", "as_json", is_flag=True, help="Print a list of {text, verdict, reasons}.")
@click.pass_context
def check(ctx: click.Context, network: str, as_json: bool) -> None:
    """Read post texts from stdin, one per line; print a verdict per line (ok, warn, hold) with reasons."""
    rt = runtime(ctx)
    own = (urlsplit(rt.cfg.base_url).hostname or "",)
    verdicts = [check_text(line.rstrip("\r\n"), rt.cfg.policy, own) for line in sys.stdin if line.strip()]
    if as_json:
        print_json([asdict(v) for v in verdicts])
        return
    for v in verdicts:
        reasons = "; ".join(v.reasons)
        click.echo(f"{v.verdict}\t{reasons}" if reasons else v.verdict)
