"""What every engine records of its data: the ``data`` block of a result, with a content fingerprint.

Pure Python on pandas (imported when a frame is described); never imports airflow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def fingerprint(df: pd.DataFrame) -> str:
    """A content hash of the frame: column names, dtypes and every value (not the index).

    Equal frames give equal fingerprints. Each column is hashed by the cheapest canonical
    route: the raw bytes of a numeric column without missing values, the (rebased) offsets
    and characters of an Arrow-backed string column without missing values (pandas 3's
    default), else pandas' per-row hash. Hashing 1M rows x 5 columns takes about 40 ms
    instead of 120 ms for ``hash_pandas_object`` on the whole frame.
    """
    h = hashlib.sha256()
    for name in df.columns:
        column = df[name]
        h.update(f"{name}\x1f{column.dtype}\x1e".encode())
        _hash_column(h, column)
    return "sha256:" + h.hexdigest()


def _hash_column(h: Any, column: pd.Series) -> None:
    import numpy as np
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf" and not column.isna().any():
        h.update(b"n")
        h.update(memoryview(np.ascontiguousarray(column.to_numpy())).cast("B"))
        return
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow" and not column.isna().any():
        import pyarrow as pa

        array = pa.array(column)
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        width = np.int64 if pa.types.is_large_string(array.type) else np.int32
        _, offsets_buffer, data = array.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=width)[array.offset : array.offset + len(array) + 1]
        h.update(b"s")
        h.update((offsets - offsets[0]).astype(np.int64).tobytes())
        if data is not None:
            h.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
        return
    try:
        hashed = pd.util.hash_pandas_object(column, index=False).to_numpy()
    except (TypeError, ValueError):  # an object column pandas cannot hash (tuples, ints among strings)
        h.update(b"r")
        h.update(pd.util.hash_pandas_object(column.map(_canonical), index=False).to_numpy().tobytes())
        return
    h.update(b"h")
    h.update(hashed.tobytes())


def _canonical(value: Any) -> str:
    return f"{type(value).__name__}:{value!r}"


def describe(df: pd.DataFrame, source: str | None, columns: Iterable[str] | None = None) -> dict[str, Any]:
    """The ``data`` block of a result: where the data came from, its size and fingerprint."""
    used = list(dict.fromkeys(columns)) if columns is not None else [str(c) for c in df.columns]
    frame = df[used] if columns is not None else df
    return {
        "source": source,
        "rows": len(df),
        "columns": [str(c) for c in used],
        "fingerprint": fingerprint(frame),
    }


def describe_in_background(
    df: pd.DataFrame, source: str | None, columns: Iterable[str] | None = None
) -> Callable[[], dict[str, Any]]:
    """Start :func:`describe` in a thread; call the returned function for its result.

    sha256 releases the GIL, so the fingerprint overlaps with an engine's own work (GX
    validation) instead of adding to it. The frame is only read.
    """
    import threading

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = describe(df, source, columns)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="alignment-fingerprint", daemon=True)
    thread.start()

    def result() -> dict[str, Any]:
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    return result
