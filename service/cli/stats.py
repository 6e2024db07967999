"""`eventpromo stats`: clicks per post (or per event, step, channel, network, day), as a table, JSON or CSV."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import click

from ..models import Event
from ..tracking.export import clicks_csv
from ..tracking.stats import DIMENSIONS, Dimension, PostStats, grouped_stats, post_stats, step_ranking
from ..tracking.tracker import flush_pending
from .common import print_json, print_table, runtime


def register(cli: click.Group) -> None:
    """Add the stats command."""
    cli.add_command(stats)


def _counts(r: PostStats) -> list[int]:
    return [r.clicks, r.unique_clicks, r.bot_clicks, r.suspect_clicks]


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-12-01", param_hint=option) from None


@click.command()
@click.option("--event", "event_id", type=int, metavar="ID", help="Only this event's posts.")
@click.option(
    "--by",
    type=click.Choice(DIMENSIONS),
    default="post",
    show_default=True,
    help="Group the clicks per post, event, countdown step, channel, network or local day.",
)
@click.option("--from", "start", metavar="DATE", help="Only clicks from this local day on (YYYY-MM-DD).")
@click.option("--to", "end", metavar="DATE", help="Only clicks up to this local day, inclusive.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (for a spreadsheet).")
@click.pass_context
def stats(
    ctx: click.Context, event_id: int | None, by: str, start: str | None, end: str | None, as_json: bool, as_csv: bool
) -> None:
    """RSVP clicks: people (not bots, not over the per-visitor rate), unique people, bots and suspect clicks.

    Spooled clicks are stored first, so the figures include every click answered so far.
    """
    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    rt = runtime(ctx)
    zone = rt.cfg.timezone
    flush_pending(rt.cfg, rt.db)
    with rt.db.session() as session:
        if event_id is not None:
            event = session.get(Event, event_id)
            if event is None:
                raise click.ClickException(f"no event with id {event_id}")
            zone = event.timezone or zone
        tz = ZoneInfo(zone)
        d0, d1 = _day(start, "--from"), _day(end, "--to")
        since = datetime.combine(d0, time(0), tz).astimezone(UTC) if d0 else None
        until = datetime.combine(d1 + timedelta(days=1), time(0), tz).astimezone(UTC) if d1 else None
        dimension = cast(Dimension, by)
        if as_csv:
            sys.stdout.write(clicks_csv(session, dimension, zone, event_id, since, until))
            return
        if by == "post":
            rows = post_stats(session, event_id, since, until)
            ranks = step_ranking(session, event_id, since, until)
            if as_json:
                print_json([r.to_json() for r in rows])
                return
            print_table(
                ["post", "event", "step", "channel", "people", "unique", "bots", "suspect"],
                [[r.post_id, r.event_id, r.step, r.channel, *_counts(r)] for r in rows],
            )
            if ranks and ranks[0].clicks:
                best = ranks[0]
                click.echo(f"Most clicks: step {best.step} ({best.clicks} people over {best.posts} published post(s))")
            return
        groups = grouped_stats(session, dimension, zone=zone, event_id=event_id, since=since, until=until)
    if as_json:
        print_json(
            [
                {
                    by: g.key,
                    "label": g.label,
                    "clicks": g.clicks,
                    "unique_clicks": g.unique_clicks,
                    "bot_clicks": g.bot_clicks,
                    "suspect_clicks": g.suspect_clicks,
                }
                for g in groups
            ]
        )
        return
    print_table(
        [by, "label", "people", "unique", "bots", "suspect"],
        [[g.key, g.label, g.clicks, g.unique_clicks, g.bot_clicks, g.suspect_clicks] for g in groups],
        widths={1: 50},
    )
