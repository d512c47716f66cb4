"""The counts the bias metrics read, taken from a cell table.

Every pre-training metric (on labelled data) is a function of how many rows fall in each
*stratum x group x label value* (with their weight sums), and every post-training metric of
the *stratum x group x confusion cell* counts. A
:class:`~airflow_alignment.engines.binary.cells.CellTable` whose sensitive features are the
facet columns (plus the ``group_variable``, the stratum of CDDL and CDDPL) holds exactly that,
whoever computed it (pandas, a file read in batches, a SQL ``GROUP BY``): :func:`from_cells`
reduces it to the arrays of :class:`BiasCounts`. A cell table without predictions
(``y_pred=None``) is enough for the pre-training metrics.

Which label is positive follows SageMaker Clarify (``smclarify.bias.report``):

- ``positive_labels=[...]``: a label is positive when it equals one of them (Clarify's
  ``label_values_or_threshold`` for a categorical label; several values are OR-ed);
- ``label_threshold=t``: positive when the label is *above* ``t``. Clarify cuts a continuous
  label into the intervals ``(t, max]``, so a label equal to ``t`` is negative (the fairness
  engine's ``y_score >= threshold`` counts it positive). A prediction is positive by the same
  rule, or, for a thresholded score in the cell table, where the table says so.

Clarify guesses whether a label is continuous from its dtype (a float label with one positive
value is read as a threshold); here the caller says it.

Imports nothing heavy at module level; numpy and pandas load in :func:`from_cells`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.binary import cells
from airflow_alignment.engines.binary.cells import CellTable
from airflow_alignment.exceptions import DataError, SpecError, did_you_mean, preview
from airflow_alignment.io.cells import ROWS, WEIGHT_MIN, WEIGHT_SQ

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class BiasCounts:
    """Counts of one dataset for the bias metrics.

    ``label_counts[s, g, k]``: rows (weight sums when weighted) of stratum ``strata[s]``,
    group ``groups[g]`` and label ``labels[k]``. ``cells[s, g]``: ``[tn, fp, fn, tp]`` of
    stratum ``s`` and group ``g`` (``None`` without predictions). ``rows[s, g]``: row counts,
    weighted or not (a group is present when it has rows).

    ``joint[s, g, k, j]``: the finest cells, by label value and prediction (``j``: 0 negative,
    1 positive; one ``j`` without predictions), with their row counts ``joint_rows`` and, when
    weighted, sums of squared weights ``joint_squares``: what the bootstrap draws from
    (:func:`split` gives ``label_counts`` and ``cells`` of any draw).
    """

    features: list[str]
    groups: list[dict[str, Any]]
    group_variable: str | None
    strata: list[Any]  # [None] without a group_variable
    labels: list[Any]
    positive: np.ndarray  # (K,) bool: labels[k] is positive
    label_counts: np.ndarray  # (S, G, K) float
    cells: np.ndarray | None  # (S, G, 4) float
    rows: np.ndarray  # (S, G) int
    weighted: bool
    joint: np.ndarray  # (S, G, K, J) float
    joint_rows: np.ndarray  # (S, G, K, J) int
    joint_squares: np.ndarray | None  # (S, G, K, J) float, weighted only


def from_cells(
    table: CellTable,
    *,
    facets: Sequence[str] | None = None,
    group_variable: str | None = None,
    positive_labels: Sequence[Any] | None = None,
    label_threshold: float | None = None,
) -> BiasCounts:
    """The :class:`BiasCounts` of a cell table.

    :param table: cell counts whose sensitive features include ``facets`` and ``group_variable``.
    :param facets: the sensitive features that define the groups (default: the table's
        features but ``group_variable``); their value combinations are the groups.
    :param group_variable: the feature whose values are the strata of CDDL and CDDPL.
    :param positive_labels: label values that count as positive (categorical labels).
    :param label_threshold: labels above it count as positive (continuous labels).
    :raises SpecError: a facet or ``group_variable`` the table does not hold, both or neither
        of ``positive_labels`` and ``label_threshold``.
    :raises DataError: missing values in a facet, the stratum, the label or the weights;
        negative weights; positive labels that match none of two or more label values.
    """
    import numpy as np

    facets, strata_key = _roles(table, facets, group_variable)
    rule = _positive_rule(positive_labels, label_threshold)
    frame = table.frame
    _refuse_missing(table, facets + strata_key + [table.y_true] + ([table.prediction] if table.prediction else []))
    weight = _weights(table)
    group_codes, groups = _factorize(frame, facets)
    stratum_codes, strata = _factorize(frame, strata_key) if strata_key else (np.zeros(len(frame), np.int64), [{}])
    label_codes, label_values = _factorize(frame, [table.y_true])
    labels = [v[table.y_true] for v in label_values]
    positive = _positive_mask(labels, rule, table.y_true)
    n_s, n_g, n_k = len(strata), len(groups), len(labels)
    n_j = 1 if table.prediction is None else 2
    predicted = np.zeros(len(frame), np.int64) if n_j == 1 else _predicted(table, rule).astype(np.int64)
    at = ((stratum_codes * n_g + group_codes) * n_k + label_codes) * n_j + predicted
    shape, size = (n_s, n_g, n_k, n_j), n_s * n_g * n_k * n_j
    joint = np.bincount(at, weights=weight, minlength=size).reshape(shape)
    joint_rows = np.rint(np.bincount(at, weights=frame[ROWS].to_numpy(dtype=float), minlength=size)).astype(np.int64)
    squares = None
    if table.sample_weight is not None:
        squares = np.bincount(at, weights=frame[WEIGHT_SQ].to_numpy(dtype=float), minlength=size).reshape(shape)
    label_counts, cells = split(joint, positive, predictions=n_j == 2)
    return BiasCounts(
        features=facets,
        groups=groups,
        group_variable=group_variable,
        strata=[s[group_variable] for s in strata] if group_variable else [None],
        labels=labels,
        positive=positive,
        label_counts=label_counts,
        cells=cells,
        rows=joint_rows.reshape(shape).sum(axis=(-2, -1)),
        weighted=table.sample_weight is not None,
        joint=joint,
        joint_rows=joint_rows.reshape(shape),
        joint_squares=squares,
    )


def split(joint: np.ndarray, positive: np.ndarray, *, predictions: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """``(label_counts, cells)`` of joint counts ``(..., K, J)`` (the counts or a bootstrap draw of
    them): ``(..., K)`` and ``(..., 4)`` (``[tn, fp, fn, tp]``; ``None`` without predictions)."""
    import numpy as np

    label_counts = joint.sum(axis=-1)
    if not predictions:
        return label_counts, None
    negative, positives = joint[..., ~positive, :].sum(axis=-2), joint[..., positive, :].sum(axis=-2)
    return label_counts, np.concatenate([negative, positives], axis=-1)  # [tn, fp] + [fn, tp]


def from_frame(
    df: pd.DataFrame,
    *,
    facets: Sequence[str],
    label: str,
    prediction: str | None = None,
    group_variable: str | None = None,
    sample_weight: str | None = None,
    positive_labels: Sequence[Any] | None = None,
    label_threshold: float | None = None,
) -> BiasCounts:
    """:func:`from_cells` of the cell table of ``df``
    (see :func:`airflow_alignment.engines.binary.cells.from_frame`)."""
    keys = list(facets) + ([group_variable] if group_variable else [])
    table = cells.from_frame(df, features=keys, y_true=label, y_pred=prediction, sample_weight=sample_weight)
    return from_cells(
        table,
        facets=facets,
        group_variable=group_variable,
        positive_labels=positive_labels,
        label_threshold=label_threshold,
    )


def _roles(table: CellTable, facets: Sequence[str] | None, group_variable: str | None) -> tuple[list[str], list[str]]:
    if group_variable is not None and group_variable not in table.features:
        raise SpecError(
            f"group_variable: {group_variable!r} is not a feature of the cell table "
            f"({preview(table.features)}); count the table with it among the features"
        )
    if facets is None:
        facets = [f for f in table.features if f != group_variable]
    facets = list(facets)
    if not facets:
        raise SpecError("facets: give at least one sensitive feature (the facet columns)")
    for facet in facets:
        if facet not in table.features:
            raise SpecError(
                f"facets: {facet!r} is not a feature of the cell table.{did_you_mean(facet, table.features)}"
                f" Features: {preview(table.features)}"
            )
        if facet == group_variable:
            raise SpecError(f"group_variable: {facet!r} is also a facet; the stratum must be another column")
    return facets, [group_variable] if group_variable else []


def _positive_rule(positive_labels: Any, label_threshold: Any) -> tuple[str, Any]:
    if (positive_labels is None) == (label_threshold is None):
        raise SpecError(
            "give positive_labels (label values that count as positive, e.g. [1]) "
            "or label_threshold (labels above it are positive), not both"
        )
    if positive_labels is not None:
        if (
            isinstance(positive_labels, (str, bytes))
            or not isinstance(positive_labels, Sequence)
            or not positive_labels
        ):
            raise SpecError(f"positive_labels: expected a non-empty list of label values, got {positive_labels!r}")
        return "values", list(positive_labels)
    if isinstance(label_threshold, Sequence) and not isinstance(label_threshold, (str, bytes)):
        # Clarify reads a list of several label values as categories, never as thresholds
        raise SpecError(
            f"label_threshold: expected one number, got {label_threshold!r}; to count several label "
            "values as positive, use positive_labels=[...]"
        )
    if not _finite_number(label_threshold):
        raise SpecError(f"label_threshold: expected a number, got {label_threshold!r}")
    return "threshold", label_threshold


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _refuse_missing(table: CellTable, columns: list[str]) -> None:
    frame = table.frame
    for column in dict.fromkeys(columns):
        missing = frame[column].isna().to_numpy()
        if missing.any():
            rows = int(frame[ROWS].to_numpy()[missing].sum())
            what = "label" if column == table.y_true else "prediction" if column == table.prediction else "column"
            raise DataError(
                f"{what} {column!r} has {rows:,} missing values; the bias metrics need every row's "
                "value: drop or fill them first"
            )


def _weights(table: CellTable) -> np.ndarray:
    frame = table.frame
    if table.sample_weight is None:
        return frame[ROWS].to_numpy(dtype=float)
    weight = frame[table.sample_weight].to_numpy(dtype=float)
    missing = frame[ROWS].to_numpy()[weight != weight]
    if len(missing):
        raise DataError(f"sample_weight column {table.sample_weight!r} has {int(missing.sum()):,} missing values")
    lowest = float(frame[WEIGHT_MIN].min())
    if lowest < 0:
        raise DataError(
            f"sample_weight column {table.sample_weight!r} has negative weights (smallest {lowest}); "
            "weights must be 0 or more"
        )
    return weight


def _factorize(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Integer codes of the combinations of ``keys`` and the combinations (sorted when the
    values sort, as Clarify sorts label values; else in order of appearance)."""
    import numpy as np
    import pandas as pd

    index = pd.MultiIndex.from_frame(frame[keys])
    uniques = list(dict.fromkeys(index))
    with contextlib.suppress(TypeError):
        uniques.sort()
    lookup = {value: i for i, value in enumerate(uniques)}
    codes = np.fromiter((lookup[v] for v in index), dtype=np.int64, count=len(index))
    return codes, [dict(zip(keys, (_plain(x) for x in value), strict=True)) for value in uniques]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value


