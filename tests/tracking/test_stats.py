"""Statistics people read: per post, per event/step/channel/network/day (DST-aware days), daily series,
the best countdown step, one query each; the CLI (--json exactly as INTERFACE.md, --csv) and the CSV download."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event as sa_event

from service.models import Click, PostStatus
from service.runtime import Runtime
from service.tracking import (
    Counts,
    best_step,
    daily_series,
    grouped_stats,
    post_stats,
    step_ranking,
)
from tests.helpers import add_user, login, run_cli, session
from tests.tracking.conftest import Link, make_event, make_link


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Data:
    a: int
    b: int
    p1: Link
    p2: Link
    p3: Link
    p4: Link
    p5: Link


@pytest.fixture
def data(rt: Runtime) -> Data:
    """Two events, five posts, clicks around New York's DST change (2026-11-01 06:00 UTC)."""
    with rt.db.session(write=True) as s:
        a = make_event(s, title="MPN webinar", slug="mpn", timezone="America/New_York")
        b = make_event(
            s,
            title='=HYPERLINK("http://evil.example")',
            slug="support",
            timezone="America/Phoenix",
            start_at=utc("2026-12-20T18:00:00"),
        )
        p1 = make_link(s, a, "two-weeks", scheduled_at=utc("2026-10-19T14:00:00"))
        p2 = make_link(s, a, "one-week", scheduled_at=utc("2026-10-26T14:00:00"))
        p3 = make_link(s, a, "one-week", channel="team", network="webhook", scheduled_at=utc("2026-10-26T14:00:00"))
        p4 = make_link(s, a, "day-before", status=PostStatus.SCHEDULED, scheduled_at=utc("2026-11-01T14:00:00"))
        p5 = make_link(s, b, "one-week")
        clicks = [
            (p1, "2026-10-20T12:00:00", "bot", "k9"),
            (p1, "2026-10-20T12:01:00", "bot", "k9"),
            (p2, "2026-11-01T03:30:00", "human", "k1"),  # Oct 31, 23:30 EDT
            (p2, "2026-11-01T05:30:00", "human", "k2"),  # Nov 1, 01:30 EDT
            (p2, "2026-11-01T06:30:00", "human", "k1"),  # Nov 1, 01:30 EST (the hour repeats)
            (p2, "2026-11-01T06:31:00", "suspect", "k3"),
            (p3, "2026-11-02T15:00:00", "human", "k1"),
            (p3, "2026-11-02T15:05:00", "human", "k4"),
            (p5, "2026-11-03T18:00:00", "human", "k5"),
            (p5, "2026-11-03T18:01:00", "bot", "k6"),
        ]
        for link, at, kind, key in clicks:
            s.add(
                Click(
                    link_id=link.link_id,
                    at=utc(at),
                    is_bot=kind == "bot",
                    is_suspect=kind == "suspect",
                    visitor_key=key,
                )
            )
    return Data(a.id or 0, b.id or 0, p1, p2, p3, p4, p5)


def counts(row: Any) -> tuple[int, int, int, int]:
    return row.clicks, row.unique_clicks, row.bot_clicks, row.suspect_clicks


def test_per_post(rt: Runtime, data: Data) -> None:
    with session(rt) as s:
        rows = {r.post_id: counts(r) for r in post_stats(s)}
        only_b = post_stats(s, event_id=data.b)
        november = {r.post_id: counts(r) for r in post_stats(s, since=utc("2026-11-01T00:00:00"))}
    assert rows == {
        data.p1.post_id: (0, 0, 2, 0),
        data.p2.post_id: (3, 2, 0, 1),
        data.p3.post_id: (2, 2, 0, 0),
        data.p4.post_id: (0, 0, 0, 0),
        data.p5.post_id: (1, 1, 1, 0),
    }
    assert [r.post_id for r in only_b] == [data.p5.post_id]
    assert november[data.p1.post_id] == (0, 0, 0, 0) and november[data.p2.post_id] == (3, 2, 0, 1)


def test_per_event_step_channel_network(rt: Runtime, data: Data) -> None:
    with session(rt) as s:
        events = grouped_stats(s, "event")
        steps = grouped_stats(s, "step")
        channels = grouped_stats(s, "channel")
        networks = grouped_stats(s, "network")
        steps_of_b = grouped_stats(s, "step", event_id=data.b)
    assert [(g.key, g.label, counts(g)) for g in events] == [
        (str(data.a), "MPN webinar", (5, 3, 2, 1)),
        (str(data.b), '=HYPERLINK("http://evil.example")', (1, 1, 1, 0)),
    ]
    assert [(g.key, counts(g)) for g in steps] == [
        ("one-week", (6, 4, 1, 1)),
        ("two-weeks", (0, 0, 2, 0)),
        ("day-before", (0, 0, 0, 0)),
    ]
    assert [(g.key, counts(g)) for g in channels] == [("x", (4, 3, 3, 1)), ("team", (2, 2, 0, 0))]
    assert [(g.key, counts(g)) for g in networks] == [("x", (4, 3, 3, 1)), ("webhook", (2, 2, 0, 0))]
    assert [(g.key, counts(g)) for g in steps_of_b] == [("one-week", (1, 1, 1, 0))]
    assert all(g.total == g.clicks + g.bot_clicks + g.suspect_clicks for g in steps)


