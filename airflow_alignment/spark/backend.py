"""How a :class:`~airflow_alignment.io.spark_source.SparkSource` is read: the Spark backend of
the source registry (:mod:`airflow_alignment.io.backends`).

Every check on a SparkSource runs inside Spark and brings back counts:

- fairness and performance: the cell table, one ``groupBy`` (:mod:`.counts`); score metrics
  (ROC AUC, log loss, Brier) one row per group (:mod:`.scores`); callables read the needed
  columns, as on a SQL source;
- the feedback sensor's wait: labelled rows per group, one ``groupBy``;
- expectations: Great Expectations' Spark execution engine (:mod:`.expectations`);
- drift: when both sides are SparkSources of one connection, the drift statistics from counts
  made in Spark (:mod:`.drift`); otherwise the needed columns of each side are read.

A deferrable sensor cannot wait on a SparkSource: the triggerer would have to hold a Spark
session (pyspark, pandas and a JVM or a gRPC client) for every deferred task; the sensors poke
or reschedule instead. Registered when :mod:`airflow_alignment.spark` is imported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import SpecError
from airflow_alignment.io.backends import SourceBackend, file_dataset_name, register_backend
from airflow_alignment.io.spark_source import SparkSource
from airflow_alignment.spark import counts, drift, expectations, frames, scores

if TYPE_CHECKING:
    import pandas as pd

    from airflow_alignment.io.cells import CellKeys
    from airflow_alignment.io.window import Window
    from airflow_alignment.results import CheckResult

# ``parquet.`s3a://bucket/x``` in a query: Spark's SQL on files (one path in backticks).
_FILE_RELATION = re.compile(r"\b(?:parquet|orc|json|csv|text|avro|delta)\s*\.\s*`((?:[^`]|``)+)`", re.IGNORECASE)


class SparkBackend(SourceBackend):
    """A :class:`SparkSource`: counts, windows and label filters run inside Spark."""

    in_place = True
    scores_in_place = True

    def frame(self, source: Any, columns: Sequence[str] | None, format: str | None) -> pd.DataFrame:
        return frames.read_frame(source, columns)

    def read(
        self,
        source: Any,
        columns: Sequence[str] | None = None,
        *,
        format: str | None = None,
        window: Window | None = None,
        not_null: Sequence[str] = (),
    ) -> pd.DataFrame:
        return frames.read_frame(source, columns, window=window, not_null=not_null)

    def count_cells(self, source: Any, keys: CellKeys, **rows: Any) -> pd.DataFrame | None:
        return counts.summed_cells(source, keys, **rows)

    def score_metrics(self, source: Any, *, features: Sequence[str], **roles: Any) -> pd.DataFrame:
        return scores.score_metrics(source, features=features, **roles)

    def group_counts(
        self, source: Any, features: Sequence[str], label: str, *, window: Window | None = None
    ) -> list[tuple[tuple[Any, ...], int, int]]:
        return counts.group_counts(source, features, label, window=window)

    def run_expectations(
        self, source: Any, specs: Sequence[Any], *, severity: str, check_name: str | None
    ) -> CheckResult:
        return expectations.evaluate(source, specs, severity=severity, check_name=check_name)

    def run_drift(self, reference: Any, current: Any, spec: Any, **options: Any) -> CheckResult | None:
        """In Spark when both sides are SparkSources of one connection (their counts are joined
        in one session); ``None`` otherwise (the rows of each side are read)."""
        if not isinstance(reference, SparkSource) or reference.conn_id != current.conn_id:
            return None
        return drift.evaluate(reference, current, spec, **options)

    def carry(self, source: Any, where: str) -> Any:
        raise SpecError(
            f"{where}: a deferrable sensor cannot wait on a SparkSource (the triggerer would hold a Spark "
            "session for every deferred task); use mode='reschedule' (the worker slot is freed between "
            "pokes) or mode='poke'"
        )

    def lineage_name(self, source: Any) -> tuple[str, str] | None:
        """OpenLineage's naming of what Spark reads, as its Spark integration names it: a table
        by the location of its files (``file`` and the path, ``s3a://bucket`` and the key), a
        query by the one file path it reads (``parquet.`path```); ``None`` when that is not
        known without running a job (a view, a query over tables or several paths)."""
        if source.query is not None:
            paths = {m.replace("``", "`") for m in _FILE_RELATION.findall(source.query)}
            return _location_name(paths.pop()) if len(paths) == 1 else None
        try:
            found = frames.table_location(source)
        except Exception:  # noqa: BLE001 - lineage never fails the task
            return None
        return None if found is None else _location_name(found["location"])


def _location_name(location: str) -> tuple[str, str]:
    """``(namespace, name)`` of a Spark location: ``file:/x`` and ``/x`` are the local path."""
    if location.startswith("file:") and not location.startswith("file://"):
        location = "file://" + location.removeprefix("file:")
    return file_dataset_name(location)


SPARK = SparkBackend()
register_backend(SparkSource, SPARK)
