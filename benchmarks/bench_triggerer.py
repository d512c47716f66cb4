"""Benchmark: the triggerer with 50 deferred alignment sensors waiting on files that never
arrive, against 50 of Airflow's own deferred FileSensors (FileTrigger) in the same run (not a test).

Run from the repository root::

    .venv/bin/python benchmarks/bench_triggerer.py [--measure 60] [--idle 30]

For each fleet a fresh ``airflow standalone`` (tests/e2e/conftest.py: SQLite, LocalExecutor
with 4 slots, loopback only) runs one DAG of ``tests/dags/triggerer_cases.py``: 50 mapped
``ExpectationsSensor(deferrable=True)`` (``triggerer_fleet_alignment``), or 50 mapped
``FileSensor(deferrable=True)`` (``triggerer_fleet_file``), each on its own missing file,
``poke_interval=5``. Each sensor looks once on a worker, then defers. A test-only trigger
(``tests/e2e/triggerer_probe.py``) reports from inside the triggerer's trigger process: its
RSS and CPU time, its parent's (the triggerer's supervisor), and which heavy libraries it has
imported. Measured:

- ``idle``: CPU rate of the trigger process with no sensor, over ``--idle`` seconds;
- ``RSS growth``: trigger process RSS with the 50 triggers running minus before the first;
- ``CPU``: its CPU rate over ``--measure`` seconds while the 50 wait, minus the idle rate
  (percent of one core); the same for the supervisor.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.dags.triggerer_cases import FLEET, FLEET_POKE_S
from tests.e2e.conftest import Airflow, standalone
from tests.e2e.test_triggerer import _connection, _probe, _ready, _trigger

FLEETS = {"alignment": "triggerer_fleet_alignment", "file": "triggerer_fleet_file"}
LABELS = {"alignment": "ExpectationsSensor (AlignmentSensorTrigger)", "file": "FileSensor (FileTrigger)"}
DEFER_TIMEOUT_S = 600


def _deferred(server: Airflow, dag_id: str, run_id: str) -> dict[str, int]:
    response = server.api(
        "GET", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances", params={"limit": 200}
    )
    response.raise_for_status()
    states: dict[str, int] = {}
    for ti in response.json()["task_instances"]:
        states[str(ti["state"])] = states.get(str(ti["state"]), 0) + 1
    return states


def _rate(a: dict[str, Any], b: dict[str, Any], key: str) -> float:
    """CPU of the trigger process (``cpu_s``) or its supervisor between two probes, % of a core."""
    return 100.0 * (b[key] - a[key]) / (b["at"] - a["at"])


def measure(fleet: str, idle_s: float, measure_s: float) -> dict[str, Any]:
    dag_id = FLEETS[fleet]
    with standalone() as server:
        _ready(server, ("triggerer_probe", dag_id))
        if fleet == "file":
            _connection(server, "bench_fs_root", conn_type="fs", extra=json.dumps({"path": "/"}))
        folder = tempfile.mkdtemp(prefix="bench-triggerer-")  # stays empty: the files never arrive
        first = _probe(server)
        time.sleep(idle_s)
        before = _probe(server)
        started = time.monotonic()
        run_id = _trigger(server, dag_id, {"folder": folder})
        while (states := _deferred(server, dag_id, run_id)).get("deferred", 0) < FLEET:
            if time.monotonic() - started > DEFER_TIMEOUT_S or set(states) & {"failed", "upstream_failed"}:
                raise RuntimeError(f"{dag_id}: {states} after {time.monotonic() - started:.0f} s\n{server.log_tail()}")
            time.sleep(2)
        deferred_s = time.monotonic() - started
        time.sleep(2 * FLEET_POKE_S)  # every trigger started and polled
        t0 = _probe(server)
        time.sleep(measure_s)
        t1 = _probe(server)
        server.api("PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}", json={"state": "failed"})
    idle = _rate(first, before, "cpu_s")
    return {
        "fleet": fleet,
        "deferred_s": deferred_s,
        "pid_same": first["pid"] == t1["pid"],
        "rss_before_mb": before["rss_kb"] / 1024,
        "rss_after_mb": t1["rss_kb"] / 1024,
        "rss_growth_mb": (t1["rss_kb"] - before["rss_kb"]) / 1024,
        "parent_rss_growth_mb": (t1["parent_rss_kb"] - before["parent_rss_kb"]) / 1024,
        "idle_cpu_pct": idle,
        "cpu_pct": _rate(t0, t1, "cpu_s") - idle,
        "parent_idle_cpu_pct": _rate(first, before, "parent_cpu_s"),
        "parent_cpu_pct": _rate(t0, t1, "parent_cpu_s") - _rate(first, before, "parent_cpu_s"),
        "heavy": t1["heavy"],
        "ours": t1["ours"],
    }


def _ratio(ours: float, peer: float) -> str:
    return f"{ours / peer:.2f}x" if peer > 0 else "n/a (peer <= 0)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", type=float, default=60.0, help="seconds of the CPU measurement")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of the idle CPU measurement")
    args = parser.parse_args()
    t0 = time.monotonic()
    rows = {fleet: measure(fleet, args.idle, args.measure) for fleet in FLEETS}
    print(
        f"{FLEET} deferred sensors per fleet, each on its own missing file, poke_interval={FLEET_POKE_S} s; "
        f"CPU over {args.measure:g} s minus the idle rate (over {args.idle:g} s), % of one core"
    )
    head = (
        f"{'fleet':44} {'deferred in':>11} {'trigger RSS':>17} {'growth':>8} {'CPU':>7} "
        f"{'supervisor growth':>18} {'supervisor CPU':>15}"
    )
    print(head)
    print("-" * len(head))
    for fleet, r in rows.items():
        print(
            f"{LABELS[fleet]:44} {r['deferred_s']:>9.0f} s {r['rss_before_mb']:>6.1f} -> {r['rss_after_mb']:>5.1f} MB "
            f"{r['rss_growth_mb']:>+6.1f} MB {r['cpu_pct']:>6.2f}% {r['parent_rss_growth_mb']:>+15.1f} MB "
            f"{r['parent_cpu_pct']:>14.2f}%"
        )
    ours, peer = rows["alignment"], rows["file"]
    print(
        f"idle CPU of the trigger process: {ours['idle_cpu_pct']:.2f}% / {peer['idle_cpu_pct']:.2f}%; "
        f"of the supervisor: {ours['parent_idle_cpu_pct']:.2f}% / {peer['parent_idle_cpu_pct']:.2f}%"
    )
    polls_per_s = FLEET / FLEET_POKE_S
    per_poll = {f: 10 * r["cpu_pct"] / polls_per_s for f, r in rows.items()}  # ms of CPU per poll
    print(
        f"CPU per poll ({polls_per_s:g} polls/s): alignment {per_poll['alignment']:.3f} ms, FileSensor "
        f"{per_poll['file']:.3f} ms"
    )
    print(
        f"alignment / FileSensor: RSS growth {_ratio(ours['rss_growth_mb'], peer['rss_growth_mb'])} "
        f"({ours['rss_growth_mb'] - peer['rss_growth_mb']:+.1f} MB), CPU {_ratio(ours['cpu_pct'], peer['cpu_pct'])} "
        f"({ours['cpu_pct'] - peer['cpu_pct']:+.2f} points)"
    )
    print(
        f"heavy modules in the trigger process with the alignment fleet: {ours['heavy'] or 'none'}; "
        f"ours loaded: {', '.join(ours['ours'])}; same process throughout: {ours['pid_same']}"
    )
    goal = ours["rss_growth_mb"] < 50 and not ours["heavy"]
    print(f"goal: no heavy library and RSS growth under 50 MB with {FLEET} sensors: {'met' if goal else 'MISSED'}")
    print(f"(whole run {time.monotonic() - t0:.0f} s)")


if __name__ == "__main__":
    main()
