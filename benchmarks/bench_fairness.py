"""Benchmark: the fairness engine against fairlearn's ``MetricFrame`` (not a timed test).

Run from the repository root::

    .venv/bin/python benchmarks/bench_fairness.py

1M rows, two sensitive features (2 x 5 = 10 intersectional groups). Both sides compute
selection rate, true and false positive rates and count per group, plus demographic parity
and equalized odds (difference and ratio); the numbers must be identical (1e-12). Then 1,000
bootstrap replicates at 1M rows beside fairlearn's ``n_boot`` on 100k rows, and the engine's
peak memory (tracemalloc) against the size of the input columns.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame, count, false_positive_rate, selection_rate, true_positive_rate

from airflow_alignment.engines.binary import metrics as fm
from airflow_alignment.engines.common import describe
from airflow_alignment.engines.fairness import evaluate

FEATURES = ["sex", "race"]
METRICS = ["selection_rate", "true_positive_rate", "false_positive_rate", "count"]
CONSTRAINTS = [
    {"metric": "demographic_parity_difference", "max": 0.1},
    {"metric": "demographic_parity_ratio", "min": 0.8},
    {"metric": "equalized_odds_difference", "max": 0.1},
    {"metric": "equalized_odds_ratio", "min": 0.8},
]
TOL = 1e-12


def make_data(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], rows, p=[0.45, 0.55])
    race = rng.choice(["A", "B", "C", "D", "E"], rows, p=[0.4, 0.25, 0.15, 0.12, 0.08])
    y = (rng.random(rows) < 0.3 + 0.1 * (sex == "F")).astype(np.int64)
    p = (rng.random(rows) < np.where(y == 1, 0.7, 0.2) + 0.05 * (race == "E")).astype(np.int64)
    return pd.DataFrame({"sex": sex, "race": race, "y_true": y, "y_pred": p})


def ours(df: pd.DataFrame, **kwargs: Any) -> Any:
    return evaluate(
        df,
        y_true="y_true",
        y_pred="y_pred",
        sensitive_features=FEATURES,
        constraints=CONSTRAINTS,
        metrics=METRICS,
        **kwargs,
    )


def fairlearn_frame(df: pd.DataFrame, **kwargs: Any) -> MetricFrame:
    functions = {
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "count": count,
    }
    return MetricFrame(
        metrics=functions, y_true=df["y_true"], y_pred=df["y_pred"], sensitive_features=df[FEATURES], **kwargs
    )


def fairlearn_aggregates(frame: MetricFrame) -> dict[str, float]:
    diff, ratio = frame.difference(), frame.ratio()
    return {
        "demographic_parity_difference": diff["selection_rate"],
        "demographic_parity_ratio": ratio["selection_rate"],
        "equalized_odds_difference": max(diff["true_positive_rate"], diff["false_positive_rate"]),
        "equalized_odds_ratio": min(ratio["true_positive_rate"], ratio["false_positive_rate"]),
    }


def timed(func: Any, *args: Any, repeat: int = 1, **kwargs: Any) -> tuple[Any, float]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return out, best


def compare(result: Any, frame: MetricFrame) -> float:
    """The largest absolute difference between our numbers and fairlearn's; asserts <= 1e-12."""
    worst = 0.0
    for name in METRICS:
        for entry in result.metrics[name]["by_group"]:
            theirs = frame.by_group[name].loc[tuple(entry["group"][f] for f in FEATURES)]
            worst = max(worst, abs(entry["value"] - float(theirs)))
        worst = max(worst, abs(result.metrics[name]["overall"] - float(frame.overall[name])))
    expected = fairlearn_aggregates(frame)
    for a in result.assertions:
        worst = max(worst, abs(a.observed - float(expected[a.name])))
    assert worst <= TOL, f"numbers differ from fairlearn by {worst}"
    return worst


def cell_table(df: pd.DataFrame) -> np.ndarray:
    """The (group, [tn, fp, fn, tp]) counts, as the engine builds them."""
    sizes = df.groupby([*FEATURES, "y_true", "y_pred"]).size()
    return sizes.to_numpy().reshape(-1, 4)


