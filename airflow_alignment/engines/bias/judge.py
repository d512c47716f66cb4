"""Constraints on metrics of the bias catalogue, judged: what a ``data_bias`` check and a fairness
constraint by a Clarify name (``{"metric": "DI", "min": 0.8}``) share.

Each constraint's metric is computed for its facet (the constraint's ``facet_values``, else the
check's) from the counts, and judged as fairness and performance judge theirs
(:mod:`airflow_alignment.engines.binary.judging`: bounds, ``decide_on``, baselines). Intervals
draw the counts from a multinomial (the rows resampled with replacement): the label counts for
pre-training metrics, the confusion cells for post-training ones; with sample weights, each cell's
weight sum is drawn given its rows (:func:`_draws`).

Imports nothing heavy at module top: numpy and the formulas load in :func:`judge`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.bias import counts as bias_counts
from airflow_alignment.engines.binary import judging
from airflow_alignment.engines.binary.metrics import bootstrap_cells
from airflow_alignment.results import Assertion
from airflow_alignment.specs.bias_metrics import CATALOGUE, BiasValue, Stage

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

    draws = _draws(counts, stage, confidence, n_boot, random_state)
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
        if draws is not None and value.value is not None:
            facet = mask(counts, where)
            replicates = bias_metrics.values(name, stage, counts, facet[None, :], full, **draws)[:, 0]
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
    counts: BiasCounts, stage: Stage, confidence: float | None, n_boot: int, random_state: int | None
) -> dict[str, np.ndarray] | None:
    """Bootstrap replicates of the counts (``label_counts=`` and ``cells=``); ``None`` without
    ``confidence``.

    The finest cells (stratum x group x label value x prediction) are drawn as the fairness
    engine draws its cells (:func:`~airflow_alignment.engines.binary.metrics.bootstrap_cells`):
    the row counts from a multinomial (the rows resampled with replacement), and with weights
    each cell's weight sum given its drawn rows from a normal with the cell's mean and variance
    of weights (``docs/decisions.md``, "Bias intervals with sample weights"). Every label (binary,
    multi-class, continuous) and both stages read the same draw.
    """
    import numpy as np

    if confidence is None:
        return None
    rng = np.random.default_rng(random_state)
    weights, squares = (counts.joint, counts.joint_squares) if counts.weighted else (None, None)
    joint = bootstrap_cells(counts.joint_rows, weights, squares, n_boot, rng)[0]
    labels, cells = bias_counts.split(joint, counts.positive, predictions=counts.cells is not None)
    return {"label_counts": labels} if stage == "pre_training" else {"label_counts": labels, "cells": cells}  # type: ignore[dict-item]


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
