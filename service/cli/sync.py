"""`eventpromo sync`."""

from __future__ import annotations

import sys

import click

from .. import jobs
from ..db import check_reachable
from .common import now_or, print_json, print_table, runtime


def register(cli: click.Group) -> None:
    """Add the sync command."""
    cli.add_command(sync)


@click.command()
@click.option("--source", "only", metavar="NAME", help="Sync only this calendar.")
@click.option("--now", "now_text", metavar="ISO", help="Take this instant as the present.")
@click.option("--force", is_flag=True, help="Apply a suspiciously small result (removes missing events).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def sync(ctx: click.Context, only: str | None, now_text: str | None, force: bool, as_json: bool) -> None:
    """Sync calendars now and re-plan what changed."""
    rt = runtime(ctx)
    if only:
        rt.cfg.calendar(only)  # unknown name: one-line error, exit 1
    check_reachable(rt.db)
    now = now_or(now_text, rt.cfg.timezone)
    show = sys.stderr.isatty() and not as_json
    reports = jobs.sync_calendars(
        rt,
        now,
        only=only,
        force=force,
        progress=(lambda name: click.echo(f"syncing {name} …", err=True)) if show else None,
    )
    if as_json:
        print_json([r.as_dict() for r in reports])
    else:
        print_table(
            ["source", "added", "updated", "cancelled", "removed", "unchanged", "errors"],
            [
                [r.source, r.added, r.updated, r.cancelled, r.removed, r.unchanged, r.error or len(r.errors)]
                for r in reports
            ],
        )
        for r in reports:
            for e in r.errors:
                click.echo(f"{r.source}: {e['uid']}: {e['message']}", err=True)
    failed = [r for r in reports if r.error]
    if failed:
        for r in failed:
            click.echo(f"eventpromo: {r.error}", err=True)
        ctx.exit(1)
