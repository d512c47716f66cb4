"""Two-sample Kolmogorov-Smirnov test from sorted samples, equal to ``scipy.stats.ks_2samp``.

``scipy.stats.ks_2samp(a, b)`` sorts both samples, then searches all ``n + m`` values in each
sorted sample (two binary searches per value). Here the samples come sorted (a caller sorts each
column once, for quantile bins and a Wasserstein distance too) and are merged once, or, when
they hold few distinct values, each sample's distinct values are searched in the other
(:func:`ks_statistic`). The statistic is the same float as scipy's: at every distinct value
``v`` of the union, ``i / n - j / m`` with ``i``, ``j`` the counts of values ``<= v`` in each
sample (ties across and within the samples are handled as scipy's
``searchsorted(..., side="right")``), and the two-sided ``D`` is the larger of the largest
positive and the largest negative gap; the gaps are compared exactly in integers and only those
that can be the largest are divided (:func:`_near_extremes`).

The p-value depends only on ``(D, n, m, method)``: :func:`ks_pvalue` reproduces scipy's path
exactly, so a SQL or Spark backend that computes ``D`` inside the database gets scipy's number:

- ``method="auto"`` (scipy's default): ``exact`` when ``max(n, m) <= 10000``, else ``asymp``;
- ``exact``: scipy's own exact routine (``_attempt_exact_2kssamp``), which also rounds ``D`` to a
  multiple of ``1 / lcm(n, m)`` (the statistic scipy reports); if it fails (overflow), the
  ``asymp`` path with the rounded ``D``, as scipy falls back;
- ``asymp``: ``scipy.stats.kstwo.sf(D, round(n * m / (n + m)))``.

One detail for speed, not for the numbers: for large ``n`` and a moderate ``D`` scipy's ``kstwo``
sums Smirnov's exact series (``scipy.special.smirnov``, O(n) terms: about 0.4 s at n = 500,000).
Called on one value, a numpy ufunc keeps the GIL; :func:`_kstwo_sf` calls the same ufunc on a
padded array so the sum runs with the GIL released and columns proceed in parallel threads. The
branch taken is scipy's (tests compare with ``kstwo.sf`` on a grid and with ``ks_2samp``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_alignment.specs.drift import KS_METHODS, KSMethod

if TYPE_CHECKING:
    import numpy as np


MAX_AUTO_N = 10_000  # scipy's rule: 'auto' is exact when both samples have at most this many values
_EXACT_LIMIT = 2**62  # (n + m)^2 below it: the gaps are computed exactly in int64
_SEARCH_SHARE = 0.25  # distinct values up to this share of all values: searches beat one merge
_GIL_FREE_LOOP = 512  # numpy releases the GIL for ufunc loops longer than 500 elements


@dataclass(frozen=True)
class KSResult:
    """A two-sided two-sample KS test.

    ``statistic`` is the ``D`` scipy reports (on the exact path, rounded to a multiple of
    ``1 / lcm(n, m)``); ``method`` is the path that produced the p-value (``exact`` or ``asymp``,
    after ``auto`` and any fallback).
    """

    statistic: float
    pvalue: float
    method: str


def ks_statistic(x: np.ndarray, y: np.ndarray) -> float:
    """The two-sided statistic ``D = sup |F_x - F_y|`` of two sorted, non-empty float arrays.

    ``x`` and ``y`` must be sorted ascending and hold no NaN (infinities are fine: they are
    ordered). The float equals the statistic ``scipy.stats.ks_2samp`` computes before its exact
    path rounds it (see :func:`ks_pvalue`).

    scipy evaluates ``i / n - j / m`` at every value ``v`` of either sample, with ``i`` and ``j``
    the counts of values ``<= v``. Two ways to the same counts, whichever is cheaper:

    - few distinct values (ties): at each distinct value of ``x`` (the last of its run) its own
      count is its position and ``j`` one search in ``y`` (sorted keys), and the other way round;
    - mostly distinct values: one merge of the two sorted runs (each value of ``x`` searched in
      ``y`` gives its place; no sort) and one cumulative sum, read at the last of each run of ties.
    """
    import numpy as np

    n, m = len(x), len(y)
    if n == 0 or m == 0:
        raise ValueError(f"both samples need at least one value (sizes {n} and {m})")
    changes_x, changes_y = x[1:] != x[:-1], y[1:] != y[:-1]
    if np.count_nonzero(changes_x) + np.count_nonzero(changes_y) + 2 > _SEARCH_SHARE * (n + m):
        return _statistic_by_merge(x, y)
    kx, vx = _distinct(x, changes_x)
    ky, vy = _distinct(y, changes_y)
    i = np.concatenate([kx + 1, np.searchsorted(x, vy, side="right")])
    j = np.concatenate([np.searchsorted(y, vx, side="right"), ky + 1])
    if (n + m) ** 2 >= _EXACT_LIMIT:
        return _two_sided(i, n, j, m)
    near = _near_extremes(i * np.int64(m) - j * np.int64(n), n, m)
    return _two_sided(i[near], n, j[near], m)


def _statistic_by_merge(x: np.ndarray, y: np.ndarray) -> float:
    """:func:`ks_statistic` from one merge; the gap after each merged value is tracked exactly in
    integers by one cumulative sum (``+m`` for a value of ``x``, ``-n`` for one of ``y``)."""
    import numpy as np

    n, m = len(x), len(y)
    # The merge without a sort: x[k] lands after the k values of x before it and the values of
    # y below it (one search of sorted keys); y fills the other places, in order.
    at_x = np.searchsorted(y, x, side="left")
    at_x += np.arange(n)
    from_x = np.zeros(n + m, dtype=bool)
    from_x[at_x] = True
    values = np.empty(n + m, dtype=np.float64)
    values[at_x] = x
    values[~from_x] = y
    ties = values[1:] == values[:-1]
    ends = np.append(np.flatnonzero(~ties), n + m - 1) if ties.any() else None  # the last of each run
    if (n + m) ** 2 >= _EXACT_LIMIT:
        i = np.cumsum(from_x, dtype=np.int64)
        k = np.arange(n + m) if ends is None else ends
        i = i if ends is None else i[ends]
        return _two_sided(i, n, k + 1 - i, m)
    exact = np.where(from_x, np.int64(m), np.int64(-n))
    np.cumsum(exact, out=exact)
    if ends is not None:
        exact = exact[ends]
    near = _near_extremes(exact, n, m)
    k = near if ends is None else ends[near]
    i = (exact[near] + (k + 1) * n) // (n + m)  # from e = i m - (k + 1 - i) n
    return _two_sided(i, n, k + 1 - i, m)


def _distinct(values: np.ndarray, changes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the last of each run of equal values in a sorted array, and the values
    (``changes``: ``values[1:] != values[:-1]``)."""
    import numpy as np

    last = np.append(np.flatnonzero(changes), len(values) - 1)
    return last, values[last]


