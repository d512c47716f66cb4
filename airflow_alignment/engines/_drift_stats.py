"""The numbers behind the drift engine: binned counts, PSI, Kolmogorov-Smirnov, chi-square.

Each feature is reduced to reference and current counts over the same bins; PSI and the
chi-square test read those counts. Numeric features are sorted once per side: the reference
quantile edges, the bin counts (the edges searched in the sorted values, not each value in
the edges) and ``scipy.stats.ks_2samp`` (whose own sort of sorted data is cheap) share it.

Bins:

- numeric: ``(-inf, e1], (e1, e2], ..., (ek, inf)`` with ``e1..ek`` the distinct interior
  quantiles of the reference (``numpy.quantile``, linear), as ``pandas.qcut``/``pandas.cut``
  would cut them. A constant reference column gets the bins ``< v``, ``== v`` and ``> v``,
  so a moved current column still shows.
- categorical: one bin per reference category; categories seen only in the current data
  share one ``(new)`` bin (they are listed).
- missing values (NaN, None, NaT) are a ``(missing)`` bin of their own, when either side has any.
- infinite values (``inf``, ``-inf``) of a numeric feature are an ``(infinite)`` bin of their
  own, when either side has any, and the feature's report gives their count and share on each
  side: they never fall silently into the last bin, and quantile edges are cut on the finite
  values only. The KS test reads every non-missing value (infinities are ordered).

PSI = sum((c - r) * ln(c / r)) over the bins, with ``r`` and ``c`` the reference and current
shares; a share of 0 is replaced by :data:`EPSILON` first (as Evidently does), so an empty bin
costs a large but finite amount and nothing is divided by zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.drift_stats import binning
from airflow_alignment.engines.drift_stats.compare import category_bins
from airflow_alignment.engines.drift_stats.ks import ks_pvalue, ks_statistic, ks_statistic_counts
from airflow_alignment.engines.drift_stats.samples import (
    CategoricalSample,
    NumericSample,
    categorical_sample,
    numeric_sample,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

EPSILON = 1e-4
MISSING_BIN = "(missing)"
INFINITE_BIN = "(infinite)"
MAX_BINS_SHOWN = 25


@dataclass
class Binned:
    """A feature reduced to counts: what PSI, chi-square and the report read."""

    labels: list[str]
    reference: np.ndarray
    current: np.ndarray
    kind: str
    missing: dict[str, int]
    constant: bool = False
    infinite: dict[str, int] = field(default_factory=lambda: {"reference": 0, "current": 0})
    new_categories: list[Any] = field(default_factory=list)
    new_count: int = 0
    notes: list[str] = field(default_factory=list)
    ks: tuple[float, float] | None = None


def numeric(
    ref: pd.Series | NumericSample, cur: pd.Series | NumericSample, bins: int, ks_method: str = "auto"
) -> Binned:
    """Bin a numeric feature on reference quantiles; run the two-sample KS test.

    ``ref`` and ``cur`` are columns, or the :class:`~.drift_stats.samples.NumericSample` the
    engine already made of them (sorted once: the quantile edges, the bin counts and the KS
    merge all read the same sorted values).
    """
    r_sample = ref if isinstance(ref, NumericSample) else numeric_sample(ref)
    c_sample = cur if isinstance(cur, NumericSample) else numeric_sample(cur)
    notes: list[str] = []
    # numpy.quantile's numbers, read from the sorted values or from a value table (distinct values, counts)
    if r_sample.counts is None:
        cuts = binning.quantile_edges(r_sample.finite, bins)
    else:
        cuts = binning.quantile_edges_counts(*r_sample.value_table(), bins)
    edges, constant = cuts.edges, cuts.constant is not None
    if r_sample.finite_size == 0:
        notes.append("every reference value is missing or infinite: one bin for all finite current values")
    elif constant:
        notes.append(
            f"constant reference column (every value is {_num(cuts.constant)}): one bin holds it, "  # type: ignore[arg-type]
            "with a bin below and one above for current values"
        )
    elif len(edges) + 1 < bins:
        notes.append(f"{len(edges) + 1} bins, not {bins}: tied reference quantiles were merged")
    out = Binned(
        binning.labels(cuts),
        _bin_counts(r_sample, cuts),
        _bin_counts(c_sample, cuts),
        "numeric",
        {"reference": r_sample.missing, "current": c_sample.missing},
        constant=constant,
        notes=notes,
        infinite={"reference": r_sample.infinite, "current": c_sample.infinite},
    )
    _add_infinite(out)
    _add_missing(out)
    if r_sample.size and c_sample.size:
        res = ks_pvalue(_ks_statistic(r_sample, c_sample), r_sample.size, c_sample.size, ks_method)  # scipy's numbers
        out.ks = (res.statistic, res.pvalue)
    else:
        out.notes.append("no KS test: one side has no non-missing value")
    return out


def _bin_counts(sample: NumericSample, cuts: binning.Bins) -> np.ndarray:
    if sample.counts is None:
        return binning.bin_counts(sample.finite, cuts)
    return binning.bin_counts_table(*sample.value_table(), cuts)


def _ks_statistic(ref: NumericSample, cur: NumericSample) -> float:
    """The KS statistic of every non-missing value (infinities are ordered), from the values or
    from value tables (a SparkSource's counts)."""
    import numpy as np

    if ref.counts is None and cur.counts is None:
        return ks_statistic(ref.values, cur.values)

    def counts(s: NumericSample) -> np.ndarray:
        return s.counts if s.counts is not None else np.ones(len(s.values), dtype=np.int64)

    return ks_statistic_counts(ref.values, counts(ref), cur.values, counts(cur))


def categorical(ref: pd.Series | CategoricalSample, cur: pd.Series | CategoricalSample) -> Binned:
    """Count each reference category in both frames; new current categories share a bin.

    ``ref`` and ``cur`` are columns or their :class:`~.drift_stats.samples.CategoricalSample`.
    """
    r_sample = ref if isinstance(ref, CategoricalSample) else categorical_sample(ref)
    c_sample = cur if isinstance(cur, CategoricalSample) else categorical_sample(cur)
    notes: list[str] = []
    table = category_bins(r_sample, c_sample, notes)  # the bins drift_stats counts, the same notes
    out = Binned(
        table.labels,
        table.reference,
        table.current,
        "categorical",
        {"reference": r_sample.missing, "current": c_sample.missing},
        constant=table.constant,
        new_categories=table.new_categories,
        new_count=table.new_count,
        notes=notes,
    )
    _add_missing(out)
    return out


def psi(ref_counts: np.ndarray, cur_counts: np.ndarray) -> float:
    """Population Stability Index of two count vectors over the same bins (EPSILON-smoothed)."""
    import numpy as np

    r = ref_counts / max(int(ref_counts.sum()), 1)
    c = cur_counts / max(int(cur_counts.sum()), 1)
    r = np.where(r == 0, EPSILON, r)
    c = np.where(c == 0, EPSILON, c)
    return float(np.sum((c - r) * np.log(c / r)))


def chi2(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float] | None:
    """``scipy.stats.chi2_contingency`` on the 2 x bins table, bins empty on both sides left out.

    ``None`` when fewer than two bins hold data (the test is undefined).
    """
    import numpy as np
    from scipy.stats import chi2_contingency

    table = np.vstack([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return None
    res = chi2_contingency(table)
    return float(res.statistic), float(res.pvalue)


def report(b: Binned) -> dict[str, Any]:
    """The per-feature entry of ``result.metrics`` (bins bounded to :data:`MAX_BINS_SHOWN`)."""
    rows = [
        {"bin": label, "reference": int(r), "current": int(c)}
        for label, r, c in zip(b.labels, b.reference, b.current, strict=True)
    ]
    empty = [row["bin"] for row in rows if row["reference"] == 0 or row["current"] == 0]
    out: dict[str, Any] = {
        "type": b.kind,
        "psi": psi(b.reference, b.current),
        "bins": rows[:MAX_BINS_SHOWN],
        "empty_bins": empty[:MAX_BINS_SHOWN],
        "missing": b.missing,
        "constant": b.constant,
    }
    if len(rows) > MAX_BINS_SHOWN:
        out["bins_not_shown"] = len(rows) - MAX_BINS_SHOWN
    if b.kind == "numeric":
        if b.infinite["reference"] or b.infinite["current"]:
            out["infinite"] = _infinite_block(b)
        out["ks_statistic"], out["ks_pvalue"] = b.ks if b.ks else (None, None)
    else:
        test = chi2(b.reference, b.current)
        out["chi2"], out["chi2_pvalue"] = test if test else (None, None)
        if test is None:
            b.notes.append("no chi-square test: fewer than two bins hold data")
        out["new_categories"] = b.new_categories
        out["new_count"] = b.new_count
    if b.notes:
        out["notes"] = b.notes
    return out


def _infinite_block(b: Binned) -> dict[str, Any]:
    """``{side: {count, share}}`` of the infinite values (share of all rows, missing included)."""
    out = {}
    for side, counts in (("reference", b.reference), ("current", b.current)):
        count = b.infinite[side]
        total = int(counts.sum())
        out[side] = {"count": count, "share": count / total if total else None}
    return out


def _add_infinite(b: Binned) -> None:
    import numpy as np

    if b.infinite["reference"] or b.infinite["current"]:
        b.labels.append(INFINITE_BIN)
        b.reference = np.append(b.reference, b.infinite["reference"])
        b.current = np.append(b.current, b.infinite["current"])
        for side in ("reference", "current"):
            if b.infinite[side]:
                b.notes.append(
                    f"{b.infinite[side]:,} {side} value{'s are' if b.infinite[side] > 1 else ' is'} "
                    f"infinite: counted in the {INFINITE_BIN} bin"
                )


def _add_missing(b: Binned) -> None:
    import numpy as np

    if b.missing["reference"] or b.missing["current"]:
        b.labels.append(MISSING_BIN)
        b.reference = np.append(b.reference, b.missing["reference"])
        b.current = np.append(b.current, b.missing["current"])


def _num(value: float) -> str:
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.8g}" if math.isfinite(value) else str(value)
