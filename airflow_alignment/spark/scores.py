"""Score metrics computed inside Spark: ROC AUC, log loss and Brier score, overall and per group.

Each is an exact formula over sums, so Spark computes it where the data lives and one row per
group comes back:

- ROC AUC from per-score counts: within each group, the positives' weight at each distinct
  score times the negatives' weight below it, plus half the negatives' weight at the same
  score (ties), over ``positives x negatives`` (the Mann-Whitney form of the area under the
  ROC curve that ``sklearn.metrics.roc_auc_score`` integrates; equal to it up to the order of
  floating-point sums). Spark counts each (group, score) once, then sums in score order with a
  window partitioned by group. Undefined (``NaN``) where a group has one class only.
- log loss: the weighted mean of ``-(y ln p + (1 - y) ln(1 - p))`` with ``p`` clipped to
  ``[eps, 1 - eps]`` (``eps`` of float64), as scikit-learn clips;
- Brier score: the weighted mean of ``(y - p)^2``.

``y`` is 1 where the label equals ``pos_label``. A row with a missing label or score is refused
with its count (``DataError``), or left out when the caller names the columns in ``not_null``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import DataError
from airflow_alignment.io.spark_source import SparkSource, quote
from airflow_alignment.spark.counts import NUMERIC_TYPES
from airflow_alignment.spark.frames import dataframe
from airflow_alignment.spark.session import functions, one_partition_window, spark_errors, window_spec

if TYPE_CHECKING:
    import pandas as pd

SCORE_METRICS = ("roc_auc", "log_loss", "brier_score")
_EPS = 2.220446049250313e-16  # numpy.finfo(numpy.float64).eps, scikit-learn's clip of log loss


def score_metrics(
    source: SparkSource,
    *,
    features: Sequence[str],
    y_true: str,
    y_score: str,
    pos_label: Any = 1,
    sample_weight: str | None = None,
    **rows: Any,
) -> pd.DataFrame:
    """ROC AUC, log loss and Brier score of each group of ``features`` (the whole data with
    none), computed in Spark: a DataFrame with the feature columns, ``rows``, ``positives``,
    ``weight``, the smallest and largest score (``score_min``, ``score_max``: log loss and
    Brier need probabilities) and one column per metric of :data:`SCORE_METRICS`, groups sorted as pandas
    sorts them (a missing value last). ``rows`` as for :func:`~.frames.dataframe`.

    :raises DataError: a missing column, a score or weight that is not numeric, a missing
        label or score (with how many), an infinite score.
    """
    import pandas as pd

    features = list(features)
    needed = list(dict.fromkeys(features + [y_true, y_score] + ([sample_weight] if sample_weight else [])))
    frame = dataframe(source, needed, **rows)
    F = functions(frame)
    types = dict(frame.dtypes)
    for role, column in (("y_score", y_score), ("sample_weight", sample_weight)):
        if column is not None and types[column] not in NUMERIC_TYPES and not types[column].startswith("decimal"):
            raise DataError(f"{role} column {column!r} must be numeric, got Spark type {types[column]} in {source}")
    keys = [F.col(quote(f)).alias(f"g{i}") for i, f in enumerate(features)]
    label, score = F.col(quote(y_true)), F.col(quote(y_score)).cast("double")
    weight = F.col(quote(sample_weight)).cast("double") if sample_weight else F.lit(1.0)
    y = F.when(label == F.lit(pos_label), 1.0).otherwise(0.0)
    base = frame.select(*keys, label.isNull().alias("no_label"), score.alias("s"), y.alias("y"), weight.alias("w"))
    group = [f"g{i}" for i in range(len(features))]
    _refuse_missing(base, F, y_true, y_score, source)
    table = _per_group(base, group, F, window_spec(frame))
    with spark_errors(source), one_partition_window():  # without groups: the distinct scores in one partition
        found, columns = table.collect(), table.columns
    records = sorted(
        (tuple(r) for r in found), key=lambda r: tuple((v is None, "" if v is None else v) for v in r[: len(features)])
    )
    out = pd.DataFrame.from_records(records, columns=columns)
    out = out.rename(columns={f"g{i}": f for i, f in enumerate(features)})
    out = out[[*features, "rows", "positives", "weight", "score_min", "score_max", *SCORE_METRICS]]
    for metric in SCORE_METRICS:
        out[metric] = pd.to_numeric(out[metric]).astype(float)
    return out


def _per_group(base: Any, group: list[str], F: Any, W: Any) -> Any:
    """One job: sums per (group, distinct score), then per group. ROC AUC is
    ``sum_s P(s) * (N(< s) + N(s) / 2) / (P * N)`` (``NaN`` with one class only), ``N(< s)``
    summed in score order by a window partitioned by group."""
    y, w, s = F.col("y"), F.col("w"), F.col("s")
    p = F.least(F.greatest(s, F.lit(_EPS)), F.lit(1 - _EPS))
    loss = -(y * F.log(p) + (1 - y) * F.log(1 - p))
    per_score = base.groupBy(*group, "s").agg(
        F.count(F.lit(1)).alias("n"),
        F.sum(y).alias("py"),
        F.sum(w * y).alias("pw"),
        F.sum(w * (1 - y)).alias("nw"),
        F.sum(w).alias("ws"),
        F.sum(w * loss).alias("ls"),
        F.sum(w * (y - s) * (y - s)).alias("bs"),
    )
    below = (W.partitionBy(*group) if group else W).orderBy("s").rowsBetween(W.unboundedPreceding, -1)
    ranked = per_score.withColumn("nb", F.coalesce(F.sum("nw").over(below), F.lit(0.0)))
    pairs = F.sum(F.col("pw") * (F.col("nb") + F.col("nw") / 2))
    both = F.sum("pw") * F.sum("nw")
    return ranked.groupBy(*group).agg(
        F.sum("n").alias("rows"),
        F.sum("py").cast("long").alias("positives"),
        F.sum("ws").alias("weight"),
        F.min("s").alias("score_min"),
        F.max("s").alias("score_max"),
        F.when(both > 0, pairs / both).otherwise(F.lit(float("nan"))).alias("roc_auc"),
        (F.sum("ls") / F.sum("ws")).alias("log_loss"),
        (F.sum("bs") / F.sum("ws")).alias("brier_score"),
    )


def _refuse_missing(base: Any, F: Any, y_true: str, y_score: str, source: SparkSource) -> None:
    """One aggregation: missing labels, missing scores and infinite scores are errors."""
    s = F.col("s")
    with spark_errors(source):
        row = base.agg(
            F.count(F.when(F.col("no_label"), 1)).alias("labels"),
            F.count(F.when(s.isNull(), 1)).alias("scores"),
            F.count(F.when(s.isin(float("inf"), float("-inf")), 1)).alias("infinite"),
        ).collect()[0]
    for count, what in ((row["labels"], f"y_true column {y_true!r}"), (row["scores"], f"y_score column {y_score!r}")):
        if count:
            raise DataError(
                f"{what} has {count:,} missing values in {source}; fill them, or leave those rows out "
                f"(not_null=[{y_true!r}, {y_score!r}])"
            )
    if row["infinite"]:
        raise DataError(f"y_score column {y_score!r} has {row['infinite']:,} infinite values; scores must be finite")
