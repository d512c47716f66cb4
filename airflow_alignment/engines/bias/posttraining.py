"""Post-training metrics (labels and predictions) from the confusion cells ``[tn, fp, fn, tp]``.

:func:`facet_metric` takes the cells of the facet ``d`` and the rest ``a``, ``(..., S, 4)``
(strata x cells); :func:`groups_metric` reads every group (the entropy indexes, differential
fairness amplification). :func:`reason` and :func:`groups_reason` say why a value is undefined.
:mod:`.compute` splits the counts into the sides.

Imported only when a check runs: numpy is fine at module level here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from airflow_alignment.engines.bias import formulas as bf
from airflow_alignment.engines.bias.pretraining import class_reason, differential_fairness, edf_reason

if TYPE_CHECKING:
    from airflow_alignment.engines.bias.counts import BiasCounts

# AIF360's named indexes fix alpha; the generalized ones (and Clarify's GE) take it as a parameter.
_ENTROPY_ALPHA = {
    "theil_index": 1.0,
    "coefficient_of_variation": 2.0,
    "between_group_theil_index": 1.0,
    "between_group_coefficient_of_variation": 2.0,
    "between_all_groups_theil_index": 1.0,
    "between_all_groups_coefficient_of_variation": 2.0,
}
_PREDICTED, _NOT_PREDICTED = (bf.FP, bf.TP), (bf.TN, bf.FN)


def facet_metric(name: str, d: np.ndarray, a: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """A facet metric of :data:`~airflow_alignment.specs.bias_metrics.POST_TRAINING` from the cells of each side."""
    d_cells, a_cells = d.sum(axis=-2), a.sum(axis=-2)
    if name in bf.RATE_COMPARISONS:
        return bf.rate_comparison(name, d_cells, a_cells)
    if name in bf.PAIRED_DIFFERENCES:
        return bf.paired_difference(name, d_cells, a_cells)
    if name == "CDDPL":
        return bf.conditional_disparity(
            bf.cell_sum(d, _PREDICTED),
            bf.cell_sum(d, _NOT_PREDICTED),
            bf.cell_sum(a, _PREDICTED),
            bf.cell_sum(a, _NOT_PREDICTED),
        )
    groups = np.stack([d_cells, a_cells], axis=-2)  # the between-group indexes: between d and a
    return _entropy(name, bf.between_group_entropy, groups, params)


def groups_metric(name: str, cells: np.ndarray, present: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """A metric of every group or every row, from the cells ``(..., S, G, 4)``."""
    per_group = cells.sum(axis=-3)
    if name == "differential_fairness_bias_amplification":
        concentration = params["concentration"]
        predicted = differential_fairness(
            bf.cell_sum(per_group, _PREDICTED), bf.cell_sum(per_group, _NOT_PREDICTED), present, concentration
        )
        actual = differential_fairness(
            bf.cell_sum(per_group, (bf.FN, bf.TP)), bf.cell_sum(per_group, (bf.TN, bf.FP)), present, concentration
        )
        return predicted - actual
    if name.startswith("between_all_groups"):
        return _entropy(name, bf.between_group_entropy, per_group, params)
    return _entropy(name, bf.entropy_of_benefits, per_group.sum(axis=-2), params)


def _entropy(name: str, formula: Any, cells: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    alpha = _ENTROPY_ALPHA.get(name, params["alpha"])
    value = formula(cells, alpha)
    return np.sqrt(2 * value) if name.endswith("coefficient_of_variation") else value


# -- reasons --------------------------------------------------------------------------------
def reason(name: str, counts: BiasCounts, facet: np.ndarray, params: dict[str, Any]) -> str:
    """Why the facet metric ``name`` is undefined for ``facet`` when both sides have rows."""
    assert counts.cells is not None  # metrics._checked refuses post-training metrics without predictions
    sides = {"d": counts.cells[:, facet].sum(axis=(0, 1)), "a": counts.cells[:, ~facet].sum(axis=(0, 1))}
    if name == "CDDPL":
        return class_reason(float(bf.cell_sum(sides["d"] + sides["a"], _PREDICTED)), "predicted positives")
    if name in bf.RATE_COMPARISONS or name in bf.PAIRED_DIFFERENCES:
        rates = bf.PAIRED_DIFFERENCES[name][:2] if name in bf.PAIRED_DIFFERENCES else (bf.RATE_COMPARISONS[name][0],)
        for which in rates:
            _, den, empty = bf.RATES[which]
            for side, cells in sides.items():
                if bf.cell_sum(cells, den) <= 0:
                    return f"facet {side} {empty}: its {which.replace('_', ' ')} is undefined"
        return f"the {rates[0].replace('_', ' ')} of facet a is 0, and {name} divides by it"
    return _entropy_reason(np.stack([sides["d"], sides["a"]]), params, name, "facet")


def groups_reason(name: str, counts: BiasCounts, params: dict[str, Any]) -> str:
    """Why a metric of every group or every row is undefined."""
    if name == "differential_fairness_bias_amplification":
        return edf_reason(counts, params)
    assert counts.cells is not None
    if name.startswith("between_all_groups"):
        return _entropy_reason(counts.cells.sum(axis=0), params, name, "group")
    return _entropy_reason(counts.cells.sum(axis=(0, 1))[None, :], params, name, "row")


def _entropy_reason(group_cells: np.ndarray, params: dict[str, Any], name: str, unit: str) -> str:
    b = bf.benefits(group_cells)
    if b.sum() <= 0:
        return "the data has no rows"
    if (b[:, 1] + 2 * b[:, 2]).sum() <= 0:
        return "the mean benefit is 0: every row is a false negative (b = y_pred - y_true + 1 = 0)"
    alpha = _ENTROPY_ALPHA.get(name, params["alpha"])
    what = "a row has" if unit == "row" else f"a {unit} has a mean"
    return f"alpha = {alpha:g} <= 0 and {what} benefit 0 (false negatives only): the index is infinite"
