"""`eventpromo policy check`: stdin in, a verdict per line out; --json, --network, --null; exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli
from tests.policy.corpus import write_config

TEXTS = [
    "Save the date: Living Well with MPN, Thu, Dec 10. Register: http://127.0.0.1:8000/r/AbCdEfGh12",
    "Questions? Call Linda at 602-555-0199.",
    "Register on Eventbrite: https://www.eventbrite.com/e/123",
    "",
    "Our patient Maria rang the bell today!",
]


@pytest.fixture
def cfg_path(tmp_path: Path) -> str:
    return str(write_config(tmp_path))


def test_text_output_one_verdict_per_input_line(cfg_path: str) -> None:
    out = run_cli(cfg_path, "policy", "check", input="\n".join(TEXTS) + "\n")
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines() == [
        "ok",
        "hold\tphone number 602-555-0199 is not one of the organisation's",
        "warn\tlink to www.eventbrite.com is outside the organisation's domains",
        "ok",
        "hold\tmay name a patient: 'Our patient Maria'",
    ]


def test_json_output_in_input_order(cfg_path: str) -> None:
    out = run_cli(cfg_path, "policy", "check", "--json", input="\r\n".join(TEXTS))
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert [d["text"] for d in data] == TEXTS
    assert [d["verdict"] for d in data] == ["ok", "hold", "warn", "ok", "hold"]
    assert all(set(d) == {"text", "verdict", "reasons"} for d in data)
    assert data[0]["reasons"] == [] and data[1]["reasons"] == [
        "phone number 602-555-0199 is not one of the organisation's"
    ]


def test_empty_input(cfg_path: str) -> None:
    assert run_cli(cfg_path, "policy", "check", input="").stdout == ""
    assert json.loads(run_cli(cfg_path, "policy", "check", "--json", input="").stdout) == []


def test_network_applies_its_length_rules(cfg_path: str) -> None:
    long_text = "Join our free survivorship webinar this Thursday evening. " * 6  # 348 characters
    lines = f"{long_text}\nShort and sweet.\n"
    out = run_cli(cfg_path, "policy", "check", "--network", "x", "--json", input=lines)
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data[0]["verdict"] == "hold" and data[0]["reasons"] == ["too long for x: 348/280 characters"]
    assert data[1]["verdict"] == "ok"
    # Mastodon allows 500; without --network no length rule applies.
    assert (
        json.loads(run_cli(cfg_path, "policy", "check", "--network", "mastodon", "--json", input=lines).stdout)[0][
            "verdict"
        ]
        == "ok"
    )
    assert json.loads(run_cli(cfg_path, "policy", "check", "--json", input=lines).stdout)[0]["verdict"] == "ok"


def test_network_may_name_a_configured_channel(cfg_path: str) -> None:
    out = run_cli(cfg_path, "policy", "check", "--network", "team-chat", input="x" * 300 + "\n")
    assert out.exit_code == 0 and out.stdout == "ok\n"  # a webhook channel: 4000 characters
    out = run_cli(cfg_path, "policy", "check", "--network", "x", input="x" * 300 + "\n")
    assert out.stdout == "hold\ttoo long for x: 300/280 characters\n"


def test_unknown_network_is_a_usage_error(cfg_path: str) -> None:
    out = run_cli(cfg_path, "policy", "check", "--network", "myspace", input="hello\n")
    assert out.exit_code == 2
    assert "unknown network 'myspace'" in out.stderr and "--network" in out.stderr
    assert out.stdout == ""


def test_broken_config_fails_with_one_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[policy]\nallowed_phones = ["call us"]\n')
    out = run_cli(str(path), "policy", "check", input="hello\n")
    assert out.exit_code == 1
    assert out.stderr.startswith("eventpromo: eventpromo.toml: policy.allowed_phones[0]: not a phone number")
    assert out.stderr.count("\n") == 1


def test_null_separated_texts_keep_their_lines(cfg_path: str) -> None:
    posts = [
        "Tomorrow at 5:30 PM: MPN webinar.\nRegister: https://example.org/r\n#MPN",
        "Call 602-555-0199\nor email us",
    ]
    out = run_cli(cfg_path, "policy", "check", "--null", "--json", input="\0".join(posts) + "\0")
    data = json.loads(out.stdout)
    assert [d["text"] for d in data] == posts
    assert [d["verdict"] for d in data] == ["ok", "hold"]


def test_no_database_is_opened(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    run_cli(str(path), "policy", "check", input="hello\n")
    assert not (tmp_path / "db").exists()


def test_real_process_reads_utf8_stdin(tmp_path: Path) -> None:
    """The installed entry point, a pipe, and non-ASCII text (what a shell user does)."""
    path = write_config(tmp_path)
    env = {**os.environ, "EVENTPROMO_CONFIG": str(path), "PYTHONIOENCODING": "utf-8"}
    exe = Path(sys.executable).parent / "eventpromo"
    proc = subprocess.run(
        [str(exe), "policy", "check"],
        input="Nuestra paciente Carmen nos cuenta su historia.\nMañana: charla en español 🎗️\n".encode(),
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.decode("utf-8").splitlines()
    assert lines == ["hold\tmay name a patient: 'Nuestra paciente Carmen'", "ok"]
