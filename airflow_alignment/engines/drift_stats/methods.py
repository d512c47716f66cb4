"""Drift measures beside KS and PSI, each equal to scipy on the same data.

- **Wasserstein distance** (earth mover's distance, W1): ``scipy.stats.wasserstein_distance``.
  From two sorted samples (:func:`wasserstein_sorted`: bit-for-bit scipy's number, from one
  merge of the sorted samples) or from value tables (:func:`wasserstein_counts`: scipy's
  weighted form, so a database supplies ``value, count`` rows). Monitoring tools report it
  *normed*: divided by the reference's standard deviation (population, ``ddof=0``, as
  ``numpy.std``), floored at :data:`WASSERSTEIN_STD_FLOOR` as Evidently does
  (``evidently ... wasserstein_distance_norm``): :func:`wasserstein_normed`.
- **Jensen-Shannon distance**: ``scipy.spatial.distance.jensenshannon(reference_counts,
  current_counts, base)`` on bin or category counts (scipy normalises the counts). The default
  base is ``e`` (natural logarithm), as Evidently's ``jensenshannon`` test: the distance lies in
  ``[0, sqrt(ln 2)] = [0, 0.8326]``; with ``base=2`` it lies in ``[0, 1]``.
- **Two-proportion z-test** for a binary feature (Evidently's ``z`` test): pooled
  ``z = (p_ref - p_cur) / sqrt(P (1 - P) (1/n_ref + 1/n_cur))``, two-sided ``p = 2 sf(|z|)``.
  ``z**2`` and ``p`` equal Pearson's chi-square without continuity correction on the 2 x 2
  table (``scipy.stats.chi2_contingency(table, correction=False)``). Evidently computes
  ``2 * (1 - cdf(|z|))``, the same number until it rounds to 0 near ``p = 1e-16``.
- **Chi-square test of homogeneity**: ``scipy.stats.chi2_contingency`` on the 2 x bins table,
  bins empty on both sides left out (as the drift engine; with two bins scipy applies Yates'
  continuity correction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


WASSERSTEIN_STD_FLOOR = 0.001  # Evidently's floor: a constant reference does not divide by 0


# -- Wasserstein ----------------------------------------------------------------------------
def wasserstein_sorted(x: np.ndarray, y: np.ndarray) -> float:
    """``scipy.stats.wasserstein_distance(x, y)`` of two sorted, non-empty finite arrays.

    The two samples are merged (numpy's stable sort merges the two sorted runs of their
    concatenation in linear time). scipy integrates ``|F_x - F_y|`` over the gaps between
    consecutive merged values, with the CDFs counted at each value
    (``searchsorted(side="right")``). Inside a run of equal values the running count differs
    from that, but the gap there is 0, so every term of the dot product is the same float as
    scipy's, and so is the sum.
    """
    import numpy as np

    n, m = len(x), len(y)
    if n == 0 or m == 0:
        raise ValueError(f"both samples need at least one value (sizes {n} and {m})")
    merged = np.concatenate([x, y])
    order = np.argsort(merged, kind="stable")
    i = np.cumsum(order[:-1] < n, dtype=np.int64)  # values of x at or before each position
    j = np.arange(1, n + m, dtype=np.int64) - i
    gap = np.abs(i / n - j / m)
    return float(np.vecdot(gap, np.diff(merged[order])))


def wasserstein_counts(x_values: np.ndarray, x_counts: np.ndarray, y_values: np.ndarray, y_counts: np.ndarray) -> float:
    """``scipy.stats.wasserstein_distance`` from value tables (distinct finite values, counts).

    It is scipy's weighted call on the tables, which equals the unweighted call on the rows the
    tables stand for up to rounding (about 1e-15 relative).
    """
    import numpy as np
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(x_values, y_values, np.asarray(x_counts, float), np.asarray(y_counts, float)))


def std_sorted(values: np.ndarray) -> float:
    """Population standard deviation (``numpy.std``, ``ddof=0``) of finite values."""
    import numpy as np

    return float(np.std(values))


def std_counts(values: np.ndarray, counts: np.ndarray) -> float:
    """Population standard deviation of a value table (distinct finite values, counts)."""
    import numpy as np

    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    mean = float(np.dot(counts, values) / total)
    return float(np.sqrt(np.dot(counts, (values - mean) ** 2) / total))


def wasserstein_normed(distance: float, reference_std: float) -> float:
    """The Wasserstein distance in units of the reference's standard deviation (Evidently's
    ``wasserstein`` test): ``distance / max(reference_std, 0.001)``."""
    return distance / max(reference_std, WASSERSTEIN_STD_FLOOR)


# -- Jensen-Shannon -------------------------------------------------------------------------
def jensenshannon_counts(reference: np.ndarray, current: np.ndarray, base: float | None = None) -> float:
    """``scipy.spatial.distance.jensenshannon`` of two count vectors over the same bins."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon

    return float(jensenshannon(np.asarray(reference, float), np.asarray(current, float), base=base))


# -- two-proportion z-test ------------------------------------------------------------------
@dataclass(frozen=True)
class ZTest:
    """A pooled two-proportion z-test: ``statistic`` is ``z`` (reference share minus current
    share, in standard errors), ``pvalue`` two-sided."""

    statistic: float
    pvalue: float


def z_test_counts(reference_hits: int, reference_total: int, current_hits: int, current_total: int) -> ZTest:
    """Pooled two-proportion z-test of ``hits / total`` on each side (hits: rows holding the
    category counted, e.g. the second of the two categories).

    When both sides hold a single and the same category (``P`` is 0 or 1) the proportions cannot
    differ: ``z = 0``, ``p = 1`` (as Evidently).

    :raises ValueError: a side with no rows, or hits outside ``0..total``.
    """
    import numpy as np
    from scipy.stats import norm

    for hits, total, side in ((reference_hits, reference_total, "reference"), (current_hits, current_total, "current")):
        if total < 1 or not 0 <= hits <= total:
            raise ValueError(
                f"z_test_counts: {side} has {hits} hits in {total} rows; need 0 <= hits <= total, total >= 1"
            )
    p1, p2 = reference_hits / reference_total, current_hits / current_total
    pooled = (reference_hits + current_hits) / (reference_total + current_total)
    if pooled in (0.0, 1.0):
        return ZTest(0.0, 1.0)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / reference_total + 1.0 / current_total))
    return ZTest(float(z), float(2 * norm.sf(abs(z))))


# -- chi-square ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChiSquare:
    """``scipy.stats.chi2_contingency`` of the reference and current counts."""

    statistic: float
    pvalue: float
    dof: int


def chi2_counts(reference: np.ndarray, current: np.ndarray) -> ChiSquare | None:
    """The chi-square test of homogeneity on the 2 x bins table; bins empty on both sides are
    left out. ``None`` when fewer than two bins hold data or a side is empty (undefined)."""
    import numpy as np
    from scipy.stats import chi2_contingency

    table = np.vstack([reference, current])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return None
    res = chi2_contingency(table)
    return ChiSquare(float(res.statistic), float(res.pvalue), int(res.dof))