def _positive_mask(labels: list[Any], rule: tuple[str, Any], column: str) -> np.ndarray:
    import numpy as np

    kind, arg = rule
    if kind == "values":
        mask = np.array([label in arg for label in labels], dtype=bool)
        if not mask.any() and len(labels) >= 2:
            raise DataError(
                f"positive_labels {arg!r} match none of the values of label {column!r} "
                f"({preview(labels)}); name the positive ones as they appear in the data"
            )
        return mask
    if not all(_finite_number(v) or isinstance(v, np.number) for v in labels):
        raise DataError(
            f"label_threshold needs a numeric label; {column!r} holds {preview(labels)}; "
            "use positive_labels for a categorical label"
        )
    return np.array([float(v) > arg for v in labels], dtype=bool)


def _predicted(table: CellTable, rule: tuple[str, Any]) -> np.ndarray:
    """Which predictions are positive: by the label's rule, or the cell table's thresholded score."""
    values = table.frame[table.prediction]
    if table.thresholded:
        return values.to_numpy(dtype=float) == 1.0
    kind, arg = rule
    if kind == "values":
        return values.isin(arg).to_numpy(dtype=bool)
    if values.dtype.kind not in "iuf":
        raise DataError(f"label_threshold needs numeric predictions; {table.prediction!r} has dtype {values.dtype}")
    return values.to_numpy(dtype=float) > arg


