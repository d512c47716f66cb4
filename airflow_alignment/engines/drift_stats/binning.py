"""Reference-quantile bins, bin counts and the Population Stability Index.

The bins are the drift engine's (``engines._drift_stats.numeric``), computed from sufficient
statistics instead of a column:

- ``(-inf, e1], (e1, e2], ..., (ek, inf)`` with ``e1..ek`` the distinct interior quantiles of
  the reference's finite values (numpy's default ``linear`` method, as ``numpy.quantile``
  computes them: :func:`quantile_edges` reproduces its arithmetic from order statistics, so a
  sorted array or a value table gives the same edges without a partition of the data);
- a constant reference column: ``< v``, ``== v``, ``> v`` (edges ``nextafter(v, -inf)`` and ``v``);
- no finite reference value: one bin.

Infinite values and missing values never fall into these bins: the caller appends an
``(infinite)`` and a ``(missing)`` bin when either side has any (see :mod:`.compare`).

PSI = sum((c - r) * ln(c / r)) over the bins, ``r`` and ``c`` the reference and current shares;
a share of 0 is replaced by :data:`EPSILON` (as Evidently does), so an empty bin costs a large
but finite amount.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


EPSILON = 1e-4


@dataclass(frozen=True)
class Bins:
    """The cut points of a numeric feature's bins (see the module docstring)."""

    edges: np.ndarray
    constant: float | None = None  # the value of a constant reference column

    @property
    def count(self) -> int:
        """The number of bins (finite values only)."""
        return len(self.edges) + 1


def quantile_edges(sorted_finite: np.ndarray, bins: int) -> Bins:
    """The bins of a reference given as its sorted finite values."""
    n = len(sorted_finite)
    return _edges(n, lambda idx: sorted_finite[idx], bins)


def quantile_edges_counts(values: np.ndarray, counts: np.ndarray, bins: int) -> Bins:
    """The bins of a reference given as a value table: distinct sorted finite values, counts."""
    import numpy as np

    cum = np.cumsum(np.asarray(counts, dtype=np.int64))
    n = int(cum[-1]) if len(cum) else 0
    return _edges(n, lambda idx: values[np.searchsorted(cum, idx, side="right")], bins)


def _edges(n: int, order_statistic: Callable[[np.ndarray], np.ndarray], bins: int) -> Bins:
    import numpy as np

    if n == 0:
        return Bins(np.empty(0))
    low, high = order_statistic(np.array([0, n - 1]))
    if low == high:
        return Bins(np.array([np.nextafter(low, -np.inf), low]), constant=float(low))
    return Bins(np.unique(_linear_quantiles(n, order_statistic, np.linspace(0, 1, bins + 1)[1:-1])))


def _linear_quantiles(n: int, order_statistic: Callable[[np.ndarray], np.ndarray], q: np.ndarray) -> np.ndarray:
    """``numpy.quantile(a, q)`` (method ``linear``) of the ``n`` sorted values ``order_statistic``
    reads, with numpy's own arithmetic (``numpy.lib._function_base_impl._quantile``)."""
    import numpy as np

    virtual = (n - 1) * q
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= n - 1
    previous[above] = n - 1
    following[above] = n - 1
    below = virtual < 0
    previous[below] = 0
    following[below] = 0
    previous_i, following_i = previous.astype(np.intp), following.astype(np.intp)
    # numpy indexes the last value as -1 there, and its gamma is taken from that index
    gamma = np.asanyarray(virtual - np.where(above, -1, previous_i), dtype=virtual.dtype)
    a, b = order_statistic(previous_i), order_statistic(following_i)
    diff_b_a = b - a
    out = np.add(a, diff_b_a * gamma)
    np.subtract(b, diff_b_a * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def bin_counts(sorted_values: np.ndarray, bins: Bins) -> np.ndarray:
    """Counts of sorted finite values in each bin (the edges searched in the values)."""
    import numpy as np

    cum = np.searchsorted(sorted_values, bins.edges, side="right")
    return np.diff(np.concatenate([[0], cum, [len(sorted_values)]])).astype(np.int64)


def bin_counts_table(values: np.ndarray, counts: np.ndarray, bins: Bins) -> np.ndarray:
    """Counts of a value table (distinct sorted finite values, counts) in each bin."""
    import numpy as np

    cum = np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))])
    at = cum[np.searchsorted(values, bins.edges, side="right")]
    return np.diff(np.concatenate([[0], at, [cum[-1]]])).astype(np.int64)


def psi(reference: np.ndarray, current: np.ndarray, epsilon: float = EPSILON) -> float:
    """Population Stability Index of two count vectors over the same bins (``epsilon``-smoothed)."""
    import numpy as np

    r = reference / max(int(reference.sum()), 1)
    c = current / max(int(current.sum()), 1)
    r = np.where(r == 0, epsilon, r)
    c = np.where(c == 0, epsilon, c)
    return float(np.sum((c - r) * np.log(c / r)))


def labels(bins: Bins) -> list[str]:
    """The bins' labels as the drift report shows them: ``(a, b]`` intervals, or ``< v``,
    ``== v``, ``> v`` for a constant reference column."""
    if bins.constant is not None:
        point = format_number(bins.constant)
        return [f"< {point}", f"== {point}", f"> {point}"]
    points = ["-inf", *(format_number(e) for e in bins.edges), "inf"]
    return [f"({a}, {b}]" if b != "inf" else f"({a}, {b})" for a, b in itertools.pairwise(points)]


def format_number(value: float) -> str:
    """A bin edge as text: whole numbers without a decimal point, others to 8 significant digits."""
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.8g}"
