"""Benchmark: fairness, performance and drift of a Parquet table through Spark, counted in Spark
against ``toPandas()`` and the in-memory engines (not a test).

Run from the repository root::

    .venv/bin/python benchmarks/bench_spark.py [--rows 10000000] [--repeats 1]

A Spark Connect server (``tests/sparkservers.py``, master ``local[2]``, driver memory 6 GB, ``--driver-memory``) on
127.0.0.1 serves two Parquet tables made with numpy (seeded): ``predictions`` (``--rows`` rows,
default ``$BENCH_SPARK_ROWS`` or 10M: ``sex``, ``race``, ``age_band``, ``y_true``, ``y_score``,
``y_pred``, ``income``, ``city``) and ``reference`` (half as many rows, shifted). The Airflow
worker is a client: each path runs in a fresh Python process, the task process, through the
connection ``AIRFLOW_CONN_BENCH_SPARK`` (``spark_connect``), and its peak RSS (``VmHWM``) is its
own (the server's JVM is not the worker):

- ``spark``: ``spark.counts.cell_table`` then ``fairness.evaluate`` (3 constraints over
  ``sex x race x age_band``, 1,000 bootstrap replicates) and ``performance.evaluate`` (accuracy,
  f1) of the cell tables, and ``spark.drift.evaluate`` (``income``, ``city``, ``y_score``);
- ``topandas``: ``DataFrame.toPandas()`` of the needed columns of both tables, then the same
  engines on the rows.

The two paths' results must be identical: status, assertions and metrics.
Goal: the ``spark`` path's peak RSS under 400 MB whatever the row count.

The top of this module imports only the standard library: the child processes run it too.
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
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, airflow_sandbox, median

CONN_ID = "bench_spark"
FEATURES = ["sex", "race", "age_band"]
FAIRNESS = [
    {"metric": "demographic_parity_ratio", "min": 0.8},
    {"metric": "equalized_odds_difference", "max": 0.1},
    {"metric": "selection_rate", "aggregate": "group_min", "min": 0.2},
]
PERFORMANCE = [{"metric": "accuracy", "min": 0.7}, {"metric": "f1", "min": 0.6}]
DRIFT = {"features": ["income", "city"], "prediction": "y_score"}
RSS_GOAL_MB = 400
CHUNK = 1_000_000


def _status_kb(field: str) -> int:
    """``VmRSS`` or ``VmHWM`` of this process in KB (see bench_sql.py for why not ru_maxrss)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(path: str, t_start: float) -> None:
    """Run one path and print one JSON line: times, RSS, the results."""
    from airflow.sdk import BaseHook  # noqa: F401 - the task process has Airflow loaded

    from airflow_alignment.engines import drift, fairness, performance
    from airflow_alignment.io.spark_source import SparkSource
    from airflow_alignment.spark import counts
    from airflow_alignment.spark import drift as spark_drift
    from airflow_alignment.spark.session import session

    current, reference = SparkSource(CONN_ID, table="predictions"), SparkSource(CONN_ID, table="reference")
    fair_args = {
        "y_true": "y_true",
        "y_pred": "y_pred",
        "sensitive_features": FEATURES,
        "constraints": FAIRNESS,
        "confidence": 0.95,
        "n_boot": 1000,
    }
    perf_args = {"y_true": "y_true", "y_pred": "y_pred", "constraints": PERFORMANCE}
    rss_imports = _status_kb("VmRSS")
    t0 = time.perf_counter()
    if path == "spark":
        cells = counts.cell_table(current, features=FEATURES, y_true="y_true", y_pred="y_pred")
        overall = counts.cell_table(current, features=[], y_true="y_true", y_pred="y_pred")
        t_read = time.perf_counter()
        results = [
            fairness.evaluate(cells, **fair_args),
            performance.evaluate(overall, **perf_args),
            spark_drift.evaluate(reference, current, **DRIFT),
        ]
    else:
        spark = session(current)
        columns = [*FEATURES, "y_true", "y_pred", "y_score", "income", "city"]
        rows = spark.table("predictions").select(*columns).toPandas()
        ref = spark.table("reference").select("income", "city", "y_score").toPandas()
        t_read = time.perf_counter()
        results = [
            fairness.evaluate(rows, **fair_args),
            performance.evaluate(rows, **perf_args),
            drift.evaluate(ref, rows[["income", "city", "y_score"]], **DRIFT),
        ]
    t1 = time.perf_counter()
    docs = [r.to_dict() for r in results]
    out = {
        "path": path,
        "seconds": t1 - t0,
        "read_seconds": t_read - t0,
        "total_seconds": time.time() - t_start,
        "maxrss_kb": _status_kb("VmHWM"),
        "rss_after_imports_kb": rss_imports,
        "results": [{k: d[k] for k in ("status", "summary", "assertions", "metrics")} for d in docs],
    }
    print("BENCH_RESULT " + json.dumps(out, default=str))


