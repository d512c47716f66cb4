"""Benchmark: how much memory a worker needs for one check of N rows (not a test).

Run from the repository root::

    .venv/bin/python benchmarks/bench_sizing.py [--rows 100000 1000000]

For each size a seeded applicants file (``samples.lending_applicants`` plus a model's
``approved`` column) is written as Parquet, and each check runs in a fresh Python process, as
a Celery task does, so that its peak RSS (``VmHWM``) is its own:

- ``expectations``: five expectations (Great Expectations) on five columns;
- ``fairness``: demographic parity ratio and equalized odds by sex x race, 1,000 bootstrap
  replicates;
- ``drift``: PSI and KS of five features, the file against a shifted copy of itself;

each loads its columns with ``sources.load_frame``, runs the engine and renders the HTML report
(matplotlib), like the operator. The peer, in the same run: a process that imports the same
libraries and reads the same columns with ``pandas.read_parquet`` and does nothing else
(``imports + data``). The ratio says what a check adds on top of holding its data.

Goal: every check's peak within 3x of its peer (so sizing is "imports + a few times the data").

The top of this module imports only the standard library: the child processes run it too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, airflow_sandbox
from bench_sql import _status_kb  # stdlib-only at import, like this module

FEATURES = ["income", "debt_to_income", "employment_years", "credit_score", "age"]
COLUMNS = {
    "expectations": ["income", "age", "credit_score", "sex", "race"],
    "fairness": ["sex", "race", "repaid", "approved"],
    "drift": FEATURES,
}
GOAL = 3.0


def make_file(rows: int, folder: Path) -> Path:
    from airflow_alignment.samples import lending_applicants

    frame = lending_applicants(rows, seed=5)
    frame["approved"] = (frame["credit_score"] >= 640).astype("int64")
    path = folder / f"applicants-{rows}.parquet"
    frame.to_parquet(path, index=False)
    return path


def child(kind: str, path: str, peer: bool) -> None:
    """One check (or its peer) in this process; prints peak RSS as JSON."""
    airflow_sandbox()
    import pandas as pd

    from airflow_alignment.engines import drift, expectations, fairness
    from airflow_alignment.io import load_frame
    from airflow_alignment.reporting.html import render_report
    from airflow_alignment.samples import applicant_expectations

    base = _status_kb("VmRSS")  # the package and pandas; GX, fairlearn, matplotlib load when used
    if peer:
        frame = pd.read_parquet(path, columns=COLUMNS[kind])
        print(json.dumps({"peak_kb": _status_kb("VmHWM"), "base_kb": base, "rows": len(frame)}))
        return
    frame = load_frame(path, columns=COLUMNS[kind])
    if kind == "expectations":
        specs = [e for e in applicant_expectations() if e["kwargs"].get("column") in COLUMNS[kind]]
        result = expectations.evaluate(frame, expectations=specs)
    elif kind == "fairness":
        result = fairness.evaluate(
            frame,
            y_true="repaid",
            y_pred="approved",
            sensitive_features=["sex", "race"],
            confidence=0.95,
            constraints=[
                {"metric": "demographic_parity_ratio", "min": 0.8},
                {"metric": "equalized_odds_difference", "max": 0.1},
            ],
        )
    else:
        current = frame.assign(income=frame["income"] * 1.2)
        result = drift.evaluate(frame, current, features=FEATURES)
    render_report(result)
    print(json.dumps({"peak_kb": _status_kb("VmHWM"), "base_kb": base, "status": result.status}))


def measure(kind: str, path: Path, peer: bool) -> dict[str, int]:
    args = [sys.executable, __file__, "--child", kind, str(path)] + (["--peer"] if peer else [])
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} on {path.name} failed:\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    airflow_sandbox()
    folder = Path(tempfile.mkdtemp(prefix="alignment-bench-sizing-"))
    print(f"{'check':<13} {'rows':>10} {'file':>9} {'base':>9} {'peak':>9} {'peer peak':>10}  ratio")
    missed = []
    for rows in args.rows:
        path = make_file(rows, folder)
        size_mb = path.stat().st_size / 1e6
        for kind in COLUMNS:
            ours, peer = measure(kind, path, peer=False), measure(kind, path, peer=True)
            ratio = ours["peak_kb"] / peer["peak_kb"]
            if ratio > GOAL:
                missed.append(f"{kind} at {rows:,} rows")
            print(
                f"{kind:<13} {rows:>10,} {size_mb:>7.1f}MB {ours['base_kb'] / 1024:>7.0f}MB "
                f"{ours['peak_kb'] / 1024:>7.0f}MB {peer['peak_kb'] / 1024:>8.0f}MB  {ratio:.2f}x"
            )
    print(
        f"goal: every check's peak within {GOAL:g}x of its peer's (imports + data): "
        + ("met" if not missed else "MISSED: " + ", ".join(missed))
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3], peer="--peer" in sys.argv)
    else:
        main()
