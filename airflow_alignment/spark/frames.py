"""The rows of a :class:`~airflow_alignment.io.spark_source.SparkSource` as a Spark DataFrame.

Everything here is lazy: :func:`dataframe` builds a plan (the table, its ``where``, the time
window, the needed columns) that Spark runs where the data lives when a count is asked of it.
Table and column names are quoted with backticks; values are bound (Spark's named parameter
markers for ``where=`` / ``query=`` text, literals of the DataFrame API otherwise).

Missing values follow pandas: a ``NaN`` in a floating-point column is missing, as ``NULL`` is
(Spark keeps ``NaN`` as a value of its own, which pandas never does), so every column a check
reads through :func:`dataframe` has ``NULL`` where pandas would see ``NaN``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import DataError, did_you_mean, preview
from airflow_alignment.io.spark_source import SparkSource, name_parts, quote, quote_name
from airflow_alignment.spark.session import functions, session, spark_errors

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import Column, DataFrame

    from airflow_alignment.io.window import Window

log = logging.getLogger(__name__)

FLOAT_TYPES = ("double", "float")


def base(source: SparkSource) -> DataFrame:
    """All the rows and columns of the source (its ``where`` applied), checked by Spark's
    analyser: a missing table names the closest existing one."""
    spark = session(source)
    F = functions(spark)
    with spark_errors(source):
        text = source.sql_text()
        args = source.bound_parameters()
        try:
            frame = spark.sql(text, args=args or None) if text is not None else spark.table(quote_name(source.table))
            if isinstance(source.where, dict):
                for column, value in source.where.items():
                    col = F.col(quote(str(column)))
                    frame = frame.where(col.isNull() if value is None else col == F.lit(value))
            frame.columns  # noqa: B018 - analysis now: a missing table or column fails here
        except Exception as exc:
            if source.table is not None and _missing_table(exc):
                raise _table_error(source) from exc
            raise
    return frame


def dataframe(
    source: SparkSource,
    columns: Sequence[str] | None = None,
    *,
    window: Window | None = None,
    not_null: Sequence[str] = (),
) -> DataFrame:
    """The ``columns`` of the source (every column with ``None``), ``NaN`` read as missing,
    keeping the rows inside ``window`` that have a value in each of ``not_null``.

    :raises DataError: a missing table or column (the closest name in the message), a window
        over a column that does not hold timestamps.
    """
    frame = base(source)
    names = list(dict.fromkeys(columns)) if columns is not None else list(frame.columns)
    require(frame, names + ([window.column] if window else []) + list(not_null), source)
    with spark_errors(source):
        types = dict(frame.dtypes)
        if window is not None:
            frame = frame.where(in_window(frame, window, types[window.column], source))
        for column in not_null:
            frame = frame.where(present(functions(frame), column, types[column]))
        F = functions(frame)
        return frame.select(*[value(F, c, types[c]) for c in names])


def value(F: ModuleType, column: str, dtype: str) -> Column:
    """The column, ``NaN`` replaced by ``NULL`` for floating-point types (pandas' missing);
    ``F``: the column functions of the frame (:func:`~.session.functions`)."""
    col = F.col(quote(column))
    if dtype in FLOAT_TYPES:
        col = F.when(F.isnan(col), F.lit(None)).otherwise(col)
    return col.alias(column)


def present(F: ModuleType, column: str, dtype: str) -> Column:
    """True where the column has a value (not ``NULL``, and not ``NaN`` for floats)."""
    col = F.col(quote(column))
    return col.isNotNull() & ~F.isnan(col) if dtype in FLOAT_TYPES else col.isNotNull()


def in_window(frame: DataFrame, window: Window, dtype: str, source: SparkSource) -> Column:
    """``start < column <= end`` for a timestamp column; a column without a time zone
    (``TIMESTAMP_NTZ``) holds UTC times, as in pandas. The bounds are exact literals, whatever
    the session's time zone."""
    F = functions(frame)
    col = F.col(quote(window.column))
    start, end = window.start_utc, window.end_utc
    if dtype == "timestamp":
        low = F.lit(start.isoformat(timespec="microseconds")).cast("timestamp")
        high = F.lit(end.isoformat(timespec="microseconds")).cast("timestamp")
    elif dtype == "timestamp_ntz":
        naive = "%Y-%m-%d %H:%M:%S.%f"
        low = F.lit(start.strftime(naive)).cast("timestamp_ntz")
        high = F.lit(end.strftime(naive)).cast("timestamp_ntz")
    else:
        raise DataError(
            f"timestamp_column {window.column!r} of {source} holds {dtype} values, not timestamps; store "
            f"it as TIMESTAMP, or select CAST({quote(window.column)} AS TIMESTAMP) in query="
        )
    return (col > low) & (col <= high)


def require(frame: DataFrame, columns: Sequence[str], source: SparkSource, what: str = "column") -> None:
    """Raise :class:`DataError` naming a missing column and the closest existing one."""
    available = list(frame.columns)
    for column in columns:
        if column not in available:
            raise DataError(
                f"{what} {column!r} not in {source}.{did_you_mean(str(column), available)} "
                f"Columns: [{preview(available, limit=30)}]"
            )


def available_columns(source: SparkSource) -> list[str]:
    """The columns of the source, from Spark's analyser (no job runs)."""
    return list(base(source).columns)


def require_columns(source: SparkSource, columns: Sequence[str], what: str = "column") -> None:
    require(base(source), columns, source, what)


def row_count(source: SparkSource, **rows: Any) -> int:
    """``COUNT(*)`` of the source (``rows`` as for :func:`dataframe`: ``window``, ``not_null``)."""
    frame = dataframe(source, [], **rows) if rows else base(source)
    with spark_errors(source):
        return int(frame.count())


def read_frame(source: SparkSource, columns: Sequence[str] | None = None, **rows: Any) -> pd.DataFrame:
    """The needed ``columns`` of the source as a pandas DataFrame in the worker (through Arrow):
    for what needs the rows themselves (a callable metric). Everything that reduces to counts
    runs in Spark instead (:mod:`airflow_alignment.spark.counts`)."""
    frame = dataframe(source, columns, **rows)
    with spark_errors(source):
        return frame.toPandas()


def _missing_table(exc: Exception) -> bool:
    from pyspark.errors import AnalysisException

    return isinstance(exc, AnalysisException) and (exc.getCondition() or "").startswith("TABLE_OR_VIEW_NOT_FOUND")


def _table_error(source: SparkSource) -> DataError:
    """A missing table, with the tables of its database (or the current one) and the closest name."""
    spark = session(source)
    parts = name_parts(str(source.table))
    database = ".".join(quote(p) for p in parts[:-1]) or None
    try:
        with spark_errors(source):
            tables = [t.name for t in spark.catalog.listTables(database)]
    except Exception:  # noqa: BLE001 - only for the hint (the database itself may be missing)
        tables = []
    where = f" in database {'.'.join(parts[:-1])!r}" if database else ""
    return DataError(
        f"table {parts[-1]!r} not found{where} in connection {source.conn_id!r}."
        f"{did_you_mean(parts[-1], tables)} Tables: [{preview(sorted(tables), limit=30)}]"
    )


def table_location(source: SparkSource) -> dict[str, str] | None:
    """Where a ``table=`` source's data lives, for lineage: ``{"name": "catalog.db.table",
    "location": "<URI of its files>"}`` from Spark's catalog (``DESCRIBE TABLE EXTENDED``, no
    job runs), as OpenLineage's Spark integration names a table: the dataset by its location,
    the catalog name as a symlink. ``None`` for a ``query=`` source (it may read several) or a
    table without a location (a view)."""
    if source.table is None:
        return None
    spark = session(source)
    with spark_errors(source):
        rows = spark.sql(f"DESCRIBE TABLE EXTENDED {quote_name(source.table)}").collect()
    info = {str(r[0]).strip(): str(r[1]).strip() for r in rows if r[0] is not None and r[1] is not None}
    if not info.get("Location"):
        return None
    name = ".".join(p for p in (info.get("Catalog"), info.get("Database"), info.get("Table")) if p)
    return {"name": name or ".".join(name_parts(source.table)), "location": info["Location"]}
