"""What people read: clicks per post, per event / step / channel / network / day, daily series for charts,
and which countdown step brings the most clicks. Each function runs one query, whatever the counts.

`clicks` counts people: clicks that are neither bots (crawlers, link previews, tools) nor suspect (over
the per-visitor rate). `unique_clicks` counts distinct visitor keys among those (a key changes daily).
`bot_clicks` + `suspect_clicks` + `clicks` = every GET recorded.

Clicks reach the database within [tracking] flush_seconds of the redirect; a page or command that
must show every click answered so far calls tracker.flush_pending(cfg, db) first (cheap when nothing waits).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from ..models import Click, Event, Post, PostStatus, TrackedLink
from .days import local_day

Dimension = Literal["post", "event", "step", "channel", "network", "day"]
DIMENSIONS: tuple[str, ...] = ("post", "event", "step", "channel", "network", "day")
SeriesKey = Literal["step", "channel", "network", "event"]
# The JSON keys of `eventpromo stats --json` (INTERFACE.md).
POST_JSON_KEYS = (
    "post_id",
    "event_id",
    "step",
    "channel",
    "clicks",
    "unique_clicks",
    "bot_clicks",
    "suspect_clicks",
)


@dataclass(frozen=True)
class Counts:
    """Clicks counted apart: people (not bot, not suspect), unique people, bots, suspect."""

    clicks: int = 0
    unique_clicks: int = 0
    bot_clicks: int = 0
    suspect_clicks: int = 0

    @property
    def total(self) -> int:
        """Every recorded GET: people + bots + suspect."""
        return self.clicks + self.bot_clicks + self.suspect_clicks


@dataclass(frozen=True)
class PostStats:
    """Clicks of one post's link, with what a listing or a CSV file shows about the post."""

    post_id: int
    event_id: int
    step: str
    channel: str
    clicks: int
    unique_clicks: int
    bot_clicks: int
    suspect_clicks: int
    network: str = ""
    status: str = ""
    scheduled_at: datetime | None = None
    event_title: str = ""

    def to_json(self) -> dict[str, Any]:
        """The object `eventpromo stats --json` prints: exactly the keys of INTERFACE.md."""
        data = asdict(self)
        return {k: data[k] for k in POST_JSON_KEYS}


@dataclass(frozen=True)
class GroupStats:
    """Clicks of one group: an event (key = id), a step, a channel, a network or a local day (ISO date)."""

    key: str
    label: str
    clicks: int
    unique_clicks: int
    bot_clicks: int
    suspect_clicks: int

    @property
    def total(self) -> int:
        """Every recorded GET of the group."""
        return self.clicks + self.bot_clicks + self.suspect_clicks


@dataclass(frozen=True)
class DailySeries:
    """Per local day, one Counts per series (step, channel, network or event), zero-filled: ready for a chart."""

    days: list[date]
    series: dict[str, list[Counts]]
    labels: dict[str, str]

    def totals(self) -> list[Counts]:
        """All series added up per day (unique people are summed, so a person in two series counts twice)."""
        out = []
        for i in range(len(self.days)):
            cs = [s[i] for s in self.series.values()]
            out.append(
                Counts(
                    sum(c.clicks for c in cs),
                    sum(c.unique_clicks for c in cs),
                    sum(c.bot_clicks for c in cs),
                    sum(c.suspect_clicks for c in cs),
                )
            )
        return out


@dataclass(frozen=True)
class StepRank:
    """One countdown step's clicks over its published posts: the ranking answers which step works best."""

    step: str
    posts: int
    clicks: int
    unique_clicks: int
    bot_clicks: int
    suspect_clicks: int

    @property
    def clicks_per_post(self) -> float:
        """People per published post of this step."""
        return self.clicks / self.posts if self.posts else float(self.clicks)


def _measures() -> list[Any]:
    is_bot, is_suspect = col(Click.is_bot), col(Click.is_suspect)
    human = and_(~is_bot, ~is_suspect)
    return [
        func.count(col(Click.id)).filter(human),
        func.count(func.distinct(col(Click.visitor_key))).filter(human),
        func.count(col(Click.id)).filter(is_bot),
        func.count(col(Click.id)).filter(and_(is_suspect, ~is_bot)),
    ]


