"""Pre-training metrics (labels only) from the label counts of the facet ``d`` and the rest ``a``.

:func:`facet_metric` takes the counts of each side, ``(..., S, K)`` (strata x label values),
and calls the formula of :mod:`.formulas`; :func:`differential_fairness` compares every group.
:func:`reason` says why a value is undefined. :mod:`.compute` splits the counts into the sides.

Imported only when a check runs: numpy is fine at module level here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from airflow_alignment.engines.bias import formulas as bf

if TYPE_CHECKING:
    from airflow_alignment.engines.bias.counts import BiasCounts

DIVERGENCES = ("KL", "JS", "LP", "TVD", "KS")
_BASE_RATES = {"statistical_parity_difference": "d-a", "mean_difference": "d-a", "disparate_impact": "d/a"}


def facet_metric(name: str, d: np.ndarray, a: np.ndarray, positive: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """A facet metric of :data:`~airflow_alignment.specs.bias_metrics.PRE_TRAINING` from each side's label counts."""
    n_d, n_a = d.sum(axis=(-2, -1)), a.sum(axis=(-2, -1))
    pos_d, pos_a = bf.positive_count(d, positive).sum(axis=-1), bf.positive_count(a, positive).sum(axis=-1)
    if name == "CI":
        return bf.class_imbalance(n_d, n_a)
    if name == "class_imbalance":
        return bf.divide(n_d - n_a, n_d + n_a)
    if name == "DPL":
        return bf.proportion_difference(pos_d, n_d, pos_a, n_a)
    if name in _BASE_RATES:
        return bf.compare(bf.divide(pos_d, n_d), bf.divide(pos_a, n_a), _BASE_RATES[name])
    if name in DIVERGENCES:
        kind = params["label_distribution"]
        return bf.divergence(name, _distribution(d, positive, kind), _distribution(a, positive, kind), params["p"])
    if name == "kl_divergence":
        return bf.relative_entropy(_distribution(d, positive, "values"), _distribution(a, positive, "values"))
    if name == "CDDL":
        return bf.conditional_disparity(
            bf.positive_count(d, positive),
            bf.positive_count(d, ~positive),
            bf.positive_count(a, positive),
            bf.positive_count(a, ~positive),
        )
    raise ValueError(f"not a pre-training facet metric: {name}")  # pragma: no cover - the catalogue says which are


def _distribution(x: np.ndarray, positive: np.ndarray, kind: str) -> np.ndarray:
    """``(..., S, K)`` -> the label distribution compared by KL & co.: ``(..., 2)`` or ``(..., K)``."""
    if kind == "values":
        return x.sum(axis=-2)
    return np.stack(
        [bf.positive_count(x, ~positive).sum(axis=-1), bf.positive_count(x, positive).sum(axis=-1)], axis=-1
    )


def groups_metric(
    name: str, labels: np.ndarray, positive: np.ndarray, present: np.ndarray, params: dict[str, Any]
) -> np.ndarray:
    """The metric of every group (AIF360's smoothed empirical differential fairness) of the labels
    ``(..., S, G, K)``."""
    if name != "smoothed_empirical_differential_fairness":
        raise ValueError(f"not a pre-training groups metric: {name}")  # pragma: no cover - the catalogue says
    positives = bf.positive_count(labels, positive).sum(axis=-2)
    negatives = bf.positive_count(labels, ~positive).sum(axis=-2)
    return differential_fairness(positives, negatives, present, params["concentration"])


def differential_fairness(
    positives: np.ndarray, negatives: np.ndarray, present: np.ndarray, concentration: float
) -> np.ndarray:
    """Differential fairness of the groups (last axis) that are ``present``."""
    # the total as positives + negatives: a group of one class has a rate of exactly 0 or 1 (with
    # weights, a separately summed total can differ in the last bit and make log(1 - rate) finite)
    return bf.differential_fairness(bf.smoothed_rates(positives, positives + negatives, concentration), present)


# -- reasons --------------------------------------------------------------------------------
def reason(name: str, counts: BiasCounts) -> str:
    """Why the facet metric ``name`` is undefined when both sides have rows."""
    if name in DIVERGENCES:
        return (
            "the facet d and the rest share no label value; Clarify compares the distributions on the "
            "label values both have"
        )
    if name == "kl_divergence":
        return "the facet d has no rows of a label value that the rest has: KL(P_a || P_d) is infinite"
    if name == "CDDL":
        return class_reason(bf.positive_count(counts.label_counts, counts.positive).sum(), "positive labels")
    return "the base rate of the rest of the data (a) is 0, and disparate_impact divides by it"


def class_reason(positives: float, what: str) -> str:
    """Why CDDL or CDDPL is undefined: the data has no ``what`` (or none of the other class)."""
    side = what if positives <= 0 else what.replace("positive", "negative")
    return f"the data has no {side}; the conditional demographic disparity compares the shares of both classes"


def edf_reason(counts: BiasCounts, params: dict[str, Any]) -> str:
    """Why a differential-fairness metric is undefined."""
    present = int((counts.rows.sum(axis=0) > 0).sum())
    if present < 2:
        return f"differential fairness compares groups, and the data has {present} group"
    return (
        f"with concentration = {params['concentration']:g} a group's smoothed rate is 0 or 1 (all its rows have "
        "one class), so the log-ratio is infinite; use a positive concentration"
    )