def make_parquet(path: Path, rows: int, seed: int, shift: float) -> None:
    """``rows`` rows of predictions as Parquet, written ``CHUNK`` rows at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        rng = np.random.default_rng([seed, start])
        sex = rng.choice(np.array(["F", "M"]), n, p=[0.45, 0.55])
        race = rng.choice(np.array(["A", "B", "C", "D", "E"]), n, p=[0.4, 0.25, 0.15, 0.12, 0.08])
        age = rng.choice(np.array(["18-34", "35-54", "55+"]), n, p=[0.35, 0.4, 0.25])
        y_true = (rng.random(n) < 0.3 + 0.1 * (sex == "F")).astype(np.int64)
        score = np.clip(rng.normal(0.35 + 0.3 * y_true + shift, 0.18), 0.0, 1.0).round(4)
        table = pa.table(
            {
                "sex": sex,
                "race": race,
                "age_band": age,
                "y_true": y_true,
                "y_score": score,
                "y_pred": (score >= 0.5).astype(np.int64),
                "income": rng.lognormal(10 + shift, 0.6, n).round(2),
                "city": rng.choice(np.array([f"c{i:02d}" for i in range(40)]), n),
            }
        )
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


def run_child(path: str, env: dict[str, str]) -> dict[str, Any]:
    code = (
        f"import sys, time; t=time.time(); sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
        f"import bench_spark; bench_spark.child({path!r}, t)"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line.removeprefix("BENCH_RESULT "))
    raise RuntimeError(f"{path} failed:\n{proc.stderr[-4000:]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_SPARK_ROWS", 10_000_000)))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--driver-memory", default="6g", help="the Connect server's driver (toPandas collects 10M rows through it)"
    )
    args = parser.parse_args()
    airflow_sandbox()
    sys.path.insert(0, str(ROOT))
    from tests import sparkservers
    from tests.processes import Watchdog

    folder = Path(tempfile.mkdtemp(prefix="alignment-bench-spark-"))
    t0 = time.perf_counter()
    make_parquet(folder / "predictions.parquet", args.rows, 1, 0.0)
    make_parquet(folder / "reference.parquet", args.rows // 2, 2, 0.02)
    print(
        f"parquet: {args.rows:,} + {args.rows // 2:,} rows, "
        f"{sum(f.stat().st_size for f in folder.iterdir()) / 1e6:.0f} MB, made in {time.perf_counter() - t0:.1f} s"
    )
    sparkservers.DRIVER_MEMORY = args.driver_memory
    watchdog = Watchdog()
    server = sparkservers.start_connect_server(watchdog)
    try:
        spark = server.session()
        for name in ("predictions", "reference"):
            sparkservers.register_parquet(spark, name, folder / f"{name}.parquet")
        spark.stop()
        env = {**os.environ, "AIRFLOW_CONN_BENCH_SPARK": server.airflow_connection(), "PYTHONWARNINGS": "ignore"}
        runs: dict[str, list[dict[str, Any]]] = {"spark": [], "topandas": []}
        for _ in range(args.repeats):
            for path in runs:
                runs[path].append(run_child(path, env))
    finally:
        server.stop()
        watchdog.close()
    print(f"\n{args.rows:,} rows; medians of {args.repeats} run(s), each in a fresh process (a Spark Connect client)")
    print(f"{'path':10} {'seconds':>8} {'read':>8} {'total':>8} {'peak RSS':>9} {'imports':>8}")
    for path, found in runs.items():

        def med(key: str, found: list[dict[str, Any]] = found) -> float:
            return median([r[key] for r in found])

        print(
            f"{path:10} {med('seconds'):8.2f} {med('read_seconds'):8.2f} {med('total_seconds'):8.2f} "
            f"{med('maxrss_kb') / 1024:6.0f} MB {med('rss_after_imports_kb') / 1024:5.0f} MB"
        )
    same = all(a == b for a, b in zip(runs["spark"][0]["results"], runs["topandas"][0]["results"], strict=True))
    print("(seconds: reading + engines, modules imported; read: of which counting in Spark / toPandas)")
    print(f"spark = topandas: status, assertions and metrics {'identical' if same else 'DIFFERENT'}")
    for doc in runs["spark"][0]["results"]:
        print(f"  {doc['status']}: {doc['summary']}")
    rss = median([r["maxrss_kb"] for r in runs["spark"]]) / 1024
    print(f"goal: spark path peak RSS < {RSS_GOAL_MB} MB: {'yes' if rss < RSS_GOAL_MB else 'NO'} ({rss:.0f} MB)")


if __name__ == "__main__":
    main()
