"""Helpers shared by the benchmark scripts: timing, peak memory, ratio lines."""

from __future__ import annotations

import gc
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

T = TypeVar("T")


def timed(fn: Callable[[], T], repeat: int = 1) -> tuple[float, T]:
    """The best (lowest) wall time of `repeat` runs of fn, and its last result."""
    best = float("inf")
    result: T | None = None
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None or repeat > 0
    return best, result  # type: ignore[return-value]


def median_time(fn: Callable[[], object], repeat: int = 5) -> float:
    """The median wall time of `repeat` runs."""
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(name: str, measured: float, baseline: float, goal: str) -> None:
    """Print one ratio line: `name: 1.42x baseline (goal: <= 2x); measured 3.1 s, baseline 2.2 s`."""
    ratio = measured / baseline if baseline else float("inf")
    print(f"{name}: {ratio:.2f}x baseline (goal: {goal}); measured {measured:.3f} s, baseline {baseline:.3f} s")
