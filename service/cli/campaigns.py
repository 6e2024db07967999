"""`eventpromo campaigns preview`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click
from sqlmodel import col, select

from ..calendars.description import parse_description
from ..calendars.ics import IcsParser
from ..calendars.sync import slugify
from ..campaigns.apply import event_channels, event_view, template_name
from ..campaigns.fitting import rules_for, text_length
from ..campaigns.planner import ChannelView, ExistingPost, plan
from ..campaigns.templates import TemplateSet, load_sets
from ..campaigns.variables import EventView
from ..config import Config
from ..errors import EventPromoError, NotFound
from ..models import CalendarSource, Campaign, Event, Post, TrackedLink
from ..tracking import tracked_url
from .common import iso_local, iso_utc, now_or, print_json, print_table, runtime

PREVIEW_CODE = "PREVIEW000"


def register(cli: click.Group) -> None:
    """Add the campaigns commands."""
    cli.add_command(campaigns)


@click.group()
def campaigns() -> None:
    """Countdown campaigns."""


@campaigns.command()
@click.option("--event", "event_id", type=int, metavar="ID", help="An imported event.")
@click.option("--ics", "ics_file", type=click.Path(exists=True, dir_okay=False), help="An ICS file (no database).")
@click.option("--template", "template", metavar="NAME", help="With --ics: the template set.")
@click.option("--now", "now_text", metavar="ISO", help="Take this instant as the present.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def preview(
    ctx: click.Context,
    event_id: int | None,
    ics_file: str | None,
    template: str | None,
    now_text: str | None,
    as_json: bool,
) -> None:
    """The planned timeline: step, channel, local and UTC time, text, length by the network's rules."""
    if (event_id is None) == (ics_file is None):
        raise click.UsageError("give either --event ID or --ics FILE --template NAME")
    if ics_file and not template:
        raise click.UsageError("--ics needs --template NAME")
    rt = runtime(ctx)
    now = now_or(now_text, rt.cfg.timezone)
    sets, broken = load_sets(rt.cfg.templates_dir)
    rows: list[dict[str, Any]] = []
    if event_id is not None:
        with rt.db.session() as session:
            rows = _preview_stored(rt.cfg, session, event_id, sets, broken, now)
    else:
        assert ics_file and template
        tset = _template(sets, broken, template)
        parser = IcsParser("preview", rt.cfg.timezone, rt.cfg.planning.all_day_hour)
        with open(ics_file, "rb") as fh:
            data = fh.read()
        events, _errors = parser.parse(data, now - timedelta(days=1), now + timedelta(days=rt.cfg.horizon_days))
        channels = [ChannelView(c.name, c.network) for c in rt.cfg.channels]
        for i, ev in enumerate(sorted(events, key=lambda e: e.start)):
            details = parse_description(ev.description, ev.url)
            view = EventView(
                id=-(i + 1),
                title=ev.title,
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
            rows.extend(_rows(rt.cfg, view, tset, channels, now, {}))
    if as_json:
        print_json(rows)
        return
    print_table(
        ["event", "step", "channel", "local time", "UTC", "length", "status", "text"],
        [
            [
                r["title"],
                r["step"],
                r["channel"],
                r["local_time"][:16].replace("T", " "),
                r["utc_time"],
                f"{r['length']}/{r['limit']}",
                r["status"],
                r["text"],
            ]
            for r in rows
        ],
        widths={0: 30, 7: 70},
    )


def _template(sets: dict[str, TemplateSet], broken: dict[str, Any], name: str) -> TemplateSet:
    if name in broken:
        raise EventPromoError(str(broken[name]))
    if name not in sets:
        raise EventPromoError(f"no template set named {name!r} (have: {', '.join(sorted(sets))})")
    return sets[name]


def _preview_stored(
    cfg: Config, session: Any, event_id: int, sets: dict[str, TemplateSet], broken: dict[str, Any], now: Any
) -> list[dict[str, Any]]:
    row = session.exec(
        select(Event, CalendarSource.name)
        .join(CalendarSource, col(CalendarSource.id) == col(Event.source_id))
        .where(Event.id == event_id)
    ).first()
    if row is None:
        raise NotFound(f"event {event_id} does not exist")
    event, source = row
    campaign = session.exec(select(Campaign).where(Campaign.event_id == event_id)).first()
    tset = _template(sets, broken, campaign.template if campaign else template_name(cfg, event, source))
    existing: dict[tuple[str, str], ExistingPost] = {}
    codes: dict[tuple[str, str], str] = {}
    for post, code in session.exec(
        select(Post, TrackedLink.code)
        .outerjoin(TrackedLink, col(TrackedLink.post_id) == col(Post.id))
        .where(Post.event_id == event_id)
    ).all():
        existing[(post.step, post.channel)] = ExistingPost(
            post.step, post.channel, post.status, post.scheduled_at, post.text, post.edited, post.moved
        )
        if code:
            codes[(post.step, post.channel)] = code
    return _rows(cfg, event_view(event), tset, event_channels(cfg, event, source), now, existing, codes)


def _rows(
    cfg: Config,
    view: EventView,
    tset: TemplateSet,
    channels: list[ChannelView],
    now: Any,
    existing: dict[tuple[str, str], ExistingPost],
    codes: dict[tuple[str, str], str] | None = None,
) -> list[dict[str, Any]]:
    codes = codes or {}

    def link_for(step: str, channel: str) -> str:
        return tracked_url(cfg.base_url, codes.get((step, channel), PREVIEW_CODE))

    out = []
    for d in plan(view, tset, channels, now, cfg.planning, link_for, existing):
        out.append(
            {
                "event_id": view.id if view.id > 0 else None,
                "title": view.title,
                "step": d.step,
                "channel": d.channel,
                "network": d.network,
                "local_time": iso_local(d.scheduled_at, view.timezone),
                "utc_time": iso_utc(d.scheduled_at),
                "text": d.text,
                "length": text_length(d.text, d.network),
                "limit": rules_for(d.network).limit,
                "status": "skipped" if d.skip_reason else "held" if d.hold_reason else "scheduled",
                "reason": d.skip_reason or d.hold_reason,
            }
        )
    return out