def _click_join(since: datetime | None, until: datetime | None) -> ColumnElement[bool]:
    """The outer-join condition of a link's clicks within [since, until): posts without clicks still show."""
    cond = col(Click.link_id) == col(TrackedLink.id)
    if since is not None:
        cond = and_(cond, col(Click.at) >= since)
    if until is not None:
        cond = and_(cond, col(Click.at) < until)
    return cond


def post_stats(
    session: Session, event_id: int | None = None, since: datetime | None = None, until: datetime | None = None
) -> list[PostStats]:
    """Per post with a tracked link: people, unique people, bots, suspect (one query), in event and time order."""
    stmt = (
        sa_select(
            col(Post.id),
            col(Post.event_id),
            col(Post.step),
            col(Post.channel),
            *_measures(),
            col(Post.network),
            col(Post.status),
            col(Post.scheduled_at),
            col(Event.title),
        )
        .join(TrackedLink, col(TrackedLink.post_id) == col(Post.id))
        .join(Event, col(Event.id) == col(Post.event_id))
        .outerjoin(Click, _click_join(since, until))
        .group_by(
            col(Post.id),
            col(Post.event_id),
            col(Post.step),
            col(Post.channel),
            col(Post.network),
            col(Post.status),
            col(Post.scheduled_at),
            col(Event.title),
            col(Event.start_at),
        )
        .order_by(col(Event.start_at), col(Post.event_id), col(Post.scheduled_at), col(Post.channel), col(Post.id))
    )
    if event_id is not None:
        stmt = stmt.where(col(Post.event_id) == event_id)
    return [PostStats(*row) for row in session.execute(stmt).all()]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def grouped_stats(
    session: Session,
    by: Dimension,
    *,
    zone: str = "UTC",
    event_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[GroupStats]:
    """Clicks per event, step, channel, network or local day (in `zone`), one query.

    Events come in start order, days in date order, the rest with the most people first.
    """
    if by == "post":
        return [
            GroupStats(str(p.post_id), f"{p.step} / {p.channel}", *_counts(p))
            for p in post_stats(session, event_id, since, until)
        ]
    if by == "day":
        day = local_day(_dialect(session), col(Click.at), zone)
        stmt = (
            sa_select(day, *_measures())
            .select_from(Click)
            .join(TrackedLink, col(TrackedLink.id) == col(Click.link_id))
            .join(Post, col(Post.id) == col(TrackedLink.post_id))
            .group_by(day)
            .order_by(day)
        )
        if since is not None:
            stmt = stmt.where(col(Click.at) >= since)
        if until is not None:
            stmt = stmt.where(col(Click.at) < until)
        if event_id is not None:
            stmt = stmt.where(col(Post.event_id) == event_id)
        return [GroupStats(_iso_day(d), _iso_day(d), *rest) for d, *rest in session.execute(stmt).all()]
    if by == "event":
        keys: list[Any] = [col(Event.id), col(Event.title), col(Event.start_at)]
        order: list[Any] = [col(Event.start_at), col(Event.id)]
    elif by in ("step", "channel", "network"):
        keys = [getattr(Post, by)]
        order = []
    else:
        raise ValueError(f"unknown dimension {by!r} (known: {', '.join(DIMENSIONS)})")
    stmt = (
        sa_select(*keys, *_measures())
        .select_from(Post)
        .join(Event, col(Event.id) == col(Post.event_id))
        .join(TrackedLink, col(TrackedLink.post_id) == col(Post.id))
        .outerjoin(Click, _click_join(since, until))
        .group_by(*keys)
    )
    if event_id is not None:
        stmt = stmt.where(col(Post.event_id) == event_id)
    rows = session.execute(stmt.order_by(*order) if order else stmt).all()
    if by == "event":
        return [GroupStats(str(eid), title, *rest) for eid, title, _start, *rest in rows]
    groups = [GroupStats(key, key, *rest) for key, *rest in rows]
    return sorted(groups, key=lambda g: (-g.clicks, -g.unique_clicks, -g.total, g.key))


def daily_series(
    session: Session,
    zone: str,
    *,
    by: SeriesKey | None = None,
    event_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
) -> DailySeries:
    """Clicks per local day (in `zone`) from `start` to `end` inclusive, split by step, channel, network or
    event (or one series "all"), with people, bots and suspect apart; one query, zero-filled for charts."""
    tz = ZoneInfo(zone)
    day = local_day(_dialect(session), col(Click.at), zone)
    key: Any
    if by is None:
        key = None
    elif by == "event":
        key = col(Post.event_id)
    elif by in ("step", "channel", "network"):
        key = getattr(Post, by)
    else:
        raise ValueError(f"unknown series {by!r} (known: step, channel, network, event)")
    cols = [day] + ([key] if key is not None else [])
    stmt = (
        sa_select(*cols, *_measures())
        .select_from(Click)
        .join(TrackedLink, col(TrackedLink.id) == col(Click.link_id))
        .join(Post, col(Post.id) == col(TrackedLink.post_id))
        .group_by(*cols)
    )
    if start is not None:
        stmt = stmt.where(col(Click.at) >= datetime.combine(start, time(0), tz).astimezone(UTC))
    if end is not None:
        stmt = stmt.where(col(Click.at) < datetime.combine(end + timedelta(days=1), time(0), tz).astimezone(UTC))
    if event_id is not None:
        stmt = stmt.where(col(Post.event_id) == event_id)
    found: dict[str, dict[date, Counts]] = {}
    for row in session.execute(stmt).all():
        d = date.fromisoformat(_iso_day(row[0]))
        name = str(row[1]) if key is not None else "all"
        found.setdefault(name, {})[d] = Counts(*row[-4:])
    seen = [d for per_day in found.values() for d in per_day]
    first = start or (min(seen) if seen else None)
    last = end or (max(seen) if seen else None)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)] if first and last else []
    series = {name: [per_day.get(d, Counts()) for d in days] for name, per_day in sorted(found.items())}
    return DailySeries(days=days, series=series, labels={name: name for name in series})


