"""`eventpromo events list`."""

from __future__ import annotations

from typing import Any

import click
from sqlmodel import col, select

from ..campaigns.apply import event_channels, template_name
from ..models import CalendarSource, Campaign, Event, EventStatus
from .common import iso_local, parse_instant, print_json, print_table, runtime


def register(cli: click.Group) -> None:
    """Add the events commands."""
    cli.add_command(events)


@click.group()
def events() -> None:
    """Event instances imported from the calendars."""


@events.command("list")
@click.option("--from", "from_text", metavar="ISO", help="Only events starting at or after this instant.")
@click.option("--to", "to_text", metavar="ISO", help="Only events starting before this instant.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def list_events(ctx: click.Context, from_text: str | None, to_text: str | None, as_json: bool) -> None:
    """Event instances starting in [from, to), by start time."""
    rt = runtime(ctx)
    start = parse_instant(from_text, rt.cfg.timezone, "--from")
    end = parse_instant(to_text, rt.cfg.timezone, "--to")
    stmt = (
        select(Event, CalendarSource.name, Campaign.template)
        .join(CalendarSource, col(CalendarSource.id) == col(Event.source_id))
        .outerjoin(Campaign, col(Campaign.event_id) == col(Event.id))
        .order_by(col(Event.start_at), col(Event.id))
    )
    if start:
        stmt = stmt.where(Event.start_at >= start)
    if end:
        stmt = stmt.where(Event.start_at < end)
    with rt.db.session() as session:
        rows = [_row(rt.cfg, e, src, tmpl) for e, src, tmpl in session.exec(stmt).all()]
    if as_json:
        print_json(rows)
        return
    print_table(
        ["id", "start", "status", "title", "template", "warnings"],
        [
            [
                r["id"],
                r["start"][:16].replace("T", " "),
                r["status"],
                r["title"],
                r["template"],
                "; ".join(r["warnings"]),
            ]
            for r in rows
        ],
        widths={3: 50, 5: 40},
    )


def _row(cfg: Any, e: Event, source: str, campaign_template: str | None) -> dict[str, Any]:
    warnings = list(e.warnings or [])
    status = e.status
    if e.removed_at is not None:
        status = EventStatus.CANCELLED
        warnings.append("removed from its calendar")
    return {
        "id": e.id,
        "source": source,
        "uid": e.uid,
        "recurrence_id": e.recurrence_id or None,
        "title": e.title,
        "start": iso_local(e.start_at, e.timezone),
        "end": iso_local(e.end_at, e.timezone),
        "timezone": e.timezone,
        "all_day": e.all_day,
        "status": status,
        "rsvp_url": e.rsvp_url,
        "template": campaign_template or template_name(cfg, e, source),
        "channels": [c.name for c in event_channels(cfg, e, source)],
        "warnings": warnings,
    }