def facet_mask(groups: Sequence[Mapping[str, Any]], facet_values: Any, features: Sequence[str]) -> np.ndarray:
    """Which groups form the facet ``d``.

    ``facet_values`` names the disadvantaged group(s) in AIF360's condition format: a mapping
    ``{feature: value}`` (or ``{feature: [values]}``) that a group matches when it matches every
    key; or a list of such mappings, OR-ed (``[{"sex": "F", "race": "B"}, {"sex": "X"}]``). With
    a single feature a plain list of its values is enough (Clarify's ``facet_values``). A
    numeric feature can be cut at a threshold, ``{"age": {"above": 40}}``: the values above it
    (Clarify's facet threshold on a continuous facet, the interval ``(40, max]``).
    """
    import numpy as np

    conditions = _conditions(facet_values, list(features))
    mask = np.zeros(len(groups), dtype=bool)
    for condition in conditions:
        for i, group in enumerate(groups):
            if all(_matches(group[key], allowed, key) for key, allowed in condition.items()):
                mask[i] = True
    return mask


@dataclass(frozen=True)
class _Above:
    threshold: float


def _matches(value: Any, allowed: list[Any] | _Above, key: str) -> bool:
    if isinstance(allowed, list):
        return value in allowed
    if not _finite_number(_plain(value)):
        raise DataError(
            f"facet_values: {{{key!r}: {{'above': {allowed.threshold}}}}} needs numbers in facet {key!r}, "
            f"which holds {value!r}; name its values instead"
        )
    return bool(value > allowed.threshold)


