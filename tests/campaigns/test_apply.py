"""Planning against the database (SQLite and PostgreSQL): sync -> campaigns -> posts, and every re-planning case."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from service import jobs
from service.campaigns import apply as apply_mod
from service.campaigns.apply import CodePool, plan_event, plan_events
from service.campaigns.planner import BACK_ON, EVENT_CANCELLED, EVENT_REMOVED
from service.config import Config
from service.db import Database
from service.models import Campaign, Event, Post, PostStatus, TrackedLink
from service.runtime import Runtime
from service.tracking import BASE62, CODE_LENGTH, resolve
from tests.conftest import ConfigFactory
from tests.helpers import run_cli

NOW = datetime(2026, 11, 20, 19, 0, tzinfo=UTC)  # Fri Nov 20, noon in Phoenix
WEBINAR = {
    "uid": "webinar-1@example.org",
    "summary": "Living Well with MPN",
    "start": "20261209T173000",  # Wed Dec 9, 5:30 PM MST
    "end": "20261209T183000",
    "description": "An hour in plain words.\\n\\nRSVP: https://example.org/register/mpn\\nHashtags: #MPN\\n"
    "Campaign: webinar\\nSpeaker: Dr. Elena Marquez",
    "location": "Online (Zoom)",
}


def vevent(**kw: str) -> str:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{kw['uid']}",
        "DTSTAMP:20261101T000000Z",
        f"DTSTART;TZID=America/Phoenix:{kw['start']}",
        f"DTEND;TZID=America/Phoenix:{kw['end']}",
        f"SUMMARY:{kw['summary']}",
        f"DESCRIPTION:{kw.get('description', '')}",
        f"LOCATION:{kw.get('location', '')}",
        f"STATUS:{kw.get('status', 'CONFIRMED')}",
        "END:VEVENT",
    ]
    return "\r\n".join(lines)


def calendar(*events: dict[str, str]) -> str:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nX-WR-TIMEZONE:America/Phoenix\r\n"
    return head + "\r\n".join(vevent(**e) for e in events) + "\r\nEND:VCALENDAR\r\n"


class World:
    """A config with one ICS calendar we rewrite between syncs, two channels, and its runtime."""

    def __init__(self, make_config: ConfigFactory, tmp_path: Path, extra: str = "", templates: str | None = None):
        self.ics = tmp_path / "cal.ics"
        self.ics.write_text(calendar(WEBINAR))
        channels = '[[channels]]\nname = "x"\nkind = "outbox"\nnetwork = "x"\n\n'
        channels += '[[channels]]\nname = "masto"\nkind = "outbox"\nnetwork = "mastodon"\n'
        calendars = (
            f'[[calendars]]\nname = "cal"\nics = "{self.ics}"\ntemplate = "webinar"\nchannels = ["x", "masto"]\n'
        )
        top = {"templates": templates} if templates else {}
        self.cfg: Config = make_config(
            calendars=calendars, channels=channels, extra=extra, base_url="https://go.example.org", **top
        )
        self.rt = Runtime(cfg=self.cfg, db=Database(self.cfg.database_url))

    def write(self, *events: dict[str, str]) -> None:
        self.ics.write_text(calendar(*events))

    def sync(self, now: datetime = NOW) -> None:
        reports = jobs.sync_calendars(self.rt, now)
        assert all(r.error is None for r in reports), reports

    def session(self) -> Session:
        return Session(self.rt.db.engine, expire_on_commit=False)

    def posts(self, uid: str = WEBINAR["uid"]) -> dict[tuple[str, str], Post]:
        with self.session() as s:
            event = s.exec(select(Event).where(Event.uid == uid).order_by(col(Event.id))).first()
            assert event is not None
            return {(p.step, p.channel): p for p in s.exec(select(Post).where(Post.event_id == event.id))}

    def codes(self) -> dict[int, str]:
        with self.session() as s:
            return dict(s.exec(select(TrackedLink.post_id, TrackedLink.code)).all())  # type: ignore[arg-type]

    def snapshot(self) -> list[tuple[Any, ...]]:
        with self.session() as s:
            posts = [
                (p.id, p.step, p.channel, p.status, p.scheduled_at, p.due_at, p.text, p.updated_at, p.hold_kind)
                for p in s.exec(select(Post).order_by(col(Post.id)))
            ]
            campaigns = [(c.id, c.updated_at, c.error) for c in s.exec(select(Campaign).order_by(col(Campaign.id)))]
        return posts + campaigns  # type: ignore[operator]

    def move(self, start: datetime, hours: float = 1.0, now: datetime = NOW + timedelta(hours=1)) -> None:
        """The calendar moved the webinar: its row changes and it is planned again (what sync does)."""
        with self.rt.db.session(write=True) as s:
            event = s.exec(select(Event).where(Event.uid == WEBINAR["uid"])).one()
            event.start_at, event.end_at = start, start + timedelta(hours=hours)
            plan_event(s, self.cfg, self.rt.templates(s), event, "cal", now)

    def set_status(self, key: tuple[str, str], status: str, uid: str = WEBINAR["uid"]) -> None:
        post = self.posts(uid)[key]
        with self.rt.db.session(write=True) as s:
            s.execute(update(Post).where(col(Post.id) == post.id).values(status=status))


@pytest.fixture
def world(make_config: ConfigFactory, tmp_path: Path) -> Iterator[World]:
    w = World(make_config, tmp_path)
    yield w
    w.rt.db.dispose()


def test_sync_plans_every_step_with_a_tracked_link(world: World) -> None:
    world.sync()
    posts = world.posts()
    assert sorted(k for k in posts if k[1] == "x") == [
        ("day-before", "x"), ("live", "x"), ("one-week", "x"), ("two-hours", "x"), ("two-weeks", "x"),
    ]  # fmt: skip
    codes = world.codes()
    for post in posts.values():
        assert post.status == PostStatus.SCHEDULED and post.planned_at is not None
        code = codes[post.id]  # type: ignore[index]
        assert len(code) == CODE_LENGTH and set(code) <= set(BASE62)
        assert f"https://go.example.org/r/{code}" in post.text and post.rendered_text == post.text
    assert len(set(codes.values())) == len(codes)
    with world.session() as s:
        campaign = s.exec(select(Campaign)).one()
        assert campaign.template == "webinar" and campaign.error is None
        assert (
            campaign.planned_start == datetime(2026, 12, 10, 0, 30, tzinfo=UTC)
            and campaign.planned_status == "confirmed"
        )


def test_a_resync_with_nothing_changed_writes_nothing(world: World) -> None:
    world.sync()
    before, codes = world.snapshot(), world.codes()
    world.sync(NOW + timedelta(hours=1))
    with world.session() as s:  # even a forced re-plan of every event writes nothing
        events = list(s.exec(select(Event)))
        outcomes = plan_events(s, world.cfg, world.rt.templates(s), events, NOW + timedelta(hours=2))
        s.commit()
    assert all(o.created == o.updated == o.cancelled == 0 for o in outcomes.values())
    assert world.snapshot() == before and world.codes() == codes


def test_a_moved_event_moves_and_rewords_posts_keeping_codes_edits_and_moves(world: World) -> None:
    world.sync()
    posts = world.posts()
    codes = world.codes()
    moved_to = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)
    with world.rt.db.session(write=True) as s:
        s.execute(
            update(Post)
            .where(col(Post.id) == posts[("day-before", "x")].id)
            .values(text="See you Wednesday at 5:30 PM, bring your questions!", edited=True)
        )
        s.execute(
            update(Post)
            .where(col(Post.id) == posts[("one-week", "x")].id)
            .values(text="One week until our MPN webinar.", edited=True)
        )
        s.execute(
            update(Post)
            .where(col(Post.id) == posts[("two-weeks", "masto")].id)
            .values(scheduled_at=moved_to, due_at=moved_to, moved=True)
        )
    world.move(datetime(2026, 12, 11, 1, 0, tzinfo=UTC))  # Thu Dec 10, 6 PM
    after = world.posts()
    assert world.codes() == codes
    assert after[("two-hours", "x")].scheduled_at == datetime(2026, 12, 10, 23, 0, tzinfo=UTC)
    assert "Thu, Dec 10" in after[("two-hours", "x")].text and "6 PM MST" in after[("two-hours", "x")].text
    assert after[("live", "x")].scheduled_at == datetime(2026, 12, 11, 1, 0, tzinfo=UTC)
    one_week = after[("one-week", "x")]
    assert one_week.text == "One week until our MPN webinar." and one_week.status == PostStatus.SCHEDULED
    assert "Thursday, December 10" in one_week.rendered_text
    assert one_week.scheduled_at == datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    day_before = after[("day-before", "x")]
    assert day_before.text.startswith("See you Wednesday") and day_before.status == PostStatus.HELD
    assert day_before.hold_kind == "review" and "Wed, Dec 9, 5:30 PM MST" in (day_before.hold_reason or "")
    assert after[("two-weeks", "masto")].scheduled_at == moved_to
    with world.session() as s:
        assert s.exec(select(Campaign)).one().planned_start == datetime(2026, 12, 11, 1, 0, tzinfo=UTC)


def test_a_cancelled_event_cancels_and_announces_only_if_announced_then_comes_back(world: World) -> None:
    world.sync()
    world.write({**WEBINAR, "status": "CANCELLED"})
    world.sync(NOW + timedelta(hours=1))
    posts = world.posts()
    assert {p.status for p in posts.values()} == {PostStatus.CANCELLED}
    assert {p.skip_reason for p in posts.values()} == {EVENT_CANCELLED}
    assert ("cancelled", "x") not in posts  # nothing had gone out: no notice

    world.write(WEBINAR)  # back on
    world.sync(NOW + timedelta(hours=2))
    posts = world.posts()
    assert {p.status for p in posts.values()} == {PostStatus.SCHEDULED}
    # Once the two-weeks post went out on x, cancelling posts a notice there, and only there.
    world.set_status(("two-weeks", "x"), PostStatus.PUBLISHED)
    world.write({**WEBINAR, "status": "CANCELLED"})
    later = datetime(2026, 11, 26, 19, 0, tzinfo=UTC)
    world.sync(later)
    posts = world.posts()
    notice = posts[("cancelled", "x")]
    assert notice.status == PostStatus.SCHEDULED and notice.scheduled_at == later
    assert notice.text.startswith("Update: Living Well with MPN on Wed, Dec 9 has been cancelled.")
    assert ("cancelled", "masto") not in posts and posts[("two-weeks", "x")].status == PostStatus.PUBLISHED
    world.write(WEBINAR)
    world.sync(later + timedelta(minutes=10))
    posts = world.posts()
    assert posts[("cancelled", "x")].status == PostStatus.CANCELLED and posts[("cancelled", "x")].skip_reason == BACK_ON
    assert posts[("one-week", "x")].status == PostStatus.SCHEDULED


def test_an_event_removed_from_the_calendar_and_put_back(world: World) -> None:
    other = {**WEBINAR, "uid": "other@example.org", "summary": "Nutrition During Treatment",
             "start": "20261215T120000", "end": "20261215T130000"}  # fmt: skip
    world.write(WEBINAR, other)
    world.sync()
    world.write(other)
    world.sync(NOW + timedelta(hours=1))
    assert {p.skip_reason for p in world.posts().values()} == {EVENT_REMOVED}
    world.write(WEBINAR, other)
    world.sync(NOW + timedelta(hours=2))
    assert {p.status for p in world.posts().values()} == {PostStatus.SCHEDULED}


def test_tentative_events_hold_their_posts_until_confirmed(world: World) -> None:
    world.write({**WEBINAR, "status": "TENTATIVE"})
    world.sync()
    assert {(p.status, p.hold_kind) for p in world.posts().values()} == {(PostStatus.HELD, "tentative")}
    world.write(WEBINAR)
    world.sync(NOW + timedelta(hours=1))
    assert {(p.status, p.hold_kind) for p in world.posts().values()} == {(PostStatus.SCHEDULED, None)}


def test_a_recording_added_after_the_event_gets_its_step_linking_to_the_recording(world: World) -> None:
    world.sync()
    with_recording = {**WEBINAR, "description": WEBINAR["description"] + "\\nRecording: https://example.org/rec/mpn"}
    world.write(with_recording)
    after_event = datetime(2026, 12, 11, 20, 0, tzinfo=UTC)  # Fri Dec 11, 1 PM: the step's own time has passed
    world.sync(after_event)
    rec = world.posts()[("recording", "x")]
    assert rec.status == PostStatus.SCHEDULED and rec.link_kind == "recording"
    assert rec.scheduled_at == after_event
    code = world.codes()[rec.id]  # type: ignore[index]
    with world.session() as s:
        target = resolve(s, code)
    assert target is not None and target.target.startswith("https://example.org/rec/mpn?")
    assert "utm_content=recording" in target.target


def test_a_broken_template_set_flags_its_events_and_the_others_proceed(
    make_config: ConfigFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    for name in ("webinar", "seminar"):
        (folder / f"{name}.toml").write_text(
            (Path(__file__).parents[2] / "campaign_templates" / f"{name}.toml").read_text()
        )
    (folder / "broken.toml").write_text(
        'name = "broken"\n\n[[steps]]\nkey = "a"\noffset = "-1d"\ntext = "{{ titel }}"\n'
    )
    w = World(make_config, tmp_path, templates=str(folder))
    broken = {**WEBINAR, "uid": "b@example.org", "description": "RSVP: https://example.org/r\\nCampaign: broken"}
    w.write(WEBINAR, broken)
    w.sync()
    with w.session() as s:
        errors = {
            e.uid: c.error
            for e, c in s.exec(select(Event, Campaign).join(Campaign, col(Campaign.event_id) == col(Event.id)))
        }
    assert errors[WEBINAR["uid"]] is None
    assert errors["b@example.org"] == "broken.toml:6: step a: unknown variable 'titel' (did you mean 'title'?)"
    assert w.posts("b@example.org") == {} and len(w.posts()) == 10
    w.rt.db.dispose()


def test_content_guard_and_required_approval(make_config: ConfigFactory, tmp_path: Path) -> None:
    w = World(make_config, tmp_path, extra='[policy]\nallowed_domains = ["example.org"]\nrequire_approval = true\n')
    w.write(WEBINAR, {**WEBINAR, "uid": "ssn@example.org", "summary": "Session for 123-45-6789"})
    w.sync()
    assert {(p.status, p.hold_kind) for p in w.posts().values()} == {(PostStatus.HELD, "approval")}
    held = w.posts("ssn@example.org")
    assert {p.hold_kind for p in held.values()} == {"policy"}
    assert all("content guard:" in (p.hold_reason or "") for p in held.values())
    w.rt.db.dispose()


def test_batch_planning_matches_one_by_one(make_config: ConfigFactory, tmp_path: Path) -> None:
    events = [
        {**WEBINAR, "uid": f"e{i}@example.org", "summary": f"Session {i}", "start": f"202612{10 + i % 3:02d}T173000",
         "end": f"202612{10 + i % 3:02d}T183000"}
        for i in range(6)
    ]  # fmt: skip
    results = []
    for batch in (True, False):
        folder = tmp_path / str(batch)
        folder.mkdir()
        w = World(make_config, folder)
        w.write(*events)
        w.sync()
        with w.rt.db.session(write=True) as s:  # forget the campaigns the sync planned; plan them again
            s.execute(delete(TrackedLink))
            s.execute(delete(Post))
            s.execute(delete(Campaign))
        with w.rt.db.session(write=True) as s:
            rows = list(s.exec(select(Event).order_by(col(Event.uid))))
            pool = _Seq()
            templates = w.rt.templates(s)
            if batch:
                _with_codes(pool, partial(plan_events, s, w.cfg, templates, rows, NOW, "cal"))
            else:
                for e in rows:
                    _with_codes(pool, partial(plan_event, s, w.cfg, templates, e, "cal", NOW))
        with w.session() as s:
            results.append(sorted(
                (e.uid, p.step, p.channel, p.scheduled_at, p.status, re.sub(r"/r/\w+", "/r/CODE", p.text))
                for p, e in s.exec(select(Post, Event).join(Event, col(Event.id) == col(Post.event_id)))
            ))  # fmt: skip
        w.rt.db.dispose()
    assert results[0] == results[1] and len(results[0]) == 6 * 10


class _Seq:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.n:010d}"


def _with_codes(pool: _Seq, fn: Any) -> Any:
    original = apply_mod.CodePool
    apply_mod.CodePool = lambda: pool  # type: ignore[assignment,misc,return-value]
    try:
        return fn()
    finally:
        apply_mod.CodePool = original  # type: ignore[misc]


def test_a_post_claimed_by_a_worker_meanwhile_is_not_overwritten(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.sync()
    target = world.posts()[("one-week", "x")]
    original = apply_mod._Batch._write

    def claim_then_write(self: Any, inserts: Any, codes: Any, updates: Any) -> None:
        self.session.execute(update(Post).where(col(Post.id) == target.id).values(status=PostStatus.PUBLISHING))
        original(self, inserts, codes, updates)

    monkeypatch.setattr(apply_mod._Batch, "_write", claim_then_write)
    world.move(datetime(2026, 12, 11, 1, 0, tzinfo=UTC))
    after = world.posts()
    assert after[("one-week", "x")].status == PostStatus.PUBLISHING
    assert after[("one-week", "x")].text == target.text and after[("one-week", "x")].scheduled_at == target.scheduled_at
    assert after[("two-weeks", "x")].scheduled_at != world.posts()[("one-week", "x")].scheduled_at


def test_code_pool_draws_codes_like_mint_code() -> None:
    pool = CodePool(batch=64)
    codes = [pool() for _ in range(1000)]
    assert len(set(codes)) == 1000
    assert all(len(c) == CODE_LENGTH and set(c) <= set(BASE62) for c in codes)
    counts = {ch: sum(c.count(ch) for c in codes) for ch in BASE62}
    assert min(counts.values()) > 80 and max(counts.values()) < 250  # about 161 each: no character is favoured


def test_cli_preview_of_a_stored_event(world: World) -> None:
    world.sync()
    with world.session() as s:
        event_id = s.exec(select(Event.id)).one()
    out = run_cli(
        str(world.cfg.path), "campaigns", "preview", "--event", str(event_id), "--now", NOW.isoformat(), "--json"
    )
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    stored = world.posts()
    codes = world.codes()
    assert {(r["step"], r["channel"]) for r in rows} == set(stored)
    for r in rows:
        post = stored[(r["step"], r["channel"])]
        assert r["text"] == post.text and r["status"] == "scheduled"
        assert codes[post.id] in r["text"]  # type: ignore[index]
        assert r["local_time"].endswith("-07:00") and r["zone"] == "MST" and r["length"] <= r["limit"]
    table = run_cli(str(world.cfg.path), "campaigns", "preview", "--event", str(event_id), "--now", NOW.isoformat())
    assert "2026-12-09 17:30 MST" in table.stdout and "mastodon" in table.stdout
    missing = run_cli(str(world.cfg.path), "campaigns", "preview", "--event", "999999")
    assert missing.exit_code == 1 and "event 999999 does not exist" in missing.stderr


def test_an_edited_or_fixed_template_set_replans_its_events_at_the_next_sync(
    make_config: ConfigFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    webinar = (Path(__file__).parents[2] / "campaign_templates" / "webinar.toml").read_text()
    (folder / "webinar.toml").write_text(webinar.replace("One week to go:", "One week to go {{ titel }}:"))
    w = World(make_config, tmp_path, templates=str(folder))
    w.sync()
    assert w.posts() == {}
    with w.session() as s:
        assert "unknown variable 'titel'" in (s.exec(select(Campaign)).one().error or "")
    (folder / "webinar.toml").write_text(webinar)  # fixed
    w.sync(NOW + timedelta(minutes=5))
    posts = w.posts()
    assert len(posts) == 10 and posts[("one-week", "x")].text.startswith("One week to go:")
    codes = w.codes()
    (folder / "webinar.toml").write_text(webinar.replace("One week to go:", "Just one week to go:"))  # edited
    w.sync(NOW + timedelta(minutes=10))
    posts = w.posts()
    assert posts[("one-week", "x")].text.startswith("Just one week to go:") and w.codes() == codes
    before = w.snapshot()
    w.sync(NOW + timedelta(minutes=15))
    assert w.snapshot() == before
    w.rt.db.dispose()


def test_one_events_bad_data_does_not_stop_the_others(world: World) -> None:
    world.write(WEBINAR, {**WEBINAR, "uid": "other@example.org", "summary": "Other"})
    world.sync()
    with world.rt.db.session(write=True) as s:
        s.execute(delete(TrackedLink))
        s.execute(delete(Post))
        s.execute(update(Event).where(col(Event.uid) == "other@example.org").values(timezone="Mars/Olympus_Mons"))
    with world.rt.db.session(write=True) as s:
        events = list(s.exec(select(Event)))
        outcomes = plan_events(s, world.cfg, world.rt.templates(s), events, NOW, "cal")
    by_uid = {e.uid: outcomes[e.id] for e in events if e.id is not None}
    assert by_uid[WEBINAR["uid"]].created == 10 and by_uid[WEBINAR["uid"]].error is None
    assert "could not plan 'Other'" in (by_uid["other@example.org"].error or "")
    with world.session() as s:
        errors = {
            e.uid: c.error
            for e, c in s.exec(select(Event, Campaign).join(Campaign, col(Campaign.event_id) == col(Event.id)))
        }
    assert errors[WEBINAR["uid"]] is None and "Mars/Olympus_Mons" in (errors["other@example.org"] or "")


def test_a_code_already_taken_is_replaced_in_the_link_and_the_text(world: World) -> None:
    world.sync()
    taken = sorted(world.codes().values())[0]
    other = {
        **WEBINAR,
        "uid": "other@example.org",
        "summary": "Other",
        "start": "20261215T120000",
        "end": "20261215T130000",
    }
    world.write(WEBINAR, other)
    pool = iter([taken] + [f"Z{i:09d}" for i in range(100)])
    original = apply_mod.CodePool
    apply_mod.CodePool = lambda: lambda: next(pool)  # type: ignore[assignment,misc,return-value]
    try:
        world.sync(NOW + timedelta(minutes=5))
    finally:
        apply_mod.CodePool = original  # type: ignore[misc]
    posts = world.posts("other@example.org")
    codes = world.codes()
    assert len(posts) == 10 and len(set(codes.values())) == len(codes) == 20
    for post in posts.values():
        code = codes[post.id]  # type: ignore[index]
        assert code != taken and f"/r/{code}" in post.text and f"/r/{code}" in post.rendered_text
