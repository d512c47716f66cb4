"""Bias metric formulas on count arrays (SageMaker Clarify's and AIF360's definitions).

Every function is vectorised over leading axes, so one call serves a point estimate, every
facet of a one-vs-rest sweep and every bootstrap replicate alike. The arrays:

- label counts ``(..., S, K)``: rows (or weight sums) of each stratum of the ``group_variable``
  (``S == 1`` without one) x label value, for one side of the facet;
- confusion cells ``(..., S, 4)``: ``[tn, fp, fn, tp]`` of each stratum, for one side;
- group arrays ``(..., G, K)`` or ``(..., G, 4)``: the same per intersectional group, for the
  metrics that compare every group (generalized entropy between groups, differential fairness).

``d`` is the facet (the disadvantaged group named by ``facet_values``), ``a`` the rest of the
data. Undefined values are ``NaN`` here; :mod:`.metrics` reports them as ``None`` with
the reason from :func:`reason`. Each formula follows the reference library's arithmetic (its
order of operations and its handling of zeros, see ``docs/bias-metrics.md``) so that the numbers
agree to 1e-12.

Imported only when a check runs: numpy is fine at module level here.
"""

from __future__ import annotations

import numpy as np

TN, FP, FN, TP = 0, 1, 2, 3
_ALL = (TN, FP, FN, TP)

# A rate of the confusion cells: numerator cells, denominator cells, what an empty denominator means.
RATES: dict[str, tuple[tuple[int, ...], tuple[int, ...], str]] = {
    "predicted_positive_rate": ((FP, TP), _ALL, "has no rows"),
    "conditional_acceptance": ((FN, TP), (FP, TP), "has no predicted positives"),
    "conditional_rejection": ((TN, FP), (TN, FN), "has no predicted negatives"),
    "true_positive_rate": ((TP,), (FN, TP), "has no positive labels"),
    "true_negative_rate": ((TN,), (TN, FP), "has no negative labels"),
    "false_positive_rate": ((FP,), (TN, FP), "has no negative labels"),
    "false_negative_rate": ((FN,), (FN, TP), "has no positive labels"),
    "precision": ((TP,), (FP, TP), "has no predicted positives"),
    "negative_predictive_value": ((TN,), (TN, FN), "has no predicted negatives"),
    "false_discovery_rate": ((FP,), (FP, TP), "has no predicted positives"),
    "false_omission_rate": ((FN,), (TN, FN), "has no predicted negatives"),
    "accuracy": ((TN, TP), _ALL, "has no rows"),
    "error_rate": ((TN, TP), _ALL, "has no rows"),  # 1 - accuracy, as AIF360 computes it
    "false_negatives_per_false_positive": ((FN,), (FP,), "has no false positives"),
}
# Facet metrics that compare one rate between the two sides: rate, how ("a-d", "d-a", "d/a").
RATE_COMPARISONS: dict[str, tuple[str, str]] = {
    # SageMaker Clarify (smclarify), post-training
    "DPPL": ("predicted_positive_rate", "a-d"),
    "DI": ("predicted_positive_rate", "d/a"),
    "DCA": ("conditional_acceptance", "a-d"),
    "DCR": ("conditional_rejection", "d-a"),
    "RD": ("true_positive_rate", "a-d"),
    "SD": ("true_negative_rate", "d-a"),
    "DAR": ("precision", "a-d"),
    "DRR": ("negative_predictive_value", "d-a"),
    "AD": ("accuracy", "a-d"),
    "TE": ("false_negatives_per_false_positive", "d-a"),
    # AIF360 ClassificationMetric (unprivileged = d, privileged = a)
    "statistical_parity_difference": ("predicted_positive_rate", "d-a"),
    "disparate_impact": ("predicted_positive_rate", "d/a"),
    "equal_opportunity_difference": ("true_positive_rate", "d-a"),
    "true_positive_rate_difference": ("true_positive_rate", "d-a"),
    "false_positive_rate_difference": ("false_positive_rate", "d-a"),
    "false_negative_rate_difference": ("false_negative_rate", "d-a"),
    "false_omission_rate_difference": ("false_omission_rate", "d-a"),
    "false_discovery_rate_difference": ("false_discovery_rate", "d-a"),
    "false_positive_rate_ratio": ("false_positive_rate", "d/a"),
    "false_negative_rate_ratio": ("false_negative_rate", "d/a"),
    "false_omission_rate_ratio": ("false_omission_rate", "d/a"),
    "false_discovery_rate_ratio": ("false_discovery_rate", "d/a"),
    "error_rate_difference": ("error_rate", "d-a"),
    "error_rate_ratio": ("error_rate", "d/a"),
}
# AIF360 metrics that average or compare two rate differences (d - a).
PAIRED_DIFFERENCES: dict[str, tuple[str, str, str]] = {
    "average_odds_difference": ("false_positive_rate", "true_positive_rate", "mean"),
    "average_abs_odds_difference": ("false_positive_rate", "true_positive_rate", "mean_abs"),
    "average_predictive_value_difference": ("precision", "false_omission_rate", "mean"),
    "equalized_odds_difference": ("false_positive_rate", "true_positive_rate", "max_abs"),
}


