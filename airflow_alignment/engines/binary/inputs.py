"""Fairness inputs: the columns of a DataFrame checked and turned into arrays and group codes.

Every problem with the data is found here and raised as a :class:`DataError` that names the
column, the count and the fix: missing values, labels that are not binary, predictions that
look like probabilities, a single group.

The data may also be a :class:`~airflow_alignment.engines.binary.cells.CellTable` (one row per
distinct combination of features, label and prediction, with the number of rows behind it).
The checks are the same and so are the messages: every count is a sum of the rows behind the
cells, and the arrays carry that ``multiplicity`` so the cell counts equal the rows' counts.
Only what the cells cannot tell differs: how many rows have a negative weight (the message
gives the smallest weight instead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.binary.cells import ROWS, WEIGHT_MIN, WEIGHT_SQ, CellTable, ScoreTables
from airflow_alignment.exceptions import DataError, SpecError, preview
from airflow_alignment.io.frames import require_columns, require_one_type
from airflow_alignment.limits import MAX_GROUPS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# Above this many possible feature combinations, compress the codes with a hash, not a table.
_DENSE_COMBINATIONS = 1 << 22


@dataclass
class Inputs:
    """The data of one fairness check, as arrays (one entry per kept row, or per kept cell)."""

    features: list[str]
    codes: np.ndarray  # intersectional group of each row, 0..G-1 (int64)
    groups: list[dict[str, Any]]  # the group of each code, {feature: value}
    levels: np.ndarray  # (G, F): each group's code in each feature alone
    feature_values: list[list[Any]]  # the values of each feature, by code
    positive: np.ndarray  # y_true == pos_label
    predicted: np.ndarray | None  # y_pred == pos_label, or y_score >= threshold
    score: np.ndarray | None
    weight: np.ndarray | None
    dropped: dict[str, int]  # rows left out for missing values, by column
    # From a CellTable: the number of rows behind each entry (None: one row each), and the sum
    # of squared weights behind each entry (for the bootstrap; None: ``weight ** 2``).
    multiplicity: np.ndarray | None = None
    weight_sq: np.ndarray | None = None
    # From a CellTable with scores: the score metrics computed where the data lives.
    scores: ScoreTables | None = None

    @property
    def rows(self) -> int:
        """The number of rows the arrays stand for."""
        return len(self.codes) if self.multiplicity is None else int(self.multiplicity.sum())


def prepare(
    df: pd.DataFrame | CellTable,
    *,
    y_true: str,
    y_pred: str | None,
    y_score: str | None,
    threshold: float | None,
    pos_label: Any,
    features: list[str],
    sample_weight: str | None,
    missing_groups: str,
) -> Inputs:
    """The checked arrays of ``df``: a DataFrame, or a CellTable (see :func:`check_table`)."""
    import numpy as np

    counted = isinstance(df, CellTable)
    scores = df.scores if isinstance(df, CellTable) else None
    if isinstance(df, CellTable):
        # The table's prediction column is y_pred, or y_score thresholded upstream (1.0 / 0.0 /
        # NaN); beside y_pred it holds no score, and the score metrics are refused before.
        y_score = y_score if df.thresholded else None
        df = df.frame
    df, dropped = _handle_missing(df, y_true, y_pred, y_score, sample_weight, features, missing_groups, counted)
    multiplicity = df[ROWS].to_numpy(dtype=np.int64) if counted else None
    rows = len(df) if multiplicity is None else int(multiplicity.sum())
    true_values = distinct(df[y_true])
    require_binary(true_values, "y_true", y_true, pos_label)
    predicted = None
    if y_pred is not None:
        pred_values = distinct(df[y_pred])
        require_predictions(df[y_pred], pred_values, y_pred, pos_label)
        require_same_labels(true_values, pred_values, y_true, y_pred, pos_label)
        predicted = equals(df[y_pred], pos_label)
    score = weight = weight_sq = None
    if counted:
        if predicted is None and y_score is not None:
            predicted = df[y_score].to_numpy(dtype=float) == 1.0
        if sample_weight is not None:
            weight, weight_sq = cell_weights(df, sample_weight)
    else:
        score = numeric(df[y_score], "y_score", y_score) if y_score is not None else None
        if predicted is None and score is not None and threshold is not None:
            predicted = score >= threshold
        weight = weights(df[sample_weight], sample_weight) if sample_weight is not None else None
    codes, levels, values = _group_codes(df, features)
    if len(levels) > MAX_GROUPS:
        raise DataError(
            f"{_what(features)} {'has' if len(features) == 1 else 'have'} {len(levels):,} groups in {rows:,} rows, "
            f"more than {MAX_GROUPS:,}, the most a fairness check compares; map rare values to a common one "
            "(e.g. 'other') or use a coarser feature"
        )
    groups = [
        {f: values[j][int(code)] for j, (f, code) in enumerate(zip(features, row, strict=True))} for row in levels
    ]
    if len(groups) < 2:
        raise DataError(
            f"{_what(features)} has a single group {groups[0]} in {rows:,} rows: fairness compares at least two groups"
        )
    return Inputs(
        features,
        codes,
        groups,
        levels,
        values,
        equals(df[y_true], pos_label),
        predicted,
        score,
        weight,
        dropped,
        multiplicity,
        weight_sq,
        scores,
    )


def _what(features: list[str]) -> str:
    return f"sensitive feature {features[0]!r}" if len(features) == 1 else f"sensitive features {features}"


def check_table(
    table: CellTable,
    *,
    y_true: str,
    y_pred: str | None,
    y_score: str | None,
    threshold: float | None,
    features: list[str],
    sample_weight: str | None,
) -> None:
    """A CellTable fits the call: each column is in the table, in the role it was counted for.

    A column absent from the table is a :class:`DataError`, as an absent column of a
    DataFrame; a column counted in another role (the table's predictions are ``y_pred`` but
    the call thresholds ``y_score``, ...) is a :class:`SpecError`. The table may hold more
    sensitive features than the call names (their cells add up), or a weight the call leaves
    out. Beside ``y_pred``, ``y_score`` is not looked at: the table holds no score.
    """
    head = table.frame.iloc[:0][table.columns]
    # the predictions: y_pred, or y_score cut at the threshold; none for scores without a threshold
    prediction = y_pred if y_pred is not None else (y_score if threshold is not None else None)
    roles = [
        ("y_true column", y_true),
        ("y_pred column", y_pred),
        ("y_score column", prediction if y_pred is None else None),
        ("sample_weight column", sample_weight),
    ]
    roles += [("sensitive feature", f) for f in features]
    for what, col in roles:
        if col is not None:
            require_columns(head, [col], what=what)
    if table.y_true != y_true:
        raise SpecError(
            f"y_true: the cell table counts the labels of {table.y_true!r}, not {y_true!r}; "
            "build the table with the same y_true"
        )
    if prediction != table.prediction or (prediction is not None and table.thresholded != (y_pred is None)):
        have = _prediction_role(table.prediction, table.thresholded)
        want = f"y_pred={y_pred!r}" if y_pred is not None else f"y_score={y_score!r} with threshold={threshold!r}"
        raise SpecError(
            f"the cell table counts the predictions of {have}, but the check reads {want}; "
            "build the table with the same columns"
        )
    if table.thresholded and table.threshold is not None and threshold != table.threshold:
        raise SpecError(
            f"threshold: the cell table cut {table.prediction!r} at {table.threshold!r}, but the check "
            f"reads threshold={threshold!r}; build the table with the same threshold"
        )
    if sample_weight is not None and table.sample_weight != sample_weight:
        raise SpecError(
            f"sample_weight: the cell table sums the weights of {table.sample_weight!r}, "
            f"not {sample_weight!r}; build the table with the same sample_weight"
        )
    for feature in features:
        if feature not in table.features:
            raise SpecError(
                f"sensitive feature {feature!r} is not a sensitive feature of the cell table "
                f"({table.features}); build the table with it"
            )


def _prediction_role(column: str | None, thresholded: bool) -> str:
    if column is None:
        return "no column"
    return f"y_score={column!r} with a threshold" if thresholded else f"y_pred={column!r}"


def _handle_missing(
    df: pd.DataFrame,
    y_true: str,
    y_pred: str | None,
    y_score: str | None,
    sample_weight: str | None,
    features: list[str],
    missing_groups: str,
    counted: bool = False,
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop or refuse rows with missing values; ``counted``: ``df`` is a cell table's frame."""
    import numpy as np

    rows = df[ROWS].to_numpy(dtype=np.int64) if counted else None
    total = len(df) if rows is None else int(rows.sum())
    roles = [("y_true", y_true), ("y_pred", y_pred), ("y_score", y_score), ("sample_weight", sample_weight)]
    roles += [("sensitive feature", f) for f in features]
    keep: np.ndarray | None = None
    dropped: dict[str, int] = {}
    for role, col in roles:
        if col is None:
            continue
        missing = df[col].isna().to_numpy()
        count = int(missing.sum()) if rows is None else int(rows[missing].sum())
        if not count:
            continue
        feature = role == "sensitive feature"
        if missing_groups == "drop":
            keep = ~missing if keep is None else keep & ~missing
            dropped[col] = count
        elif not (missing_groups == "as_group" and feature):
            where = "sensitive feature" if feature else f"{role} column"
            fix = (
                "pass missing_groups='drop' to leave those rows out, or missing_groups='as_group' "
                "to judge them as a group of their own"
                if feature
                else "fill them, or pass missing_groups='drop' to leave those rows out"
            )
            values = "value" if count == 1 else "values"
            raise DataError(f"{where} {col!r} has {count:,} missing {values} (NaN/None) in {total:,} rows; {fix}")
    if keep is None:
        return df, dropped
    if not keep.any():
        raise DataError(f"every one of the {total:,} rows has a missing value in {sorted(dropped)}")
    return df.loc[keep], dropped


