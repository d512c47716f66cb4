"""Benchmark: DAG parse time with our operators against ``EmptyOperator`` (not a timed test).

Run from the repository root::

    .venv/bin/python benchmarks/bench_parse.py [--runs 7] [--tasks 10]

Two DAG files are written to a temporary folder: one with ``--tasks`` ``ExpectationsCheckOperator``
tasks (inline expectations, validated at parse time), one with as many ``EmptyOperator`` tasks.
Each is parsed ``--runs`` times, alternately, each time in a fresh interpreter (the same
Python), and timed from process start to the DAG being built: interpreter start-up, the
imports of the DAG file and its execution. Medians and their ratio (goal: <= 1.1x).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import airflow_sandbox, fmt_times, median, verdict

GOAL = 1.1

ALIGNMENT_DAG = """
from datetime import datetime

from airflow.sdk import DAG

from airflow_alignment.operators import ExpectationsCheckOperator

EXPECTATIONS = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "credit_score", "min_value": 300, "max_value": 850}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "sex", "value_set": ["F", "M"]}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "race", "value_set": ["A", "B", "C", "D", "E"]},
     "severity": "warning"},
]

with DAG("bench_parse_alignment", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    for i in range({tasks}):
        ExpectationsCheckOperator(
            task_id=f"validate_{i}",
            data=f"/data/batch_{i}.parquet",
            expectations=EXPECTATIONS,
        )
"""

EMPTY_DAG = """
from datetime import datetime

from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("bench_parse_empty", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
    for i in range({tasks}):
        EmptyOperator(task_id=f"validate_{i}")
"""

# The child: import + exec the DAG file, then report when the DAG was built and how much of
# that was spent in this code (after interpreter start-up).
CHILD = r"""
import time
t_code = time.monotonic()
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("bench_dag", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
done = time.monotonic()
heavy = [m for m in ("great_expectations", "fairlearn", "sklearn", "scipy", "pandas", "numpy", "pyarrow")
         if m in sys.modules]
print(json.dumps({"done": done, "in_code": done - t_code, "cpu": time.process_time(),
                  "tasks": len(module.dag.tasks), "heavy": heavy}))
"""


def parse_once(path: Path, env: dict[str, str]) -> dict[str, float]:
    # CLOCK_MONOTONIC is system-wide on Linux: the child's reading is comparable with ours.
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], check=False, capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise SystemExit(f"parsing {path} failed:\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["heavy"]:
        raise SystemExit(f"parsing {path.name} imported heavy libraries: {report['heavy']}")
    return {
        "to_dag": report["done"] - start,
        "in_code": report["in_code"],
        "cpu": report["cpu"],
        "tasks": report["tasks"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tasks", type=int, default=10)
    args = parser.parse_args()

    home = airflow_sandbox()
    env = dict(os.environ)
    folder = Path(tempfile.mkdtemp(prefix="alignment-bench-parse-"))
    files = {
        "ExpectationsCheckOperator": folder / "alignment_dag.py",
        "EmptyOperator": folder / "empty_dag.py",
    }
    files["ExpectationsCheckOperator"].write_text(ALIGNMENT_DAG.replace("{tasks}", str(args.tasks)))
    files["EmptyOperator"].write_text(EMPTY_DAG.replace("{tasks}", str(args.tasks)))
    print(
        f"{args.tasks} tasks per DAG file, {args.runs} fresh interpreters each ({sys.executable}, AIRFLOW_HOME={home})"
    )

    for path in files.values():  # warm-up: byte-code caches and the OS page cache
        parse_once(path, env)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in files}
    for _ in range(args.runs):
        for name, path in files.items():
            runs[name].append(parse_once(path, env))

    medians, cpu = {}, {}
    for name, results in runs.items():
        assert all(r["tasks"] == args.tasks for r in results)
        to_dag = [r["to_dag"] for r in results]
        medians[name] = median(to_dag)
        cpu[name] = median([r["cpu"] for r in results])
        print(
            f"{name:<25}: process start -> DAG built, median {medians[name]:.3f} s "
            f"(runs: {fmt_times(to_dag)}); imports + exec only {median([r['in_code'] for r in results]):.3f} s; "
            f"CPU time {cpu[name]:.3f} s"
        )
    ratio = medians["ExpectationsCheckOperator"] / medians["EmptyOperator"]
    print(f"ratio ExpectationsCheckOperator / EmptyOperator (wall): {verdict(ratio, GOAL)}")
    # CPU time hardly moves when other processes compete for the cores; wall time does.
    cpu_ratio = cpu["ExpectationsCheckOperator"] / cpu["EmptyOperator"]
    print(f"ratio ExpectationsCheckOperator / EmptyOperator (CPU time): {cpu_ratio:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
