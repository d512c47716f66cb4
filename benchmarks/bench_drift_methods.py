"""Benchmark: drift_stats against per-column pandas + scipy and against Evidently; estimated
fairness on 1M scored rows (not a timed test).

Run from the repository root::

    .venv/bin/python benchmarks/bench_drift_methods.py               # + Evidently when .venv-evidently exists
    bash scripts/bench-evidently-venv.sh                              # creates .venv-evidently (pandas < 3)

1M reference + 1M current rows x 20 features (16 float64, 4 string; ``bench_drift.make_data``).

- ours, PSI + KS + chi-square: ``drift_stats.compare.compare_frames(methods_=("psi", "ks",
  "chi2"))``; the peer: ``bench_drift.peer`` (per column ``pandas.qcut``/``cut`` PSI,
  ``scipy.stats.ks_2samp``, ``scipy.stats.chi2_contingency``). Asserted identical.
- ours, every method (PSI, KS, Wasserstein normed, Jensen-Shannon, chi-square); the peer adds
  ``scipy.stats.wasserstein_distance`` / ``numpy.std`` and ``scipy.spatial.distance.jensenshannon``
  on the same bins. Asserted equal to 1e-12 (KS and Wasserstein bit for bit).
- Evidently 0.7 ``DataDriftPreset(num_method="ks", cat_method="chisquare")`` and
  ``DataDriftPreset()`` in the separate venv, on the same rows written to Parquet; its KS
  p-values and normed Wasserstein distances are compared with ours.
- peak memory (tracemalloc) of ours against the input columns' size.
- estimated fairness: 1M scored rows, 10 groups: summary, expected cell table, 1,000 label draws,
  ``fairness.evaluate`` on the table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from bench_drift import make_data, peer
from scipy.spatial.distance import jensenshannon
from scipy.stats import wasserstein_distance

from airflow_alignment.engines.drift_stats.compare import compare_frames

ROOT = Path(__file__).resolve().parents[1]
EVIDENTLY_PYTHON = ROOT / ".venv-evidently" / "bin" / "python"
EVERYTHING = ("psi", "ks", "wasserstein", "jensenshannon", "chi2")
TOL = 1e-12


def ours(
    reference: pd.DataFrame, current: pd.DataFrame, methods: tuple[str, ...], workers: int | None = None
) -> dict[str, Any]:
    return compare_frames(reference, current, methods_=methods, workers=workers)


def peer_all(reference: pd.DataFrame, current: pd.DataFrame, bins: int = 10) -> dict[str, dict[str, float]]:
    """The per-column peer plus scipy's Wasserstein (normed by numpy.std) and Jensen-Shannon on
    the same bins (quantile bins for numbers, categories for categorical columns)."""
    out = peer(reference, current, bins)
    for col in reference.columns:
        ref, cur = reference[col], current[col]
        if pd.api.types.is_numeric_dtype(ref):
            _, edges = pd.qcut(ref, q=bins, retbins=True, duplicates="drop")
            edges[0], edges[-1] = -np.inf, np.inf
            r = pd.cut(ref, edges).value_counts(sort=False).to_numpy()
            c = pd.cut(cur, edges).value_counts(sort=False).to_numpy()
            out[col]["wasserstein"] = wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
        else:
            cats = ref.value_counts().index.union(cur.value_counts().index)
            r = ref.value_counts().reindex(cats, fill_value=0).to_numpy()
            c = cur.value_counts().reindex(cats, fill_value=0).to_numpy()
        out[col]["jensenshannon"] = float(jensenshannon(r.astype(float), c.astype(float)))
    return out


def compare_numbers(result: dict[str, Any], theirs: dict[str, dict[str, float]]) -> tuple[float, float]:
    """Largest absolute and relative difference between our numbers and the peer's."""
    where = {
        "psi": ("psi", "value"),
        "ks_statistic": ("ks", "statistic"),
        "ks_pvalue": ("ks", "value"),
        "chi2": ("chi2", "statistic"),
        "chi2_pvalue": ("chi2", "value"),
        "wasserstein": ("wasserstein", "value"),
        "jensenshannon": ("jensenshannon", "value"),
    }
    worst_abs = worst_rel = 0.0
    for col, values in theirs.items():
        for key, value in values.items():
            method, field = where[key]
            mine = getattr(result[col].results[method], field)
            diff = abs(mine - float(value))
            worst_abs = max(worst_abs, diff)
            worst_rel = max(worst_rel, diff / abs(float(value)) if value else diff)
    assert worst_rel <= TOL or worst_abs <= 1e-300, f"numbers differ from the peer: {worst_abs} ({worst_rel} relative)"
    return worst_abs, worst_rel


