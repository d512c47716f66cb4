"""Each bias metric's value from the counts: :func:`evaluate` (one facet) and
:func:`one_vs_rest` (each group in turn as the facet, Clarify's report without facet_values).

Use it without Airflow::

    from airflow_alignment.engines.bias import counts, metrics
    data = counts.from_frame(df, facets=["sex"], label="approved", positive_labels=[1])
    values = metrics.evaluate(data, ["CI", "DPL", "KL"], stage="pre_training",
                              facet_values={"sex": "F"})
    values["DPL"].value, values["DPL"].reason

Both stages come from counts (:class:`~.counts.BiasCounts`, taken from a cell table), so they
cost the same on a DataFrame, a file read in batches or a SQL ``GROUP BY``.

Each metric equals its reference library to 1e-12 where the library gives a number and this
module does too (``tests/test_bias_oracle.py``); the differences (signs, zero handling,
values the library defines where the formula has none) are in ``docs/bias-metrics.md``. A
value that has no number (an empty facet, a rate with no denominator, an infinite divergence)
is ``None`` with a reason, never 0 (``docs/decisions.md``, D11).

Imported only when a check runs: numpy is fine at module level here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from airflow_alignment.engines.bias import compute
from airflow_alignment.engines.bias.counts import facet_mask
from airflow_alignment.exceptions import SpecError
from airflow_alignment.specs.bias_metrics import CATALOGUE, DEFAULTS, BiasValue, Stage, check_names, check_params

if TYPE_CHECKING:
    from airflow_alignment.engines.bias.counts import BiasCounts


def evaluate(
    counts: BiasCounts,
    metrics: Sequence[str],
    *,
    stage: Stage,
    facet_values: Any = None,
    **params: Any,
) -> dict[str, BiasValue]:
    """The value of each metric for the facet named by ``facet_values``.

    :param counts: from :func:`.counts.from_cells` (post-training metrics need predictions).
    :param metrics: names of :data:`PRE_TRAINING` or :data:`POST_TRAINING` (per ``stage``).
    :param facet_values: the facet ``d`` (see :func:`.counts.facet_mask`); needed by the
        facet metrics.
    :param params: ``p``, ``alpha``, ``concentration``, ``label_distribution`` (see
        :func:`checked_params`).
    """
    names = _checked(counts, metrics, stage)
    full = checked_params(params)
    facet = None
    if facet_values is not None:
        facet = facet_mask(counts.groups, facet_values, counts.features)[None, :]
    elif any(CATALOGUE[stage][n].scope == "facet" for n in names):
        needs = [n for n in names if CATALOGUE[stage][n].scope == "facet"]
        raise SpecError(
            f"facet_values: {', '.join(needs)} compare a facet with the rest of the data; "
            f"name the facet, e.g. facet_values={{{counts.features[0]!r}: ...}}"
        )
    return {name: _point(name, stage, counts, facet, full) for name in names}


def one_vs_rest(
    counts: BiasCounts, metrics: Sequence[str], *, stage: Stage, **params: Any
) -> dict[str, list[BiasValue]]:
    """Each metric with each group in turn as the facet ``d`` (Clarify's report without
    ``facet_values``, over the intersectional groups): ``{name: [value per group]}``."""

    names = _checked(counts, metrics, stage)
    full = checked_params(params)
    facets = np.eye(len(counts.groups), dtype=bool)
    return {name: _points(name, stage, counts, facets, full) for name in names}


def checked_params(params: dict[str, Any]) -> dict[str, Any]:
    """The metrics' parameters over :data:`~airflow_alignment.specs.bias_metrics.DEFAULTS`, checked:

    - ``p``: order of ``LP`` (Clarify uses 2);
    - ``alpha``: of ``GE`` and the generalized entropy indexes (Clarify's GE uses 2);
    - ``concentration``: Dirichlet smoothing of the differential-fairness metrics (AIF360: 1);
    - ``label_distribution``: what KL, JS, LP, TVD and KS compare: ``binary`` (positive vs
      negative labels, as Clarify's bias report computes them) or ``values`` (every label
      value, as Clarify's metric functions do on a multi-class label).
    """
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise SpecError(f"unknown parameter {unknown[0]!r}; the bias metrics take {', '.join(DEFAULTS)}")
    full = {**DEFAULTS, **params}
    check_params(**full)
    return full


def _checked(counts: BiasCounts, metrics: Sequence[str], stage: Stage) -> list[str]:
    names = check_names(metrics, stage)
    for name in names:
        if name in ("CDDL", "CDDPL") and counts.group_variable is None:
            raise SpecError(
                f"{name} is conditioned on a group_variable (the strata): count the data with one, "
                "e.g. counts.from_frame(..., group_variable='region')"
            )
        if stage == "post_training" and counts.cells is None:
            raise SpecError(
                f"{name} is a post-training metric: it needs predictions; count the data with a prediction column"
            )
    return names


def values(
    name: str,
    stage: Stage,
    counts: BiasCounts,
    facets: np.ndarray,
    params: dict[str, Any],
    label_counts: np.ndarray | None = None,
    cells: np.ndarray | None = None,
) -> np.ndarray:
    """The metric for each facet (rows of the ``(F, G)`` mask ``facets``), NaN where undefined.

    ``label_counts`` ``(..., S, G, K)`` and ``cells`` ``(..., S, G, 4)`` replace the counts'
    own (e.g. bootstrap replicates); the result then has their leading shape plus ``(F,)``.
    """
    labels = counts.label_counts if label_counts is None else label_counts
    confusion = counts.cells if cells is None else cells
    return compute.compute(name, stage, counts, facets, params, labels, confusion)


def _points(name: str, stage: Stage, counts: BiasCounts, facets: np.ndarray, params: dict[str, Any]) -> list[BiasValue]:
    out = values(name, stage, counts, facets, params)
    return [
        BiasValue(float(v), None) if v == v else BiasValue(None, compute.reason(name, stage, counts, f, params))
        for v, f in zip(out, facets, strict=True)
    ]


def _point(name: str, stage: Stage, counts: BiasCounts, facet: np.ndarray | None, params: dict[str, Any]) -> BiasValue:
    if facet is None:
        facet = np.zeros((1, len(counts.groups)), dtype=bool)
    return _points(name, stage, counts, facet, params)[0]
