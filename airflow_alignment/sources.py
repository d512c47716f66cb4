"""Where data comes from: a local path, any fsspec / Airflow ``ObjectStoragePath`` URI, or a
callable that returns a DataFrame.

``data=`` arguments of every operator and sensor accept:

- a path or URI string (``"data/batch.parquet"``, ``"s3://aws_default@bucket/x.csv"``),
  templated by the operator before it reaches here;
- a :class:`FileSource` (a path plus an explicit ``format`` and fsspec ``storage_options``);
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import (
    AlignmentError,
    DataError,
    SourceUnavailableError,
    SpecError,
    did_you_mean,
    preview,
)

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("csv", "parquet", "jsonl")
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
    """

    path: str
    format: str | None = None
    storage_options: dict[str, Any] = field(default_factory=dict)
    read_options: dict[str, Any] = field(default_factory=dict)

    template_fields: Sequence[str] = ("path",)

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in FORMATS:
            raise SpecError(f"FileSource.format: unknown format {self.format!r}; use one of {', '.join(FORMATS)}")

    def __str__(self) -> str:
        return str(self.path)


def validate_data_arg(data: Any, where: str = "data") -> None:
    """Cheap, parse-time check of a ``data=`` argument (no I/O, no heavy import)."""
    if data is None:
        raise SpecError(f"{where}: no data source given; pass a path, a URI, a FileSource or a callable")
    if isinstance(data, str) and not data.strip():
        raise SpecError(f"{where}: the data path is an empty string")


def describe_source(data: Any) -> str:
    """A short text naming the source, for results and logs."""
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
    if isinstance(data, dict):
        return load_frame(FileSource(**data), columns=columns, format=format)
    if isinstance(data, (str, os.PathLike)):
        return _read_file(data, format, columns, {}, {})
    raise SpecError(
        f"data: cannot read a {type(data).__name__}; pass a path, a URI, a FileSource, a callable or a DataFrame"
    )


def infer_format(path: str) -> str:
    name = path.lower()
    for compression in (".gz", ".bz2", ".zst", ".xz"):
        if name.endswith(compression):
            name = name[: -len(compression)]
    for suffix, fmt in _SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    raise SpecError(
        f"cannot tell the format of {path!r} from its suffix; pass format= one of {', '.join(FORMATS)}"
    )


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
        frame = _READERS[fmt](target, columns, read_options)
    except FileNotFoundError as exc:
        raise SourceUnavailableError(f"data file not found: {text}") from exc
    except (PermissionError, ConnectionError, TimeoutError) as exc:
        raise SourceUnavailableError(f"could not read {text}: {exc}") from exc
    except AlignmentError:
        raise
    except Exception as exc:
        if isinstance(exc, OSError) and not _is_parse_error(exc):
            raise SourceUnavailableError(f"could not read {text}: {exc}") from exc
        raise DataError(f"could not read {text} as {fmt}: {type(exc).__name__}: {exc}") from exc
    return frame


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

    if columns is None:
        with _binary(target) as handle:
            return pd.read_csv(handle, **options)
    wanted = list(dict.fromkeys(columns))
    with _binary(target) as handle:
        header = pd.read_csv(handle, nrows=0, **options)
    _require(wanted, [str(c) for c in header.columns], str(target))
    with _binary(target) as handle:
        frame = pd.read_csv(handle, usecols=wanted, **options)
    return frame[wanted]


def _read_parquet(target: Any, columns: Sequence[str] | None, options: dict[str, Any]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    with _binary(target) as handle:
        parquet = pq.ParquetFile(handle)
        available = list(parquet.schema_arrow.names)
        wanted = None
        if columns is not None:
            wanted = list(dict.fromkeys(columns))
            _require(wanted, available, str(target))
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
    if columns is None:
        return frame
    wanted = list(dict.fromkeys(columns))
    _require(wanted, [str(c) for c in frame.columns], where)
    return frame[wanted]


def _require(wanted: Sequence[str], available: list[str], where: str) -> None:
    for col in wanted:
        if col not in available:
            raise DataError(
                f"column {col!r} not in {where}.{did_you_mean(col, available)} "
                f"Columns in the data: [{preview(available, limit=30)}]"
            )


def _is_parse_error(exc: OSError) -> bool:
    # pyarrow raises ArrowInvalid (a ValueError) for bad parquet, but some readers raise
    # OSError subclasses for corrupt content; those are data problems, not I/O ones.
    text = str(exc).lower()
    return any(word in text for word in ("magic", "parquet", "corrupt", "invalid", "parse"))
