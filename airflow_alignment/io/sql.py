"""SQL sources: statements built with SQLAlchemy from a :class:`~airflow_alignment.io.sources.SqlSource`.

Everything that reaches the database is a SQLAlchemy construct: table and column names are
quoted by the connection's dialect (``sqlalchemy.table`` / ``sqlalchemy.column``), values are
bound parameters (``:name`` placeholders of ``where`` / ``query``, and the threshold of a
score). The only SQL text taken as is is what the DAG author wrote in ``where=`` or
``query=`` (like ``partition_clause`` of common-sql's check operators).

- :func:`engine` opens the Airflow connection's SQLAlchemy engine (through its hook);
- :func:`read_frame` reads the needed columns, ``chunk_rows`` at a time;
- :func:`count_cells` runs the one ``GROUP BY`` that count-based fairness and performance
  metrics need (see :mod:`airflow_alignment.io.cells`);
- :func:`group_counts` counts rows and labelled rows per group (a feedback sensor's wait);
- :func:`relation`'s ``window`` and ``not_null`` keep the rows of a time window, or with a
  label, by a ``WHERE`` inside the database (read, counted or grouped alike);
- :func:`select_sql` renders a statement with its values as literals (by the dialect), for
  tools that take SQL text (Great Expectations' query assets).

Imported only when a SQL source is used; SQLAlchemy comes with Airflow.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import (
    DataError,
    SourceUnavailableError,
    SpecError,
    did_you_mean,
    preview,
)
from airflow_alignment.io.cells import ROWS, WEIGHT_MIN, WEIGHT_MISSING, WEIGHT_SQ, WEIGHT_SUM, CellKeys
from airflow_alignment.io.sources import SqlSource, airflow_connection

if TYPE_CHECKING:
    import pandas as pd
    import sqlalchemy as sa

    from airflow_alignment.io.window import Window

log = logging.getLogger(__name__)

_ENGINES: dict[str, Any] = {}
_LOCK = threading.Lock()


# -- connection -----------------------------------------------------------------------------
def engine(source: SqlSource | str) -> sa.Engine:
    """The SQLAlchemy engine of the source's Airflow connection.

    Engines (and their connection pools) are kept per connection id and connection URI, so
    a long-lived process (the triggerer) picks up a connection that was edited.
    """
    conn_id = source if isinstance(source, str) else source.conn_id
    conn = airflow_connection(conn_id, "SqlSource")
    key = f"{conn_id}\x1f{conn.get_uri()}"
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = _open(conn_id, conn)
        return _ENGINES[key]


def dispose(conn_id: str | None = None) -> None:
    """Close and forget the cached engines of ``conn_id`` (of every connection with ``None``)."""
    with _LOCK:
        for key in list(_ENGINES):
            if conn_id is None or key.split("\x1f", 1)[0] == conn_id:
                _ENGINES.pop(key).dispose()


def sqlalchemy_url(source: SqlSource | str) -> str:
    """The connection's SQLAlchemy URL as text, password included (for Great Expectations)."""
    return engine(source).url.render_as_string(hide_password=False)


def _open(conn_id: str, conn: Any) -> sa.Engine:
    try:
        hook = conn.get_hook()
    except Exception as exc:
        raise SpecError(
            f"SqlSource: connection {conn_id!r} has type {conn.conn_type!r}, whose hook could not be loaded "
            f"({type(exc).__name__}: {exc}); install its provider, e.g. apache-airflow-providers-postgres"
        ) from exc
    if hasattr(hook, "get_sqlalchemy_engine"):
        return hook.get_sqlalchemy_engine()
    if hasattr(hook, "get_uri"):
        import sqlalchemy as sa

        return sa.create_engine(hook.get_uri())
    raise SpecError(
        f"SqlSource: connection {conn_id!r} ({conn.conn_type}) is not a SQL connection: its hook "
        f"{type(hook).__name__} has no SQLAlchemy engine"
    )


def dialect(source: SqlSource) -> str:
    """The dialect name of the source's database: ``postgresql``, ``sqlite``, ..."""
    return engine(source).dialect.name


