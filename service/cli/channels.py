"""`eventpromo channels list | reconnect NAME`."""

from __future__ import annotations

import click

from ..models import AuditEntry, utcnow
from ..publishing_actions import channel_overview, reconnect_channel
from .common import iso_utc, print_json, print_table, runtime


def register(cli: click.Group) -> None:
    """Add the channels commands."""
    cli.add_command(channels)


@click.group()
def channels() -> None:
    """Publishing channels and their state."""


@channels.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def list_channels(ctx: click.Context, as_json: bool) -> None:
    """Each channel: kind, network, needs reconnecting, rate limited until, posts waiting or failed."""
    rt = runtime(ctx)
    with rt.db.session() as session:
        rows = channel_overview(session, rt.cfg, utcnow())
    data = [
        {
            "name": r.name,
            "kind": r.kind,
            "network": r.network,
            "needs_reconnect": r.needs_reconnect,
            "reason": r.reason,
            "rate_limited_until": iso_utc(r.rate_limited_until),
            "rate_limit": r.rate_limit,
            "scheduled": r.scheduled,
            "failed": r.failed,
            "held_unknown": r.held_unknown,
            "last_published_at": iso_utc(r.last_published_at),
        }
        for r in rows
    ]
    if as_json:
        print_json(data)
        return
    print_table(
        ["name", "kind", "network", "state", "scheduled", "failed", "unknown", "last published (UTC)"],
        [
            [
                d["name"],
                d["kind"],
                d["network"],
                f"needs reconnecting: {d['reason']}"
                if d["needs_reconnect"]
                else f"rate limited until {d['rate_limited_until']}"
                if d["rate_limited_until"]
                else "ok",
                d["scheduled"],
                d["failed"],
                d["held_unknown"],
                d["last_published_at"],
            ]
            for d in data
        ],
        widths={3: 60},
    )


@channels.command("reconnect")
@click.argument("name")
@click.pass_context
def reconnect(ctx: click.Context, name: str) -> None:
    """Mark NAME reconnected (after renewing its token in the environment): its posts go out again."""
    rt = runtime(ctx)
    now = utcnow()
    with rt.db.session(write=True) as session:
        waiting = reconnect_channel(session, rt.cfg, name, now)
        session.add(AuditEntry(at=now, actor="cli", action="channel.reconnect", detail={"channel": name}))
    click.echo(f"eventpromo: channel {name} reconnected; {waiting} scheduled post(s) will go out when due", err=True)
