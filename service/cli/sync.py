"""`eventpromo sync`."""

from __future__ import annotations

import sys
from typing import IO, Any

import click
from tqdm import tqdm

from .. import jobs
from ..calendars.sync import SyncReport
from ..db import check_reachable
from .common import now_or, print_json, print_table, runtime

# Changes listed one per line under the table; beyond this, a count.
SHOWN_CHANGES = 20


def register(cli: click.Group) -> None:
    """Add the sync command."""
    cli.add_command(sync)


class TerminalProgress:
    """A tqdm bar per stage of each source, on stderr; small feeds finish before it would appear (delay)."""

    def __init__(self, stream: IO[str] | None = None, delay: float = 0.5, mininterval: float = 0.2):
        self.stream = stream or sys.stderr
        self.delay = delay
        self.mininterval = mininterval
        self.bar: Any = None

    def stage(self, label: str, total: int | None = None) -> None:
        """Close the previous bar and start one for this stage."""
        self.close()
        self.bar = tqdm(
            total=total,
            desc=label,
            file=self.stream,
            delay=self.delay,
            mininterval=self.mininterval,
            leave=False,
            dynamic_ncols=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"
            if total
            else "{desc}… {elapsed}",
        )

    def advance(self, steps: int = 1) -> None:
        """Move the bar."""
        if self.bar is not None and steps:
            self.bar.update(steps)

    def close(self) -> None:
        """Remove the bar from the terminal."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


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
    bar = TerminalProgress() if sys.stderr.isatty() else None
    try:
        reports = jobs.sync_calendars(rt, now, only=only, force=force, progress=bar)
    finally:
        if bar is not None:
            bar.close()
    if as_json:
        print_json([r.as_dict() for r in reports])
    else:
        _print(reports)
    failed = [r for r in reports if r.error]
    if failed:
        for r in failed:
            click.echo(f"eventpromo: {r.error}", err=True)
        ctx.exit(1)


def _print(reports: list[SyncReport]) -> None:
    print_table(
        ["source", "added", "updated", "cancelled", "removed", "unchanged", "errors"],
        [
            [r.source, r.added, r.updated, r.cancelled, r.removed, r.unchanged, "failed" if r.error else len(r.errors)]
            for r in reports
        ],
    )
    for r in reports:
        listed = [c for c in r.changes if c["change"] != "added"]
        for c in listed[:SHOWN_CHANGES]:
            fields = f" ({', '.join(c['fields'])})" if c["fields"] else ""
            when = f" [{c['recurrence_id']}]" if c["recurrence_id"] else ""
            click.echo(f"{r.source}: {c['change']}{fields}: {c['title']}{when}")
        if len(listed) > SHOWN_CHANGES:
            click.echo(f"{r.source}: … and {len(listed) - SHOWN_CHANGES} more changes (see --json)")
        for w in r.warnings:
            click.echo(f"warning: {w}", err=True)
        for e in r.errors:
            uid = f"{e['uid']}: " if e["uid"] else ""
            click.echo(f"{r.source}: {uid}{e['message']}", err=True)
