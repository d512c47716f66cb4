"""Each bias metric of the catalogue from the counts, and why a value is undefined.

:func:`compute` splits the counts into the facet ``d`` and the rest ``a`` (for every facet of
an ``(F, G)`` mask at once) and hands each side to :mod:`.pretraining` or :mod:`.posttraining`;
:func:`reason` says, for one facet, why a metric has no value.

Imported only when a check runs: numpy is fine at module level here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from airflow_alignment.engines.bias import posttraining, pretraining
from airflow_alignment.exceptions import preview
from airflow_alignment.specs.bias_metrics import CATALOGUE, Stage

if TYPE_CHECKING:
    from airflow_alignment.engines.bias.counts import BiasCounts


def compute(
    name: str,
    stage: Stage,
    counts: BiasCounts,
    facets: np.ndarray,
    params: dict[str, Any],
    labels: np.ndarray,
    cells: np.ndarray | None,
) -> np.ndarray:
    """The metric per facet: shape ``labels.shape[:-3] + (F,)``; NaN where undefined.

    ``labels`` ``(..., S, G, K)`` and ``cells`` ``(..., S, G, 4)`` are the counts (or replicates
    of them); ``counts`` gives the positive labels and which groups have rows.
    """
    lead, n_facets = labels.shape[:-3], facets.shape[0]
    if CATALOGUE[stage][name].scope != "facet":
        present = counts.rows.sum(axis=0) > 0
        if stage == "pre_training":
            value = pretraining.groups_metric(name, labels, counts.positive, present, params)
        else:
            value = posttraining.groups_metric(name, cells, present, params)  # type: ignore[arg-type]
        return np.broadcast_to(value[..., None], (*lead, n_facets)).copy()
    mask = facets.astype(float)
    d_labels, a_labels = _side(labels, mask), _side(labels, 1.0 - mask)
    if stage == "pre_training":
        value = pretraining.facet_metric(name, d_labels, a_labels, counts.positive, params)
    else:
        value = posttraining.facet_metric(name, _side(cells, mask), _side(cells, 1.0 - mask), params)  # type: ignore[arg-type]
    n_d, n_a = d_labels.sum(axis=(-2, -1)), a_labels.sum(axis=(-2, -1))
    return np.where((n_d > 0) & (n_a > 0), value, np.nan)


def _side(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(..., S, G, C)`` summed over the groups of each facet row of ``mask``: ``(..., F, S, C)``."""
    return np.einsum("...sgc,fg->...fsc", x, mask)


def reason(name: str, stage: Stage, counts: BiasCounts, facet: np.ndarray, params: dict[str, Any]) -> str:
    """Why ``name`` has no value for the facet ``facet`` (a ``(G,)`` mask)."""
    if CATALOGUE[stage][name].scope != "facet":
        if stage == "pre_training":
            return pretraining.edf_reason(counts, params)
        return posttraining.groups_reason(name, counts, params)
    why = _facet_reason(counts, facet)
    if why:
        return why
    if stage == "pre_training":
        return pretraining.reason(name, counts)
    return posttraining.reason(name, counts, facet, params)


def _facet_reason(counts: BiasCounts, facet: np.ndarray) -> str | None:
    if not facet.any():
        return f"no group matches facet_values; the groups are {preview(counts.groups)}"
    weight = "positive weight" if counts.weighted else "rows"
    if counts.label_counts[:, facet].sum() <= 0:
        return f"the facet d (facet_values) has no {weight}"
    if counts.label_counts[:, ~facet].sum() <= 0:
        return f"the rest of the data (facet a) has no {weight}: every group is in facet_values"
    return None