# -- statements -----------------------------------------------------------------------------
def relation(
    source: SqlSource,
    columns: Sequence[str] | None = None,
    *,
    window: Window | None = None,
    not_null: Sequence[str] = (),
) -> Any:
    """The rows of the source as a SQLAlchemy selectable (a filtered table or a subquery).

    ``window`` keeps the rows inside a time window and ``not_null`` those where each of these
    columns has a value: both are ``WHERE`` conditions inside the database, so the rows they
    leave out are never fetched.
    """
    import sqlalchemy as sa

    names = list(columns) if columns is not None else available_columns(source)
    filtered = list(dict.fromkeys(names + ([window.column] if window else []) + list(not_null)))
    cols = [sa.column(c) for c in filtered]
    if source.query is not None:
        base: Any = _query_text(source).columns(*cols).subquery("alignment_query")
        conditions = []
    else:
        base, condition = _filtered_table(source, cols)
        conditions = [] if condition is None else [condition]
    if window is not None:  # before not_null: its probe must not read another column
        conditions.append(_window_condition(source, base, conditions, window))
    conditions += [base.c[c].is_not(None) for c in not_null]
    select = sa.select(*[base.c[c] for c in names])
    return (select.where(*conditions) if conditions else select).subquery("alignment_source")


def _window_condition(source: SqlSource, base: Any, conditions: list[Any], window: Window) -> Any:
    """``start < column <= end`` in the database's own terms.

    SQLite keeps timestamps as text (``2026-03-02 12:00:00``, ``2026-03-02T12:00:00+01:00``):
    ``strftime`` brings each to UTC text that sorts as time. Elsewhere the column is a
    timestamp: the bounds are bound as UTC datetimes, aware or naive as the column's values are
    (a naive timestamp counts as UTC, as in pandas). One value of the column tells which.
    """
    import sqlalchemy as sa

    col = base.c[window.column]
    start, end = window.start_utc, window.end_utc
    if dialect(source) == "sqlite":
        text = sa.func.strftime("%Y-%m-%d %H:%M:%f", col)
        return sa.and_(text > _sqlite_time(start), text <= _sqlite_time(end))
    probe = sa.select(col).where(*conditions, col.is_not(None)).limit(1)
    with querying(source), engine(source).connect() as conn:
        sample = conn.execute(probe).scalar()
    if sample is None:
        return sa.false()  # no timestamp at all: no row is inside
    if not isinstance(sample, datetime):
        raise DataError(
            f"timestamp_column {window.column!r} of {source} holds {type(sample).__name__} values (e.g. {sample!r}), "
            f"not timestamps; store it as TIMESTAMP [WITH TIME ZONE] or select CAST({window.column} AS TIMESTAMP WITH "
            "TIME ZONE) in query="
        )
    if sample.tzinfo is None:
        start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    return sa.and_(
        col > sa.bindparam("alignment_window_start", start), col <= sa.bindparam("alignment_window_end", end)
    )


def _sqlite_time(moment: datetime) -> str:
    """UTC text in the form of SQLite's ``strftime('%Y-%m-%d %H:%M:%f')`` (milliseconds)."""
    return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond // 1000:03d}"


def _query_text(source: SqlSource) -> Any:
    """``query=`` as a SQLAlchemy ``text`` with its ``:name`` placeholders bound."""
    import sqlalchemy as sa

    return sa.text(source.query).bindparams(**_binds(source.query, source.parameters))


def _filtered_table(source: SqlSource, columns: Sequence[Any] = ()) -> tuple[Any, Any]:
    """``table=`` as a SQLAlchemy ``table`` (with ``columns``) and its ``where`` condition or ``None``."""
    import sqlalchemy as sa

    schema, name = table_name(source)
    table = sa.table(name, *columns, schema=schema)
    return table, _where(source, table)


@contextlib.contextmanager
def querying(source: SqlSource) -> Iterator[None]:
    """Driver errors raised inside the block as ours: see :func:`database_error`; SQL the
    database refuses to compile or plan (``ProgrammingError``) is a :class:`DataError`."""
    import sqlalchemy as sa

    try:
        yield
    except sa.exc.OperationalError as exc:
        raise database_error(source, exc) from exc
    except sa.exc.ProgrammingError as exc:
        raise DataError(f"{source}: the database refused the query: {first_line(exc)}") from exc