def distinct(series: pd.Series) -> list[Any]:
    import pandas as pd

    values = pd.unique(series).tolist()
    try:
        return sorted(values)
    except TypeError:
        return values


def require_binary(values: list[Any], role: str, col: str, pos_label: Any) -> None:
    if len(values) > 2:
        raise DataError(
            f"{role} column {col!r} is not binary: it has {len(values)} distinct values: {preview(values)}. "
            f"Map it to two classes; pos_label (now {pos_label!r}) names the positive one"
        )


def require_predictions(series: pd.Series, values: list[Any], col: str, pos_label: Any) -> None:
    import pandas as pd

    if pd.api.types.is_float_dtype(series.dtype) and values:
        fractional = [v for v in values if v not in (0, 1)]
        if fractional and min(values) >= 0 and max(values) <= 1:
            raise DataError(
                f"y_pred column {col!r} looks like probabilities ({len(values):,} distinct values between "
                f"{min(values):.3g} and {max(values):.3g}); pass it as y_score={col!r} with a threshold, "
                "e.g. threshold=0.5"
            )
    require_binary(values, "y_pred", col, pos_label)


def require_same_labels(
    true_values: list[Any], pred_values: list[Any], y_true: str, y_pred: str, pos_label: Any
) -> None:
    union = list(dict.fromkeys(true_values + pred_values))
    if len(union) > 2:
        raise DataError(
            f"y_true {y_true!r} and y_pred {y_pred!r} use different labels: y_true has {preview(true_values)}, "
            f"y_pred has {preview(pred_values)}; together they must be two classes"
        )
    if len(union) == 2 and pos_label not in union:
        raise DataError(
            f"pos_label={pos_label!r} is not one of the labels of y_true {y_true!r} and y_pred {y_pred!r} "
            f"({preview(union)}); set pos_label to the positive one, e.g. pos_label={union[-1]!r}"
        )