def step_ranking(
    session: Session, event_id: int | None = None, since: datetime | None = None, until: datetime | None = None
) -> list[StepRank]:
    """Countdown steps with their published posts and clicks, the step that brings the most people first."""
    stmt = (
        sa_select(
            col(Post.step),
            func.count(func.distinct(col(Post.id))).filter(col(Post.status) == PostStatus.PUBLISHED),
            *_measures(),
        )
        .select_from(Post)
        .join(TrackedLink, col(TrackedLink.post_id) == col(Post.id))
        .outerjoin(Click, _click_join(since, until))
        .group_by(col(Post.step))
    )
    if event_id is not None:
        stmt = stmt.where(col(Post.event_id) == event_id)
    ranks = [StepRank(*row) for row in session.execute(stmt).all()]
    return sorted(ranks, key=lambda r: (-r.clicks, -r.clicks_per_post, -r.unique_clicks, r.step))


def best_step(session: Session, event_id: int | None = None) -> StepRank | None:
    """The countdown step that brought the most people, or None before anyone clicked."""
    ranks = step_ranking(session, event_id)
    return ranks[0] if ranks and ranks[0].clicks > 0 else None


def _counts(p: PostStats) -> tuple[int, int, int, int]:
    return p.clicks, p.unique_clicks, p.bot_clicks, p.suspect_clicks


def _iso_day(value: Any) -> str:
    """A day from the database (a date on PostgreSQL, 'YYYY-MM-DD' text on SQLite) as ISO text."""
    return value.isoformat() if isinstance(value, date) else str(value)


def label_rows(rows: Sequence[GroupStats]) -> list[dict[str, Any]]:
    """Group rows as JSON objects (key, label, counts)."""
    return [asdict(r) for r in rows]
