"""Each bias metric of the catalogue from the counts, and why a value is undefined.

:func:`compute` splits the counts into the facet ``d`` and the rest ``a`` (for every facet of
an ``(F, G)`` mask at once), sums what each metric reads and calls the formula of
:mod:`.formulas`. :func:`reason` says, for one facet, why a metric has no value.

Imported only when a check runs: numpy is fine at module level here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from airflow_alignment.engines.bias import formulas as bf
from airflow_alignment.engines.bias.catalogue import CATALOGUE
from airflow_alignment.exceptions import preview

if TYPE_CHECKING:
    from airflow_alignment.engines.bias.counts import BiasCounts

_DIVERGENCES = ("KL", "JS", "LP", "TVD", "KS")
_ENTROPY_ALPHA = {"theil_index": 1.0, "coefficient_of_variation": 2.0, "between_group_theil_index": 1.0,
                  "between_group_coefficient_of_variation": 2.0, "between_all_groups_theil_index": 1.0,
                  "between_all_groups_coefficient_of_variation": 2.0}  # fmt: skip
_PRE_RATES = {"statistical_parity_difference": "d-a", "mean_difference": "d-a", "disparate_impact": "d/a"}


def compute(
    name: str, stage: str, counts: BiasCounts, facets: np.ndarray, params: dict[str, Any],
    labels: np.ndarray, cells: np.ndarray | None,
) -> np.ndarray:  # fmt: skip
    """The metric per facet: shape ``labels.shape[:-3] + (F,)``; NaN where undefined."""
    scope = CATALOGUE[stage][name].scope  # type: ignore[index]
    lead, n_facets = labels.shape[:-3], facets.shape[0]
    if scope != "facet":
        value = _groups_metric(name, stage, counts, labels, cells, params)
        return np.broadcast_to(value[..., None], lead + (n_facets,)).copy()
    mask = facets.astype(float)
    d_labels, a_labels = _side(labels, mask), _side(labels, 1.0 - mask)
    n_d, n_a = d_labels.sum(axis=(-2, -1)), a_labels.sum(axis=(-2, -1))
    if stage == "pre_training":
        value = _pre(name, d_labels, a_labels, counts.positive, n_d, n_a, params)
    else:
        value = _post(name, _side(cells, mask), _side(cells, 1.0 - mask), params)  # type: ignore[arg-type]
    return np.where((n_d > 0) & (n_a > 0), value, np.nan)


def _side(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(..., S, G, C)`` summed over the groups of each facet row of ``mask``: ``(..., F, S, C)``."""
    return np.einsum("...sgc,fg->...fsc", x, mask)


def _distribution(x: np.ndarray, positive: np.ndarray, kind: str) -> np.ndarray:
    """``(..., S, K)`` -> the label distribution compared by KL & co.: ``(..., 2)`` or ``(..., K)``."""
    if kind == "values":
        return x.sum(axis=-2)
    return np.stack([bf.positive_count(x, ~positive).sum(axis=-1), bf.positive_count(x, positive).sum(axis=-1)],
                    axis=-1)  # fmt: skip


def _pre(name: str, d: np.ndarray, a: np.ndarray, positive: np.ndarray, n_d: np.ndarray, n_a: np.ndarray,
         params: dict[str, Any]) -> np.ndarray:  # fmt: skip
    pos_d, pos_a = bf.positive_count(d, positive).sum(axis=-1), bf.positive_count(a, positive).sum(axis=-1)
    if name == "CI":
        return bf.class_imbalance(n_d, n_a)
    if name == "class_imbalance":
        return bf.divide(n_d - n_a, n_d + n_a)
    if name == "DPL":
        return bf.proportion_difference(pos_d, n_d, pos_a, n_a)
    if name in _PRE_RATES:
        return bf.compare(bf.divide(pos_d, n_d), bf.divide(pos_a, n_a), _PRE_RATES[name])
    if name in _DIVERGENCES:
        kind = params["label_distribution"]
        return bf.divergence(name, _distribution(d, positive, kind), _distribution(a, positive, kind), params["p"])
    if name == "kl_divergence":
        return bf.relative_entropy(_distribution(d, positive, "values"), _distribution(a, positive, "values"))
    if name == "CDDL":
        return bf.conditional_disparity(bf.positive_count(d, positive), bf.positive_count(d, ~positive),
                                        bf.positive_count(a, positive), bf.positive_count(a, ~positive))  # fmt: skip
    raise ValueError(f"not a facet metric: {name}")  # pragma: no cover - the catalogue says which are


