"""Predictions counted where they are: the layout every counting backend returns.

Count-based metrics of a binary classifier need only how many rows fall in each cell *group x
label x prediction* (and the weight in each cell). A backend that can count where the data
lives returns those counts, never the rows: a database in one ``GROUP BY``
(:func:`airflow_alignment.io.sql.count_cells`), a file batch by batch with pandas
(:func:`count_batches`). What they return is a *summed cells* frame: one row per distinct
combination of the :class:`CellKeys` columns (and, when weighted, of whether the weight is
missing), with

- :data:`ROWS`: the number of rows behind it;
- when weighted: :data:`WEIGHT_SUM`, :data:`WEIGHT_SQ` (sum of squared weights, for the
  bootstrap), :data:`WEIGHT_MIN` (the smallest weight, to refuse negative weights as the row
  path does) and :data:`WEIGHT_MISSING` (the rows' weight is missing).

:class:`airflow_alignment.engines.binary.cells.CellTable` is built from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import DataError
from airflow_alignment.io.frames import require_columns, require_one_type, require_unique_columns

if TYPE_CHECKING:
    import pandas as pd

ROWS = "__rows__"
WEIGHT_SUM = "__w__"
WEIGHT_SQ = "__weight_sq__"
WEIGHT_MIN = "__weight_min__"
WEIGHT_MISSING = "__weight_missing__"
_MAX_PARTS = 64  # partial tables kept before they are summed: small whatever the number of batches


@dataclass(frozen=True)
class CellKeys:
    """What a cell count groups by: the sensitive features, the label and the prediction.

    :param prediction: the column holding predictions: ``y_pred``'s own name, or with
        ``y_score`` and a threshold ``y_score``'s name (1.0 where ``score >= threshold``,
        0.0 below, NaN where the score is missing); ``None``: no predictions.
    :param thresholded: ``prediction`` is a score cut at ``threshold``.
    """

    features: tuple[str, ...]
    y_true: str
    prediction: str | None
    thresholded: bool
    threshold: float | None
    sample_weight: str | None

    @classmethod
    def of(
        cls,
        features: Sequence[str],
        y_true: str,
        y_pred: str | None,
        y_score: str | None,
        threshold: float | None,
        sample_weight: str | None,
    ) -> CellKeys:
        prediction = y_pred if y_pred is not None else (y_score if threshold is not None else None)
        thresholded = y_pred is None and prediction is not None
        return cls(tuple(features), y_true, prediction, thresholded, threshold, sample_weight)

    @property
    def columns(self) -> list[str]:
        """The grouping columns: features, label, prediction (each once)."""
        return list(dict.fromkeys([*self.features, self.y_true] + ([self.prediction] if self.prediction else [])))

    @property
    def read(self) -> list[str]:
        """The columns a backend reads: the grouping columns and the weight."""
        return list(dict.fromkeys(self.columns + ([self.sample_weight] if self.sample_weight else [])))


def count_batches(batches: Iterable[pd.DataFrame], keys: CellKeys) -> pd.DataFrame:
    """The summed cells of all the rows of ``batches``, holding one batch at a time."""
    parts: list[pd.DataFrame] = []
    for batch in batches:
        parts.append(count_frame(batch, keys))
        if len(parts) >= _MAX_PARTS:
            parts = [_combine(parts, keys)]
    if not parts:
        raise ValueError("no batch")  # iter_batches always yields at least one (maybe empty) batch
    return _combine(parts, keys)


def count_frame(df: pd.DataFrame, keys: CellKeys) -> pd.DataFrame:
    """The summed cells of the rows of ``df``."""
    import numpy as np
    import pandas as pd

    require_unique_columns(list(df.columns), "the data")
    require_columns(df, keys.columns + ([keys.sample_weight] if keys.sample_weight else []))
    for feature in keys.features:
        require_one_type(df[feature], f"sensitive feature {feature!r}")
    frame = pd.DataFrame({k: df[k] for k in keys.columns})
    prediction = keys.prediction
    if keys.thresholded and prediction is not None:
        score = _numeric(df[prediction], "y_score", prediction)
        infinite = int(np.isinf(score).sum())
        if infinite:
            raise DataError(f"y_score column {prediction!r} has {infinite:,} infinite values; scores must be finite")
        frame[prediction] = np.where(np.isnan(score), np.nan, (score >= keys.threshold).astype(float))
    frame[ROWS] = 1
    if keys.sample_weight is not None:
        weight = _numeric(df[keys.sample_weight], "sample_weight", keys.sample_weight)
        frame[WEIGHT_MISSING] = np.isnan(weight)
        frame[WEIGHT_SUM] = weight
        frame[WEIGHT_SQ] = weight * weight
        frame[WEIGHT_MIN] = weight
    return _sum_cells(frame, keys)


def _numeric(series: pd.Series, role: str, col: str) -> Any:
    import pandas as pd

    not_numbers = not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)
    if not_numbers and not (series.dtype == object and series.isna().all()):  # an all-missing batch reads as object
        raise DataError(f"{role} column {col!r} must be numeric, got dtype {series.dtype}")
    return series.to_numpy(dtype=float, na_value=float("nan"))


def _combine(parts: list[pd.DataFrame], keys: CellKeys) -> pd.DataFrame:
    import pandas as pd

    return _sum_cells(pd.concat(parts, ignore_index=True), keys)


def _sum_cells(frame: pd.DataFrame, keys: CellKeys) -> pd.DataFrame:
    """One row per cell (and per missing-weight flag): rows and weight sums added up."""
    group_keys = keys.columns + ([WEIGHT_MISSING] if keys.sample_weight is not None else [])
    agg: dict[str, Any] = {ROWS: "sum"}
    if keys.sample_weight is not None:
        agg.update({WEIGHT_SUM: "sum", WEIGHT_SQ: "sum", WEIGHT_MIN: "min"})
    return frame.groupby(group_keys, dropna=False, sort=False, observed=True).agg(agg).reset_index()