def _near_extremes(exact: np.ndarray, n: int, m: int) -> np.ndarray:
    """The points whose float gap can be the largest or the smallest.

    ``exact = i m - j n`` is the gap ``i / n - j / m`` times ``n m``, in integers. Two different
    exact gaps differ by at least ``1 / (n m)``, and each float scipy computes is within 3.3e-16
    of its exact gap, so only the points within ``7e-16 n m`` of the largest (or the smallest)
    exact gap can hold the largest (smallest) float: the floats are computed there only.
    """
    import numpy as np

    slack = int(7e-16 * n * m) + 1
    return np.flatnonzero((exact >= exact.max() - slack) | (exact <= exact.min() + slack))


def ks_statistic_counts(
    x_values: np.ndarray, x_counts: np.ndarray, y_values: np.ndarray, y_counts: np.ndarray
) -> float:
    """:func:`ks_statistic` from value tables: distinct sorted values and their counts per sample.

    Equal to :func:`ks_statistic` on the rows the tables stand for (the counts at each distinct
    value of the union are the same integers, divided the same way).
    """
    import numpy as np

    x_counts = np.asarray(x_counts, dtype=np.int64)
    y_counts = np.asarray(y_counts, dtype=np.int64)
    n, m = int(x_counts.sum()), int(y_counts.sum())
    if n == 0 or m == 0:
        raise ValueError(f"ks_statistic_counts: both samples need at least one value (sizes {n} and {m})")
    union = np.union1d(x_values, y_values)
    cum_x = np.concatenate([[0], np.cumsum(x_counts)])
    cum_y = np.concatenate([[0], np.cumsum(y_counts)])
    i = cum_x[np.searchsorted(x_values, union, side="right")]
    j = cum_y[np.searchsorted(y_values, union, side="right")]
    return _two_sided(i, n, j, m)


