"""Checks of a loaded DataFrame: the columns a check reads are there, once each, with rows.

Every reader (files, SQL, callables) and every engine asks these, so a missing column reads
the same wherever it is found: the column, the closest name, the columns there are. Pure
Python on pandas; pandas itself is imported only by the checks that need it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import DataError, did_you_mean, preview

if TYPE_CHECKING:
    import pandas as pd


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


def require_available(wanted: Sequence[str], available: list[Any], where: str) -> None:
    """Each ``wanted`` column is in ``available`` (the columns of a file or a frame that
    ``where`` names), and no name of ``available`` repeats."""
    require_unique_columns(available, where)
    available = [str(c) for c in available]
    for col in wanted:
        if col not in available:
            raise DataError(
                f"column {col!r} not in {where}.{did_you_mean(col, available)} "
                f"Columns in the data: [{preview(available, limit=30)}]"
            )


def select_columns(frame: pd.DataFrame, columns: Sequence[str] | None, where: str) -> pd.DataFrame:
    """``frame`` with only ``columns`` (all with ``None``), each checked with :func:`require_available`."""
    wanted = list(dict.fromkeys(columns)) if columns is not None else []
    require_available(wanted, list(frame.columns), where)
    return frame if columns is None else frame[wanted]


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, what: str = "column") -> None:
    """Raise :class:`DataError` naming each missing column (in the role ``what`` says) and
    listing the available ones."""
    available = [str(c) for c in df.columns]
    for col in columns:
        if col not in df.columns:
            raise DataError(
                f"{what} {col!r} not in the data.{did_you_mean(str(col), available)} "
                f"Columns in the data: [{preview(available, limit=30)}]"
            )


def require_rows(df: pd.DataFrame, source: str | None) -> None:
    """The frame has rows, and no column name repeats (which column a check reads would be a guess)."""
    require_unique_columns(list(df.columns), f"the dataset from {source}" if source else "the data")
    if len(df) == 0:
        where = f" from {source}" if source else ""
        raise DataError(f"the dataset{where} is empty (0 rows): there is nothing to check")


def require_one_type(series: pd.Series, what: str) -> None:
    """Refuse a column whose values are equal across types (``1``, ``1.0`` and ``True`` are
    equal in Python and pandas, so grouping would make them one group without a word).

    Only object columns whose values pandas infers as mixed are looked at (one pass over the
    values' types); a typed column (a database's, a Parquet file's) cannot mix them.
    """
    import pandas as pd

    if series.dtype != object or not pd.api.types.infer_dtype(series, skipna=True).startswith("mixed"):
        return
    values = series.dropna()
    unhashable = values[~values.map(_hashable).to_numpy(dtype=bool)]
    if len(unhashable):
        raise DataError(
            f"{what} holds {len(unhashable):,} values that cannot be groups "
            f"({type(unhashable.iloc[0]).__name__}, e.g. {unhashable.iloc[0]!r}); turn them into text"
        )
    pairs = pd.DataFrame({"value": values.to_numpy(), "type": values.map(_type_name).to_numpy()}).drop_duplicates()
    clashing = pairs[pairs.duplicated("value", keep=False)]
    if len(clashing):
        shown = ", ".join(f"{v!r} ({t})" for v, t in clashing.head(6).itertuples(index=False))
        raise DataError(
            f"{what} holds equal values of different types: {shown} would count as one group; cast the "
            f"column to one type (e.g. df[{series.name!r}].astype(str)) so that each group is the one you mean"
        )


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _type_name(value: Any) -> str:
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    return type(value).__name__