def test_per_local_day_across_a_dst_change(rt: Runtime, data: Data) -> None:
    with session(rt) as s:
        new_york = grouped_stats(s, "day", zone="America/New_York")
        in_utc = grouped_stats(s, "day", zone="UTC")
        tokyo = grouped_stats(s, "day", zone="Asia/Tokyo", event_id=data.a)
    assert [(g.key, counts(g)) for g in new_york] == [
        ("2026-10-20", (0, 0, 2, 0)),
        ("2026-10-31", (1, 1, 0, 0)),
        ("2026-11-01", (2, 2, 0, 1)),
        ("2026-11-02", (2, 2, 0, 0)),
        ("2026-11-03", (1, 1, 1, 0)),
    ]
    assert [(g.key, counts(g)) for g in in_utc] == [
        ("2026-10-20", (0, 0, 2, 0)),
        ("2026-11-01", (3, 2, 0, 1)),
        ("2026-11-02", (2, 2, 0, 0)),
        ("2026-11-03", (1, 1, 1, 0)),
    ]
    assert [g.key for g in tokyo] == ["2026-10-20", "2026-11-01", "2026-11-03"]


def test_daily_series_for_charts(rt: Runtime, data: Data) -> None:
    with session(rt) as s:
        series = daily_series(s, "America/New_York", by="step", start=date(2026, 10, 30), end=date(2026, 11, 4))
        per_channel = daily_series(s, "America/New_York", by="channel")
        overall = daily_series(s, "UTC", event_id=data.b)
    assert series.days == [date(2026, 10, 30) + timedelta(days=i) for i in range(6)]
    assert list(series.series) == ["one-week"]
    assert [c.clicks for c in series.series["one-week"]] == [0, 1, 2, 2, 1, 0]
    assert [c.suspect_clicks for c in series.series["one-week"]] == [0, 0, 1, 0, 0, 0]
    assert [c.bot_clicks for c in series.series["one-week"]] == [0, 0, 0, 0, 1, 0]
    assert per_channel.days[0] == date(2026, 10, 20) and per_channel.days[-1] == date(2026, 11, 3)
    assert len(per_channel.days) == 15 and set(per_channel.series) == {"x", "team"}
    assert sum(c.bot_clicks for c in per_channel.series["x"]) == 3
    assert overall.days == [date(2026, 11, 3)] and overall.series == {"all": [Counts(1, 1, 1, 0)]}
    assert overall.totals() == [Counts(1, 1, 1, 0)]


def test_which_step_brings_the_most_clicks(rt: Runtime, data: Data) -> None:
    with session(rt) as s:
        ranks = step_ranking(s)
        best = best_step(s)
        best_b = best_step(s, data.b)
    assert [(r.step, r.posts, r.clicks) for r in ranks] == [
        ("one-week", 3, 6),
        ("day-before", 0, 0),
        ("two-weeks", 1, 0),
    ]
    assert ranks[0].clicks_per_post == 2.0
    assert best is not None and best.step == "one-week"
    assert best_b is not None and best_b.step == "one-week" and best_b.posts == 1


def test_no_clicks_no_best_step(rt: Runtime) -> None:
    with rt.db.session(write=True) as s:
        make_link(s, make_event(s))
    with session(rt) as s:
        assert best_step(s) is None
        assert daily_series(s, "UTC").days == []