def _two_sided(i: np.ndarray, n: int, j: np.ndarray, m: int) -> float:
    import numpy as np

    gaps = i / n - j / m  # the same float divisions as scipy's cdf1 - cdf2
    largest_above = float(gaps.max())
    largest_below = float(np.clip(-gaps.min(), 0, 1))
    return largest_below if largest_below > largest_above else largest_above


def ks_pvalue(d: float, n: int, m: int, method: KSMethod = "auto") -> KSResult:
    """The two-sided p-value of statistic ``d`` for samples of sizes ``n`` (first) and ``m``.

    Computed as ``scipy.stats.ks_2samp(first, second, method=method)`` computes it for the same
    statistic and sizes (see the module docstring). The order of ``n`` and ``m`` is scipy's
    ``data1``/``data2`` order; pass the reference first, as the drift engine calls scipy.

    :raises ValueError: an unknown ``method``, or a sample size below 1.
    """
    import numpy as np
    from scipy.stats._stats_py import _attempt_exact_2kssamp

    if method not in KS_METHODS:
        raise ValueError(f"ks method: expected one of {', '.join(KS_METHODS)}, got {method!r}")
    n, m = int(n), int(m)
    if min(n, m) < 1:
        raise ValueError(f"ks_pvalue: both samples need at least one value (sizes {n} and {m})")
    g = math.gcd(n, m)
    mode = method
    if mode == "auto":
        mode = "exact" if max(n, m) <= MAX_AUTO_N else "asymp"
    elif mode == "exact" and n // g >= np.iinfo(np.int32).max / (m // g):
        mode = "asymp"  # lcm(n, m) too large for the exact routine, as in scipy
    prob: float = -np.inf
    if mode == "exact":
        success, d, prob = _attempt_exact_2kssamp(n, m, g, d, "two-sided")
        if not success:
            mode = "asymp"
    if mode == "asymp":
        large, small = sorted([float(n), float(m)], reverse=True)
        prob = _kstwo_sf(d, float(np.round(large * small / (large + small))))
    return KSResult(float(np.float64(d)), float(np.clip(prob, 0, 1)), mode)


def ks_2samp_sorted(x: np.ndarray, y: np.ndarray, method: KSMethod = "auto") -> KSResult:
    """``scipy.stats.ks_2samp(x, y, method=method)`` (two-sided) on sorted arrays without NaN."""
    return ks_pvalue(ks_statistic(x, y), len(x), len(y), method)


def _kstwo_sf(d: float, n: float) -> float:
    """``scipy.stats.kstwo.sf(d, n)``; its Smirnov-series branch runs with the GIL released.

    ``kstwo.sf`` reaches ``2 * scipy.special.smirnov(n, d)`` (clipped to [0, 1]) when
    ``1 < n d < n - 1`` and either ``d >= 0.5``, or ``n > 140`` and ``2.2 <= n d^2 < 370``
    (``scipy.stats._ksstats._kolmogn``, the survival branch). There the same ufunc is called on
    a padded array (same loop, same value); every other case goes through ``kstwo.sf`` itself.
    """
    import numpy as np
    from scipy.special import smirnov
    from scipy.stats import kstwo

    t = n * d
    if 1.0 < t < n - 1 and (d >= 0.5 or (n > 140 and 2.2 <= t * d < 370.0)):
        ns = np.full(_GIL_FREE_LOOP, int(n), dtype=np.int64)  # kolmogn passes int(n): the 'ld->d' loop
        ds = np.ones(_GIL_FREE_LOOP)  # smirnov(n, 1.0) returns 0 at once
        ds[0] = d
        return float(np.clip(2 * smirnov(ns, ds)[0], 0.0, 1.0))
    return float(kstwo.sf(d, n))