def bootstrap_alone(counts: np.ndarray, n_boot: int) -> None:
    """The bootstrap core: ``n_boot`` multinomial draws of the cell table, the four metrics, intervals."""
    cells, drawn = fm.bootstrap_cells(counts, None, None, n_boot, np.random.default_rng(0))
    for name in METRICS:
        fm.interval(fm.rate(name, cells, drawn), 0.95)


def peak_memory(func: Any) -> int:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--boot-rows", type=int, default=100_000, help="rows for fairlearn's n_boot run")
    parser.add_argument("--fairlearn-boot", type=int, default=10, help="fairlearn's n_boot (extrapolated to 1,000)")
    args = parser.parse_args()

    df = make_data(args.rows)
    input_bytes = int(df.memory_usage(deep=True, index=False).sum())
    ours(df)  # warm-up: imports and first-touch allocations

    result, t_ours = timed(ours, df, repeat=5)
    frame, t_fl = timed(fairlearn_frame, df)
    _, t_fl_agg = timed(fairlearn_aggregates, frame)
    worst = compare(result, frame)

    _, t_describe = timed(describe, df, None, ["y_true", "y_pred", *FEATURES], repeat=3)

    n_boot = 1000
    boot_result, t_boot = timed(ours, df, confidence=0.95, n_boot=n_boot, repeat=5)
    _, t_draws = timed(bootstrap_alone, cell_table(df), n_boot, repeat=3)
    small = df.sample(args.boot_rows, random_state=0)
    _, t_fl_boot = timed(
        fairlearn_frame, small, n_boot=args.fairlearn_boot, ci_quantiles=[0.025, 0.975], random_state=0
    )
    per_replicate = t_fl_boot / args.fairlearn_boot

    peak = peak_memory(lambda: ours(df))
    peak_boot = peak_memory(lambda: ours(df, confidence=0.95, n_boot=n_boot))

    groups = len(result.metrics["count"]["by_group"])
    rows = [
        ("data", f"{args.rows:,} rows, {groups} intersectional groups of {' x '.join(FEATURES)}", ""),
        ("input columns", f"{input_bytes / 1e6:.1f} MB", ""),
        ("ours: 4 metrics + DP + EO", f"{t_ours:.3f} s", "evaluate(), best of 5"),
        ("  of which the data fingerprint", f"{t_describe:.3f} s", "sha256 of the columns read (result.data)"),
        ("fairlearn MetricFrame, same", f"{t_fl + t_fl_agg:.3f} s", "MetricFrame + difference/ratio"),
        ("speed-up", f"{(t_fl + t_fl_agg) / t_ours:.0f}x", "goal >= 100x"),
        ("largest |ours - fairlearn|", f"{worst:.1e}", "asserted <= 1e-12"),
        (
            f"ours: + bootstrap, {n_boot:,} replicates",
            f"{t_boot:.3f} s",
            "evaluate(confidence=0.95), best of 5; goal < 1 s",
        ),
        (f"  of which {n_boot:,} draws + metrics", f"{t_draws:.4f} s", "multinomial cell counts, 4 metrics"),
        (
            f"fairlearn n_boot={args.fairlearn_boot}, {args.boot_rows:,} rows",
            f"{t_fl_boot:.1f} s",
            f"{per_replicate:.2f} s/replicate, ~{per_replicate * n_boot / 60:.0f} min for {n_boot:,}",
        ),
        ("ours: peak memory", f"{peak / 1e6:.1f} MB", f"{peak / input_bytes:.2f}x input; goal <= 1.5x"),
        ("ours: peak memory with bootstrap", f"{peak_boot / 1e6:.1f} MB", f"{peak_boot / input_bytes:.2f}x input"),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"{'measure':<{width}}  {'value':<{value_width}}  note")
    print(f"{'-' * width}  {'-' * value_width}  ----")
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:<{value_width}}  {note}")
    print(f"\nsummary of the bootstrap run: {boot_result.summary}")


if __name__ == "__main__":
    main()
