"""`eventpromo templates check` and `eventpromo campaigns preview --ics` (no database needed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from service import config as config_mod
from service.campaigns.checks import preview_set, validate_set_source
from tests.campaigns.conftest import X, event
from tests.campaigns.test_apply import WEBINAR, calendar
from tests.conftest import BUNDLED_ICS, TEMPLATES
from tests.helpers import run_cli


def write_config(tmp: Path, templates: Path = TEMPLATES, database: str | None = None) -> Path:
    """A config whose database cannot be reached: commands that need none must not try."""
    db = database or "postgresql+psycopg://nobody@127.0.0.1:1/none"
    path = tmp / "eventpromo.toml"
    path.write_text(
        f'database_url = "{db}"\nbase_url = "https://go.example.org"\ntemplates = "{templates}"\n'
        f'instance_dir = "{tmp / "instance"}"\nsecret_key = "k"\n'
        f'[[calendars]]\nname = "cal"\nics = "{BUNDLED_ICS}"\n'
        '[[channels]]\nname = "x"\nkind = "outbox"\nnetwork = "x"\n'
        '[[channels]]\nname = "masto"\nkind = "outbox"\nnetwork = "mastodon"\n'
    )
    return path


def test_templates_check_passes_on_the_bundled_sets(tmp_path: Path) -> None:
    out = run_cli(str(write_config(tmp_path)), "templates", "check")
    assert out.exit_code == 0, out.output
    assert out.stdout.strip() == "4 template sets OK: screening-day, seminar, support-group, webinar"


def test_templates_check_names_file_step_and_line_of_the_first_error(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(TEMPLATES, folder)
    source = (folder / "seminar.toml").read_text()
    (folder / "seminar.toml").write_text(source.replace("Bring your questions", "Bring your {{ questions }}"))
    line = next(
        i for i, t in enumerate((folder / "seminar.toml").read_text().splitlines(), 1) if "{{ questions }}" in t
    )
    out = run_cli(str(write_config(tmp_path, folder)), "templates", "check")
    assert out.exit_code == 1
    first = out.stderr.splitlines()[0]
    assert first == f"eventpromo: seminar.toml:{line}: step one-week: unknown variable 'questions'"


def test_templates_check_reports_texts_that_cannot_fit(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    body = "Join {{ title }} " + "with plenty of words that do not fit " * 8 + "{{ rsvp_link }}"
    (folder / "wordy.toml").write_text(f'[[steps]]\nkey = "wordy"\noffset = "-1d"\nat = "10:00"\ntext = "{body}"\n')
    out = run_cli(str(write_config(tmp_path, folder)), "templates", "check")
    assert out.exit_code == 1
    assert out.stderr.startswith("eventpromo: wordy.toml:5: step wordy: ")
    assert "characters on x for a long-titled sample event" in out.stderr


def test_preview_an_ics_file_without_a_database(tmp_path: Path) -> None:
    ics = tmp_path / "cal.ics"
    ics.write_text(calendar(WEBINAR, {**WEBINAR, "uid": "second@example.org", "summary": "Nutrition During Treatment"}))
    cfg = write_config(tmp_path)
    out = run_cli(str(cfg), "campaigns", "preview", "--ics", str(ics), "--template", "webinar",
                  "--now", "2026-11-20T12:00", "--json")  # fmt: skip
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert {r["title"] for r in rows} == {"Living Well with MPN", "Nutrition During Treatment"}
    assert {r["network"] for r in rows} == {"x", "mastodon"}
    first = [r for r in rows if r["title"] == "Nutrition During Treatment" and r["channel"] == "x"]
    assert [r["step"] for r in first] == ["two-weeks", "one-week", "day-before", "two-hours", "live"]
    assert first[0]["local_time"] == "2026-11-25T10:00:00-07:00" and first[0]["utc_time"] == "2026-11-25T17:00:00Z"
    assert all(r["length"] <= r["limit"] and r["status"] == "scheduled" for r in rows)
    # Both events start at the same time: the other one's posts keep the spacing (events in start, then UID order).
    second = [r for r in rows if r["title"] == "Living Well with MPN" and r["channel"] == "x"]
    assert second[0]["local_time"] == "2026-11-25T09:45:00-07:00"
    table = run_cli(
        str(cfg), "campaigns", "preview", "--ics", str(ics), "--template", "webinar", "--now", "2026-11-20T12:00"
    )
    assert table.exit_code == 0 and "2026-11-25 10:00 MST" in table.stdout and "length" in table.stdout.splitlines()[0]


def test_preview_usage_and_errors(tmp_path: Path) -> None:
    cfg = str(write_config(tmp_path))
    assert run_cli(cfg, "campaigns", "preview").exit_code == 2
    assert run_cli(cfg, "campaigns", "preview", "--ics", str(BUNDLED_ICS)).exit_code == 2
    out = run_cli(cfg, "campaigns", "preview", "--ics", str(BUNDLED_ICS), "--template", "nope")
    assert out.exit_code == 1 and "no template set named 'nope'" in out.stderr
    out = run_cli(cfg, "campaigns", "preview", "--ics", str(tmp_path / "missing.ics"), "--template", "webinar")
    assert out.exit_code == 1 and "missing.ics" in out.stderr


def test_web_helpers_validate_and_preview_edited_sets(tmp_path: Path) -> None:
    cfg = config_mod.load(write_config(tmp_path), environ={})
    good = (TEMPLATES / "webinar.toml").read_text()
    assert validate_set_source(good, "webinar", cfg.base_url) == []
    bad = good.replace("One week to go: {{ title }}", "One week to go: {{ title }", 1)
    problems = validate_set_source(bad, "webinar", cfg.base_url)
    assert len(problems) == 1
    line = next(i for i, t in enumerate(bad.splitlines(), 1) if t.startswith("One week to go: {{ title } "))
    assert (problems[0].file, problems[0].step, problems[0].line) == ("webinar.toml", "one-week", line)
    assert problems[0].as_dict()["line"] == line
    rows = preview_set(cfg, good, event(), [X], now=event().start.replace(month=11, day=20))
    assert [r["step"] for r in rows] == ["two-weeks", "one-week", "day-before", "two-hours", "live"]
    assert rows[0]["text"].startswith("Save the date: Living Well with MPN, Wed, Dec 9, 5:30 PM MST, online, with Dr.")
