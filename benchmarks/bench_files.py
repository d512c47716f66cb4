"""Benchmark: a fairness check of a large Parquet / CSV file, in memory against in batches (not a test).

Run from the repository root::

    .venv/bin/python benchmarks/bench_files.py [--rows 10000000] [--csv-rows N] [--repeats 1]

A seeded predictions file of ``--rows`` rows (default ``$BENCH_FILES_ROWS`` or 10M) is written
in chunks of 500k rows (the generator never holds more) as Parquet (one row group per chunk,
``pyarrow.parquet.ParquetWriter``) and as CSV (appending writes), with the columns a real
predictions file has: ``id``, three float features ``f1..f3``, ``sex`` (2 values), ``race``
(5), ``age_band`` (3), ``y_true``, ``y_score``, ``y_pred``, ``weight``. A second pair of files
holds the first quarter of the rows. Each path runs in a fresh Python process so that its peak
RSS (``VmHWM``) is its own:

- ``memory``: ``fairness.evaluate(load_frame(path, columns=needed), ...)``;
- ``batches``: ``fairness.evaluate(cells.from_batches(iter_batches(FileSource(path,
  batch_rows=1_000_000), needed, 1_000_000), ...), ...)``, at the full size and at a quarter.

Same check on every path: demographic_parity_ratio >= 0.8 and equalized_odds_difference <= 0.1
over sex x race x age_band, confidence 0.95, 1,000 bootstrap replicates. The results of the
two paths must be identical: status, every assertion and metric (``to_dict()`` minus data,
duration_s, started_at) to 1e-12.

Goal: batches: peak RSS independent of file size (full size within 15% of the quarter size).

The top of this module imports only the standard library: the child processes run it too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, airflow_sandbox, median
from bench_sql import _status_kb, differences  # stdlib-only at import, like this module

FEATURES = ["sex", "race", "age_band"]
NEEDED = [*FEATURES, "y_true", "y_pred"]
CONSTRAINTS = [
    {"metric": "demographic_parity_ratio", "min": 0.8},
    {"metric": "equalized_odds_difference", "max": 0.1},
]
CONFIDENCE, N_BOOT = 0.95, 1000
BATCH_ROWS = 1_000_000
CHUNK = 500_000  # rows generated at a time = one Parquet row group
TOL = 1e-12
RSS_FLAT = 0.15  # the goal: batch RSS at full size within 15% of the quarter size
DROP = ("data", "duration_s", "started_at")


# -- the child: one path in a fresh process ---------------------------------------------------
def child(mode: str, path: str, t_start: float) -> None:
    from airflow_alignment.engines import fairness
    from airflow_alignment.engines.binary import cells
    from airflow_alignment.io import FileSource, iter_batches, load_frame

    rss_imports = _status_kb("VmRSS")
    kwargs: dict[str, Any] = {
        "y_true": "y_true",
        "y_pred": "y_pred",
        "sensitive_features": FEATURES,
        "constraints": CONSTRAINTS,
        "confidence": CONFIDENCE,
        "n_boot": N_BOOT,
    }
    t0 = time.perf_counter()
    if mode == "memory":
        data: Any = load_frame(path, columns=NEEDED)
    else:
        batches = iter_batches(FileSource(path, batch_rows=BATCH_ROWS), NEEDED, BATCH_ROWS)
        data = cells.from_batches(batches, features=FEATURES, y_true="y_true", y_pred="y_pred")
    t_read = time.perf_counter()
    result = fairness.evaluate(data, **kwargs)
    t1 = time.perf_counter()
    payload = {k: v for k, v in result.to_dict().items() if k not in DROP}
    out = {
        "seconds": t1 - t0,
        "read_seconds": t_read - t0,
        "total_seconds": time.time() - t_start,
        "maxrss_kb": _status_kb("VmHWM"),
        "rss_after_imports_kb": rss_imports,
        "result": payload,
    }
    print("BENCH_RESULT " + json.dumps(out, default=str))


# -- the parent: files, runs, table -----------------------------------------------------------
def make_chunk(start: int, rows: int, seed: int) -> Any:
    """Rows ``start .. start+rows`` of the predictions file (seeded per chunk)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng([seed, start])
    sex = rng.choice(np.array(["F", "M"]), rows, p=[0.45, 0.55])
    race = rng.choice(np.array(["A", "B", "C", "D", "E"]), rows, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    age = rng.choice(np.array(["18-34", "35-54", "55+"]), rows, p=[0.35, 0.4, 0.25])
    y_true = (rng.random(rows) < 0.3 + 0.1 * (sex == "F")).astype(np.int64)
    shift = 0.05 * (race == "E") - 0.03 * (age == "55+")
    score = np.clip(rng.normal(0.35 + 0.3 * y_true + shift, 0.18), 0.0, 1.0).round(6)
    return pd.DataFrame(
        {
            "id": np.arange(start, start + rows, dtype=np.int64),
            "f1": rng.normal(0.0, 1.0, rows).round(6),
            "f2": rng.uniform(0.0, 100.0, rows).round(4),
            "f3": rng.lognormal(3.0, 1.0, rows).round(4),
            "sex": sex,
            "race": race,
            "age_band": age,
            "y_true": y_true,
            "y_score": score,
            "y_pred": (score >= 0.5).astype(np.int64),
            "weight": rng.uniform(0.5, 2.0, rows).round(4),
        }
    )


def write_files(directory: Path, rows: int, small: int, seed: int = 0) -> dict[str, Path]:
    """``big.parquet``/``big.csv`` of ``rows`` rows and ``small.*`` of the first ``small`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    files = {f"{size}.{fmt}": directory / f"{size}.{fmt}" for size in ("big", "small") for fmt in ("parquet", "csv")}
    writers: dict[str, Any] = {}
    try:
        for start in range(0, rows, CHUNK):
            chunk = make_chunk(start, min(CHUNK, rows - start), seed)
            parts = [("big", chunk)] + ([("small", chunk.iloc[: small - start])] if start < small else [])
            for size, part in parts:
                table = pa.Table.from_pandas(part, preserve_index=False)
                if size not in writers:
                    writers[size] = pq.ParquetWriter(files[f"{size}.parquet"], table.schema)
                writers[size].write_table(table, row_group_size=CHUNK)
                part.to_csv(files[f"{size}.csv"], mode="a" if start else "w", header=not start, index=False)
    finally:
        for w in writers.values():
            w.close()
    sizes = ", ".join(f"{name} {p.stat().st_size / 1e6:.0f} MB" for name, p in files.items())
    print(f"files: {rows:,} rows (small: {small:,}) written in {time.perf_counter() - t0:.1f} s: {sizes}", flush=True)
    return files


def run_child(mode: str, path: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--child",
            mode,
            "--path",
            str(path),
            "--t-start",
            repr(time.time()),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line[len("BENCH_RESULT ") :])
    raise RuntimeError(f"{mode} {path} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_FILES_ROWS", "10000000")))
    parser.add_argument(
        "--csv-rows",
        type=int,
        default=None,
        help="rows of the CSV files (default: --rows); the CSV in-memory path is the slow one",
    )
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--dir", default=None, help="where the files go (default: a temporary directory, removed)")
    parser.add_argument("--child", choices=["memory", "batches"], help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--t-start", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, args.t_start or time.time())
        return

    airflow_sandbox()  # the children inherit it, should anything import airflow
    directory = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="alignment-bench-files-"))
    directory.mkdir(parents=True, exist_ok=True)
    rows_of = {"parquet": args.rows, "csv": args.csv_rows or args.rows}
    try:
        files: dict[str, Path] = {}
        for rows in sorted(set(rows_of.values())):
            sub = directory / str(rows)
            sub.mkdir(exist_ok=True)
            made = write_files(sub, rows, rows // 4)
            for fmt in ("parquet", "csv"):
                if rows_of[fmt] == rows:
                    files.update({k: v for k, v in made.items() if k.endswith(fmt)})
        # (label, mode, file, rows)
        plan = []
        for fmt in ("parquet", "csv"):
            plan += [
                (f"{fmt} memory", "memory", files[f"big.{fmt}"], rows_of[fmt]),
                (f"{fmt} batches", "batches", files[f"big.{fmt}"], rows_of[fmt]),
                (f"{fmt} batches /4", "batches", files[f"small.{fmt}"], rows_of[fmt] // 4),
            ]
        runs: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in plan}
        for i in range(args.repeats):
            for label, mode, path, _rows in plan:
                out = run_child(mode, path)
                runs[label].append(out)
                print(
                    f"  round {i + 1} {label:<18} {out['seconds']:7.2f} s (read {out['read_seconds']:6.2f} s, "
                    f"total {out['total_seconds']:6.2f} s), peak RSS {out['maxrss_kb'] / 1024:6.0f} MB "
                    f"(after imports {out['rss_after_imports_kb'] / 1024:.0f} MB)",
                    flush=True,
                )
        sizes = {label: path.stat().st_size for label, _m, path, _r in plan}
    finally:
        if not args.dir:
            shutil.rmtree(directory, ignore_errors=True)
    report(plan, runs, sizes, args.repeats)


def report(
    plan: list[tuple[str, str, Path, int]], runs: dict[str, list[dict[str, Any]]], sizes: dict[str, int], repeats: int
) -> None:
    def med(label: str, key: str) -> float:
        return median([r[key] for r in runs[label]])

    print(f"\nmedians of {repeats} run(s), each in a fresh process; batches of {BATCH_ROWS:,} rows")
    header = (
        f"{'path':<18}  {'rows':>11}  {'file':>8}  {'seconds':>8}  {'read':>7}  {'total':>7}  {'peak RSS':>9}  "
        f"{'imports':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, _mode, _path, rows in plan:
        print(
            f"{label:<18}  {rows:>11,}  {sizes[label] / 1e6:5.0f} MB  {med(label, 'seconds'):8.2f}  "
            f"{med(label, 'read_seconds'):7.2f}  {med(label, 'total_seconds'):7.2f}  "
            f"{med(label, 'maxrss_kb') / 1024:6.0f} MB  {med(label, 'rss_after_imports_kb') / 1024:5.0f} MB"
        )
    print(
        "(seconds: reading + evaluate, modules already imported; read: of which reading / building the cell "
        "table; total: the child process from start, imports included)"
    )

    ok, goals = True, []
    for fmt in ("parquet", "csv"):
        mem, bat, quarter = f"{fmt} memory", f"{fmt} batches", f"{fmt} batches /4"
        reference = runs[mem][0]["result"]
        worst, bad = 0.0, []
        for label in (mem, bat):
            for r in runs[label]:
                w, more = differences(reference, r["result"])
                worst, bad = max(worst, w), bad + more
        ok = ok and not bad
        print(
            f"{fmt}: batches = memory: status, assertions and metrics "
            f"{'identical' if not bad else 'DIFFER'} (largest difference {worst:.1e})"
            + ("".join(f"\n    {b}" for b in bad[:10]))
        )
        print(f"{fmt}: {reference['status']}: {reference.get('summary', '')}")
        print(
            f"{fmt}: memory/batches: time {med(mem, 'seconds') / med(bat, 'seconds'):.2f}x, "
            f"peak RSS {med(mem, 'maxrss_kb') / med(bat, 'maxrss_kb'):.2f}x"
        )
        full, part = med(bat, "maxrss_kb") / 1024, med(quarter, "maxrss_kb") / 1024
        flat = full <= part * (1 + RSS_FLAT)
        goals.append(
            f"{fmt} batches: peak RSS independent of file size: {'yes' if flat else 'NO'} "
            f"({full:.0f} MB at {sizes[bat] / 1e6:.0f} MB of file, {part:.0f} MB at "
            f"{sizes[quarter] / 1e6:.0f} MB)"
        )
    print("\ngoal: " + "\ngoal: ".join(goals))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
