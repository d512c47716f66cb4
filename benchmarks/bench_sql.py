"""Benchmark: fairness and performance checks of a SQL table, pushed down against loaded (not a test).

Run from the repository root::

    .venv/bin/python benchmarks/bench_sql.py [--rows 10000000] [--repeats 3]

A private PostgreSQL server (``tests/sqlservers.py``: a throw-away cluster on 127.0.0.1, fsync
off) holds a ``predictions`` table of ``--rows`` rows (default ``$BENCH_SQL_ROWS`` or 10M),
generated with numpy (seeded) and loaded with ``COPY``. The connection is registered for
Airflow as ``AIRFLOW_CONN_BENCH_PG``. Each path runs in a fresh Python process, the "task
process", so that its peak RSS (``VmHWM``) is its own:

- ``pushdown``: ``cells.count(SqlSource(...))`` (one ``GROUP BY`` in the database) then
  ``fairness.evaluate`` of the cell table;
- ``read_sql``: ``pandas.read_sql`` of the needed columns (what a user would write), then
  ``fairness.evaluate`` of the rows;
- ``load_frame``: ``sources.load_frame(SqlSource(...), columns)`` (our chunked reader), then
  the same;
- ``perf_pushdown`` / ``perf_read_sql``: ``performance.evaluate`` (accuracy, f1) on a cell
  table against on ``pandas.read_sql`` of the two label columns.

Time is the wall time inside the child from before reading data (modules imported) to the
finished ``CheckResult``; the child's total (interpreter start and imports included) is shown
too. Each path runs ``--repeats`` times, interleaved; medians. The results of the paths must be
identical: status, and every assertion and metric value to 1e-12.

Goal: the pushdown path's peak RSS under 300 MB, and its time no worse than loading.

The top of this module imports only the standard library: the child processes run it too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, airflow_sandbox, median

CONN_ID = "bench_pg"
DATABASE = "bench"
TABLE = "predictions"
FEATURES = ["sex", "race", "age_band"]
FAIRNESS_CONSTRAINTS = [
    {"metric": "demographic_parity_ratio", "min": 0.8},
    {"metric": "equalized_odds_difference", "max": 0.1},
    {"metric": "selection_rate", "aggregate": "group_min", "min": 0.2},
]
PERFORMANCE_CONSTRAINTS = [{"metric": "accuracy", "min": 0.7}, {"metric": "f1", "min": 0.6}]
CONFIDENCE, N_BOOT = 0.95, 1000
RSS_GOAL_MB = 300
TOL = 1e-12
# path -> (check, how the data is read)
PATHS = {
    "pushdown": ("fairness", "cells.count: one GROUP BY in PostgreSQL"),
    "read_sql": ("fairness", "pandas.read_sql of the 5 columns"),
    "load_frame": ("fairness", "sources.load_frame (chunked reader)"),
    "perf_pushdown": ("performance", "cells.count (GROUP BY y_true, y_pred)"),
    "perf_read_sql": ("performance", "pandas.read_sql of the 2 columns"),
}
CHUNK = 1_000_000  # rows generated and copied at a time


# -- the child: one path in a fresh process ---------------------------------------------------
def _status_kb(field: str) -> int:
    """A line of ``/proc/self/status`` in KB: ``VmRSS`` (now) or ``VmHWM`` (peak of this process).

    ``VmHWM`` rather than ``getrusage().ru_maxrss``: Linux carries ``ru_maxrss`` over ``exec``,
    so a child started by a parent of 500 MB reports at least 500 MB whatever it does."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def child(path: str, t_start: float) -> None:
    """Run one path and print one JSON line: times, RSS, the result."""
    import pandas as pd
    from airflow.sdk import BaseHook  # noqa: F401 - the task process has Airflow loaded

    from airflow_alignment.engines import fairness, performance
    from airflow_alignment.engines.binary import cells
    from airflow_alignment.io import SqlSource, load_frame, sql

    source = SqlSource(CONN_ID, table=TABLE)
    rss_imports = _status_kb("VmRSS")
    t0 = time.perf_counter()
    check = PATHS[path][0]
    if check == "fairness":
        kwargs: dict[str, Any] = {
            "y_true": "y_true",
            "y_pred": "y_pred",
            "sensitive_features": FEATURES,
            "constraints": FAIRNESS_CONSTRAINTS,
            "confidence": CONFIDENCE,
            "n_boot": N_BOOT,
        }
        columns = [*FEATURES, "y_true", "y_pred"]
        if path == "pushdown":
            data: Any = cells.count(source, features=FEATURES, y_true="y_true", y_pred="y_pred")
        elif path == "read_sql":
            data = pd.read_sql(f"SELECT {', '.join(columns)} FROM {TABLE}", sql.engine(source))
        else:
            data = load_frame(source, columns)
        t_read = time.perf_counter()
        result = fairness.evaluate(data, **kwargs)
    else:
        kwargs = {
            "y_true": "y_true",
            "y_pred": "y_pred",
            "constraints": PERFORMANCE_CONSTRAINTS,
            "confidence": CONFIDENCE,
            "n_boot": N_BOOT,
        }
        if path == "perf_pushdown":
            data = cells.count(source, features=[], y_true="y_true", y_pred="y_pred")
        else:
            data = pd.read_sql(f"SELECT y_true, y_pred FROM {TABLE}", sql.engine(source))
        t_read = time.perf_counter()
        result = performance.evaluate(data, **kwargs)
    t1 = time.perf_counter()
    payload = result.to_dict()
    out = {
        "path": path,
        "seconds": t1 - t0,
        "read_seconds": t_read - t0,
        "total_seconds": time.time() - t_start,
        "maxrss_kb": _status_kb("VmHWM"),
        "rss_after_imports_kb": rss_imports,
        "result": {
            "status": payload["status"],
            "summary": payload["summary"],
            "assertions": payload["assertions"],
            "metrics": payload["metrics"],
        },
    }
    print("BENCH_RESULT " + json.dumps(out, default=str))


