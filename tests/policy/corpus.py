"""The content guard's test data and helpers: policies loaded through the real config reader, no database."""

from __future__ import annotations

import textwrap
import tomllib
from pathlib import Path
from typing import Any

from service import config as config_mod
from service.config import PolicyConfig

DATA = Path(__file__).resolve().parent.parent / "data" / "policy"
TEMPLATES = Path(__file__).resolve().parent.parent.parent / "campaign_templates"
OWN_HOSTS = ("127.0.0.1",)  # base_url http://127.0.0.1:8000 of the test configs
CORPUS_POLICY = (DATA / "policy.toml").read_text(encoding="utf-8")


def write_config(folder: Path, policy: str = CORPUS_POLICY, extra: str = "") -> Path:
    """An eventpromo.toml in `folder` with the bundled templates, an outbox channel and `policy`."""
    body = textwrap.dedent(f"""
        database_url = "sqlite:///{folder / "db" / "eventpromo.db"}"
        base_url = "http://127.0.0.1:8000"
        templates = "{TEMPLATES}"
        instance_dir = "{folder / "instance"}"
        secret_key = "test"

        [[channels]]
        name = "x"
        kind = "outbox"
        network = "x"

        [[channels]]
        name = "team-chat"
        kind = "webhook"
        url = "http://127.0.0.1:9/hook"
    """)
    path = folder / "eventpromo.toml"
    path.write_text(body + "\n" + textwrap.dedent(extra) + "\n" + textwrap.dedent(policy), encoding="utf-8")
    return path


def load_policy(folder: Path, policy: str) -> PolicyConfig:
    """The [policy] of a config with `policy` as its section, read by the real reader."""
    return config_mod.load(write_config(folder, policy), environ={}).policy


def toml_value(value: Any) -> str:
    """A string or a list of strings as TOML."""
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def ordinary_lines() -> list[str]:
    """The hand-written ordinary posts of tests/data/policy/ordinary.txt."""
    lines = (DATA / "ordinary.txt").read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("# ")]


def tricky_cases() -> list[dict[str, str]]:
    """The cases of tests/data/policy/tricky.toml."""
    cases: list[dict[str, str]] = tomllib.loads((DATA / "tricky.toml").read_text(encoding="utf-8"))["case"]
    return cases


def corpus_events() -> list[dict[str, str]]:
    """The realistic events of tests/data/policy/events.toml."""
    events: list[dict[str, str]] = tomllib.loads((DATA / "events.toml").read_text(encoding="utf-8"))["events"]
    return events