def select_statement(source: SqlSource, columns: Sequence[str] | None = None, **rows: Any) -> Any:
    """``SELECT <columns> FROM <source>``: quoted names, bound values; ``rows`` as for
    :func:`relation` (``window``, ``not_null``)."""
    import sqlalchemy as sa

    rel = relation(source, columns, **rows)
    return sa.select(*rel.c)


def select_sql(source: SqlSource, columns: Sequence[str] | None = None) -> str:
    """:func:`select_statement` as SQL text, the bound values rendered as literals by the
    dialect's own literal processors (quotes escaped), for tools that only take SQL text."""
    stmt = select_statement(source, columns)
    return str(stmt.compile(dialect=engine(source).dialect, compile_kwargs={"literal_binds": True}))


def table_name(source: SqlSource) -> tuple[str | None, str]:
    """``(schema, table)``: ``schema=``, or the part before the first dot of ``table``."""
    table = str(source.table)
    if source.schema:
        return source.schema, table
    if "." in table:
        schema, _, name = table.partition(".")
        return schema, name
    return None, table


def _where(source: SqlSource, table: Any) -> Any:
    import sqlalchemy as sa

    where = source.where
    if where is None or (isinstance(where, str) and not where.strip()):
        return None
    if isinstance(where, dict):
        clauses = []
        for i, (col, value) in enumerate(where.items()):
            column = sa.column(str(col))
            clauses.append(column.is_(None) if value is None else column == sa.bindparam(f"where_{i}", value))
        return sa.and_(*clauses)
    return sa.text(where).bindparams(**_binds(where, source.parameters))