@contextmanager
def statements(rt: Runtime) -> Iterator[list[str]]:
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, stmt: str, *args: Any) -> None:
        seen.append(stmt)

    sa_event.listen(rt.db.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa_event.remove(rt.db.engine, "before_cursor_execute", listen)


def test_one_query_each_whatever_the_counts(rt: Runtime, data: Data) -> None:
    calls = {
        "post": lambda s: post_stats(s),
        "event": lambda s: grouped_stats(s, "event"),
        "step": lambda s: grouped_stats(s, "step"),
        "channel": lambda s: grouped_stats(s, "channel"),
        "day": lambda s: grouped_stats(s, "day", zone="Europe/Berlin"),
        "series": lambda s: daily_series(s, "America/New_York", by="channel"),
        "ranking": lambda s: step_ranking(s),
    }

    def measure() -> dict[str, int]:
        out = {}
        for name, fn in calls.items():
            with session(rt) as s:
                s.connection()  # open the connection first: only the function's own queries are counted
                with statements(rt) as seen:
                    fn(s)
                out[name] = len([q for q in seen if q.lstrip().upper().startswith("SELECT")])
        return out

    before = measure()
    with rt.db.session(write=True) as s:
        for i in range(15):
            event = make_event(s, slug=f"more-{i}")
            for step in ("two-weeks", "one-week", "live"):
                link = make_link(s, event, step)
                for j in range(3):
                    s.add(
                        Click(
                            link_id=link.link_id,
                            at=utc("2026-11-05T12:00:00") + timedelta(hours=j * 9),
                            visitor_key=f"v{i}-{j}",
                        )
                    )
    assert before == measure() == dict.fromkeys(calls, 1)


def test_cli_json_is_exactly_the_interface(rt: Runtime, data: Data) -> None:
    out = run_cli(str(rt.cfg.path), "stats", "--json")
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert isinstance(rows, list) and len(rows) == 5
    keys = ["post_id", "event_id", "step", "channel", "clicks", "unique_clicks", "bot_clicks", "suspect_clicks"]
    assert all(list(r) == keys for r in rows)
    p2 = next(r for r in rows if r["post_id"] == data.p2.post_id)
    assert p2 == {
        "post_id": data.p2.post_id,
        "event_id": data.a,
        "step": "one-week",
        "channel": "x",
        "clicks": 3,
        "unique_clicks": 2,
        "bot_clicks": 0,
        "suspect_clicks": 1,
    }
    only = json.loads(run_cli(str(rt.cfg.path), "stats", "--event", str(data.b), "--json").stdout)
    assert [r["post_id"] for r in only] == [data.p5.post_id]


def test_cli_aggregates_table_and_csv(rt: Runtime, data: Data) -> None:
    path = str(rt.cfg.path)
    steps = json.loads(run_cli(path, "stats", "--by", "step", "--json").stdout)
    assert steps[0] == {
        "step": "one-week",
        "label": "one-week",
        "clicks": 6,
        "unique_clicks": 4,
        "bot_clicks": 1,
        "suspect_clicks": 1,
    }
    days = json.loads(run_cli(path, "stats", "--by", "day", "--event", str(data.a), "--json").stdout)
    assert [d["day"] for d in days] == ["2026-10-20", "2026-10-31", "2026-11-01", "2026-11-02"]  # event's zone
    # The configured zone (Phoenix, UTC-7): the clicks of Nov 1 before 07:00 UTC fall on Oct 31.
    window = json.loads(
        run_cli(path, "stats", "--by", "day", "--from", "2026-10-31", "--to", "2026-11-02", "--json").stdout
    )
    assert [(d["day"], d["clicks"], d["suspect_clicks"]) for d in window] == [
        ("2026-10-31", 3, 1),
        ("2026-11-02", 2, 0),
    ]
    table = run_cli(path, "stats").stdout
    assert "Most clicks: step one-week (6 people over 3 published post(s))" in table
    text = run_cli(path, "stats", "--csv").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5 and rows[0]["event_title"] == "MPN webinar"
    b_row = next(r for r in rows if r["post_id"] == str(data.p5.post_id))
    assert b_row["event_title"].startswith("'=HYPERLINK")  # a spreadsheet must not run it
    by_channel = list(csv.reader(io.StringIO(run_cli(path, "stats", "--by", "channel", "--csv").stdout)))
    assert by_channel[0] == ["key", "label", "clicks", "unique_clicks", "bot_clicks", "suspect_clicks"]
    assert by_channel[1] == ["x", "x", "4", "3", "3", "1"]


@pytest.mark.parametrize("args", [["--by", "week"], ["--from", "yesterday"], ["--json", "--csv"]])
def test_cli_wrong_usage(rt: Runtime, args: list[str]) -> None:
    assert run_cli(str(rt.cfg.path), "stats", *args).exit_code == 2


def test_cli_unknown_event(rt: Runtime) -> None:
    out = run_cli(str(rt.cfg.path), "stats", "--event", "999")
    assert out.exit_code == 1 and "no event with id 999" in out.stderr


def test_csv_download_needs_a_login(rt: Runtime, client: Any, data: Data) -> None:
    resp = client.get("/exports/clicks.csv")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    add_user(rt)
    login(client)
    resp = client.get("/exports/clicks.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="eventpromo-clicks-post-')
    assert resp.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert {int(r["post_id"]) for r in rows} == {
        data.p1.post_id,
        data.p2.post_id,
        data.p3.post_id,
        data.p4.post_id,
        data.p5.post_id,
    }
    assert all(not r["event_title"].startswith("=") for r in rows)
    day = client.get(f"/exports/clicks.csv?by=day&event={data.a}&from=2026-11-01&to=2026-11-30")
    assert [r[0] for r in csv.reader(io.StringIO(day.get_data(as_text=True)))][1:] == ["2026-11-01", "2026-11-02"]
    for bad in ("?by=week", "?event=abc", "?from=31/12/2026"):
        assert client.get("/exports/clicks.csv" + bad).status_code == 400
