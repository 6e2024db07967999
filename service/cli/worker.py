"""`eventpromo worker`."""

from __future__ import annotations

import logging
from datetime import datetime

import click

from .. import jobs
from ..db import check_reachable
from ..models import utcnow
from ..worker import Worker
from .common import parse_instant, print_json, runtime


def register(cli: click.Group) -> None:
    """Add the worker command."""
    cli.add_command(worker)


@click.command()
@click.option("--once", is_flag=True, help="Publish what is due and exit.")
@click.option("--now", "now_text", metavar="ISO", help="With --once: take this instant as the present.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print what the tick did as JSON.")
@click.pass_context
def worker(ctx: click.Context, once: bool, now_text: str | None, as_json: bool) -> None:
    """The scheduler: syncs calendars on an interval and publishes due posts."""
    rt = runtime(ctx)
    check_reachable(rt.db)
    if once:
        fixed = parse_instant(now_text, rt.cfg.timezone)

        def now_fn() -> datetime:
            return fixed or utcnow()

        tick = jobs.publish_due(rt, now_fn)
        if as_json:
            print_json(tick.counts())
        else:
            click.echo(
                f"published {tick.published}, failed {tick.failed}, retrying {tick.retried}, "
                f"held {tick.held}, skipped {tick.skipped}, put off {tick.deferred}, "
                f"reconciled {tick.reconciled}, released {tick.released}",
                err=True,
            )
        return
    if now_text:
        raise click.UsageError("--now goes with --once")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    w = Worker(rt)
    w.install_signal_handlers()
    w.start()
    click.echo("eventpromo: worker stopped", err=True)
