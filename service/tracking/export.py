"""CSV export of click statistics; cells a spreadsheet would run as formulas are defused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from .stats import Dimension, GroupStats, PostStats, grouped_stats, post_stats

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
POST_COLUMNS = (
    "post_id",
    "event_id",
    "event_title",
    "step",
    "channel",
    "network",
    "status",
    "scheduled_at",
    "clicks",
    "unique_clicks",
    "bot_clicks",
    "suspect_clicks",
)
GROUP_COLUMNS = ("key", "label", "clicks", "unique_clicks", "bot_clicks", "suspect_clicks")


def safe_cell(value: Any) -> Any:
    """A cell as written: text that starts like a formula gets a leading apostrophe (CSV injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(out: io.TextIOBase | Any, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a header and rows as CSV (RFC 4180 quoting, CRLF line ends)."""
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])


def post_rows(stats: Iterable[PostStats], zone: str) -> list[list[Any]]:
    """The rows of the per-post CSV; times in `zone`, ISO 8601 with offset."""
    tz = ZoneInfo(zone)
    return [
        [
            p.post_id,
            p.event_id,
            p.event_title,
            p.step,
            p.channel,
            p.network,
            p.status,
            _local(p.scheduled_at, tz),
            p.clicks,
            p.unique_clicks,
            p.bot_clicks,
            p.suspect_clicks,
        ]
        for p in stats
    ]


def group_rows(groups: Iterable[GroupStats]) -> list[list[Any]]:
    """The rows of a per-event/step/channel/network/day CSV."""
    return [[g.key, g.label, g.clicks, g.unique_clicks, g.bot_clicks, g.suspect_clicks] for g in groups]


def clicks_csv(
    session: Session,
    by: Dimension,
    zone: str,
    event_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> str:
    """The whole CSV document of clicks per post (default) or per event, step, channel, network or day."""
    out = io.StringIO()
    if by == "post":
        write_csv(out, POST_COLUMNS, post_rows(post_stats(session, event_id, since, until), zone))
    else:
        groups = grouped_stats(session, by, zone=zone, event_id=event_id, since=since, until=until)
        write_csv(out, GROUP_COLUMNS, group_rows(groups))
    return out.getvalue()


def _local(dt: datetime | None, tz: ZoneInfo) -> str:
    return dt.astimezone(tz).isoformat() if dt else ""