def cell_sum(cells: np.ndarray, idx: tuple[int, ...]) -> np.ndarray:
    total = cells[..., idx[0]].astype(float)
    for i in idx[1:]:
        total = total + cells[..., i]
    return total


def divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, np.asarray(num, dtype=float) / np.where(den > 0, den, 1.0), np.nan)


# -- post-training: rates of the confusion cells ----------------------------------------------
def rate(name: str, cells: np.ndarray) -> np.ndarray:
    """``name`` of :data:`RATES` over the last axis of ``cells`` (``[tn, fp, fn, tp]``); NaN if
    its denominator is empty."""
    num, den, _ = RATES[name]
    value = divide(cell_sum(cells, num), cell_sum(cells, den))
    return 1.0 - value if name == "error_rate" else value


def compare(values_d: np.ndarray, values_a: np.ndarray, how: str) -> np.ndarray:
    """``a - d``, ``d - a`` or ``d / a`` (NaN where ``a`` is 0 for a ratio)."""
    if how == "a-d":
        return values_a - values_d
    if how == "d-a":
        return values_d - values_a
    return divide(values_d, values_a)


def rate_comparison(name: str, d: np.ndarray, a: np.ndarray) -> np.ndarray:
    """A metric of :data:`RATE_COMPARISONS` from the cells of each side, ``(..., 4)``."""
    which, how = RATE_COMPARISONS[name]
    return compare(rate(which, d), rate(which, a), how)


def paired_difference(name: str, d: np.ndarray, a: np.ndarray) -> np.ndarray:
    """A metric of :data:`PAIRED_DIFFERENCES` from the cells of each side, ``(..., 4)``."""
    first, second, how = PAIRED_DIFFERENCES[name]
    one = rate(first, d) - rate(first, a)
    two = rate(second, d) - rate(second, a)
    if how == "mean":
        return 0.5 * (one + two)
    if how == "mean_abs":
        return 0.5 * (np.abs(one) + np.abs(two))
    return np.maximum(np.abs(one), np.abs(two))  # NaN if either is NaN


