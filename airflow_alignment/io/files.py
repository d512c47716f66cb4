"""Files and objects: a local path or any fsspec / Airflow ``ObjectStoragePath`` URI, read as a
DataFrame whole or in batches.

Formats are CSV, Parquet and JSON lines, chosen by suffix (``.csv``, ``.parquet``/``.pq``,
``.jsonl``/``.ndjson``, optionally followed by ``.gz``) or by ``format=``. Only the needed
columns are read where the format allows it (Parquet and CSV). A file that cannot be reached
is a retryable :class:`SourceUnavailableError`; one that cannot be parsed a :class:`DataError`.

Nothing heavy is imported at module level: operators import this at DAG parse time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import AlignmentError, DataError, SourceUnavailableError, SpecError
from airflow_alignment.io.frames import require_available, select_columns
from airflow_alignment.io.sources import FORMATS, FileSource, as_source

if TYPE_CHECKING:
    import pandas as pd

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


def read_file(
    path: Any,
    format: str | None = None,
    columns: Sequence[str] | None = None,
    storage_options: dict[str, Any] | None = None,
    read_options: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """The ``columns`` (all with ``None``) of the file at ``path`` as a DataFrame."""
    return _read_file(path, format, columns, storage_options or {}, read_options or {})


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
                require_available(wanted, list(parquet.schema_arrow.names), text)
                empty = True
                for batch in parquet.iter_batches(batch_size=rows, columns=wanted, **read_options):
                    empty = False
                    yield batch.to_pandas()
                if empty:
                    yield parquet.schema_arrow.empty_table().select(wanted).to_pandas()
            return
        if fmt == "csv":
            require_available(wanted, _csv_header(target, read_options), text)
        with _binary(target) as handle:
            reader = (
                pd.read_csv(handle, usecols=wanted, chunksize=rows, **read_options)
                if fmt == "csv"
                else pd.read_json(handle, lines=True, chunksize=rows, **read_options)
            )
            empty = True
            for chunk in reader:
                empty = False
                yield select_columns(chunk, wanted, text) if fmt != "csv" else chunk[wanted]
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
    require_available(wanted, _csv_header(target, options), str(target))
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
        require_available(wanted or [], list(parquet.schema_arrow.names), str(target))
        table = parquet.read(columns=wanted, **options)
    return table.to_pandas()


def _read_jsonl(target: Any, columns: Sequence[str] | None, options: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    with _binary(target) as handle:
        frame = pd.read_json(handle, lines=True, **options)
    return select_columns(frame, columns, str(target))


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


def _is_parse_error(exc: OSError) -> bool:
    # pyarrow raises ArrowInvalid (a ValueError) for bad parquet, but some readers raise
    # OSError subclasses for corrupt content; those are data problems, not I/O ones.
    text = str(exc).lower()
    return any(word in text for word in ("magic", "parquet", "corrupt", "invalid", "parse"))
