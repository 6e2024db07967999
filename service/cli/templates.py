"""`eventpromo templates check`."""

from __future__ import annotations

import click

from ..campaigns.checks import check_sets
from .common import runtime


def register(cli: click.Group) -> None:
    """Add the templates commands."""
    cli.add_command(templates)


@click.group()
def templates() -> None:
    """Campaign template sets."""


@templates.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate every template set; exit 1 naming file, step and line of the first error."""
    rt = runtime(ctx)
    problems, checked = check_sets(rt.cfg)
    if problems:
        for p in problems:
            click.echo(f"eventpromo: {p}", err=True)
        ctx.exit(1)
    click.echo(f"{len(checked)} template sets OK: {', '.join(sorted(checked))}")
