"""Config loading: defaults, env: secrets, overrides, and one clear line per bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from service import config as config_mod
from service.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "campaign_templates").mkdir(exist_ok=True)
    (tmp_path / "cal.ics").write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    p = tmp_path / "eventpromo.toml"
    p.write_text(body)
    return p


BASE = """
[[calendars]]
name = "main"
ics = "cal.ics"

[[channels]]
name = "x"
kind = "outbox"
"""


def test_shipped_config_loads_as_is() -> None:
    cfg = config_mod.load(ROOT / "eventpromo.toml", environ={})
    assert cfg.calendars[0].name == "oncology-events"
    assert cfg.calendars[0].kind == "ics_file"
    assert Path(cfg.calendars[0].ics or "").is_file()
    assert cfg.channels[0].kind == "outbox" and cfg.channels[0].network == "x"
    assert cfg.database_url.startswith("sqlite:////")  # made absolute, relative to the file
    assert cfg.policy.allowed_domains == ("example.org",)


def test_relative_paths_follow_the_config_file(tmp_path: Path) -> None:
    cfg = config_mod.load(write(tmp_path, BASE), environ={})
    assert cfg.calendars[0].ics == str(tmp_path / "cal.ics")
    assert cfg.templates_dir == tmp_path / "campaign_templates"
    assert cfg.database_url == f"sqlite:///{tmp_path / 'instance' / 'eventpromo.db'}"


def test_env_secrets_and_overrides(tmp_path: Path) -> None:
    body = BASE + '\n[[channels]]\nname = "hook"\nkind = "webhook"\nurl = "env:HOOK_URL"\n'
    env = {
        "HOOK_URL": "https://chat.example.org/hook",
        "EVENTPROMO_BASE_URL": "https://go.example.org/",
        "EVENTPROMO_DATABASE_URL": "postgresql://u@db/x",
        "EVENTPROMO_SECRET_KEY": "s3cret",
    }
    cfg = config_mod.load(write(tmp_path, body), environ=env)
    assert cfg.channel("hook").options["url"] == "https://chat.example.org/hook"
    assert cfg.base_url == "https://go.example.org"
    assert cfg.database_url == "postgresql+psycopg://u@db/x"
    assert cfg.secret_key == "s3cret"


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    first = config_mod.load(path, environ={}).secret_key
    assert len(first) > 40
    assert config_mod.load(path, environ={}).secret_key == first


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (BASE.replace('kind = "outbox"', 'kind = "myspace"'), "channels[0].kind: unknown channel kind 'myspace'"),
        (BASE.replace('ics = "cal.ics"', ""), "calendars[0] (main).ics: a calendar needs either `ics`"),
        (BASE.replace('ics = "cal.ics"', 'ics = "missing.ics"'), "calendars[0] (main).ics: file"),
        (
            BASE + '\n[[channels]]\nname = "hook"\nkind = "webhook"\nurl = "env:NOPE_UNSET"\n',
            "channels[1].url: environment variable NOPE_UNSET is not set",
        ),
        ('timezone = "Mars/Olympus"\n' + BASE, "timezone: unknown time zone 'Mars/Olympus'"),
        ("horizon_dayz = 3\n" + BASE, "horizon_dayz: unknown key"),
        (BASE.replace('channels]]\nname = "x"', 'channels]]\nname = "X Bad"'), "channels[0].name: use lowercase"),
        (BASE + '\n[planning]\nwindow_start = "21:00"\n', "planning.window_end: must be later"),
        ("this is = not toml", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_mod.load(write(tmp_path, body), environ={})
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("eventpromo.toml: ")
    assert expected in message


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        config_mod.load(tmp_path / "nope.toml", environ={})


def test_every_config_kind_has_a_channel_implementation_or_a_clear_error() -> None:
    from service.channels import FACTORIES

    assert set(FACTORIES) <= set(config_mod.CHANNEL_KINDS)