def pvalue_seconds(result: dict[str, Any], rows: int) -> float:
    """The time of scipy's KS p-values alone (``kstwo.sf`` for these sizes; its Smirnov series
    is O(n) when D is moderate), one after the other: both sides pay it, once per column."""
    from airflow_alignment.engines.drift_stats.ks import ks_pvalue

    t0 = time.perf_counter()
    for feature in result.values():
        if "ks" in feature.results and feature.results["ks"].statistic is not None:
            ks_pvalue(feature.results["ks"].statistic, rows, rows)
    return time.perf_counter() - t0


def best_of(func: Any, repeat: int) -> tuple[Any, float]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - t0)
    return out, best


def peak_memory(func: Any) -> int:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def evidently(reference: pd.DataFrame, current: pd.DataFrame, repeat: int) -> dict[str, Any] | None:
    if not EVIDENTLY_PYTHON.exists():
        print(
            f"(Evidently skipped: {EVIDENTLY_PYTHON.relative_to(ROOT)} is missing; "
            "create it with: bash scripts/bench-evidently-venv.sh)"
        )
        return None
    out = {}
    with tempfile.TemporaryDirectory(prefix="alignment-bench-evidently-") as tmp:
        paths = [Path(tmp) / "reference.parquet", Path(tmp) / "current.parquet"]
        reference.to_parquet(paths[0])
        current.to_parquet(paths[1])
        for preset in ("ks_chisquare", "default"):
            cmd = [
                str(EVIDENTLY_PYTHON),
                str(ROOT / "benchmarks" / "_evidently_peer.py"),
                *map(str, paths),
                preset,
                "--repeat",
                str(repeat),
            ]
            run = subprocess.run(cmd, capture_output=True, text=True, check=True)
            out[preset] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


def against_evidently(result: dict[str, Any], auto: dict[str, Any], ev: dict[str, Any]) -> dict[str, float]:
    """Largest relative difference of the numbers both compute the same way."""
    worst: dict[str, float] = {}

    def note(key: str, mine: float, theirs: float) -> None:
        worst[key] = max(worst.get(key, 0.0), abs(mine - theirs) / abs(theirs) if theirs else abs(mine))

    for col, entry in ev["ks_chisquare"]["columns"].items():
        if entry["method"] in ("ks", "K-S p_value"):
            note("KS p-value", result[col].results["ks"].value, entry["value"])
    for col, entry in ev["default"]["columns"].items():
        if entry["method"].startswith("Wasserstein"):
            note("Wasserstein (normed)", auto[col].results["wasserstein"].value, entry["value"])
        elif entry["method"].startswith("Jensen") and auto[col].kind == "categorical":
            note("Jensen-Shannon (categorical)", auto[col].results["jensenshannon"].value, entry["value"])
    return worst