def _binds(text: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters the text uses; an unknown placeholder or an unused parameter is an error."""
    import re

    used = set(re.findall(r"(?<![:\w]):([A-Za-z_]\w*)", text))
    missing = sorted(used - set(parameters))
    if missing:
        raise SpecError(
            f"SqlSource: placeholder(s) {', '.join(':' + m for m in missing)} have no value; "
            f"pass parameters={{{', '.join(repr(m) + ': ...' for m in missing)}}}"
        )
    unused = sorted(set(parameters) - used)
    if unused:
        raise SpecError(
            f"SqlSource.parameters: {', '.join(map(repr, unused))} not used by any :name placeholder in {text!r}"
        )
    return dict(parameters)


def available_columns(source: SqlSource) -> list[str]:
    """The columns of the source, read from the database (no rows)."""
    import sqlalchemy as sa

    eng = engine(source)
    try:
        with querying(source):
            if source.query is not None:
                probe = sa.select(sa.text("*")).select_from(_query_text(source).columns().subquery("alignment_probe"))
                with eng.connect() as conn:
                    return list(conn.execute(probe.limit(0)).keys())
            schema, name = table_name(source)
            found = [c["name"] for c in sa.inspect(eng).get_columns(name, schema=schema)]
    except sa.exc.NoSuchTableError as exc:
        raise _missing_table(source, eng) from exc
    if not found:
        raise _missing_table(source, eng)
    return found


def require_columns(source: SqlSource, columns: Sequence[str], what: str = "column") -> None:
    """Raise :class:`DataError` naming a missing column and the closest existing one."""
    available = available_columns(source)
    for col in columns:
        if col not in available:
            raise DataError(
                f"{what} {col!r} not in {source}.{did_you_mean(str(col), available)} "
                f"Columns: [{preview(available, limit=30)}]"
            )


def _missing_table(source: SqlSource, eng: Any) -> DataError:
    import sqlalchemy as sa

    schema, name = table_name(source)
    try:
        tables = sa.inspect(eng).get_table_names(schema=schema) + sa.inspect(eng).get_view_names(schema=schema)
    except Exception:  # noqa: BLE001 - only for the hint
        tables = []
    where = f" in schema {schema!r}" if schema else ""
    return DataError(
        f"table {name!r} not found{where} in connection {source.conn_id!r}."
        f"{did_you_mean(name, tables)} Tables: [{preview(sorted(tables), limit=30)}]"
    )


def database_error(source: SqlSource, exc: Exception) -> Exception:
    """A driver's ``OperationalError`` as ours: a refused statement (missing table or column,
    bad syntax) is a :class:`DataError`; anything else (connection refused, server gone, a
    timeout) is a retryable :class:`SourceUnavailableError`."""
    text = first_line(exc)
    lowered = text.lower()
    if any(word in lowered for word in ("no such column", "no such table", "syntax error", "does not exist")):
        return DataError(f"{source}: the database refused the query: {text}")
    return SourceUnavailableError(f"could not query {source}: {text}")


def first_line(exc: Exception) -> str:
    """The driver's own message, first line (without SQLAlchemy's statement and link)."""
    orig = getattr(exc, "orig", None) or exc
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


# -- reading --------------------------------------------------------------------------------
def read_frame(source: SqlSource, columns: Sequence[str] | None = None, **rows: Any) -> pd.DataFrame:
    """The needed ``columns`` of the source as a DataFrame, fetched ``chunk_rows`` at a time
    (a server-side cursor where the driver has one); ``rows`` as for :func:`relation`."""
    import pandas as pd

    if columns is not None:
        columns = list(dict.fromkeys(columns))
        require_columns(source, columns + _row_columns(**rows))
    stmt = select_statement(source, columns, **rows)
    parts: list[pd.DataFrame] = []
    with querying(source), engine(source).connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=source.chunk_rows).execute(stmt)
        keys = list(result.keys())
        for rows in result.partitions(source.chunk_rows):
            # plain tuples: pandas probes each SQLAlchemy Row for array attributes otherwise,
            # which costs three times the fetch itself
            parts.append(pd.DataFrame.from_records([tuple(r) for r in rows], columns=keys))
    if not parts:
        return pd.DataFrame({k: pd.Series(dtype=object) for k in keys})
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return frame.infer_objects()


def row_count(source: SqlSource) -> int:
    """``SELECT COUNT(*)`` of the source."""
    import sqlalchemy as sa

    if source.query is not None:
        count = sa.select(sa.func.count()).select_from(_query_text(source).columns().subquery("alignment_source"))
    else:
        table, condition = _filtered_table(source)
        count = sa.select(sa.func.count()).select_from(table)
        count = count if condition is None else count.where(condition)
    with querying(source), engine(source).connect() as conn:
        return int(conn.execute(count).scalar_one())


def count_cells(source: SqlSource, keys: CellKeys, **rows: Any) -> pd.DataFrame:
    """The summed cells (see :mod:`airflow_alignment.io.cells`) of the source in one
    ``GROUP BY`` inside the database; ``rows`` as for :func:`relation` (``window``, ``not_null``).

    ``SELECT <features>, <y_true>, <prediction>, COUNT(*) [, SUM(w), SUM(w*w), MIN(w)]
    ... GROUP BY ...``, where a thresholded score becomes ``CASE WHEN score IS NULL THEN NULL
    WHEN score >= :threshold THEN 1.0 ELSE 0.0 END`` (the threshold a bound value).
    """
    import pandas as pd
    import sqlalchemy as sa

    prediction, weight = keys.prediction, keys.sample_weight
    require_columns(source, keys.read + _row_columns(**rows))
    rel = relation(source, keys.read, **rows)
    # Inner select: the grouping values (a thresholded score becomes its 1/0 prediction).
    inner: list[Any] = []
    for key in keys.columns:
        col = rel.c[key]
        if keys.thresholded and key == prediction:
            above = col >= sa.bindparam("threshold", float(keys.threshold), type_=sa.Float())  # type: ignore[arg-type]
            col = sa.case((col.is_(None), sa.null()), (above, sa.literal(1.0)), else_=sa.literal(0.0))
        inner.append(col.label(key))
    if weight is not None:
        w = sa.cast(rel.c[weight], sa.Float())
        inner.append(sa.case((rel.c[weight].is_(None), sa.literal(1)), else_=sa.literal(0)).label(WEIGHT_MISSING))
        inner.append(w.label(WEIGHT_SUM))
    sub = sa.select(*inner).subquery("alignment_cells")
    group = [sub.c[k] for k in keys.columns] + ([sub.c[WEIGHT_MISSING]] if weight is not None else [])
    aggregates: list[Any] = [sa.func.count().label(ROWS)]
    if weight is not None:
        wc = sub.c[WEIGHT_SUM]
        aggregates += [
            sa.func.sum(wc).label(WEIGHT_SUM),
            sa.func.sum(wc * wc).label(WEIGHT_SQ),
            sa.func.min(wc).label(WEIGHT_MIN),
        ]
    stmt = sa.select(*group, *aggregates).group_by(*group)
    log.info("counting cells in the database: %s", _one_line(stmt, source))
    with querying(source), engine(source).connect() as conn:
        result = conn.execute(stmt)
        frame = pd.DataFrame.from_records([tuple(r) for r in result.fetchall()], columns=list(result.keys()))
    frame = frame.infer_objects()
    frame[ROWS] = frame[ROWS].astype("int64")
    if keys.thresholded and prediction is not None:
        frame[prediction] = pd.to_numeric(frame[prediction]).astype(float)
    if weight is not None:
        frame[WEIGHT_MISSING] = frame[WEIGHT_MISSING].astype(bool)
        for col in (WEIGHT_SUM, WEIGHT_SQ, WEIGHT_MIN):
            frame[col] = pd.to_numeric(frame[col]).astype(float)
    return frame


def group_counts(
    source: SqlSource, features: Sequence[str], label: str, *, window: Window | None = None
) -> list[tuple[tuple[Any, ...], int, int]]:
    """Rows and labelled rows (``label`` not null) per group of ``features``, inside ``window``:
    ``SELECT <features>, COUNT(*), COUNT(<label>) ... GROUP BY <features>`` in the database.

    Returns ``[(group values, rows, labelled), ...]`` in the order pandas' ``groupby`` gives
    (sorted, a missing value last). Plain Python values: the triggerer runs this too.
    """
    import sqlalchemy as sa

    features = list(features)
    require_columns(source, list(dict.fromkeys(features + [label] + ([window.column] if window else []))))
    rel = relation(source, list(dict.fromkeys([*features, label])), window=window)
    keys = [rel.c[f] for f in features]
    stmt = sa.select(*keys, sa.func.count().label("rows"), sa.func.count(rel.c[label]).label("labelled"))
    stmt = stmt.group_by(*keys)
    log.info("counting labelled rows per group in the database: %s", _one_line(stmt, source))
    with querying(source), engine(source).connect() as conn:
        found = [(tuple(r[: len(features)]), int(r[-2]), int(r[-1])) for r in conn.execute(stmt)]
    return sorted(found, key=lambda item: _group_order(item[0]))


def _group_order(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Sort key of a group: by value, a missing value last (as pandas' ``groupby``)."""
    return tuple((v is None, "" if v is None else v) for v in values)


