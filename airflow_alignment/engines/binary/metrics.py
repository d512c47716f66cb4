"""Fairness maths: per-group cell counts, metric formulas, aggregates and the bootstrap.

Everything here works on arrays whose last axis holds the four cells of a binary confusion
matrix, ``[tn, fp, fn, tp]``. The point estimate is an array of shape ``(groups, 4)``; the
bootstrap adds a leading replicate axis, ``(n_boot, groups, 4)``. One formula serves both,
so an interval is always computed the same way as the value it surrounds.

An undefined value (an empty denominator) is ``NaN`` here; :mod:`.fairness` turns it into
``null`` with the reason from :func:`undefined_reason`.

Imported only when a check runs: numpy, pandas and fairlearn are fine at module level here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


TN, FP, FN, TP = 0, 1, 2, 3
_ALL = (TN, FP, FN, TP)

# numerator cells, denominator cells
_RATES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "selection_rate": ((FP, TP), _ALL),
    "base_rate": ((FN, TP), _ALL),
    "true_positive_rate": ((TP,), (FN, TP)),
    "false_negative_rate": ((FN,), (FN, TP)),
    "true_negative_rate": ((TN,), (TN, FP)),
    "false_positive_rate": ((FP,), (TN, FP)),
    "precision": ((TP,), (FP, TP)),
    "false_discovery_rate": ((FP,), (FP, TP)),
    "negative_predictive_value": ((TN,), (TN, FN)),
    "false_omission_rate": ((FN,), (TN, FN)),
    "accuracy": ((TN, TP), _ALL),
    "error_rate": ((FP, FN), _ALL),
}
_EMPTY: dict[tuple[int, ...], str] = {
    _ALL: "has no rows with positive weight",
    (FN, TP): "has no positives (y_true == pos_label)",
    (TN, FP): "has no negatives (y_true != pos_label)",
    (FP, TP): "has no predicted positives",
    (TN, FN): "has no predicted negatives",
}


# -- cell counts ----------------------------------------------------------------------------
def cell_counts(
    codes: np.ndarray, n_groups: int, positive: np.ndarray, predicted: np.ndarray, weight: np.ndarray | None = None
) -> np.ndarray:
    """Counts (or weight sums) of each group x label x prediction cell: shape ``(n_groups, 4)``.

    One vectorised pass: each row's cell index is ``4 * group + 2 * label + prediction``.
    ``codes`` is consumed (turned into the cell index in place) to keep peak memory low.
    """
    import numpy as np

    codes <<= 2
    codes += positive.view(np.uint8) << 1
    codes += predicted.view(np.uint8)
    counts = np.bincount(codes, weights=weight, minlength=4 * n_groups)
    codes -= predicted.view(np.uint8)  # restore the group code for the caller
    codes -= positive.view(np.uint8) << 1
    codes >>= 2
    return counts.reshape(n_groups, 4)


def merge_groups(cells: np.ndarray, membership: np.ndarray, n_out: int) -> np.ndarray:
    """Sum the cells of fine groups into coarser ones (``membership[i]`` is i's coarse group).

    One sorted pass (``np.add.reduceat`` over the fine groups ordered by coarse group, each
    coarse group's fine groups in their own order), not a dense (fine x coarse) product: merging
    thousands of groups stays linear in the cells.
    """
    import numpy as np

    order = np.argsort(membership, kind="stable")
    sizes = np.bincount(membership, minlength=n_out)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    merged = np.add.reduceat(cells[..., order, :], np.minimum(starts, len(order) - 1), axis=-2)
    merged[..., sizes == 0, :] = 0  # reduceat gives an empty segment the next fine group
    return merged.astype(cells.dtype, copy=False)


# -- metric formulas ------------------------------------------------------------------------
def rate(name: str, cells: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """The metric ``name`` over the last axis of ``cells``; NaN where it is undefined.

    ``counts`` are the unweighted row counts (for ``count`` when ``cells`` hold weights).
    """
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "count":
            return np.asarray((cells if counts is None else counts).sum(axis=-1), dtype=float)
        if name == "balanced_accuracy":
            return (rate("true_positive_rate", cells) + rate("true_negative_rate", cells)) / 2
        if name == "f1":
            tp = cells[..., TP]
            return _ratio(2 * tp, 2 * tp + cells[..., FP] + cells[..., FN])
        num, den = _RATES[name]
        return _ratio(_sum(cells, num), _sum(cells, den))


def _sum(cells: np.ndarray, idx: tuple[int, ...]) -> np.ndarray:

    total = cells[..., idx[0]].astype(float)
    for i in idx[1:]:
        total = total + cells[..., i]
    return total


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    import numpy as np

    den = np.asarray(den, dtype=float)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def undefined_reason(name: str, cells: np.ndarray) -> str:
    """Why ``name`` is undefined for a group with these cells (shape ``(4,)``)."""

    if name in _RATES:
        return "the group " + _EMPTY[_RATES[name][1]]
    if name == "balanced_accuracy":
        side = "positives" if cells[FN] + cells[TP] <= 0 else "negatives"
        return f"the group has no {side}: balanced accuracy needs both classes"
    if name == "f1":
        return "the group has no positives and no predicted positives"
    return "undefined"


# -- aggregates -----------------------------------------------------------------------------
def aggregate(values: np.ndarray, overall: np.ndarray, kind: str, method: str = "between_groups") -> np.ndarray:
    """fairlearn's aggregates over the group axis (last) of ``values``.

    ``values`` has shape ``(..., groups)`` with NaN for undefined groups; ``overall`` has the
    leading shape. ``difference`` and ``ratio`` need two defined groups (between_groups).
    """
    import numpy as np

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        defined = np.sum(~np.isnan(values), axis=-1)
        if kind == "group_min":
            out = np.nanmin(values, axis=-1)
        elif kind == "group_max":
            out = np.nanmax(values, axis=-1)
        elif kind == "overall":
            out = np.asarray(overall, dtype=float)
        elif method == "to_overall":
            out = _to_overall(values, np.asarray(overall, dtype=float)[..., None], kind)
        elif kind == "difference":
            out = np.where(defined >= 2, np.nanmax(values, axis=-1) - np.nanmin(values, axis=-1), np.nan)
        else:  # ratio
            low, high = np.nanmin(values, axis=-1), np.nanmax(values, axis=-1)
            out = np.where((defined >= 2) & (high != 0), low / np.where(high != 0, high, 1.0), np.nan)
    out = np.asarray(out, dtype=float)
    return np.where(np.isfinite(out), out, np.nan)


def _to_overall(values: np.ndarray, overall: np.ndarray, kind: str) -> np.ndarray:
    import numpy as np

    if kind == "difference":
        return np.nanmax(np.abs(values - overall), axis=-1)
    ratios = values / overall
    ratios = np.where(ratios > 1, 1 / ratios, ratios)  # as fairlearn: every ratio at most 1
    return np.where(overall[..., 0] != 0, np.nanmin(ratios, axis=-1), np.nan)


def arg_pair(values: np.ndarray, overall: float, kind: str, method: str) -> tuple[int | None, int | None]:
    """The groups that produce a point aggregate: ``(low, high)``; ``None`` means "overall"."""
    import numpy as np

    if np.all(np.isnan(values)):
        return None, None
    low, high = int(np.nanargmin(values)), int(np.nanargmax(values))
    if low == high:  # every group ties: name two different ones
        high = next((int(i) for i in np.flatnonzero(~np.isnan(values)) if i != low), high)
    if kind == "group_min":
        return low, None
    if kind == "group_max":
        return high, None
    if method == "to_overall":
        with np.errstate(all="ignore"):
            if kind == "difference":
                return int(np.nanargmax(np.abs(values - overall))), None
            ratios = values / overall
            ratios = np.where(ratios > 1, 1 / ratios, ratios)
        return (int(np.nanargmin(ratios)) if not np.all(np.isnan(ratios)) else None), None
    return low, high


# -- bootstrap ------------------------------------------------------------------------------
def bootstrap_cells(
    counts: np.ndarray, weights: np.ndarray | None, weights_sq: np.ndarray | None, n_boot: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Replicates of the cell table, as if the rows were resampled with replacement.

    Resampling ``n`` rows with replacement gives multinomial cell counts with the observed
    proportions, so one draw per replicate replaces ``n`` row draws. With sample weights, a
    cell's weight sum given ``k`` drawn rows is approximated by a normal with the cell's mean
    and variance of weights (the exact law would need the rows). Returns
    ``(weighted_cells, counts)``, each ``(n_boot, groups, 4)``.
    """
    import numpy as np

    n = int(counts.sum())
    drawn = rng.multinomial(n, counts.ravel() / n, size=n_boot).reshape((n_boot, *counts.shape))
    if weights is None or weights_sq is None:
        return drawn.astype(float), drawn
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(counts > 0, weights / np.where(counts > 0, counts, 1), 0.0)
        var = np.where(counts > 0, weights_sq / np.where(counts > 0, counts, 1) - mean**2, 0.0)
    noise = rng.standard_normal(drawn.shape)
    summed = drawn * mean + np.sqrt(drawn * np.clip(var, 0, None)) * noise
    return np.clip(summed, 0, None), drawn


def interval(replicates: np.ndarray, confidence: float) -> np.ndarray:
    """Percentile interval over the first axis; NaN replicates (undefined draws) are skipped."""
    import numpy as np

    tail = (1 - confidence) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(replicates, [tail, 1 - tail], axis=0)


# -- the fairlearn path ---------------------------------------------------------------------
def frame_metric(
    func: Callable[..., Any],
    y_true: np.ndarray,
    y_other: np.ndarray,
    groups: np.ndarray,
    weight: np.ndarray | None,
) -> tuple[float, np.ndarray]:
    """``(overall, by_group)`` of ``func`` through fairlearn's ``MetricFrame``.

    ``groups`` are integer group codes ``0..G-1``; a group absent from the rows gets NaN.
    """
    import numpy as np
    import pandas as pd
    from fairlearn.metrics import MetricFrame

    params = {"sample_weight": weight} if weight is not None else None
    frame = MetricFrame(
        metrics=func,
        y_true=y_true,
        y_pred=y_other,
        sensitive_features=pd.Series(groups, name="group"),
        sample_params=params,
    )
    by_group = frame.by_group.reindex(np.arange(int(groups.max()) + 1))
    return float(frame.overall), by_group.to_numpy(dtype=float)


def _needs_two_classes(func: Callable[..., Any]) -> Callable[..., Any]:
    def wrapped(y_true: np.ndarray, y_score: np.ndarray, **kwargs: Any) -> float:
        import numpy as np

        if len(np.unique(y_true)) < 2:
            return float("nan")
        return float(func(y_true, y_score, **kwargs))

    wrapped.__name__ = getattr(func, "__name__", "metric")
    return wrapped


def score_metric(name: str) -> Callable[..., Any]:
    """The scikit-learn function behind a score-based metric name."""
    from sklearn import metrics

    if name == "roc_auc":
        return _needs_two_classes(metrics.roc_auc_score)
    if name == "log_loss":

        def log_loss(y_true: np.ndarray, y_score: np.ndarray, **kwargs: Any) -> float:
            return float(metrics.log_loss(y_true, y_score, labels=[0, 1], **kwargs))

        return log_loss

    def brier_score(y_true: np.ndarray, y_score: np.ndarray, **kwargs: Any) -> float:

        return float(metrics.brier_score_loss(y_true, y_score, pos_label=1, **kwargs))

    return brier_score


SCORE_REASONS = {
    "roc_auc": "the group has only one class of y_true: ROC AUC needs both",
}