# -- the parent: server, data, runs, table ----------------------------------------------------
def make_chunk(start: int, rows: int, seed: int) -> Any:
    """Rows ``start .. start+rows`` of the predictions table (seeded per chunk)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng([seed, start])
    sex = rng.choice(np.array(["F", "M"]), rows, p=[0.45, 0.55])
    race = rng.choice(np.array(["A", "B", "C", "D", "E"]), rows, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    age = rng.choice(np.array(["18-34", "35-54", "55+"]), rows, p=[0.35, 0.4, 0.25])
    y_true = (rng.random(rows) < 0.3 + 0.1 * (sex == "F")).astype(np.int64)
    shift = 0.05 * (race == "E") - 0.03 * (age == "55+")
    score = np.clip(rng.normal(0.35 + 0.3 * y_true + shift, 0.18), 0.0, 1.0).round(6)
    days = np.array(["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"])
    return pd.DataFrame(
        {
            "id": np.arange(start, start + rows, dtype=np.int64),
            "ds": days[rng.integers(0, len(days), rows)],
            "sex": sex,
            "race": race,
            "age_band": age,
            "y_true": y_true,
            "y_score": score,
            "y_pred": (score >= 0.5).astype(np.int64),
            "weight": rng.uniform(0.5, 2.0, rows).round(4),
        }
    )


def load_table(server: Any, rows: int, seed: int = 0) -> float:
    """Create and fill the table with COPY, one CSV chunk at a time; VACUUM ANALYZE. Seconds."""
    import io

    import psycopg2

    t0 = time.perf_counter()
    conn = psycopg2.connect(
        host=server.host, port=server.port, user=server.user, password=server.password, dbname=server.database
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
            cur.execute(
                f"CREATE TABLE {TABLE} (id bigint, ds date, sex text, race text, age_band text, "
                "y_true integer, y_score double precision, y_pred integer, weight double precision)"
            )
            for start in range(0, rows, CHUNK):
                buf = io.StringIO()
                make_chunk(start, min(CHUNK, rows - start), seed).to_csv(buf, index=False, header=False)
                buf.seek(0)
                cur.copy_expert(f"COPY {TABLE} FROM STDIN WITH (FORMAT csv)", buf)
        conn.commit()
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"VACUUM (ANALYZE) {TABLE}")  # hint bits set now, not by the first timed scan
            cur.execute(f"SELECT count(*), pg_total_relation_size('{TABLE}') FROM {TABLE}")  # warms the cache
            count, size = cur.fetchone()
    finally:
        conn.close()
    assert count == rows, (count, rows)
    print(
        f"table {TABLE}: {rows:,} rows, {size / 1e6:.0f} MB on disk, made and loaded with COPY in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return time.perf_counter() - t0


def group_by_alone(server: Any, repeats: int = 3) -> None:
    """The fairness GROUP BY alone through psycopg2 (what the database itself takes), and its plan."""
    import psycopg2

    cols = ", ".join([*FEATURES, "y_true", "y_pred"])
    query = f"SELECT {cols}, count(*) FROM {TABLE} GROUP BY {cols}"
    conn = psycopg2.connect(
        host=server.host, port=server.port, user=server.user, password=server.password, dbname=server.database
    )
    try:
        with conn.cursor() as cur:
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                cur.execute(query)
                cells = len(cur.fetchall())
                times.append(time.perf_counter() - t0)
            cur.execute("EXPLAIN " + query)
            plan = [row[0].strip() for row in cur.fetchall()]
            cur.execute("SHOW max_parallel_workers_per_gather")
            workers = cur.fetchone()[0]
    finally:
        conn.close()
    print(
        f"  the GROUP BY alone (psycopg2): {median(times):.2f} s, median of {repeats}; {cells} cells; "
        f"max_parallel_workers_per_gather={workers}; plan: {' / '.join(plan[:4])}"
    )


def run_child(path: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", path, "--t-start", repr(time.time())],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return json.loads(line[len("BENCH_RESULT ") :])
    raise RuntimeError(f"path {path} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")


def differences(a: Any, b: Any, where: str = "") -> tuple[float, list[str]]:
    """The largest absolute difference between two JSON-like values and where they differ beyond
    1e-12 (keys, lengths, strings, or numbers)."""
    if isinstance(a, dict) and isinstance(b, dict):
        worst, bad = 0.0, [f"{where}.{k}: only on one side" for k in sorted(set(a) ^ set(b), key=str)]
        for k in a:
            if k in b:
                w, more = differences(a[k], b[k], f"{where}.{k}")
                worst, bad = max(worst, w), bad + more
        return worst, bad
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return 0.0, [f"{where}: {len(a)} against {len(b)} items"]
        worst, bad = 0.0, []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            w, more = differences(x, y, f"{where}[{i}]")
            worst, bad = max(worst, w), bad + more
        return worst, bad
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        d = abs(float(a) - float(b))
        return d, ([] if d <= TOL else [f"{where}: {a!r} against {b!r}"])
    return 0.0, ([] if a == b else [f"{where}: {a!r} against {b!r}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_SQL_ROWS", "10000000")))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--paths", default=",".join(PATHS), help="comma-separated subset of " + ", ".join(PATHS))
    parser.add_argument("--child", choices=list(PATHS), help=argparse.SUPPRESS)
    parser.add_argument("--t-start", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.t_start or time.time())
        return
    paths = [p for p in args.paths.split(",") if p]

    airflow_sandbox()  # the children inherit AIRFLOW_HOME and the rest
    sys.path.insert(0, str(ROOT / "tests"))
    from sqlservers import start_postgres

    server = start_postgres(database=DATABASE)
    try:
        os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = server.airflow_connection
        print(
            f"PostgreSQL {server.bindir.parent.name} on 127.0.0.1:{server.port} (fsync off); "
            f"Airflow connection {CONN_ID!r} from AIRFLOW_CONN_{CONN_ID.upper()}"
        )
        load_table(server, args.rows)
        from airflow_alignment.io import sql

        with sql.engine(CONN_ID).connect() as conn:  # the connection works through Airflow
            import sqlalchemy as sa

            assert conn.execute(sa.text(f"SELECT count(*) FROM {TABLE}")).scalar_one() == args.rows
        sql.engine(CONN_ID).dispose()

        runs: dict[str, list[dict[str, Any]]] = {p: [] for p in paths}
        for i in range(args.repeats):
            for path in paths:
                out = run_child(path)
                runs[path].append(out)
                print(
                    f"  round {i + 1} {path:<14} {out['seconds']:7.2f} s (read {out['read_seconds']:6.2f} s, "
                    f"total {out['total_seconds']:6.2f} s), peak RSS {out['maxrss_kb'] / 1024:6.0f} MB "
                    f"(after imports {out['rss_after_imports_kb'] / 1024:.0f} MB)",
                    flush=True,
                )
        group_by_alone(server)
    finally:
        server.stop()

    report(args.rows, paths, runs)


def report(rows: int, paths: list[str], runs: dict[str, list[dict[str, Any]]]) -> None:
    def med(path: str, key: str) -> float:
        return median([r[key] for r in runs[path]])

    print(f"\n{rows:,} rows; medians of {len(next(iter(runs.values())))} runs, each in a fresh process")
    header = (
        f"{'path':<14}  {'check':<11}  {'seconds':>8}  {'read':>7}  {'total':>7}  {'peak RSS':>9}  "
        f"{'imports':>8}  {'load/push':>9}  data"
    )
    print(header)
    print("-" * len(header))
    pushdown_of = {"fairness": "pushdown", "performance": "perf_pushdown"}
    for path in paths:
        check, how = PATHS[path]
        push = pushdown_of[check]
        ratio = f"{med(path, 'seconds') / med(push, 'seconds'):.2f}x" if push in runs and path != push else ""
        print(
            f"{path:<14}  {check:<11}  {med(path, 'seconds'):8.2f}  {med(path, 'read_seconds'):7.2f}  "
            f"{med(path, 'total_seconds'):7.2f}  {med(path, 'maxrss_kb') / 1024:6.0f} MB  "
            f"{med(path, 'rss_after_imports_kb') / 1024:5.0f} MB  {ratio:>9}  {how}"
        )
    print(
        "(seconds: reading + evaluate, modules already imported; read: of which reading / GROUP BY; total: the "
        "whole process; imports: RSS before reading)"
    )

    ok = True
    for check, push in pushdown_of.items():
        if push not in runs:
            continue
        reference = runs[push][0]["result"]
        for path in paths:
            if PATHS[path][0] != check:
                continue
            for run in runs[path]:
                worst, bad = differences(reference, run["result"])
                if bad:
                    ok = False
                    print(f"MISMATCH {path} against {push}: " + "; ".join(bad[:10]))
            if path != push:
                worst = max(differences(reference, r["result"])[0] for r in runs[path])
                print(
                    f"{path} = {push}: status, assertions and metrics "
                    f"{'identical' if worst <= TOL else 'DIFFER'} (largest difference {worst:.1e})"
                )
        print(f"{check}: {reference['summary']}")

    goals = []
    for check, push in pushdown_of.items():
        loads = [p for p in paths if PATHS[p][0] == check and p != push]
        if push not in runs or not loads:
            continue
        rss = med(push, "maxrss_kb") / 1024
        fastest = min(loads, key=lambda p: med(p, "seconds"))
        no_worse = med(push, "seconds") <= med(fastest, "seconds")
        goals.append(
            f"{check}: pushdown RSS < {RSS_GOAL_MB} MB: {'yes' if rss < RSS_GOAL_MB else 'NO'} "
            f"({rss:.0f} MB); time no worse than load ({fastest}): {'yes' if no_worse else 'NO'} "
            f"({med(push, 'seconds'):.2f} s against {med(fastest, 'seconds'):.2f} s)"
        )
    print("\ngoal: " + "\ngoal: ".join(goals))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