# -- pre-training: label distributions --------------------------------------------------------
def positive_count(labels: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Rows with a positive label, summed over the last axis (label values)."""
    return labels[..., positive].sum(axis=-1)


def class_imbalance(n_d: np.ndarray, n_a: np.ndarray) -> np.ndarray:
    """Clarify's CI, ``(n_a - n_d) / (n_a + n_d)``; NaN when either side is empty."""
    return np.where((n_d > 0) & (n_a > 0), divide(n_a - n_d, n_a + n_d), np.nan)


def proportion_difference(pos_d: np.ndarray, n_d: np.ndarray, pos_a: np.ndarray, n_a: np.ndarray) -> np.ndarray:
    """Clarify's DPL (and DPPL on predictions): ``pos_a / n_a - pos_d / n_d``."""
    return divide(pos_a, n_a) - divide(pos_d, n_d)


def distributions(dist_d: np.ndarray, dist_a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(P_d, P_a, common)``: the label distributions (last axis) and where both are non-zero.

    Clarify compares the distributions on the label values that both sides have
    (``smclarify.util.pdfs_aligned_nonzero``): a value one side lacks is left out, without
    renormalising the rest. ``common`` is that support.
    """
    p_d = divide(dist_d, dist_d.sum(axis=-1)[..., None])
    p_a = divide(dist_a, dist_a.sum(axis=-1)[..., None])
    common = (p_d > 0) & (p_a > 0)
    return p_d, p_a, common


def _on_common(values: np.ndarray, common: np.ndarray) -> np.ndarray:
    return np.where(common, values, 0.0)


def divergence(name: str, dist_d: np.ndarray, dist_a: np.ndarray, p: float = 2.0) -> np.ndarray:
    """Clarify's KL, JS, LP, TVD or KS of the label distributions of ``a`` and ``d``.

    NaN when a side is empty or the sides share no label value.
    """
    p_d, p_a, common = distributions(dist_d, dist_a)
    defined = common.any(axis=-1)
    safe_d, safe_a = np.where(common, p_d, 1.0), np.where(common, p_a, 1.0)
    if name == "KL":
        value = _on_common(safe_a * np.log(safe_a / safe_d), common).sum(axis=-1)
    elif name == "JS":
        mid = 1 / 2 * (safe_a + safe_d)
        value = 0.5 * (
            _on_common(safe_a * np.log(safe_a / mid), common).sum(axis=-1)
            + _on_common(safe_d * np.log(safe_d / mid), common).sum(axis=-1)
        )
    else:
        order = {"LP": p, "TVD": 1.0, "KS": np.inf}[name]
        value = lp_norm(_on_common(safe_a - safe_d, common), order)
        if name == "TVD":
            value = 0.5 * value
    return np.where(defined, value, np.nan)


def lp_norm(x: np.ndarray, p: float) -> np.ndarray:
    """``numpy.linalg.norm(x, p)`` over the last axis, computed the way numpy does for a vector."""
    if p == np.inf:
        return np.abs(x).max(axis=-1)
    if p == 2:
        return np.sqrt((x * x).sum(axis=-1))
    if p == 1:
        return np.abs(x).sum(axis=-1)
    return (np.abs(x) ** p).sum(axis=-1) ** (1.0 / p)


def relative_entropy(dist_d: np.ndarray, dist_a: np.ndarray) -> np.ndarray:
    """AIF360's ``kl_divergence``: ``sum(rel_entr(P_a, P_d))`` over every label value.

    A value with ``P_a > 0`` and ``P_d == 0`` makes it infinite: NaN here (no finite number).
    """
    p_d, p_a, _ = distributions(dist_d, dist_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p_a > 0, p_a * np.log(p_a / np.where(p_d > 0, p_d, 1.0)), 0.0)
    infinite = ((p_a > 0) & ~(p_d > 0)).any(axis=-1)
    return np.where(infinite, np.nan, terms.sum(axis=-1))


def conditional_disparity(pos_d: np.ndarray, neg_d: np.ndarray, pos_a: np.ndarray, neg_a: np.ndarray) -> np.ndarray:
    """Clarify's CDD (CDDL on labels, CDDPL on predictions); the strata are the last axis.

    Per stratum ``DD = n_d(0) / n(0) - n_d(1) / n(1)``, each share 0 when the stratum has no
    rows of that class (Clarify's convention); their mean weighted by the strata's sizes.
    NaN when the data has no positive or no negative at all.
    """
    pos, neg = pos_d + pos_a, neg_d + neg_a
    accepted = np.where(pos != 0, divide(pos_d, pos), 0.0)
    rejected = np.where(neg != 0, divide(neg_d, neg), 0.0)
    sizes = pos + neg
    value = divide((sizes * (rejected - accepted)).sum(axis=-1), sizes.sum(axis=-1))
    return np.where((pos.sum(axis=-1) > 0) & (neg.sum(axis=-1) > 0), value, np.nan)


# -- whole-data and every-group metrics -------------------------------------------------------
def benefits(cells: np.ndarray) -> np.ndarray:
    """Rows of each benefit ``b = y_pred - y_true + 1``: ``(..., 3)`` for b = 0, 1, 2."""
    return np.stack([cells[..., FN], cells[..., TN] + cells[..., TP], cells[..., FP]], axis=-1).astype(float)


_B = np.array([0.0, 1.0, 2.0])


def generalized_entropy(counts: np.ndarray, values: np.ndarray, alpha: float) -> np.ndarray:
    """The generalized entropy index of a population in which ``counts[..., i]`` members have
    the value ``values[..., i]`` (AIF360's ``generalized_entropy_index`` on those members).

    ``alpha == 1`` is the Theil index and ``alpha == 0`` AIF360's mean log deviation (which
    AIF360 divides by the mean once more: followed here). NaN when the population is empty,
    its mean is 0, or (``alpha <= 0``) a member has the value 0 (the index is infinite).
    """
    n = counts.sum(axis=-1)
    mean = divide((counts * values).sum(axis=-1), n)
    safe_mean = np.where(mean > 0, mean, 1.0)[..., None]
    present = counts > 0
    ratio = values / safe_mean
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if alpha == 1:
            terms = np.log(ratio**values) / safe_mean
        elif alpha == 0:
            terms = -np.log(ratio) / safe_mean
        else:
            terms = (ratio**alpha - 1) / (alpha * (alpha - 1))
        value = divide(np.where(present, counts * terms, 0.0).sum(axis=-1), n)
    infinite = (present & (values == 0)).any(axis=-1) if alpha <= 0 else np.zeros(np.shape(n), dtype=bool)
    return np.where((mean > 0) & ~infinite, value, np.nan)


def entropy_of_benefits(cells: np.ndarray, alpha: float) -> np.ndarray:
    """GE over every row: cells ``(..., 4)`` summed over all groups and strata."""
    return generalized_entropy(benefits(cells), np.broadcast_to(_B, (*cells.shape[:-1], 3)), alpha)


def between_group_entropy(group_cells: np.ndarray, alpha: float) -> np.ndarray:
    """AIF360's between-group GE: each row's benefit replaced by its group's mean benefit.

    ``group_cells`` is ``(..., G, 4)``; a group without rows takes no part.
    """
    b = benefits(group_cells)
    sizes = b.sum(axis=-1)
    means = divide((b * _B).sum(axis=-1), sizes)
    return generalized_entropy(sizes, np.where(sizes > 0, means, 0.0), alpha)


def smoothed_rates(positives: np.ndarray, totals: np.ndarray, concentration: float) -> np.ndarray:
    """AIF360's Dirichlet-smoothed base rates per group (two classes): ``(P + c/2) / (N + c)``."""
    return divide(positives + concentration / 2, totals + concentration)


def differential_fairness(rates: np.ndarray, present: np.ndarray) -> np.ndarray:
    """AIF360's smoothed empirical differential fairness over the groups (last axis) that are
    ``present``: the largest ``|log s_i - log s_j|`` or ``|log(1-s_i) - log(1-s_j)|``.

    NaN with fewer than two groups, or when a rate is 0 or 1 (``concentration == 0``).
    """
    spans = []
    with np.errstate(divide="ignore", invalid="ignore"):  # a rate of 0 or 1: -inf logs, NaN below
        for log in (np.log(rates), np.log(1 - rates)):
            high = np.where(present, log, -np.inf).max(axis=-1)
            low = np.where(present, log, np.inf).min(axis=-1)
            spans.append(high - low)
    value = np.maximum(spans[0], spans[1])
    finite = np.all(np.where(present, (rates > 0) & (rates < 1), True), axis=-1)
    return np.where((present.sum(axis=-1) >= 2) & finite, value, np.nan)
