"""Where data comes from: a local path, any fsspec / Airflow ``ObjectStoragePath`` URI, or a
callable that returns a DataFrame.

``data=`` arguments of every operator and sensor accept:

- a path or URI string (``"data/batch.parquet"``, ``"s3://aws_default@bucket/x.csv"``),
  templated by the operator before it reaches here;
- a :class:`FileSource` (a path plus an explicit ``format`` and fsspec ``storage_options``);
- a :class:`SqlSource` (a table or a query behind an Airflow connection);
- a mapping with ``conn_id`` (a SqlSource) or ``path`` (a FileSource), as policies write them;
- an ``ObjectStoragePath`` or ``pathlib.Path``;
- a callable taking no argument and returning a ``pandas.DataFrame``;
- a ``pandas.DataFrame`` (mostly for engines called from a notebook).

Formats are CSV, Parquet and JSON lines, chosen by suffix (``.csv``, ``.parquet``/``.pq``,
``.jsonl``/``.ndjson``, optionally followed by ``.gz``) or by ``format=``. Only the needed
columns are read where the format allows it (Parquet and CSV).

Nothing heavy is imported at module level: operators import this at DAG parse time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_alignment.exceptions import (
    AlignmentError,
    DataError,
    SourceUnavailableError,
    SpecError,
    did_you_mean,
    preview,
)
from airflow_alignment.limits import MAX_BATCH_ROWS, whole_number

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("csv", "parquet", "jsonl")
# Files this large (bytes) are read in batches by the checks that can work on batches.
STREAM_BYTES = 512 * 1024 * 1024
DEFAULT_BATCH_ROWS = 1_000_000
_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


@dataclass
class FileSource:
    """A file or object-store URI with an explicit format.

    :param path: local path or URI (templated).
    :param format: ``csv``, ``parquet`` or ``jsonl``; inferred from the suffix when omitted.
    :param storage_options: passed to fsspec when the path is a URI with a scheme.
    :param read_options: extra keyword arguments for the pandas reader (e.g. ``{"sep": ";"}``).
    :param batch_rows: read the file ``batch_rows`` rows at a time where a check can work on
        batches (count-based fairness and performance metrics), so a file bigger than memory
        can be checked. Files of :data:`STREAM_BYTES` or more are streamed in batches of
        :data:`DEFAULT_BATCH_ROWS` without asking.
    """

    path: str
    format: str | None = None
    storage_options: dict[str, Any] = field(default_factory=dict)
    read_options: dict[str, Any] = field(default_factory=dict)
    batch_rows: int | None = None

    template_fields: Sequence[str] = ("path",)

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

    template_fields: Sequence[str] = ("table", "where", "query", "schema", "parameters")

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


@dataclass(frozen=True)
class CallableData:
    """A callable ``data=`` held as a value until the check loads it.

    Airflow 3.3 calls every callable it finds in a templated field with ``(context=,
    jinja_env=)`` while rendering, and keeps what it returns. A ``data=`` callable takes no
    argument and returns a DataFrame when the data is loaded, so the operators hold it in this
    wrapper (not callable, no template fields of its own), which Airflow leaves as it is on
    every version. :func:`as_source`, :func:`load_frame` and :func:`describe_source` unwrap it.
    """

    func: Callable[[], Any]

    template_fields: ClassVar[Sequence[str]] = ()

    def __str__(self) -> str:
        return describe_source(self.func)


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
        if "conn_id" in data:
            return _build(SqlSource, data, "SqlSource")
        if "path" in data:
            return _build(FileSource, data, "FileSource")
        raise SpecError(
            f"data: a mapping needs 'conn_id' (a SQL source) or 'path' (a file), got keys {sorted(map(str, data))}"
        )
    return data


def _build(cls: Any, raw: dict[str, Any], name: str) -> Any:
    import dataclasses

    known = [f.name for f in dataclasses.fields(cls) if f.name != "template_fields"]
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


def describe_source(data: Any) -> str:
    """A short text naming the source, for results and logs."""
    if isinstance(data, (dict, CallableData)):
        try:
            data = as_source(data)
        except SpecError:
            return str(data)
    if callable(data) and not hasattr(data, "columns"):
        name = getattr(data, "__qualname__", None) or type(data).__name__
        module = getattr(data, "__module__", None)
        return f"callable:{module}.{name}" if module else f"callable:{name}"
    if hasattr(data, "columns"):
        return "dataframe"
    return str(data)


def load_frame(data: Any, columns: Sequence[str] | None = None, format: str | None = None) -> pd.DataFrame:
    """Load ``data`` as a ``pandas.DataFrame``, reading only ``columns`` when the format allows.

    Raises :class:`SourceUnavailableError` (retryable) when the file cannot be reached,
    :class:`DataError` when it cannot be parsed or lacks a requested column, and
    :class:`SpecError` when the source itself is malformed.
    """
    import pandas as pd

    if isinstance(data, CallableData):
        data = data.func
    if isinstance(data, pd.DataFrame):
        return _select(data, columns, "the DataFrame")
    if callable(data) and not isinstance(data, (str, os.PathLike)):
        frame = data()
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"data callable {describe_source(data)} returned {type(frame).__name__}, expected a pandas.DataFrame"
            )
        return _select(frame, columns, describe_source(data))
    if isinstance(data, FileSource):
        return _read_file(data.path, data.format or format, columns, data.storage_options, data.read_options)
    if isinstance(data, SqlSource):
        from airflow_alignment import sql

        return sql.read_frame(data, columns)
    if isinstance(data, dict):
        return load_frame(as_source(data), columns=columns, format=format)
    if isinstance(data, (str, os.PathLike)):
        return _read_file(data, format, columns, {}, {})
    raise SpecError(
        f"data: cannot read a {type(data).__name__}; pass a path, a URI, a FileSource, a callable or a DataFrame"
    )


def batch_rows(data: Any) -> int | None:
    """Rows per batch when ``data`` is a file to stream: ``FileSource.batch_rows``, or
    :data:`DEFAULT_BATCH_ROWS` for a file of :data:`STREAM_BYTES` or more; else ``None``."""
    data = as_source(data)
    if isinstance(data, FileSource) and data.batch_rows is not None:
        return data.batch_rows
    if isinstance(data, FileSource):
        path, options = data.path, data.storage_options
    elif isinstance(data, (str, os.PathLike)):
        path, options = data, {}
    else:
        return None
    try:
        size = _size(path, options)
    except Exception:  # noqa: BLE001 - the read that follows reports an unreachable file
        return None
    return DEFAULT_BATCH_ROWS if size >= STREAM_BYTES else None


def _size(path: Any, storage_options: dict[str, Any]) -> int:
    text = str(path)
    if "://" not in text or text.startswith("file://"):
        return os.path.getsize(text[len("file://") :] if text.startswith("file://") else text)
    return int(object_path(text, **storage_options).stat().st_size)


def iter_batches(data: Any, columns: Sequence[str], rows: int) -> Iterator[pd.DataFrame]:
    """The ``columns`` of a file, ``rows`` rows at a time (Parquet through pyarrow's batch
    reader, CSV and JSON lines through pandas' chunked readers). Yields at least one batch."""
    import pandas as pd

    data = as_source(data)
    if isinstance(data, FileSource):
        path, fmt, options, read_options = data.path, data.format, data.storage_options, data.read_options
    elif isinstance(data, (str, os.PathLike)):
        path, fmt, options, read_options = data, None, {}, {}
    else:
        raise SpecError(f"data: only files can be read in batches, not a {type(data).__name__}")
    text = str(path)
    fmt = fmt or infer_format(text)
    wanted = list(dict.fromkeys(columns))
    target = _open_target(path, options)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            with _binary(target) as handle:
                parquet = pq.ParquetFile(handle)
                _require(wanted, list(parquet.schema_arrow.names), text)
                empty = True
                for batch in parquet.iter_batches(batch_size=rows, columns=wanted, **read_options):
                    empty = False
                    yield batch.to_pandas()
                if empty:
                    yield parquet.schema_arrow.empty_table().select(wanted).to_pandas()
            return
        if fmt == "csv":
            _require(wanted, _csv_header(target, read_options), text)
        with _binary(target) as handle:
            reader = (
                pd.read_csv(handle, usecols=wanted, chunksize=rows, **read_options)
                if fmt == "csv"
                else pd.read_json(handle, lines=True, chunksize=rows, **read_options)
            )
            empty = True
            for chunk in reader:
                empty = False
                yield _select(chunk, wanted, text) if fmt != "csv" else chunk[wanted]
            if empty:
                yield pd.DataFrame({c: pd.Series(dtype=object) for c in wanted})
    except AlignmentError:
        raise
    except Exception as exc:
        raise _read_error(exc, text, fmt) from exc


def infer_format(path: str) -> str:
    name = path.lower()
    for compression in (".gz", ".bz2", ".zst", ".xz"):
        if name.endswith(compression):
            name = name[: -len(compression)]
    for suffix, fmt in _SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    raise SpecError(f"cannot tell the format of {path!r} from its suffix; pass format= one of {', '.join(FORMATS)}")


def _read_file(
    path: Any,
    format: str | None,
    columns: Sequence[str] | None,
    storage_options: dict[str, Any],
    read_options: dict[str, Any],
) -> pd.DataFrame:
    text = str(path)
    fmt = format or infer_format(text)
    if fmt not in FORMATS:
        raise SpecError(f"format: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    target = _open_target(path, storage_options)
    try:
        return _READERS[fmt](target, columns, read_options)
    except AlignmentError:
        raise
    except Exception as exc:
        raise _read_error(exc, text, fmt) from exc


def _read_error(exc: Exception, text: str, fmt: str) -> Exception:
    """What a failed read means: an unreachable file is retryable, unparsable content is not."""
    if isinstance(exc, FileNotFoundError):
        return SourceUnavailableError(f"data file not found: {text}")
    if isinstance(exc, (PermissionError, ConnectionError, TimeoutError)) or (
        isinstance(exc, OSError) and not _is_parse_error(exc)
    ):
        return SourceUnavailableError(f"could not read {text}: {exc}")
    return DataError(f"could not read {text} as {fmt}: {type(exc).__name__}: {exc}")


def object_path(uri: str, **storage_options: Any) -> Any:
    """A path object for ``uri``: Airflow's ``ObjectStoragePath`` (which resolves connections,
    ``s3://conn_id@bucket/key``) for the schemes Airflow's providers register, else a plain
    fsspec ``UPath`` (``memory://``, or any fsspec protocol; also when Airflow is absent)."""
    try:
        from airflow.sdk import ObjectStoragePath

        path = ObjectStoragePath(uri, **storage_options)
        path.fs  # noqa: B018 - resolves the filesystem now, so an unknown scheme falls back
        return path
    except (ImportError, ValueError):
        from upath import UPath

        return UPath(uri, **storage_options)


def _open_target(path: Any, storage_options: dict[str, Any]) -> Any:
    """A local path for files on disk; an fsspec-backed path object for URIs."""
    text = str(path)
    if "://" not in text or text.startswith("file://"):
        local = text[len("file://") :] if text.startswith("file://") else text
        if not os.path.exists(local):
            raise SourceUnavailableError(f"data file not found: {local}")
        return local
    if hasattr(path, "open") and hasattr(path, "fs"):
        return path  # already an ObjectStoragePath / UPath
    target = object_path(text, **storage_options)
    try:
        exists = target.exists()
    except Exception as exc:
        raise SourceUnavailableError(f"could not reach {text}: {exc}") from exc
    if not exists:
        raise SourceUnavailableError(f"data file not found: {text}")
    return target


def _read_csv(target: Any, columns: Sequence[str] | None, options: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    wanted = list(dict.fromkeys(columns)) if columns is not None else []
    _require(wanted, _csv_header(target, options), str(target))
    if columns is None:
        with _binary(target) as handle:
            return pd.read_csv(handle, **options)
    with _binary(target) as handle:
        frame = pd.read_csv(handle, usecols=wanted, **options)
    return frame[wanted]


def _csv_header(target: Any, options: dict[str, Any]) -> list[str]:
    """The column names of a CSV file as written: pandas would rename a repeated ``y`` to
    ``y.1`` and read on, so the first line is read as data to see the repeat."""
    import pandas as pd

    with _binary(target) as handle:
        if "header" in options or "names" in options:
            return [str(c) for c in pd.read_csv(handle, nrows=0, **options).columns]
        first = pd.read_csv(handle, header=None, nrows=1, dtype=str, keep_default_na=False, **options)
    names = [str(c) for c in first.iloc[0]] if len(first) else []
    return [name or f"Unnamed: {i}" for i, name in enumerate(names)]  # pandas' name for a blank one


def _read_parquet(target: Any, columns: Sequence[str] | None, options: dict[str, Any]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    with _binary(target) as handle:
        parquet = pq.ParquetFile(handle)
        wanted = list(dict.fromkeys(columns)) if columns is not None else None
        _require(wanted or [], list(parquet.schema_arrow.names), str(target))
        table = parquet.read(columns=wanted, **options)
    return table.to_pandas()


def _read_jsonl(target: Any, columns: Sequence[str] | None, options: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    with _binary(target) as handle:
        frame = pd.read_json(handle, lines=True, **options)
    return _select(frame, columns, str(target))


_READERS: dict[str, Callable[[Any, Sequence[str] | None, dict[str, Any]], pd.DataFrame]] = {
    "csv": _read_csv,
    "parquet": _read_parquet,
    "jsonl": _read_jsonl,
}


def _binary(target: Any) -> Any:
    if isinstance(target, str):
        compression = target.rsplit(".", 1)[-1] if target.endswith((".gz", ".bz2", ".xz", ".zst")) else None
        if compression:
            import fsspec

            return fsspec.open(target, "rb", compression="infer").open()
        return open(target, "rb")
    return target.open("rb")


def _select(frame: pd.DataFrame, columns: Sequence[str] | None, where: str) -> pd.DataFrame:
    wanted = list(dict.fromkeys(columns)) if columns is not None else []
    _require(wanted, list(frame.columns), where)
    return frame if columns is None else frame[wanted]


def _require(wanted: Sequence[str], available: list[Any], where: str) -> None:
    """Each ``wanted`` column is in ``available``, and no name of ``available`` repeats."""
    require_unique_columns(available, where)
    available = [str(c) for c in available]
    for col in wanted:
        if col not in available:
            raise DataError(
                f"column {col!r} not in {where}.{did_you_mean(col, available)} "
                f"Columns in the data: [{preview(available, limit=30)}]"
            )


def require_unique_columns(columns: Sequence[Any], where: str) -> None:
    """Raise :class:`DataError` when a column name repeats in ``columns``: which column a
    check would read is then a guess (pandas returns both, CSV readers rename one)."""
    counts: dict[Any, int] = {}
    for name in columns:
        counts[name] = counts.get(name, 0) + 1
    repeated = [f"{name!r} ({n} columns)" for name, n in counts.items() if n > 1]
    if repeated:
        more = f", +{len(repeated) - 10} more" if len(repeated) > 10 else ""
        raise DataError(
            f"{where} has duplicate column names: {', '.join(repeated[:10])}{more}; give each column its own name"
        )


def _is_parse_error(exc: OSError) -> bool:
    # pyarrow raises ArrowInvalid (a ValueError) for bad parquet, but some readers raise
    # OSError subclasses for corrupt content; those are data problems, not I/O ones.
    text = str(exc).lower()
    return any(word in text for word in ("magic", "parquet", "corrupt", "invalid", "parse"))
