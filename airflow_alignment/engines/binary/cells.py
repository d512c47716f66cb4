"""Predictions reduced to cell counts: what count-based fairness and performance metrics need.

Every count metric (selection rate, TPR, precision, accuracy, ...) of every group is a function
of how many rows fall in each cell *group x label x prediction* (and of the weight in each cell
when rows are weighted). A :class:`CellTable` holds exactly that: one row per distinct
combination of the sensitive features, the true label and the prediction, with the number of
rows (and the weight sums) behind it. A table of a billion predictions over a few groups is a
few dozen rows, so it can be computed where the data lives and shipped:

- :func:`from_frame`: a ``pandas.DataFrame`` (the reference; tests compare with it);
- :func:`from_batches`: any iterator of DataFrames, e.g. a Parquet or CSV file read in
  batches (:func:`airflow_alignment.io.iter_batches`), one batch in memory at a time;
- :func:`count`: a source counted where it lives, when its backend can (one ``GROUP BY``
  inside a database, a large file batch by batch; see :mod:`airflow_alignment.io.cells`);
- :func:`count_scored`: the same, with the score metrics (ROC AUC, log loss, Brier) of each
  group computed where the data lives too (:attr:`CellTable.scores`), when its backend can
  (Spark); the engines then judge score metrics without the rows.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.common import describe
from airflow_alignment.exceptions import DataError
from airflow_alignment.io.backends import backend_for, describe_source
from airflow_alignment.io.cells import ROWS, WEIGHT_MIN, WEIGHT_MISSING, WEIGHT_SQ, WEIGHT_SUM, CellKeys, count_batches
from airflow_alignment.io.frames import require_rows
from airflow_alignment.io.sources import as_source
from airflow_alignment.specs.common import check_threshold, column_arguments, column_list
from airflow_alignment.specs.metrics import PROBABILITY_METRICS

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ROWS",
    "WEIGHT_MIN",
    "WEIGHT_SQ",
    "CellTable",
    "ScoreTables",
    "build",
    "count",
    "count_scored",
    "describe_data",
    "from_batches",
    "from_frame",
    "needs_rows",
]


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
    scores: ScoreTables | None = None  # score metrics computed where the data lives, or None

    @property
    def scored(self) -> bool:
        """The score metrics can be judged from this table (computed where the data lives)."""
        return self.scores is not None

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
    keys = _keys(features, y_true, y_pred, y_score, threshold, sample_weight)
    return build(count_batches(batches, keys), keys, source=source)


def count(
    data: Any,
    *,
    features: Sequence[str],
    y_true: str,
    y_pred: str | None = None,
    y_score: str | None = None,
    threshold: float | None = None,
    sample_weight: str | None = None,
    **rows: Any,
) -> CellTable | None:
    """The cell table of a source counted where it lives, or ``None`` when its backend reads
    rows instead (see :meth:`airflow_alignment.io.backends.SourceBackend.count_cells`).
    ``rows``: ``window`` and ``not_null``, as the backend's ``read``."""
    keys = _keys(features, y_true, y_pred, y_score, threshold, sample_weight)
    source = as_source(data)
    summed = backend_for(source).count_cells(source, keys, **rows)
    return None if summed is None else build(summed, keys, source=describe_source(source))


@dataclass
class ScoreTables:
    """Score metrics of the rows a cell table counts, computed where they live on demand: one
    table per grouping the engine judges (the groups, each feature alone, the whole data),
    each one row per group (:meth:`~airflow_alignment.io.backends.SourceBackend.score_metrics`).
    """

    data: Any
    y_true: str
    y_score: str
    pos_label: Any
    sample_weight: str | None
    rows: dict[str, Any]  # ``window`` and ``not_null``, as the cells were counted
    found: dict[tuple[tuple[str, ...], tuple[str, ...]], pd.DataFrame] = field(default_factory=dict)

    def by(self, features: Sequence[str], not_null: Sequence[str] = ()) -> pd.DataFrame:
        """The score metrics of each group of ``features`` (one row, the whole data, for none),
        leaving out the rows with a missing value in ``not_null`` (those the check drops)."""
        key = (tuple(features), tuple(not_null))
        if key not in self.found:
            rows = {**self.rows, "not_null": list(dict.fromkeys([*self.rows.get("not_null", ()), *not_null]))}
            found = backend_for(self.data).score_metrics(
                self.data,
                features=list(features),
                y_true=self.y_true,
                y_score=self.y_score,
                pos_label=self.pos_label,
                sample_weight=self.sample_weight,
                **rows,
            )
            self.found[key] = found
        return self.found[key]

    def metric(
        self, name: str, features: Sequence[str], not_null: Sequence[str] = ()
    ) -> tuple[dict[tuple[Any, ...], float], float]:
        """``({group values: value}, overall)`` of the score metric ``name`` by ``features``
        (a missing group value is ``None``), as :meth:`by` chooses the rows.

        :raises DataError: ``log_loss`` or ``brier_score`` of scores outside [0, 1].
        """
        import math

        overall = self.by((), not_null).iloc[0]
        low, high = float(overall["score_min"]), float(overall["score_max"])
        if name in PROBABILITY_METRICS and (low < 0 or high > 1):
            raise DataError(
                f"metric {name!r} could not be computed: y_score column {self.y_score!r} has values outside [0, 1] "
                f"(from {low:.4g} to {high:.4g}), but {name} needs probabilities of the positive class; give "
                "probabilities, or judge roc_auc, which takes any score"
            )
        table = self.by(features, not_null)
        values = {
            tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row): float(value)
            for row, value in zip(
                table[list(features)].itertuples(index=False, name=None), table[name].to_numpy(), strict=True
            )
        }
        return values, float(overall[name])


