"""What a ``data=`` argument can name: the source types, and their parse-time checks.

``data=`` arguments of every operator and sensor accept:

- a path or URI string (``"data/batch.parquet"``, ``"s3://aws_default@bucket/x.csv"``),
  templated by the operator before it reaches here;
- a :class:`FileSource` (a path plus an explicit ``format`` and fsspec ``storage_options``);
- a :class:`SqlSource` (a table or a query behind an Airflow connection);
- a :class:`~airflow_alignment.io.spark_source.SparkSource` (a Spark table or query, counted
  inside Spark);
- a mapping, as policies write them: ``path`` (a FileSource), ``conn_id`` (a SqlSource), or
  ``engine: spark`` with ``conn_id`` (a SparkSource);
- an ``ObjectStoragePath`` or ``pathlib.Path``;
- a callable taking no argument and returning a ``pandas.DataFrame``;
- a ``pandas.DataFrame`` (mostly for engines called from a notebook).

How each kind is read is said once, in :mod:`airflow_alignment.io.backends`. Nothing here
does I/O or imports anything heavy: operators use it when a DAG file is parsed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from airflow_alignment.exceptions import SpecError, did_you_mean
from airflow_alignment.io.spark_source import SparkSource
from airflow_alignment.limits import MAX_BATCH_ROWS, whole_number

FORMATS = ("csv", "parquet", "jsonl")


@dataclass
class FileSource:
    """A file or object-store URI with an explicit format.

    :param path: local path or URI (templated).
    :param format: ``csv``, ``parquet`` or ``jsonl``; inferred from the suffix when omitted.
    :param storage_options: passed to fsspec when the path is a URI with a scheme.
    :param read_options: extra keyword arguments for the pandas reader (e.g. ``{"sep": ";"}``).
    :param batch_rows: read the file ``batch_rows`` rows at a time where a check can work on
        batches (count-based fairness and performance metrics), so a file bigger than memory
        can be checked. Files of :data:`~airflow_alignment.io.files.STREAM_BYTES` or more are streamed in batches of
        :data:`~airflow_alignment.io.files.DEFAULT_BATCH_ROWS` without asking.
    """

    path: str
    format: str | None = None
    storage_options: dict[str, Any] = field(default_factory=dict)
    read_options: dict[str, Any] = field(default_factory=dict)
    batch_rows: int | None = None

    template_fields: ClassVar[Sequence[str]] = ("path",)

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in FORMATS:
            raise SpecError(f"FileSource.format: unknown format {self.format!r}; use one of {', '.join(FORMATS)}")
        if self.batch_rows is not None:
            whole_number(self.batch_rows, "FileSource.batch_rows", low=1, high=MAX_BATCH_ROWS, what="rows")

    def __str__(self) -> str:
        return str(self.path)


@dataclass
class SqlSource:
    """A table (optionally filtered) or a query behind an Airflow connection.

    ``SqlSource(conn_id="warehouse", table="predictions", where="ds = :ds",
    parameters={"ds": "{{ ds }}"})``. Checks that reduce to counts (expectations, count-based
    fairness and performance metrics) run inside the database; the rest read only the columns
    they need, in chunks.

    :param conn_id: an Airflow connection whose hook speaks SQLAlchemy (PostgreSQL, SQLite,
        and any provider built on common-sql's ``DbApiHook``).
    :param table: a table or view; ``schema.table`` names a schema too (or pass ``schema=``).
        Quoted by the database's dialect.
    :param where: a SQL condition on ``table``, written by the DAG author (templated), e.g.
        ``"ds = :ds"`` with ``parameters``, or ``"ds = '{{ ds }}'"``; or a mapping
        ``{column: value}`` (each an equality with a bound value).
    :param query: a ``SELECT`` to check instead of a table (templated); ``:name`` placeholders
        take ``parameters``.
    :param parameters: values bound to the ``:name`` placeholders of ``where`` / ``query``
        (templated). Values never become SQL text.
    :param chunk_rows: rows fetched per round trip when rows must be read.
    """

    conn_id: str
    table: str | None = None
    where: str | dict[str, Any] | None = None
    query: str | None = None
    schema: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    chunk_rows: int = 100_000

    template_fields: ClassVar[Sequence[str]] = ("table", "where", "query", "schema", "parameters")

    def __post_init__(self) -> None:
        if not isinstance(self.conn_id, str) or not self.conn_id.strip():
            raise SpecError(f"SqlSource.conn_id: expected the id of an Airflow connection, got {self.conn_id!r}")
        if (self.table is None) == (self.query is None):
            raise SpecError("SqlSource: give exactly one of table= (optionally with where=) or query=")
        if self.query is not None and self.where is not None:
            raise SpecError("SqlSource.where: applies to table=; put the condition in the query")
        if self.where is not None and not isinstance(self.where, (str, dict)):
            raise SpecError(f"SqlSource.where: expected SQL text or a {{column: value}} mapping, got {self.where!r}")
        if not isinstance(self.parameters, dict):
            raise SpecError(
                f"SqlSource.parameters: expected a mapping of placeholder names to values, "
                f"got {type(self.parameters).__name__}"
            )
        whole_number(self.chunk_rows, "SqlSource.chunk_rows", low=1, high=MAX_BATCH_ROWS, what="rows")

    def __str__(self) -> str:
        bound = ""
        if self.parameters:
            bound = " [" + ", ".join(f"{k}={v!r}" for k, v in self.parameters.items()) + "]"
        if self.query is not None:
            text = " ".join(self.query.split())
            return f"sql://{self.conn_id}/({text[:200]}){bound}"
        name = f"{self.schema}.{self.table}" if self.schema else str(self.table)
        where = ""
        if isinstance(self.where, dict):
            where = " WHERE " + " AND ".join(f"{k} = {v!r}" for k, v in self.where.items())
        elif self.where:
            where = f" WHERE {' '.join(self.where.split())}"
        return f"sql://{self.conn_id}/{name}{where}{bound}"


# ``engine:`` of a data mapping: which engine reads its connection (``sql`` without the key).
ENGINES: dict[str, type] = {"sql": SqlSource, "spark": SparkSource}


@dataclass(frozen=True)
class CallableData:
    """A callable ``data=`` held as a value until the check loads it.

    Airflow 3.3 calls every callable it finds in a templated field with ``(context=,
    jinja_env=)`` while rendering, and keeps what it returns. A ``data=`` callable takes no
    argument and returns a DataFrame when the data is loaded, so the operators hold it in this
    wrapper (not callable, no template fields of its own), which Airflow leaves as it is on
    every version. :func:`as_source` unwraps it.
    """

    func: Callable[[], Any]

    template_fields: ClassVar[Sequence[str]] = ()

    def __str__(self) -> str:
        return callable_name(self.func)


def keep_callable(data: Any) -> Any:
    """``data`` as a templated field may hold it: a callable (not a DataFrame) wrapped in
    :class:`CallableData`, anything else as given."""
    if callable(data) and not isinstance(data, (str, os.PathLike, type)) and not hasattr(data, "columns"):
        return CallableData(data)
    return data


def as_source(data: Any) -> Any:
    """A mapping written in a policy becomes the source it describes; a :class:`CallableData`
    its callable; anything else as given."""
    if isinstance(data, CallableData):
        return data.func
    if isinstance(data, dict):
        if "engine" in data:
            return _engine_source(data)
        if "conn_id" in data:
            return _build(SqlSource, data, "SqlSource")
        if "path" in data:
            return _build(FileSource, data, "FileSource")
        raise SpecError(
            f"data: a mapping needs 'conn_id' (a SQL source) or 'path' (a file), got keys {sorted(map(str, data))}"
        )
    return data


def _engine_source(raw: dict[str, Any]) -> Any:
    """A mapping that names its engine: ``{engine: spark, conn_id: ..., table: ...}`` is a
    SparkSource, ``{engine: sql, ...}`` a SqlSource (the default without ``engine``)."""
    engine = raw["engine"]
    rest = {k: v for k, v in raw.items() if k != "engine"}
    if engine not in ENGINES:
        raise SpecError(
            f"data.engine: unknown engine {engine!r}.{did_you_mean(str(engine), list(ENGINES))} "
            f"Engines: {', '.join(ENGINES)} (a path needs no engine)"
        )
    cls = ENGINES[engine]
    if "conn_id" not in rest:
        raise SpecError(
            f"data: a mapping with engine: {engine} needs 'conn_id' (an Airflow connection), got keys "
            f"{sorted(map(str, raw))}"
        )
    return _build(cls, rest, cls.__name__)


def _build(cls: Any, raw: dict[str, Any], name: str) -> Any:
    known = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in known:
            raise SpecError(
                f"data: unknown {name} key {key!r}.{did_you_mean(str(key), known)} Keys: {', '.join(known)}"
            )
    return cls(**raw)


def validate_data_arg(data: Any, where: str = "data") -> None:
    """Cheap, parse-time check of a ``data=`` argument (no I/O, no heavy import)."""
    if data is None:
        raise SpecError(f"{where}: no data source given; pass a path, a URI, a FileSource or a callable")
    if isinstance(data, str) and not data.strip():
        raise SpecError(f"{where}: the data path is an empty string")
    if isinstance(data, dict) and not any("{{" in str(v) for v in data.values()):
        as_source(data)  # a malformed mapping fails at parse time


def callable_name(func: Any) -> str:
    """``callable:module.name`` of a ``data=`` callable, for results and logs."""
    name = getattr(func, "__qualname__", None) or type(func).__name__
    module = getattr(func, "__module__", None)
    return f"callable:{module}.{name}" if module else f"callable:{name}"


def airflow_connection(conn_id: str, owner: str) -> Any:
    """The Airflow connection ``conn_id``; a missing one is a ``SpecError`` that says where to
    define it (``owner`` names the argument's class, e.g. ``SqlSource``)."""
    try:
        from airflow.sdk import BaseHook
    except ImportError:  # pragma: no cover - Airflow < 3.1 is not supported
        from airflow.hooks.base import BaseHook
    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:
        raise SpecError(
            f"{owner}.conn_id: no Airflow connection {conn_id!r} ({type(exc).__name__}: {exc}); "
            "define it in the UI, with `airflow connections add`, or as AIRFLOW_CONN_"
            f"{conn_id.upper()}"
        ) from exc