def _conditions(facet_values: Any, features: list[str]) -> list[dict[str, list[Any] | _Above]]:
    example = f"{{{features[0]!r}: value}}" if features else "{'feature': value}"
    if isinstance(facet_values, Mapping):
        items: list[Any] = [facet_values]
    elif isinstance(facet_values, Sequence) and not isinstance(facet_values, (str, bytes)) and facet_values:
        if all(isinstance(v, Mapping) for v in facet_values):
            items = list(facet_values)
        elif len(features) == 1 and not any(isinstance(v, Mapping) for v in facet_values):
            items = [{features[0]: list(facet_values)}]
        else:
            raise SpecError(f"facet_values: with several facets give mappings like {example}, got {facet_values!r}")
    else:
        raise SpecError(f"facet_values: expected a mapping like {example} or a list of them, got {facet_values!r}")
    out = []
    for i, item in enumerate(items):
        if not item:
            raise SpecError(f"facet_values[{i}]: an empty mapping matches every group; name a facet value")
        for key in item:
            if key not in features:
                raise SpecError(
                    f"facet_values: {key!r} is not a facet.{did_you_mean(str(key), features)} "
                    f"Facets: {preview(features)}"
                )
        out.append({k: _allowed(k, v) for k, v in item.items()})
    return out


def _allowed(key: str, value: Any) -> list[Any] | _Above:
    if not isinstance(value, Mapping):
        return list(value) if isinstance(value, (list, tuple)) else [value]
    if set(value) != {"above"} or not _finite_number(value["above"]):
        raise SpecError(f"facet_values: {key!r}: a mapping cuts a numeric facet, {{'above': number}}, got {value!r}")
    return _Above(float(value["above"]))
