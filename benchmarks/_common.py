"""Helpers shared by the benchmarks: a sandboxed Airflow home, repeated timing, medians.

Benchmarks are scripts, not tests: ``bash scripts/bench.sh`` (or ``make bench``) runs every
``benchmarks/bench_*.py`` and each prints its own numbers.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def airflow_sandbox() -> Path:
    """Point Airflow at a throwaway home (before anything imports airflow) and return it."""
    home = Path(tempfile.mkdtemp(prefix="alignment-bench-home-"))
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{home / 'airflow.db'}"
    os.environ.pop("AIRFLOW__ALIGNMENT__ARTIFACT_STORE", None)
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "ERROR"  # task logs would drown the numbers
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    return home


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def interleaved(
    candidates: dict[str, Callable[[], Any]], repeats: int, warmup: int = 1, cpu: dict[str, list[float]] | None = None
) -> dict[str, list[float]]:
    """Time each candidate ``repeats`` times, interleaved (a, b, a, b, ...) so that drift in the
    machine's load hits every candidate alike; ``warmup`` untimed rounds first. Returns wall
    times; when ``cpu`` is given, the CPU times of this process (all its threads) go there:
    they hardly move when other processes compete for the cores."""
    for _ in range(warmup):
        for fn in candidates.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for name in candidates:
        if cpu is not None:
            cpu[name] = []
    for _ in range(repeats):
        for name, fn in candidates.items():
            c0 = time.process_time()
            times[name].append(timed(fn)[0])
            if cpu is not None:
                cpu[name].append(time.process_time() - c0)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def fmt_times(values: Sequence[float], unit: float = 1.0, digits: int = 3) -> str:
    return ", ".join(f"{v / unit:.{digits}f}" for v in values)


def verdict(ratio: float, goal: float) -> str:
    return f"{ratio:.3f}x (goal <= {goal:.2f}x: {'met' if ratio <= goal else 'MISSED'})"