def equals(series: pd.Series, pos_label: Any) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return np.asarray(series.to_numpy() == pos_label, dtype=bool)
    return series.isin([pos_label]).to_numpy(dtype=bool)


def numeric(series: pd.Series, role: str, col: str) -> np.ndarray:
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise DataError(f"{role} column {col!r} must be numeric, got dtype {series.dtype}")
    return series.to_numpy(dtype=float)


def weights(series: pd.Series, col: str) -> np.ndarray:
    import numpy as np

    weight = numeric(series, "sample_weight", col)
    bad = ~np.isfinite(weight) | (weight < 0)
    if bad.any():
        raise DataError(
            f"sample_weight column {col!r} has {int(bad.sum()):,} negative or infinite values, "
            f"e.g. {preview(np.unique(weight[bad]).tolist(), 5)}; weights must be finite and at least 0"
        )
    if weight.sum() <= 0:
        raise DataError(f"sample_weight column {col!r} sums to 0: no row carries weight")
    return weight


def cell_weights(df: pd.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
    """The weight sums and squared-weight sums of a cell table's cells, checked as :func:`_weights`.

    The cells keep each cell's smallest weight, not how many rows are negative: the message
    says the smallest one.
    """
    import numpy as np

    weight = numeric(df[col], "sample_weight", col)
    smallest = df[WEIGHT_MIN].to_numpy(dtype=float)
    negative, infinite = smallest < 0, ~np.isfinite(weight)
    if negative.any() or infinite.any():
        found = [f"smallest {float(smallest[negative].min()):.6g}"] if negative.any() else []
        found += ["some infinite"] if infinite.any() else []
        raise DataError(
            f"sample_weight column {col!r} has negative or infinite values ({', '.join(found)}); "
            "weights must be finite and at least 0"
        )
    if weight.sum() <= 0:
        raise DataError(f"sample_weight column {col!r} sums to 0: no row carries weight")
    return weight, df[WEIGHT_SQ].to_numpy(dtype=float)


def _group_codes(df: pd.DataFrame, features: list[str]) -> tuple[np.ndarray, np.ndarray, list[list[Any]]]:
    """Intersectional group codes in one pass per feature, sorted as fairlearn sorts groups."""
    import numpy as np

    combined: np.ndarray | None = None
    values: list[list[Any]] = []
    for col in features:
        require_one_type(df[col], f"sensitive feature {col!r}")
        codes, uniques = _factorize(df[col])
        values.append([_plain(v) for v in uniques])
        if combined is None:
            combined = codes.astype(np.int64, copy=False)
        else:
            combined *= len(uniques)
            combined += codes
        del codes
    assert combined is not None
    sizes = tuple(len(v) for v in values)
    possible = math.prod(sizes)
    if possible <= _DENSE_COMBINATIONS:
        present = np.flatnonzero(np.bincount(combined, minlength=possible))
        remap = np.zeros(possible, dtype=np.int64)
        remap[present] = np.arange(len(present))
        np.take(remap, combined, out=combined, mode="clip")
    else:
        present, inverse = np.unique(combined, return_inverse=True)
        combined = inverse.astype(np.int64, copy=False)
    levels = np.stack(np.unravel_index(present, sizes), axis=1)
    return combined, levels, values


def _factorize(series: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes and values of a feature, values sorted (as fairlearn sorts groups); values that do
    not compare (bytes beside numbers) are ordered by type, then by their text."""
    import numpy as np
    import pandas as pd

    try:
        codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=False)
        return codes, uniques.tolist()
    except TypeError:
        codes, uniques = pd.factorize(series, sort=False, use_na_sentinel=False)
        values = uniques.tolist()
        order = sorted(range(len(values)), key=lambda i: (type(values[i]).__name__, repr(values[i])))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank[codes], [values[i] for i in order]


def _plain(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value