def _row_columns(window: Window | None = None, not_null: Sequence[str] = ()) -> list[str]:
    """The columns that :func:`relation`'s row conditions read."""
    return ([window.column] if window else []) + list(not_null)


def _one_line(stmt: Any, source: SqlSource) -> str:
    try:
        return " ".join(str(stmt.compile(dialect=engine(source).dialect)).split())
    except Exception:  # noqa: BLE001 - only for the log
        return repr(stmt)


def dataset_name(source: SqlSource) -> tuple[str, str] | None:
    """``(namespace, name)`` of a SQL table by OpenLineage's naming: ``postgres://host:port``
    and ``database.schema.table``; a SQLite file is ``sqlite://<path>`` and the table. A
    ``query=`` source names no single table: ``None``."""
    if source.query is not None:
        return None
    try:
        url = engine(source).url
    except Exception:  # noqa: BLE001 - lineage never fails the task
        return None
    schema, table = table_name(source)
    if url.get_backend_name() == "sqlite":
        return f"sqlite://{os.path.abspath(url.database or '')}", table
    scheme = "postgres" if url.get_backend_name() == "postgresql" else url.get_backend_name()
    schema = schema or ("public" if scheme == "postgres" else None)
    name = ".".join(p for p in (url.database, schema, table) if p)
    return f"{scheme}://{url.host}:{url.port or ''}".rstrip(":"), name
