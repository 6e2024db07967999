"""`eventpromo campaigns preview`: the planned timeline of one stored event, or of every event in an ICS file."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from sqlmodel import col, select

from ..calendars.description import parse_description
from ..calendars.ics import IcsParser
from ..calendars.sync import slugify
from ..campaigns.apply import content_guard, preview_stored_event
from ..campaigns.checks import preview_row
from ..campaigns.planner import ChannelView, PlanContext, plan_campaign
from ..campaigns.slots import ChannelLoad
from ..campaigns.templates import TemplateSet, load_sets
from ..campaigns.variables import EventView
from ..config import Config
from ..errors import EventPromoError, NotFound, ParseError
from ..models import CalendarSource, Event
from .common import now_or, print_json, print_table, runtime

PREVIEW_CODE = "PREVIEW000"


def register(cli: click.Group) -> None:
    """Add the campaigns commands."""
    cli.add_command(campaigns)


@click.group()
def campaigns() -> None:
    """Countdown campaigns."""


@campaigns.command()
@click.option("--event", "event_id", type=int, metavar="ID", help="An imported event (reads the database).")
@click.option("--ics", "ics_file", type=click.Path(dir_okay=False), help="An ICS file (no database needed).")
@click.option("--template", "template", metavar="NAME", help="With --ics: the template set for its events.")
@click.option("--now", "now_text", metavar="ISO", help="Take this instant as the present.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document: a list of posts.")
@click.pass_context
def preview(
    ctx: click.Context,
    event_id: int | None,
    ics_file: str | None,
    template: str | None,
    now_text: str | None,
    as_json: bool,
) -> None:
    """The planned timeline: step, channel, network, local and UTC time, length by the network's rules, text."""
    if (event_id is None) == (ics_file is None):
        raise click.UsageError("give either --event ID or --ics FILE --template NAME")
    if ics_file and not template:
        raise click.UsageError("--ics needs --template NAME")
    rt = runtime(ctx)
    now = now_or(now_text, rt.cfg.timezone)
    if event_id is not None:
        with rt.db.session() as session:
            rows = _preview_stored(rt.cfg, session, rt.templates(session), event_id, now)
    else:
        assert ics_file and template
        rows = _preview_ics(rt.cfg, Path(ics_file), template, now)
    if as_json:
        print_json(rows)
        return
    print_table(
        ["event", "step", "channel", "network", "local time", "UTC", "length", "status", "text / reason"],
        [
            [
                r["title"],
                r["step"],
                r["channel"],
                r["network"],
                f"{r['local_time'][:16].replace('T', ' ')} {r['zone']}",
                r["utc_time"],
                f"{r['length']}/{r['limit']}",
                r["status"],
                r["text"] if r["status"] == "scheduled" or not r["reason"] else f"({r['reason']}) {r['text']}",
            ]
            for r in rows
        ],
        widths={0: 30, 8: 80},
    )


def _template(sets: dict[str, TemplateSet], broken: dict[str, Any], name: str) -> TemplateSet:
    if name in broken:
        raise EventPromoError(str(broken[name]))
    if name not in sets:
        raise EventPromoError(f"no template set named {name!r} (have: {', '.join(sorted(sets))})")
    return sets[name]


def _preview_stored(cfg: Config, session: Any, templates: Any, event_id: int, now: datetime) -> list[dict[str, Any]]:
    row = session.exec(
        select(Event, CalendarSource.name)
        .join(CalendarSource, col(CalendarSource.id) == col(Event.source_id))
        .where(Event.id == event_id)
    ).first()
    if row is None:
        raise NotFound(f"event {event_id} does not exist")
    event, source = row
    return preview_stored_event(session, cfg, templates, event, source, now)


def _preview_ics(cfg: Config, path: Path, template: str, now: datetime) -> list[dict[str, Any]]:
    """Plan every event of the file with the set, as a sync would, without a database."""
    sets, broken = load_sets(cfg.templates_dir)
    tset = _template(sets, broken, template)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"{path}: cannot read: {exc.strerror or exc}") from None
    parser = IcsParser(path.name, cfg.timezone, cfg.planning.all_day_hour)
    events, errors = parser.parse(data, now - timedelta(days=2), now + timedelta(days=cfg.horizon_days))
    for uid, message in errors:
        click.echo(f"eventpromo: {path.name}: {uid}: {message}", err=True)
    channels = [ChannelView(c.name, c.network) for c in cfg.channels]
    load = ChannelLoad(cfg.planning, cfg.timezone, f"{cfg.base_url}/r/")
    guard = content_guard(cfg)
    rows: list[dict[str, Any]] = []
    for i, ev in enumerate(sorted(events, key=lambda e: (e.start, e.uid, e.recurrence_id))):
        details = parse_description(ev.description, ev.url)
        view = EventView(
            id=-(i + 1),
            title=ev.title or "(untitled event)",
            start=ev.start,
            end=ev.end,
            timezone=ev.timezone,
            all_day=ev.all_day,
            status=ev.status,
            location=ev.location,
            description=details.text,
            rsvp_url=details.rsvp_url,
            hashtags=details.hashtags,
            speaker=details.speaker,
            image_url=details.image_url,
            recording_url=details.recording_url,
            slug=slugify(ev.title, ev.start, ev.timezone),
        )
        ctx = PlanContext(
            cfg=cfg.planning,
            now=now,
            link_for=lambda step, channel: f"{cfg.base_url}/r/{PREVIEW_CODE}",
            load=load,
            guard=guard,
            require_approval=cfg.policy.require_approval,
        )
        result = plan_campaign(view, tset, channels, {}, ctx)
        posts = sorted(result.posts, key=lambda p: (p.scheduled_at, p.channel))
        rows.extend(preview_row(view, p) for p in posts)
    return rows