def count_scored(
    data: Any,
    *,
    features: Sequence[str],
    y_true: str,
    y_pred: str | None = None,
    y_score: str,
    threshold: float | None = None,
    sample_weight: str | None = None,
    pos_label: Any = 1,
    **rows: Any,
) -> CellTable | None:
    """:func:`count`, with the score metrics of ``y_score`` computed where the data lives when
    the engine asks for them (:attr:`CellTable.scores`); ``None`` when the source's backend
    does not compute score metrics (then the rows are read)."""
    source = as_source(data)
    if not backend_for(source).scores_in_place:
        return None
    table = count(
        source,
        features=features,
        y_true=y_true,
        y_pred=y_pred,
        y_score=y_score,
        threshold=threshold,
        sample_weight=sample_weight,
        **rows,
    )
    if table is not None:
        table.scores = ScoreTables(source, y_true, y_score, pos_label, sample_weight, dict(rows))
    return table


def _keys(
    features: Sequence[str],
    y_true: str,
    y_pred: str | None,
    y_score: str | None,
    threshold: float | None,
    sample_weight: str | None,
) -> CellKeys:
    features = column_list(features, "sensitive_features") if features else []
    check_threshold(threshold)
    column_arguments(y_true=y_true, y_pred=y_pred, y_score=y_score, sample_weight=sample_weight, required=("y_true",))
    return CellKeys.of(features, y_true, y_pred, y_score, threshold, sample_weight)


def build(frame: pd.DataFrame, keys: CellKeys, *, source: str | None = None) -> CellTable:
    """The CellTable of a summed cells frame (:mod:`airflow_alignment.io.cells`), whoever summed
    it: the weight sum goes under the weight column's name (NaN where the weight is missing)."""
    import numpy as np

    out = frame[[*keys.columns, ROWS]].copy()
    weight = keys.sample_weight
    if weight is not None:
        missing = frame[WEIGHT_MISSING].to_numpy(dtype=bool)
        out[weight] = np.where(missing, np.nan, frame[WEIGHT_SUM].to_numpy(dtype=float))
        out[WEIGHT_SQ] = np.where(missing, 0.0, frame[WEIGHT_SQ].to_numpy(dtype=float))
        out[WEIGHT_MIN] = np.where(missing, np.nan, frame[WEIGHT_MIN].to_numpy(dtype=float))
    return CellTable(
        out.reset_index(drop=True),
        keys.y_true,
        keys.prediction,
        keys.thresholded,
        weight,
        list(keys.features),
        source,
        keys.threshold if keys.thresholded else None,
    )


def describe_data(df: pd.DataFrame | CellTable, source: str | None, columns: list[str]) -> dict[str, Any]:
    """The ``data`` block of a result on rows or on their cells (computed first: its hashes are
    freed before the arrays exist). ``source`` names the data when given."""
    if isinstance(df, CellTable):
        require_rows(df.frame, source if source is not None else df.source)  # a cell stands for 1+ rows
        data = df.describe()
        if source is not None:
            data["source"] = source
        return data
    require_rows(df, source)
    return describe(df, source, columns)


def needs_rows(metric: Any) -> str:
    """Why ``metric`` (a score metric name or a callable) cannot be computed from a CellTable."""
    if callable(metric):
        return (
            "needs the rows, not counts: a callable metric is called on the rows' labels and predictions, "
            "and a cell table holds only their counts; pass the rows (a DataFrame)"
        )
    return (
        "needs the rows (scores), not counts: a cell table holds the counts of labels and thresholded "
        "predictions, not the scores; pass the rows (a DataFrame)"
    )
