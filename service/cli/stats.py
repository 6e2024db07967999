"""`eventpromo stats`."""

from __future__ import annotations

from dataclasses import asdict

import click

from ..tracking import post_stats
from .common import print_json, print_table, runtime


def register(cli: click.Group) -> None:
    """Add the stats command."""
    cli.add_command(stats)


@click.command()
@click.option("--event", "event_id", type=int, metavar="ID", help="Only this event's posts.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def stats(ctx: click.Context, event_id: int | None, as_json: bool) -> None:
    """RSVP clicks per post: people, unique people, bots and suspect clicks."""
    rt = runtime(ctx)
    with rt.db.session() as session:
        rows = post_stats(session, event_id)
    if as_json:
        print_json([asdict(r) for r in rows])
        return
    print_table(
        ["post", "event", "step", "channel", "clicks", "unique", "bots", "suspect"],
        [
            [r.post_id, r.event_id, r.step, r.channel, r.clicks, r.unique_clicks, r.bot_clicks, r.suspect_clicks]
            for r in rows
        ],
    )
