"""Benchmark: the drift engine against Evidently-style per-column pandas code (not a timed test).

Run from the repository root::

    .venv/bin/python benchmarks/bench_drift.py

1M reference rows and 1M current rows, 20 features (16 numeric, 4 categorical). The peer
does what per-column drift libraries do: for each numeric column ``pandas.qcut`` on the
reference, ``pandas.cut`` of the current on those edges, ``value_counts`` and PSI, plus
``scipy.stats.ks_2samp``; for each categorical column ``value_counts`` on both sides, PSI and
``scipy.stats.chi2_contingency``. The script asserts both sides give the same PSI, KS and
chi-square numbers (1e-9), then reports time (best of 3) and peak memory (tracemalloc).
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, ks_2samp

from airflow_alignment.engines.drift import evaluate

EPS = 1e-4
TOL = 1e-9


def make_data(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def frame(shift: float) -> pd.DataFrame:
        cols: dict[str, Any] = {}
        for i in range(16):
            cols[f"num_{i}"] = rng.normal(shift * (i % 4 == 0), 1 + shift * (i % 5 == 0), rows)
        for i in range(4):
            p = np.array([0.4, 0.3, 0.2, 0.1]) if not shift or i % 2 else np.array([0.3, 0.3, 0.25, 0.15])
            cols[f"cat_{i}"] = rng.choice(["a", "b", "c", "d"], rows, p=p)
        return pd.DataFrame(cols)

    return frame(0.0), frame(0.1)


def peer(reference: pd.DataFrame, current: pd.DataFrame, bins: int = 10) -> dict[str, dict[str, float]]:
    """Per-column pandas drift, the way Evidently-style libraries compute it."""
    out: dict[str, dict[str, float]] = {}
    for col in reference.columns:
        ref, cur = reference[col], current[col]
        if pd.api.types.is_numeric_dtype(ref):
            _, edges = pd.qcut(ref, q=bins, retbins=True, duplicates="drop")
            edges[0], edges[-1] = -np.inf, np.inf
            r = pd.cut(ref, edges).value_counts(sort=False).to_numpy()
            c = pd.cut(cur, edges).value_counts(sort=False).to_numpy()
            ks = ks_2samp(ref, cur)
            out[col] = {"psi": _psi(r, c), "ks_statistic": ks.statistic, "ks_pvalue": ks.pvalue}
        else:
            r_counts, c_counts = ref.value_counts(), cur.value_counts()
            cats = r_counts.index.union(c_counts.index)
            r = r_counts.reindex(cats, fill_value=0).to_numpy()
            c = c_counts.reindex(cats, fill_value=0).to_numpy()
            chi = chi2_contingency(np.vstack([r, c]))
            out[col] = {"psi": _psi(r, c), "chi2": chi.statistic, "chi2_pvalue": chi.pvalue}
    return out


def _psi(r: np.ndarray, c: np.ndarray) -> float:
    rp, cp = r / r.sum(), c / c.sum()
    rp, cp = np.where(rp == 0, EPS, rp), np.where(cp == 0, EPS, cp)
    return float(np.sum((cp - rp) * np.log(cp / rp)))


def compare(result: Any, theirs: dict[str, dict[str, float]]) -> float:
    worst = 0.0
    for col, values in theirs.items():
        ours = result.metrics["features"][col]
        for key, value in values.items():
            worst = max(worst, abs(ours[key] - float(value)))
    assert worst <= TOL, f"numbers differ from the peer by {worst}"
    return worst


def timed(func: Any, *args: Any, repeat: int = 3) -> tuple[Any, float, float]:
    """The result, the best wall time and the CPU time of that run (all threads of the process:
    on a shared machine the CPU seconds move less with the load than the wall clock)."""
    best, cpu, out = float("inf"), 0.0, None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = func(*args)
        wall = time.perf_counter() - t0
        if wall < best:
            best, cpu = wall, time.process_time() - c0
    return out, best, cpu


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
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    reference, current = make_data(args.rows, seed=0)
    input_bytes = int(
        reference.memory_usage(deep=True, index=False).sum() + current.memory_usage(deep=True, index=False).sum()
    )
    evaluate(reference.head(1000), current.head(1000))  # warm-up: imports

    result, t_ours, cpu_ours = timed(evaluate, reference, current, repeat=args.repeat)
    theirs, t_peer, cpu_peer = timed(peer, reference, current, repeat=args.repeat)
    worst = compare(result, theirs)
    peak_ours = peak_memory(lambda: evaluate(reference, current))
    peak_peer = peak_memory(lambda: peer(reference, current))

    rows = [
        ("data", f"{args.rows:,} + {args.rows:,} rows x 20 features (16 numeric, 4 categorical)", ""),
        ("input frames", f"{input_bytes / 1e6:.0f} MB", "reference + current"),
        (
            "ours: evaluate()",
            f"{t_ours:.2f} s",
            f"best of {args.repeat}; PSI + KS / chi-square, result.data fingerprints",
        ),
        (
            "peer: per-column pandas",
            f"{t_peer:.2f} s",
            f"best of {args.repeat}; qcut/cut/value_counts + ks_2samp / chi2",
        ),
        ("speed-up", f"{t_peer / t_ours:.1f}x", "wall clock"),
        ("CPU seconds: ours / peer", f"{cpu_ours:.2f} s / {cpu_peer:.2f} s", f"{cpu_peer / cpu_ours:.1f}x less CPU"),
        ("load average (1 min)", f"{os.getloadavg()[0]:.1f}", "2 cores: above 2, the times are inflated"),
        ("largest |ours - peer|", f"{worst:.1e}", f"PSI, KS and chi-square; asserted <= {TOL:g}"),
        ("ours: peak memory", f"{peak_ours / 1e6:.0f} MB", f"{peak_ours / input_bytes:.2f}x input"),
        ("peer: peak memory", f"{peak_peer / 1e6:.0f} MB", f"{peak_peer / input_bytes:.2f}x input"),
    ]
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"{'measure':<{width}}  {'value':<{value_width}}  note")
    print(f"{'-' * width}  {'-' * value_width}  ----")
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:<{value_width}}  {note}")
    print(f"\nsummary: {result.summary}")


if __name__ == "__main__":
    main()
