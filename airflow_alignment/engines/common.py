"""Helpers shared by every engine: column checks and the data description of a result.

Pure Python on pandas; never imports airflow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import DataError, SpecError, did_you_mean, preview

if TYPE_CHECKING:
    import pandas as pd


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, what: str = "column") -> None:
    """Raise :class:`DataError` naming each missing column and listing the available ones."""
    available = [str(c) for c in df.columns]
    for col in columns:
        if col not in df.columns:
            raise DataError(
                f"{what} {col!r} not in the data.{did_you_mean(str(col), available)} "
                f"Columns in the data: [{preview(available, limit=30)}]"
            )


def require_rows(df: pd.DataFrame, source: str | None) -> None:
    if len(df) == 0:
        where = f" from {source}" if source else ""
        raise DataError(f"the dataset{where} is empty (0 rows): there is nothing to check")


def fingerprint(df: pd.DataFrame) -> str:
    """A content hash of the frame: column names, dtypes and every value (not the index)."""
    import pandas as pd

    h = hashlib.sha256()
    for name, dtype in df.dtypes.items():
        h.update(f"{name}\x1f{dtype}\x1e".encode())
    if len(df.columns):
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return "sha256:" + h.hexdigest()


def describe(df: pd.DataFrame, source: str | None, columns: Iterable[str] | None = None) -> dict[str, Any]:
    """The ``data`` block of a result: where the data came from, its size and fingerprint."""
    used = list(dict.fromkeys(columns)) if columns is not None else [str(c) for c in df.columns]
    frame = df[used] if columns is not None else df
    return {
        "source": source,
        "rows": int(len(df)),
        "columns": [str(c) for c in used],
        "fingerprint": fingerprint(frame),
    }


def check_severity(value: Any, where: str) -> str:
    if value not in ("block", "warn"):
        raise SpecError(f"{where}: severity must be 'block' or 'warn', got {value!r}")
    return str(value)

