"""[tracking]: defaults, paths relative to the file, one clear line per bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import config as config_mod
from service.errors import ConfigError
from service.tracking import spool_dir

BASE = """
[[calendars]]
name = "main"
ics = "cal.ics"

[[channels]]
name = "x"
kind = "outbox"
"""


def load(tmp_path: Path, tracking: str) -> config_mod.Config:
    (tmp_path / "campaign_templates").mkdir(exist_ok=True)
    (tmp_path / "cal.ics").write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    path = tmp_path / "eventpromo.toml"
    path.write_text(BASE + "\n[tracking]\n" + tracking)
    return config_mod.load(path, environ={})


def test_defaults(tmp_path: Path) -> None:
    cfg = load(tmp_path, "")
    t = cfg.tracking
    assert (t.suspect_clicks_per_minute, t.recorder, t.fsync, t.proxy_hops) == (10, "spool", "batch", 0)
    assert t.flush_seconds == 0.5 and t.link_cache_seconds == 1.0 and t.bot_agents is None
    assert spool_dir(cfg) == cfg.instance_dir / "clicks"


def test_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "bots.txt").write_text("^acme/\n")
    cfg = load(tmp_path, 'spool_dir = "var/clicks"\nbot_agents = "bots.txt"\nrecorder = "direct"\nfsync = "click"\n')
    assert spool_dir(cfg) == tmp_path / "var" / "clicks"
    assert cfg.tracking.bot_agents == tmp_path / "bots.txt"
    assert cfg.tracking.recorder == "direct" and cfg.tracking.fsync == "click"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("suspect_clicks_per_minute = 0", "tracking.suspect_clicks_per_minute: must be at least 1"),
        ('recorder = "memory"', "tracking.recorder: expected one of spool, direct, got 'memory'"),
        ("flush_seconds = 60", "tracking.flush_seconds: must be between 0.05 and 10"),
        ('fsync = "never"', "tracking.fsync: expected one of batch, click"),
        ("proxy_hops = -1", "tracking.proxy_hops: must be between 0 and 10"),
        ("proxy_hops = true", "tracking.proxy_hops: expected a number, got True"),
        ('bot_agents = "missing.txt"', "tracking.bot_agents: file"),
        ("link_cache_seconds = 1000", "tracking.link_cache_seconds: must be between 0 and 300"),
        ("colour = 1", "tracking.colour: unknown key"),
    ],
)
def test_bad_keys_name_file_and_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, body + "\n")
    assert str(err.value).startswith("eventpromo.toml: ") and message in str(err.value)
    assert "\n" not in str(err.value)
