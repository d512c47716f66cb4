"""Constraints on metrics of the bias catalogue, judged: what a ``data_bias`` check and a fairness
constraint by a Clarify name (``{"metric": "DI", "min": 0.8}``) share.

Each constraint's metric is computed for its facet (the constraint's ``facet_values``, else the
check's) from the counts, and judged as fairness and performance judge theirs
(:mod:`airflow_alignment.engines.binary.judging`: bounds, ``decide_on``, baselines). Intervals
draw the finest counts (stratum x group x label x prediction) from a multinomial (the rows
resampled with replacement) and, with sample weights, each cell's weight sum given its rows
(:func:`_draws`); both stages' counts are sums of them.

Imports nothing heavy at module top: numpy and the formulas load in :func:`judge`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.bias import counts as bias_counts
from airflow_alignment.engines.binary import judging
from airflow_alignment.engines.binary.metrics import bootstrap_cells
from airflow_alignment.exceptions import DataError
from airflow_alignment.limits import MAX_BOOTSTRAP_CELLS
from airflow_alignment.results import Assertion
from airflow_alignment.specs.bias_metrics import CATALOGUE, DEFAULTS, BiasValue, Stage

if TYPE_CHECKING:
    import numpy as np

    from airflow_alignment.engines.bias.counts import BiasCounts
    from airflow_alignment.specs.constraints import Constraint


def judge(
    counts: BiasCounts,
    constraints: Sequence[Constraint],
    *,
    stage: Stage,
    facet_values: Any,
    params: dict[str, Any],
    confidence: float | None,
    n_boot: int,
    random_state: int | None,
    baseline: judging.Baseline,
) -> tuple[list[Assertion], dict[str, BiasValue]]:
    """Each constraint as an assertion, and each assertion's value (or why it has none) by name."""
    # the formulas import numpy at module top: loaded when a check runs, never when a DAG is parsed
    from airflow_alignment.engines.bias import metrics as bias_metrics

    sample = _draws(counts, confidence, n_boot, random_state, every_label=_every_label(constraints, stage, params))
    assertions, values = [], {}
    for constraint in constraints:
        name = constraint.metric_name
        where = constraint.facet_values if constraint.facet_values is not None else facet_values
        if CATALOGUE[stage][name].scope != "facet":
            where = None  # compares every group, or every row: no facet
        own = params if constraint.alpha is None else {**params, "alpha": constraint.alpha}
        full = bias_metrics.checked_params(own)
        value = bias_metrics.evaluate(counts, [name], stage=stage, facet_values=where, **own)[name]
        replicates = None
        if sample is not None and value.value is not None:
            drawn, draws = sample
            facet = mask(counts, where)
            replicates = bias_metrics.values(name, stage, drawn, facet[None, :], full, **draws)[:, 0]
        assertions.append(_assertion(constraint, value, where, replicates, confidence, full, baseline))
        values[constraint.name] = value
    return assertions, values


def mask(counts: BiasCounts, facet_values: Any) -> np.ndarray:
    """The ``(G,)`` mask of the facet ``d`` that ``facet_values`` names (none for ``None``)."""
    import numpy as np

    if facet_values is None:
        return np.zeros(len(counts.groups), dtype=bool)
    return bias_counts.facet_mask(counts.groups, facet_values, counts.features)


