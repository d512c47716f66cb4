"""Counts computed inside Spark: the cell table of count-based fairness and performance
metrics, and labelled rows per group (a feedback sensor's wait).

:func:`cell_table` is one Spark aggregation, ``groupBy(<features>, <y_true>, <prediction>)``
with the row count and, with weights, their sum, sum of squares and minimum: a few dozen rows
come back to the worker whatever the table's size, and every count metric, interval and
baseline of the engines works on them unchanged
(:class:`~airflow_alignment.engines.binary.cells.CellTable`). The same aggregation counts the
infinite scores, so the checks the row path makes on the data come at no extra pass.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.binary import cells
from airflow_alignment.exceptions import DataError
from airflow_alignment.io.cells import CellKeys
from airflow_alignment.io.spark_source import SparkSource, quote
from airflow_alignment.spark.frames import dataframe
from airflow_alignment.spark.session import functions, spark_errors

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

    from airflow_alignment.engines.binary.cells import CellTable
    from airflow_alignment.io.window import Window

log = logging.getLogger(__name__)

NUMERIC_TYPES = ("tinyint", "smallint", "int", "bigint", "float", "double")
_INFINITE = "__infinite__"


def cell_table(
    source: SparkSource,
    *,
    features: Sequence[str],
    y_true: str,
    y_pred: str | None = None,
    y_score: str | None = None,
    threshold: float | None = None,
    sample_weight: str | None = None,
    **rows: Any,
) -> CellTable:
    """The cell counts of the source in one Spark aggregation; ``rows`` as for
    :func:`airflow_alignment.spark.frames.dataframe` (``window``, ``not_null``).

    A thresholded score becomes the column ``CASE WHEN score IS NULL THEN NULL WHEN score >=
    threshold THEN 1.0 ELSE 0.0 END`` (the threshold a literal); ``NaN`` counts as missing, as
    in pandas.

    :raises DataError: a missing column, a score or weight column that is not numeric, an
        infinite score.
    """
    cell_keys = CellKeys.of(list(features), y_true, y_pred, y_score, threshold, sample_weight)
    return cells.build(summed_cells(source, cell_keys, **rows), cell_keys, source=str(source))


def summed_cells(source: SparkSource, cell_keys: CellKeys, **rows: Any) -> pd.DataFrame:
    """The summed cells frame (:mod:`airflow_alignment.io.cells`) of :func:`cell_table`, as the
    Spark backend's ``count_cells`` returns it."""
    import pandas as pd

    keys, prediction, thresholded = cell_keys.columns, cell_keys.prediction, cell_keys.thresholded
    threshold, sample_weight = cell_keys.threshold, cell_keys.sample_weight
    frame = dataframe(source, cell_keys.read, **rows)
    types = dict(frame.dtypes)
    F = functions(frame)
    if thresholded and prediction is not None:
        _require_numeric(types, "y_score", prediction, source)
    if sample_weight is not None:
        _require_numeric(types, "sample_weight", sample_weight, source)
    inner = []
    for key in keys:
        col = F.col(quote(key))
        if thresholded and key == prediction:
            col = F.when(col.isNull(), F.lit(None)).when(col >= F.lit(float(threshold)), F.lit(1.0)).otherwise(0.0)  # type: ignore[arg-type]
        inner.append(col.alias(key))
    if thresholded and prediction is not None:
        score = F.col(quote(prediction))
        inner.append(F.when(score.isin(float("inf"), float("-inf")), 1).otherwise(0).alias(_INFINITE))
    if sample_weight is not None:
        weight = F.col(quote(sample_weight)).cast("double")
        inner += [weight.isNull().alias(cells.WEIGHT_MISSING), weight.alias("__w__")]
    group = keys + ([cells.WEIGHT_MISSING] if sample_weight is not None else [])
    aggregates = [F.count(F.lit(1)).alias(cells.ROWS)]
    if thresholded and prediction is not None:
        aggregates.append(F.sum(_INFINITE).alias(_INFINITE))
    if sample_weight is not None:
        w = F.col("__w__")
        aggregates += [F.sum(w).alias("__w__"), F.sum(w * w).alias(cells.WEIGHT_SQ), F.min(w).alias(cells.WEIGHT_MIN)]
    counted = frame.select(*inner).groupBy(*[F.col(quote(g)) for g in group]).agg(*aggregates)
    result = _collect(counted, source, "counting cells")
    table = pd.DataFrame.from_records([tuple(r) for r in result], columns=counted.columns).infer_objects()
    if thresholded and prediction is not None:
        infinite = int(table.pop(_INFINITE).fillna(0).sum()) if len(table) else 0
        if infinite:
            raise DataError(f"y_score column {prediction!r} has {infinite:,} infinite values; scores must be finite")
        table[prediction] = pd.to_numeric(table[prediction]).astype(float)
    table[cells.ROWS] = table[cells.ROWS].astype("int64")
    if sample_weight is not None:
        table[cells.WEIGHT_MISSING] = table[cells.WEIGHT_MISSING].astype(bool)
        for col in ("__w__", cells.WEIGHT_SQ, cells.WEIGHT_MIN):
            table[col] = pd.to_numeric(table[col]).astype(float)
    return table


def group_counts(
    source: SparkSource, features: Sequence[str], label: str, *, window: Window | None = None
) -> list[tuple[tuple[Any, ...], int, int]]:
    """Rows and labelled rows (``label`` not missing) per group of ``features`` inside
    ``window``, counted in Spark: ``[(group values, rows, labelled), ...]`` sorted as pandas'
    ``groupby`` sorts (a missing value last). Plain Python values."""
    features = list(features)
    frame = dataframe(source, list(dict.fromkeys([*features, label])), window=window)
    F = functions(frame)
    counted = frame.groupBy(*[F.col(quote(f)) for f in features]).agg(
        F.count(F.lit(1)).alias("__rows__"), F.count(F.col(quote(label))).alias("__labelled__")
    )
    found = [(tuple(r[: len(features)]), int(r[-2]), int(r[-1])) for r in _collect(counted, source, "counting groups")]
    return sorted(found, key=lambda item: tuple((v is None, "" if v is None else v) for v in item[0]))


def _collect(frame: DataFrame, source: SparkSource, what: str) -> list[Any]:
    """The (few) rows of an aggregation."""
    with spark_errors(source):
        rows = frame.collect()
    log.info("%s in Spark for %s: %d rows back", what, source, len(rows))
    return rows


def _require_numeric(types: dict[str, str], role: str, column: str, source: SparkSource) -> None:
    dtype = types[column]
    if dtype not in NUMERIC_TYPES and not dtype.startswith("decimal"):
        raise DataError(f"{role} column {column!r} must be numeric, got Spark type {dtype} in {source}")