def _post(name: str, d: np.ndarray, a: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    d_cells, a_cells = d.sum(axis=-2), a.sum(axis=-2)
    if name in bf.RATE_COMPARISONS:
        return bf.rate_comparison(name, d_cells, a_cells)
    if name in bf.PAIRED_DIFFERENCES:
        return bf.paired_difference(name, d_cells, a_cells)
    if name == "CDDPL":
        pred = (bf.FP, bf.TP)
        rest = (bf.TN, bf.FN)
        return bf.conditional_disparity(bf.cell_sum(d, pred), bf.cell_sum(d, rest), bf.cell_sum(a, pred), bf.cell_sum(a, rest))
    groups = np.stack([d_cells, a_cells], axis=-2)  # between d and a
    return _entropy(name, bf.between_group_entropy, groups, params)


def _entropy(name: str, formula: Any, cells: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    alpha = _ENTROPY_ALPHA.get(name, params["alpha"])
    value = formula(cells, alpha)
    return np.sqrt(2 * value) if name.endswith("coefficient_of_variation") else value


def _groups_metric(name: str, stage: str, counts: BiasCounts, labels: np.ndarray, cells: np.ndarray | None,
                   params: dict[str, Any]) -> np.ndarray:  # fmt: skip
    present = counts.rows.sum(axis=0) > 0
    if name == "smoothed_empirical_differential_fairness":
        positives = bf.positive_count(labels, counts.positive).sum(axis=-2)
        negatives = bf.positive_count(labels, ~counts.positive).sum(axis=-2)
        return _edf(positives, negatives, present, params["concentration"])
    assert cells is not None
    per_group = cells.sum(axis=-3)
    if name == "differential_fairness_bias_amplification":
        predicted = _edf(bf.cell_sum(per_group, (bf.FP, bf.TP)), bf.cell_sum(per_group, (bf.TN, bf.FN)), present,
                         params["concentration"])  # fmt: skip
        actual = _edf(bf.cell_sum(per_group, (bf.FN, bf.TP)), bf.cell_sum(per_group, (bf.TN, bf.FP)), present,
                      params["concentration"])  # fmt: skip
        return predicted - actual
    if name.startswith("between_all_groups"):
        return _entropy(name, bf.between_group_entropy, per_group, params)
    return _entropy(name, bf.entropy_of_benefits, per_group.sum(axis=-2), params)


def _edf(positives: np.ndarray, negatives: np.ndarray, present: np.ndarray, concentration: float) -> np.ndarray:
    # the total as positives + negatives: a group of one class has a rate of exactly 0 or 1 (with
    # weights, a separately summed total can differ in the last bit and make log(1 - rate) finite)
    return bf.differential_fairness(bf.smoothed_rates(positives, positives + negatives, concentration), present)


# -- reasons --------------------------------------------------------------------------------
def reason(name: str, stage: str, counts: BiasCounts, facet: np.ndarray, params: dict[str, Any]) -> str:
    """Why ``name`` has no value for the facet ``facet`` (a ``(G,)`` mask)."""
    scope = CATALOGUE[stage][name].scope  # type: ignore[index]
    if scope == "facet":
        why = _facet_reason(counts, facet)
        if why:
            return why
        if stage == "pre_training":
            return _pre_reason(name, counts, facet)
        return _post_reason(name, counts, facet, params)
    if name in ("smoothed_empirical_differential_fairness", "differential_fairness_bias_amplification"):
        return _edf_reason(counts, params)
    assert counts.cells is not None
    if name.startswith("between_all_groups"):
        return _entropy_reason(counts.cells.sum(axis=0), params, name, "group")
    return _entropy_reason(counts.cells.sum(axis=(0, 1))[None, :], params, name, "row")


def _facet_reason(counts: BiasCounts, facet: np.ndarray) -> str | None:
    if not facet.any():
        return f"no group matches facet_values; the groups are {preview(counts.groups)}"
    weight = "positive weight" if counts.weighted else "rows"
    if counts.label_counts[:, facet].sum() <= 0:
        return f"the facet d (facet_values) has no {weight}"
    if counts.label_counts[:, ~facet].sum() <= 0:
        return f"the rest of the data (facet a) has no {weight}: every group is in facet_values"
    return None


def _pre_reason(name: str, counts: BiasCounts, facet: np.ndarray) -> str:
    labels = counts.label_counts
    if name in _DIVERGENCES:
        return ("the facet d and the rest share no label value; Clarify compares the distributions on the "
                "label values both have")  # fmt: skip
    if name == "kl_divergence":
        return "the facet d has no rows of a label value that the rest has: KL(P_a || P_d) is infinite"
    if name == "CDDL":
        return _class_reason(bf.positive_count(labels, counts.positive).sum(), "positive labels")
    return "the base rate of the rest of the data (a) is 0, and disparate_impact divides by it"


def _class_reason(positives: float, what: str) -> str:
    side = what if positives <= 0 else what.replace("positive", "negative")
    return f"the data has no {side}; the conditional demographic disparity compares the shares of both classes"


def _post_reason(name: str, counts: BiasCounts, facet: np.ndarray, params: dict[str, Any]) -> str:
    assert counts.cells is not None
    sides = {"d": counts.cells[:, facet].sum(axis=(0, 1)), "a": counts.cells[:, ~facet].sum(axis=(0, 1))}
    if name == "CDDPL":
        return _class_reason(float(bf.cell_sum(sides["d"] + sides["a"], (bf.FP, bf.TP))), "predicted positives")
    if name in bf.RATE_COMPARISONS or name in bf.PAIRED_DIFFERENCES:
        rates = bf.PAIRED_DIFFERENCES[name][:2] if name in bf.PAIRED_DIFFERENCES else (bf.RATE_COMPARISONS[name][0],)
        for which in rates:
            _, den, empty = bf.RATES[which]
            for side, cells in sides.items():
                if bf.cell_sum(cells, den) <= 0:
                    return f"facet {side} {empty}: its {which.replace('_', ' ')} is undefined"
        return f"the {rates[0].replace('_', ' ')} of facet a is 0, and {name} divides by it"
    groups = np.stack([sides["d"], sides["a"]])
    return _entropy_reason(groups, params, name, "facet")


def _entropy_reason(group_cells: np.ndarray, params: dict[str, Any], name: str, unit: str) -> str:
    b = bf.benefits(group_cells)
    if b.sum() <= 0:
        return "the data has no rows"
    if (b[:, 1] + 2 * b[:, 2]).sum() <= 0:
        return "the mean benefit is 0: every row is a false negative (b = y_pred - y_true + 1 = 0)"
    alpha = _ENTROPY_ALPHA.get(name, params["alpha"])
    what = "a row has" if unit == "row" else f"a {unit} has a mean"
    return f"alpha = {alpha:g} <= 0 and {what} benefit 0 (false negatives only): the index is infinite"


def _edf_reason(counts: BiasCounts, params: dict[str, Any]) -> str:
    present = int((counts.rows.sum(axis=0) > 0).sum())
    if present < 2:
        return f"differential fairness compares groups, and the data has {present} group"
    return (f"with concentration = {params['concentration']:g} a group's smoothed rate is 0 or 1 (all its rows have "
            "one class), so the log-ratio is infinite; use a positive concentration")  # fmt: skip
