"""Helpers shared by the commands: the runtime, --now parsing, JSON and table output."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import click

from ..models import utcnow
from ..runtime import Runtime


def runtime(ctx: click.Context) -> Runtime:
    """The process runtime for this command (config loaded once per command)."""
    obj = ctx.find_root().obj or {}
    if "runtime" not in obj:
        obj["runtime"] = Runtime.from_config(obj.get("config_path"))
        ctx.find_root().obj = obj
        ctx.call_on_close(obj["runtime"].db.dispose)
    rt: Runtime = obj["runtime"]
    return rt


def parse_instant(value: str | None, zone: str, option: str = "--now") -> datetime | None:
    """An ISO 8601 instant; one without an offset is read in the configured zone."""
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or time", param_hint=option) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(zone))
    return dt.astimezone(UTC)


def now_or(value: str | None, zone: str) -> datetime:
    """--now if given, else the clock."""
    return parse_instant(value, zone) or utcnow()


def iso_utc(dt: datetime | None) -> str | None:
    """`2026-12-10T00:30:00Z`."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if dt else None


def iso_local(dt: datetime, zone: str) -> str:
    """ISO 8601 in the given zone, with its offset."""
    return dt.astimezone(ZoneInfo(zone)).isoformat()


def print_json(data: Any) -> None:
    """One JSON document on stdout."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: dict[int, int] | None = None) -> None:
    """A plain aligned table; long cells are cut with an ellipsis."""
    widths = widths or {}
    cells = [[_cell(v, widths.get(i)) for i, v in enumerate(r)] for r in rows]
    cols = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(cols[i]) for i, h in enumerate(headers)).rstrip())
    for r in cells:
        click.echo("  ".join(c.ljust(cols[i]) for i, c in enumerate(r)).rstrip())
    if not rows:
        click.echo("(none)")


def _cell(value: Any, width: int | None) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    if width and len(text) > width:
        text = text[: width - 1] + "…"
    return text