def _draws(
    counts: BiasCounts, confidence: float | None, n_boot: int, random_state: int | None, *, every_label: bool
) -> tuple[BiasCounts, dict[str, np.ndarray]] | None:
    """Bootstrap replicates of the counts: the counts they belong to and ``{"label_counts": ...,
    "cells": ...}`` (``cells`` with predictions); ``None`` without ``confidence``.

    The finest cells (stratum x group x label value x prediction) are drawn as the fairness
    engine draws its cells (:func:`~airflow_alignment.engines.binary.metrics.bootstrap_cells`):
    the row counts from a multinomial (the rows resampled with replacement), and with weights
    each cell's weight sum given its drawn rows from a normal with the cell's mean and variance
    of weights (``docs/decisions.md``, D31). Every label (binary, multi-class, continuous) and
    both stages read the same draw; unless a metric compares every label value, the values
    are first summed into negative and positive (a continuous label draws 2 cells, not one per
    value).

    :raises DataError: more replicate cells than :data:`~airflow_alignment.limits.MAX_BOOTSTRAP_CELLS`.
    """
    import numpy as np

    if confidence is None:
        return None
    drawn = counts if every_label else _two_labels(counts)
    size = drawn.joint_rows.size
    if n_boot * size > MAX_BOOTSTRAP_CELLS:
        raise DataError(
            f"n_boot: {n_boot:,} bootstrap replicates of {size:,} cells (strata x groups x labels x predictions) "
            f"exceed {MAX_BOOTSTRAP_CELLS:,} cells; lower n_boot to {MAX_BOOTSTRAP_CELLS // size:,} or fewer, "
            "or leave confidence out"
        )
    rng = np.random.default_rng(random_state)
    weights, squares = (drawn.joint, drawn.joint_squares) if drawn.weighted else (None, None)
    joint = bootstrap_cells(drawn.joint_rows, weights, squares, n_boot, rng)[0]
    labels, cells = bias_counts.split(joint, drawn.positive, predictions=drawn.cells is not None)
    return drawn, {"label_counts": labels} if cells is None else {"label_counts": labels, "cells": cells}


def _every_label(constraints: Sequence[Constraint], stage: Stage, params: dict[str, Any]) -> bool:
    """Whether a constraint reads every label value (``kl_divergence``; the divergences with
    ``label_distribution="values"``), not only negative vs positive."""
    values = params.get("label_distribution", DEFAULTS["label_distribution"]) == "values"
    return any(
        c.metric_name == "kl_divergence" or (values and "label_distribution" in CATALOGUE[stage][c.metric_name].params)
        for c in constraints
    )


def _two_labels(counts: BiasCounts) -> BiasCounts:
    """``counts`` with the label values summed into negative and positive."""
    import numpy as np

    def two(x: np.ndarray | None) -> np.ndarray | None:
        if x is None:
            return None
        return np.stack([x[..., ~counts.positive, :].sum(axis=-2), x[..., counts.positive, :].sum(axis=-2)], axis=-2)

    joint = two(counts.joint)
    return dataclasses.replace(
        counts,
        labels=["negative", "positive"],
        positive=np.array([False, True]),
        label_counts=joint.sum(axis=-1),  # type: ignore[union-attr]
        joint=joint,
        joint_rows=two(counts.joint_rows),
        joint_squares=two(counts.joint_squares),
    )


def _assertion(
    constraint: Constraint,
    value: BiasValue,
    facet_values: Any,
    replicates: np.ndarray | None,
    confidence: float | None,
    params: dict[str, Any],
    baseline: judging.Baseline,
) -> Assertion:
    info = CATALOGUE[constraint.catalogue][constraint.metric_name]  # type: ignore[index]
    details: dict[str, Any] = {
        "metric": info.name,
        "description": info.description,
        "library": f"{info.library} {info.reference}",
        "facet_values": facet_values,
        "decide_on": constraint.decide_on,
    }
    if "alpha" in info.params:
        details["alpha"] = params["alpha"]
    if constraint.rationale:
        details["rationale"] = constraint.rationale
    if value.value is None:
        details["reason"] = value.reason
        success = False  # an undefined value never passes a bound (D11)
    else:
        if confidence is not None:
            details["confidence"] = confidence
        interval = judging.ci(replicates, confidence)
        success = judging.decide(value.value, interval, constraint, details)
    compared = judging.compare(constraint.name, value.value, constraint, baseline)
    if compared is not None:
        details["baseline"] = compared
        success = success and compared.get("success", True)
    return Assertion(
        name=constraint.name,
        success=bool(success),
        observed=value.value,
        expected=constraint.bounds,
        severity=constraint.severity,
        details=details,
    )
