"""Fairness inputs: the columns of a DataFrame checked and turned into arrays and group codes.

Every problem with the data is found here and raised as a :class:`DataError` that names the
column, the count and the fix: missing values, labels that are not binary, predictions that
look like probabilities, a single group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from airflow_alignment.exceptions import DataError, SpecError, preview

# Above this many possible feature combinations, compress the codes with a hash, not a table.
_DENSE_COMBINATIONS = 1 << 22


@dataclass
class Inputs:
    """The data of one fairness check, as arrays (one entry per kept row)."""

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


def prepare(
    df: pd.DataFrame,
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
    df, dropped = _handle_missing(df, y_true, y_pred, y_score, sample_weight, features, missing_groups)
    true_values = _distinct(df[y_true])
    _require_binary(true_values, "y_true", y_true, pos_label)
    predicted = None
    if y_pred is not None:
        pred_values = _distinct(df[y_pred])
        _require_predictions(df[y_pred], pred_values, y_pred, pos_label)
        _require_same_labels(true_values, pred_values, y_true, y_pred, pos_label)
        predicted = _equals(df[y_pred], pos_label)
    score = _numeric(df[y_score], "y_score", y_score) if y_score is not None else None
    if predicted is None and score is not None and threshold is not None:
        predicted = score >= threshold
    weight = _weights(df[sample_weight], sample_weight) if sample_weight is not None else None
    codes, levels, values = _group_codes(df, features)
    groups = [
        {f: values[j][int(code)] for j, (f, code) in enumerate(zip(features, row, strict=True))} for row in levels
    ]
    if len(groups) < 2:
        what = f"sensitive feature {features[0]!r}" if len(features) == 1 else f"sensitive features {features}"
        raise DataError(
            f"{what} has a single group {groups[0]} in {len(df):,} rows: "
            "fairness compares at least two groups"
        )
    return Inputs(features, codes, groups, levels, values, _equals(df[y_true], pos_label), predicted, score,
                  weight, dropped)


def _handle_missing(
    df: pd.DataFrame,
    y_true: str,
    y_pred: str | None,
    y_score: str | None,
    sample_weight: str | None,
    features: list[str],
    missing_groups: str,
) -> tuple[pd.DataFrame, dict[str, int]]:
    roles = [("y_true", y_true), ("y_pred", y_pred), ("y_score", y_score), ("sample_weight", sample_weight)]
    roles += [("sensitive feature", f) for f in features]
    keep: np.ndarray | None = None
    dropped: dict[str, int] = {}
    for role, col in roles:
        if col is None:
            continue
        missing = df[col].isna().to_numpy()
        count = int(missing.sum())
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
            raise DataError(f"{where} {col!r} has {count:,} missing {values} (NaN/None) in {len(df):,} rows; {fix}")
    if keep is None:
        return df, dropped
    if not keep.any():
        raise DataError(f"every one of the {len(df):,} rows has a missing value in {sorted(dropped)}")
    return df.loc[keep], dropped


def _distinct(series: pd.Series) -> list[Any]:
    values = pd.unique(series).tolist()
    try:
        return sorted(values)
    except TypeError:
        return values


def _require_binary(values: list[Any], role: str, col: str, pos_label: Any) -> None:
    if len(values) > 2:
        raise DataError(
            f"{role} column {col!r} is not binary: it has {len(values)} distinct values: {preview(values)}. "
            f"Map it to two classes; pos_label (now {pos_label!r}) names the positive one"
        )


def _require_predictions(series: pd.Series, values: list[Any], col: str, pos_label: Any) -> None:
    if pd.api.types.is_float_dtype(series.dtype) and values:
        fractional = [v for v in values if v not in (0, 1)]
        if fractional and min(values) >= 0 and max(values) <= 1:
            raise DataError(
                f"y_pred column {col!r} looks like probabilities ({len(values):,} distinct values between "
                f"{min(values):.3g} and {max(values):.3g}); pass it as y_score={col!r} with a threshold, "
                "e.g. threshold=0.5"
            )
    _require_binary(values, "y_pred", col, pos_label)


def _require_same_labels(
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


def _equals(series: pd.Series, pos_label: Any) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return np.asarray(series.to_numpy() == pos_label, dtype=bool)
    return series.isin([pos_label]).to_numpy(dtype=bool)


def _numeric(series: pd.Series, role: str, col: str) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise DataError(f"{role} column {col!r} must be numeric, got dtype {series.dtype}")
    return series.to_numpy(dtype=float)


def _weights(series: pd.Series, col: str) -> np.ndarray:
    weight = _numeric(series, "sample_weight", col)
    bad = ~np.isfinite(weight) | (weight < 0)
    if bad.any():
        raise DataError(
            f"sample_weight column {col!r} has {int(bad.sum()):,} negative or infinite values, "
            f"e.g. {preview(np.unique(weight[bad]).tolist(), 5)}; weights must be finite and at least 0"
        )
    if weight.sum() <= 0:
        raise DataError(f"sample_weight column {col!r} sums to 0: no row carries weight")
    return weight


def _group_codes(df: pd.DataFrame, features: list[str]) -> tuple[np.ndarray, np.ndarray, list[list[Any]]]:
    """Intersectional group codes in one pass per feature, sorted as fairlearn sorts groups."""
    combined: np.ndarray | None = None
    values: list[list[Any]] = []
    for col in features:
        codes, uniques = pd.factorize(df[col], sort=True, use_na_sentinel=False)
        values.append([_plain(v) for v in uniques.tolist()])
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


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def require_score(score: np.ndarray | None, metric: str, where: str) -> np.ndarray:
    if score is None:
        raise SpecError(f"{where}: {metric} is computed from scores: give y_score (a column of scores)")
    return score
