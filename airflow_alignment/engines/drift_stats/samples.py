"""One column reduced to the sufficient statistics of every drift method.

- :class:`NumericSample`: the sorted non-missing values (``-inf`` first, ``inf`` last), either
  one entry per row (:func:`numeric_sample`: one sort of a float64 copy) or distinct values
  with their counts (:func:`numeric_sample_from_counts`: what ``SELECT v, COUNT(*) ... GROUP
  BY v`` returns), plus the number of missing values.
- :class:`CategoricalSample`: each non-missing category and its count, plus the number of
  missing values (:func:`categorical_sample`, :func:`categorical_sample_from_counts`).

Missing values (NaN, None, NA, NaT) and infinite values are counted here, so that the report
gives their count and share and a bound can judge them; the methods never bin them silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class NumericSample:
    """The non-missing values of a numeric column, sorted, and how many were missing.

    ``counts`` is ``None`` when ``values`` holds one entry per row; otherwise ``values`` are
    distinct and ``counts[i]`` rows hold ``values[i]``.
    """

    values: np.ndarray
    missing: int = 0
    counts: np.ndarray | None = None

    @property
    def size(self) -> int:
        """The number of non-missing values (infinite ones included)."""
        return len(self.values) if self.counts is None else int(self.counts.sum())

    @property
    def rows(self) -> int:
        """The number of rows, missing ones included."""
        return self.size + self.missing

    @property
    def _finite_slice(self) -> slice:
        import numpy as np

        low = int(np.searchsorted(self.values, -np.inf, side="right"))
        high = int(np.searchsorted(self.values, np.inf, side="left"))
        return slice(low, high)

    @property
    def finite(self) -> np.ndarray:
        """The finite values (a view)."""
        return self.values[self._finite_slice]

    @property
    def finite_counts(self) -> np.ndarray | None:
        """The counts of :attr:`finite` (``None`` for one entry per row)."""
        return None if self.counts is None else self.counts[self._finite_slice]

    @property
    def finite_size(self) -> int:
        """The number of finite values."""
        counts = self.finite_counts
        return len(self.finite) if counts is None else int(counts.sum())

    @property
    def infinite(self) -> int:
        """The number of infinite values (``inf`` and ``-inf``)."""
        return self.size - self.finite_size

    def distinct(self, limit: int) -> np.ndarray | None:
        """The distinct finite values when there are at most ``limit`` of them, else ``None``."""
        import numpy as np

        finite = self.finite
        if self.counts is not None:
            return finite if len(finite) <= limit else None
        if len(finite) == 0:
            return finite
        changes = np.flatnonzero(finite[1:] != finite[:-1])
        if len(changes) >= limit:
            return None
        return finite[np.concatenate([[0], changes + 1])]

    def value_table(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct finite values and their counts."""
        import numpy as np

        if self.counts is not None:
            return self.finite, self.finite_counts  # type: ignore[return-value]
        finite = self.finite
        if len(finite) == 0:
            return finite, np.zeros(0, dtype=np.int64)
        starts = np.concatenate([[0], np.flatnonzero(finite[1:] != finite[:-1]) + 1])
        return finite[starts], np.diff(np.concatenate([starts, [len(finite)]])).astype(np.int64)


@dataclass(frozen=True)
class CategoricalSample:
    """The categories of a column, each with its count (all above 0), and the missing count."""

    categories: list[Any]
    counts: np.ndarray
    missing: int = 0

    @property
    def size(self) -> int:
        """The number of non-missing values."""
        return int(self.counts.sum())

    @property
    def rows(self) -> int:
        """The number of rows, missing ones included."""
        return self.size + self.missing


def numeric_sample(column: Any) -> NumericSample:
    """A numeric column (pandas Series, numpy array, list) as a :class:`NumericSample`.

    One float64 copy of the column, the missing values dropped, one in-place sort.
    """
    import numpy as np

    values = _float_copy(column)
    keep = ~np.isnan(values)
    missing = int(len(values) - np.count_nonzero(keep))
    if missing:
        values = values[keep]
    values.sort()
    return NumericSample(values, missing)


def numeric_sample_from_counts(values: Iterable[float], counts: Iterable[int], missing: int = 0) -> NumericSample:
    """A :class:`NumericSample` from a value table (``SELECT v, COUNT(*) ... GROUP BY v``).

    Values may come in any order and may include ``inf`` and ``-inf``; a NaN value's count is
    added to ``missing``; values with a count of 0 are dropped.

    :raises ValueError: lengths differ, a negative count, or a repeated value.
    """
    import numpy as np

    v = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=np.float64)
    c = np.asarray(list(counts) if not isinstance(counts, np.ndarray) else counts, dtype=np.int64)
    if v.shape != c.shape or v.ndim != 1:
        raise ValueError(f"numeric_sample_from_counts: {len(v)} values but {len(c)} counts; give one count per value")
    if (c < 0).any():
        raise ValueError("numeric_sample_from_counts: counts must be 0 or more")
    nan = np.isnan(v)
    missing += int(c[nan].sum())
    v, c = v[~nan & (c > 0)], c[~nan & (c > 0)]
    order = np.argsort(v, kind="stable")
    v, c = v[order], c[order]
    if len(v) > 1 and (v[1:] == v[:-1]).any():
        raise ValueError("numeric_sample_from_counts: a value appears twice; sum its counts first")
    return NumericSample(v, missing, c)


def categorical_sample(column: Any) -> CategoricalSample:
    """A column of categories (pandas Series or anything ``pandas.Series`` takes) counted.

    Categories keep the order of ``value_counts(sort=False)``; a pandas Categorical's unused
    categories are dropped.
    """
    import numpy as np
    import pandas as pd

    series = column if isinstance(column, pd.Series) else pd.Series(column)
    counts = series.value_counts(dropna=True, sort=False)
    missing = int(len(series) - counts.sum())
    counts = counts[counts > 0]
    return CategoricalSample(list(counts.index), counts.to_numpy(dtype=np.int64), missing)


def categorical_sample_from_counts(counts: Mapping[Any, int], missing: int = 0) -> CategoricalSample:
    """A :class:`CategoricalSample` from ``{category: count}`` (``GROUP BY`` on the column).

    A ``None`` or NaN key's count is added to ``missing``; categories with a count of 0 are
    dropped.

    :raises ValueError: a negative count.
    """
    import numpy as np

    categories, values = [], []
    for category, count in counts.items():
        if count < 0:
            raise ValueError(f"categorical_sample_from_counts: category {category!r} has a negative count {count}")
        if category is None or (isinstance(category, float) and np.isnan(category)):
            missing += int(count)
        elif count:
            categories.append(category)
            values.append(int(count))
    return CategoricalSample(categories, np.asarray(values, dtype=np.int64), missing)


def _float_copy(column: Any) -> np.ndarray:
    import numpy as np

    to_numpy = getattr(column, "to_numpy", None)
    if to_numpy is not None:
        return to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    return np.array(column, dtype=np.float64)
