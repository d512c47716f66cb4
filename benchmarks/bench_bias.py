"""Benchmark: the bias metrics against smclarify (SageMaker Clarify's library), not a timed test.

Run from the repository root::

    .venv/bin/python benchmarks/bench_bias.py            # 1M rows (the recorded run)
    .venv/bin/python benchmarks/bench_bias.py --rows 100000

1M rows, two facet columns (sex x race = 10 intersectional groups), a binary label and
prediction, a three-valued ``group_variable``. Both sides compute every Clarify metric but FT
(8 pre-training, 12 post-training) for each of the 10 groups against the rest: Clarify's
``bias_report`` without ``facet_values``, ours ``counts.from_frame`` then ``metrics.one_vs_rest``.
Both start from the rows in memory. smclarify does not run on our pandas 3, so it runs in
.venv-reference (scripts/reference-venvs.sh builds it) on the same rows, written to Parquet;
it times itself. The 200 numbers must be identical (1e-12) or the benchmark fails.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, fmt_times, median

from airflow_alignment.engines.bias import counts, metrics

PRE = ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"]
POST = ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "CDDPL", "GE"]
GOAL = 50.0
TOL = 1e-12


def make_data(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], rows, p=[0.45, 0.55])
    race = rng.choice(["A", "B", "C", "D", "E"], rows, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    y = (rng.random(rows) < 0.3 + 0.1 * (sex == "F")).astype(np.int64)
    p = (rng.random(rows) < np.where(y == 1, 0.7, 0.2) + 0.05 * (race == "E")).astype(np.int64)
    g = rng.choice(["north", "south", "east"], rows, p=[0.5, 0.3, 0.2])
    return pd.DataFrame({"sex": sex, "race": race, "g": g, "y": y, "p": p})


def ours(df: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    data = counts.from_frame(
        df, facets=["sex", "race"], label="y", prediction="p", group_variable="g", positive_labels=[1]
    )
    found = {
        **metrics.one_vs_rest(data, PRE, stage="pre_training"),
        **metrics.one_vs_rest(data, POST, stage="post_training"),
    }
    return {
        f"{g['sex']}|{g['race']}": {name: found[name][i].value for name in PRE + POST}
        for i, g in enumerate(data.groups)
    }


def clarify(df: pd.DataFrame) -> dict[str, dict]:
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "reference-venvs.sh")], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"cannot build .venv-reference (scripts/reference-venvs.sh):\n{proc.stderr[-2000:]}")
    python = proc.stdout.strip().splitlines()[-1]
    with tempfile.TemporaryDirectory(prefix="bench-bias-") as tmp:
        data, out = Path(tmp) / "rows.parquet", Path(tmp) / "clarify.json"
        df.to_parquet(data, index=False)
        subprocess.run([python, str(ROOT / "benchmarks" / "_bias_clarify.py"), str(data), str(out)], check=True)
        return json.loads(out.read_text())


def compare(mine: dict[str, dict[str, float | None]], theirs: dict[str, dict]) -> float:
    """Largest |ours - Clarify| over every group and metric; exits when any value differs."""
    worst, n = 0.0, 0
    for group, values in mine.items():
        clarify_values = {**theirs["PRE_TRAINING"]["values"][group], **theirs["POST_TRAINING"]["values"][group]}
        for name, value in values.items():
            other = clarify_values[name]
            if value is None or other is None or not math.isclose(value, other, rel_tol=TOL, abs_tol=TOL):
                sys.exit(f"DIFFERENT: {group} {name}: ours {value!r}, smclarify {other!r}")
            worst, n = max(worst, abs(value - other)), n + 1
    if sorted(mine) != sorted(theirs["POST_TRAINING"]["values"]) or n != 10 * (len(PRE) + len(POST)):
        sys.exit(f"DIFFERENT groups: ours {sorted(mine)}, smclarify {sorted(theirs['POST_TRAINING']['values'])}")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    df = make_data(args.rows)
    print(
        f"{args.rows:,} rows, 10 intersectional groups (sex x race), group_variable with 3 strata; "
        f"{len(PRE)} pre-training + {len(POST)} post-training metrics, each group against the rest"
    )
    ours(df)  # warm-up: imports, first allocations
    walls, cpus = [], []
    for _ in range(args.repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        mine = ours(df)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    theirs = clarify(df)
    clarify_wall = theirs["PRE_TRAINING"]["wall"] + theirs["POST_TRAINING"]["wall"]
    clarify_cpu = theirs["PRE_TRAINING"]["cpu"] + theirs["POST_TRAINING"]["cpu"]
    worst = compare(mine, theirs)
    print(f"ours     : wall {fmt_times(walls)} s (median {median(walls):.3f}); cpu median {median(cpus):.3f} s")
    print(
        f"smclarify: wall {clarify_wall:.1f} s (pre {theirs['PRE_TRAINING']['wall']:.1f}, post "
        f"{theirs['POST_TRAINING']['wall']:.1f}); cpu {clarify_cpu:.1f} s (one run)"
    )
    wall_ratio, cpu_ratio = clarify_wall / median(walls), clarify_cpu / median(cpus)
    print(
        f"speed-up : {wall_ratio:.0f}x wall, {cpu_ratio:.0f}x cpu (goal >= {GOAL:.0f}x: "
        f"{'met' if min(wall_ratio, cpu_ratio) >= GOAL else 'MISSED'})"
    )
    print(f"numbers  : {len(mine) * (len(PRE) + len(POST))} values identical, largest |difference| {worst:.1e}")


if __name__ == "__main__":
    main()
