"""Predictions reduced to cell counts: what count-based fairness and performance metrics need.

Every count metric (selection rate, TPR, precision, accuracy, ...) of every group is a function
of how many rows fall in each cell *group x label x prediction* (and of the weight in each cell
when rows are weighted). A :class:`CellTable` holds exactly that: one row per distinct
combination of the sensitive features, the true label and the prediction, with the number of
rows (and the weight sums) behind it. A table of a billion predictions over a few groups is a
few dozen rows, so it can be computed where the data lives and shipped:

- :func:`from_frame`: a ``pandas.DataFrame`` (the reference; tests compare with it);
- :func:`from_batches`: any iterator of DataFrames, e.g. a Parquet or CSV file read in
  batches (:func:`airflow_alignment.sources.iter_batches`), one batch in memory at a time;
- :func:`airflow_alignment.sql.cell_table`: one ``GROUP BY`` query inside the database.

The engines (``fairness.evaluate``, ``performance.evaluate``) take a ``CellTable`` wherever
they take a DataFrame and give the same result as on the rows.

Columns of :attr:`CellTable.frame`:

- each sensitive feature, the ``y_true`` column, and the prediction column (``y_pred``'s own
  name; with ``y_score`` and a threshold, ``y_score``'s name holding 1.0 where
  ``score >= threshold``, 0.0 below and NaN where the score is missing), with the values of the
  data (missing values kept as their own combination);
- the ``sample_weight`` column, when weighted: the weight sum of the cell's rows (NaN for the
  rows whose weight is missing, which form combinations of their own);
- :data:`ROWS` (the number of rows), and when weighted :data:`WEIGHT_SQ` (sum of squared
  weights, for the bootstrap) and :data:`WEIGHT_MIN` (the smallest weight, to refuse
  negative weights as the row path does).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import DataError, SpecError

if TYPE_CHECKING:
    import pandas as pd

ROWS = "__rows__"
WEIGHT_SQ = "__weight_sq__"
WEIGHT_MIN = "__weight_min__"
WEIGHT_MISSING = "__weight_missing__"  # a grouping key while aggregating; not in the final frame


@dataclass
class CellTable:
    """Cell counts of a set of predictions (see the module docstring for the columns)."""

    frame: pd.DataFrame
    y_true: str
    prediction: str | None  # the column holding predictions (None: score metrics only)
    thresholded: bool  # True: ``prediction`` holds 1.0 / 0.0 / NaN (score >= threshold)
    sample_weight: str | None
    features: list[str]
    source: str | None = None
    threshold: float | None = None  # the cut of a thresholded score

    @property
    def rows(self) -> int:
        """The number of rows the table stands for."""
        return int(self.frame[ROWS].sum())

    @property
    def columns(self) -> list[str]:
        """The columns of the data the table was computed from."""
        cols = [*self.features, self.y_true]
        if self.prediction is not None:
            cols.append(self.prediction)
        if self.sample_weight is not None:
            cols.append(self.sample_weight)
        return list(dict.fromkeys(cols))

    def describe(self) -> dict[str, Any]:
        """The ``data`` block of a result: source, rows, columns, and a fingerprint of the cells.

        The fingerprint hashes the sorted cell table (values as text, counts, weight sums), so
        the same data gives the same fingerprint whichever path computed the cells.
        """
        return {
            "source": self.source,
            "rows": self.rows,
            "columns": self.columns,
            "fingerprint": self.fingerprint(),
        }

    def fingerprint(self) -> str:
        frame = self.frame
        keys = self.columns if self.sample_weight is None else [c for c in self.columns if c != self.sample_weight]
        text = frame[keys].astype(object).where(frame[keys].notna(), None).map(_canonical)
        values = [ROWS] + ([self.sample_weight, WEIGHT_SQ] if self.sample_weight else [])
        lines = sorted(
            "\x1f".join(row) + "\x1e" + "\x1f".join(repr(round(float(v), 9)) for v in counts)
            for row, counts in zip(text.itertuples(index=False), frame[values].itertuples(index=False), strict=True)
        )
        h = hashlib.sha256("\x1d".join(keys).encode())
        for line in lines:
            h.update(line.encode())
            h.update(b"\n")
        return "sha256:cells:" + h.hexdigest()


def _canonical(value: Any) -> str:
    if value is None:
        return "\x00"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return _canonical(value.item())
    except ImportError:  # pragma: no cover - numpy comes with pandas
        pass
    return str(value)


def key_columns(
    features: Sequence[str], y_true: str, y_pred: str | None, y_score: str | None, threshold: float | None
) -> tuple[list[str], str | None, bool]:
    """The grouping columns, the prediction column, and whether it is a thresholded score."""
    prediction = y_pred if y_pred is not None else (y_score if threshold is not None else None)
    keys = list(dict.fromkeys([*features, y_true] + ([prediction] if prediction else [])))
    return keys, prediction, y_pred is None and prediction is not None


def from_frame(
    df: pd.DataFrame,
    *,
    features: Sequence[str],
    y_true: str,
    y_pred: str | None = None,
    y_score: str | None = None,
    threshold: float | None = None,
    sample_weight: str | None = None,
    source: str | None = None,
) -> CellTable:
    """The cell table of the rows of ``df``."""
    return from_batches(
        [df],
        features=features,
        y_true=y_true,
        y_pred=y_pred,
        y_score=y_score,
        threshold=threshold,
        sample_weight=sample_weight,
        source=source,
    )


def from_batches(
    batches: Iterable[pd.DataFrame],
    *,
    features: Sequence[str],
    y_true: str,
    y_pred: str | None = None,
    y_score: str | None = None,
    threshold: float | None = None,
    sample_weight: str | None = None,
    source: str | None = None,
) -> CellTable:
    """The cell table of all the rows of ``batches``, holding one batch at a time."""
    from airflow_alignment.engines.common import column_arguments, column_list

    features = column_list(features, "sensitive_features") if features else []
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold)
    ):
        raise SpecError(f"threshold: expected a number, got {threshold!r}")
    column_arguments(y_true=y_true, y_pred=y_pred, y_score=y_score, sample_weight=sample_weight, required=("y_true",))
    keys, prediction, thresholded = key_columns(features, y_true, y_pred, y_score, threshold)
    parts: list[pd.DataFrame] = []
    for batch in batches:
        parts.append(_aggregate(batch, keys, features, prediction, thresholded, threshold, sample_weight))
        if len(parts) >= 64:  # keep the partial tables small whatever the number of batches
            parts = [_combine(parts, keys, sample_weight)]
    if not parts:
        raise ValueError("no batch")  # iter_batches always yields at least one (maybe empty) batch
    return build(
        _combine(parts, keys, sample_weight),
        features=features,
        y_true=y_true,
        y_pred=y_pred,
        y_score=y_score,
        threshold=threshold,
        sample_weight=sample_weight,
        source=source,
    )


def _aggregate(
    df: pd.DataFrame,
    keys: list[str],
    features: Sequence[str],
    prediction: str | None,
    thresholded: bool,
    threshold: float | None,
    sample_weight: str | None,
) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    from airflow_alignment.engines.common import require_columns, require_one_type
    from airflow_alignment.sources import require_unique_columns

    require_unique_columns(list(df.columns), "the data")
    require_columns(df, keys + ([sample_weight] if sample_weight else []))
    for feature in features:
        require_one_type(df[feature], f"sensitive feature {feature!r}")
    frame = pd.DataFrame({k: df[k] for k in keys})
    if thresholded and prediction is not None:
        score = _numeric(df[prediction], "y_score", prediction)
        infinite = int(np.isinf(score).sum())
        if infinite:
            raise DataError(f"y_score column {prediction!r} has {infinite:,} infinite values; scores must be finite")
        frame[prediction] = np.where(np.isnan(score), np.nan, (score >= threshold).astype(float))
    frame[ROWS] = 1
    group_keys = list(keys)
    if sample_weight is not None:
        weight = _numeric(df[sample_weight], "sample_weight", sample_weight)
        frame[WEIGHT_MISSING] = np.isnan(weight)
        frame["__w__"] = weight
        frame[WEIGHT_SQ] = weight * weight
        frame[WEIGHT_MIN] = weight
        group_keys.append(WEIGHT_MISSING)
    return _sum_cells(frame, keys, sample_weight)


def _numeric(series: pd.Series, role: str, col: str) -> Any:
    import pandas as pd

    not_numbers = not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)
    if not_numbers and not (series.dtype == object and series.isna().all()):  # an all-missing batch reads as object
        raise DataError(f"{role} column {col!r} must be numeric, got dtype {series.dtype}")
    return series.to_numpy(dtype=float, na_value=float("nan"))


def _combine(parts: list[pd.DataFrame], keys: list[str], sample_weight: str | None) -> pd.DataFrame:
    import pandas as pd

    return _sum_cells(pd.concat(parts, ignore_index=True), keys, sample_weight)


def _sum_cells(frame: pd.DataFrame, keys: list[str], sample_weight: str | None) -> pd.DataFrame:
    """One row per cell (and per missing-weight flag): rows and weight sums added up."""
    group_keys = list(keys) + ([WEIGHT_MISSING] if sample_weight is not None else [])
    agg: dict[str, Any] = {ROWS: "sum"}
    if sample_weight is not None:
        agg.update({"__w__": "sum", WEIGHT_SQ: "sum", WEIGHT_MIN: "min"})
    return frame.groupby(group_keys, dropna=False, sort=False, observed=True).agg(agg).reset_index()


def build(
    frame: pd.DataFrame,
    *,
    features: Sequence[str],
    y_true: str,
    y_pred: str | None = None,
    y_score: str | None = None,
    threshold: float | None = None,
    sample_weight: str | None = None,
    source: str | None = None,
) -> CellTable:
    """The CellTable of summed cells (the key columns, :data:`ROWS`, and with weights
    ``__w__``, :data:`WEIGHT_SQ`, :data:`WEIGHT_MIN`, :data:`WEIGHT_MISSING`), whoever summed
    them: the weight sum goes under the weight column's name (NaN where the weight is missing)."""
    import numpy as np

    keys, prediction, thresholded = key_columns(features, y_true, y_pred, y_score, threshold)
    out = frame[[*keys, ROWS]].copy()
    if sample_weight is not None:
        missing = frame[WEIGHT_MISSING].to_numpy(dtype=bool)
        out[sample_weight] = np.where(missing, np.nan, frame["__w__"].to_numpy(dtype=float))
        out[WEIGHT_SQ] = np.where(missing, 0.0, frame[WEIGHT_SQ].to_numpy(dtype=float))
        out[WEIGHT_MIN] = np.where(missing, np.nan, frame[WEIGHT_MIN].to_numpy(dtype=float))
    return CellTable(
        out.reset_index(drop=True),
        y_true,
        prediction,
        thresholded,
        sample_weight,
        list(features),
        source,
        threshold if thresholded else None,
    )
