"""Run `eventpromo` as real processes (for crash, signal and many-worker tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY = "from service.cli import main; main()"


def env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without any fault, plus `extra`."""
    out = {k: v for k, v in os.environ.items() if k != "EVENTPROMO_TEST_FAULT"}
    out["PYTHONPATH"] = str(ROOT)
    out.update(extra or {})
    return out


def run(
    config: Path | str, *args: str, extra_env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`eventpromo --config CONFIG ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-c", ENTRY, "--config", str(config), *args],
        env=env(extra_env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(config: Path | str, *args: str, extra_env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """`eventpromo --config CONFIG ARGS` in the background."""
    return subprocess.Popen(
        [sys.executable, "-c", ENTRY, "--config", str(config), *args],
        env=env(extra_env),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