def estimated_fairness(rows: int, repeat: int) -> tuple[float, dict[str, float]]:
    from airflow_alignment.engines.estimated import WEIGHT, label_uncertainty, summarize_scores, to_cell_table
    from airflow_alignment.engines.fairness import evaluate

    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {"sex": rng.choice(["F", "M"], rows), "race": rng.choice(list("ABCDE"), rows), "score": rng.beta(2, 3, rows)}
    )
    parts: dict[str, float] = {}

    def run() -> None:
        t0 = time.perf_counter()
        summary = summarize_scores(df, y_score="score", sensitive_features=["sex", "race"], threshold=0.5)
        t1 = time.perf_counter()
        table = to_cell_table(summary)
        evaluate(
            table,
            y_true="label",
            y_score="score",
            threshold=0.5,
            sample_weight=WEIGHT,
            sensitive_features=["sex", "race"],
            constraints=[
                {"metric": "equalized_odds_difference", "max": 0.1},
                {"metric": "demographic_parity_ratio", "min": 0.8},
            ],
        )
        t2 = time.perf_counter()
        label_uncertainty(summary, n_draws=1000)
        t3 = time.perf_counter()
        parts.update({"summary": t1 - t0, "table + evaluate": t2 - t1, "1,000 label draws": t3 - t2})

    _, seconds = best_of(run, repeat)
    return seconds, parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-evidently", action="store_true")
    args = parser.parse_args()

    reference, current = make_data(args.rows, seed=0)
    numeric = [c for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c])]
    input_bytes = int(
        reference.memory_usage(deep=True, index=False).sum() + current.memory_usage(deep=True, index=False).sum()
    )
    numeric_bytes = int(reference[numeric].memory_usage(index=False).sum() * 2)
    ours(reference.head(1000), current.head(1000), EVERYTHING)  # warm-up: imports

    base = ("psi", "ks", "chi2")
    result, t_ours = best_of(lambda: ours(reference, current, base), args.repeat)
    _, t_one = best_of(lambda: ours(reference, current, base, workers=1), args.repeat)
    theirs, t_peer = best_of(lambda: peer(reference, current), args.repeat)
    worst_abs, worst_rel = compare_numbers(result, theirs)
    t_pvalues = min(pvalue_seconds(result, args.rows) for _ in range(args.repeat))
    every, t_all = best_of(lambda: ours(reference, current, EVERYTHING), args.repeat)
    theirs_all, t_peer_all = best_of(lambda: peer_all(reference, current), 1)
    all_abs, all_rel = compare_numbers(every, theirs_all)
    auto, t_auto = best_of(lambda: compare_frames(reference, current), args.repeat)
    peak = peak_memory(lambda: ours(reference, current, EVERYTHING))
    t_est, est_parts = estimated_fairness(args.rows, args.repeat)

    rows = [
        ("data", f"{args.rows:,} + {args.rows:,} rows x 20 features (16 numeric, 4 categorical)", ""),
        ("input columns", f"{input_bytes / 1e6:.0f} MB", f"reference + current ({numeric_bytes / 1e6:.0f} MB numeric)"),
        ("ours: PSI + KS + chi-square", f"{t_ours:.2f} s", f"best of {args.repeat}; compare_frames, 2 threads"),
        (
            "peer: per-column pandas + scipy",
            f"{t_peer:.2f} s",
            f"best of {args.repeat}; qcut/cut + ks_2samp / chi2_contingency",
        ),
        ("speed-up", f"{t_peer / t_ours:.1f}x", "goal >= 5x"),
        (
            "ours: PSI + KS + chi-square, 1 thread",
            f"{t_one:.2f} s",
            f"best of {args.repeat}; {t_peer / t_one:.1f}x the peer (one thread each)",
        ),
        (
            "of which KS p-values (scipy's kstwo.sf)",
            f"{t_pvalues:.2f} s",
            "one thread; the peer pays the same in ks_2samp",
        ),
        (
            "largest |ours - peer|",
            f"{worst_abs:.1e} ({worst_rel:.1e} rel.)",
            f"PSI, KS, chi-square; asserted <= {TOL:g} rel.",
        ),
        ("ours: every method", f"{t_all:.2f} s", "PSI, KS, Wasserstein, Jensen-Shannon, chi-square"),
        ("peer: every method", f"{t_peer_all:.2f} s", "+ wasserstein_distance, jensenshannon; one run"),
        ("speed-up, every method", f"{t_peer_all / t_all:.1f}x", ""),
        ("largest |ours - peer|, every method", f"{all_abs:.1e} ({all_rel:.1e} rel.)", f"asserted <= {TOL:g} rel."),
        ("ours: method='auto'", f"{t_auto:.2f} s", "Wasserstein / Jensen-Shannon at this size"),
        ("ours: peak memory, every method", f"{peak / 1e6:.0f} MB", f"{peak / input_bytes:.2f}x input; goal <= 1.5x"),
        (
            f"estimated fairness, {args.rows:,} scored rows",
            f"{t_est:.3f} s",
            "goal < 0.5 s; " + ", ".join(f"{k} {v:.3f} s" for k, v in est_parts.items()),
        ),
    ]
    ev = None if args.no_evidently else evidently(reference, current, 1)
    if ev:
        version = ev["default"]["evidently"]
        for preset, label, mine in (("ks_chisquare", "KS + chi-square", t_ours), ("default", "default preset", t_auto)):
            seconds = ev[preset]["seconds"]
            rows.append(
                (
                    f"Evidently {version}: {label}",
                    f"{seconds:.1f} s",
                    f"one Report.run; ours {seconds / mine:.0f}x faster (goal >= 25x)",
                )
            )
        for key, value in against_evidently(result, auto, ev).items():
            rows.append((f"|ours - Evidently|, {key}", f"{value:.1e} rel.", "same definition"))
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"{'measure':<{width}}  {'value':<{value_width}}  note")
    print(f"{'-' * width}  {'-' * value_width}  ----")
    for label, value, note in rows:
        print(f"{label:<{width}}  {value:<{value_width}}  {note}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
