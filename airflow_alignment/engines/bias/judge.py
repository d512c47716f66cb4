"""Constraints on metrics of the bias catalogue, judged: what a ``data_bias`` check and a fairness
constraint by a Clarify name (``{"metric": "DI", "min": 0.8}``) share.

Each constraint's metric is computed for its facet (the constraint's ``facet_values``, else the
check's) from the counts, and judged as fairness and performance judge theirs
(:mod:`airflow_alignment.engines.binary.judging`: bounds, ``decide_on``, baselines). Intervals
draw the counts from a multinomial (the rows resampled with replacement): the label counts for
pre-training metrics, the confusion cells for post-training ones. Weighted counts hold weight
sums, not the rows' weights, so they get no interval (``details.ci_note`` says so).

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

NO_INTERVAL_WEIGHTED = "no interval with sample_weight: the counts hold weight sums, not the rows' weights"


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

    full = bias_metrics.checked_params(params)
    draws = _draws(counts, stage, confidence, n_boot, random_state)
    assertions, values = [], {}
    for constraint in constraints:
        name = constraint.metric_name
        where = constraint.facet_values if constraint.facet_values is not None else facet_values
        if CATALOGUE[stage][name].scope != "facet":
            where = None  # compares every group, or every row: no facet
        value = bias_metrics.evaluate(counts, [name], stage=stage, facet_values=where, **params)[name]
        replicates = None
        if draws is not None and value.value is not None:
            facet = mask(counts, where)
            replicates = bias_metrics.values(name, stage, counts, facet[None, :], full, **draws)[:, 0]
        assertions.append(_assertion(constraint, value, where, replicates, confidence, counts, baseline))
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
    """Bootstrap replicates of the counts the stage reads (``label_counts=`` or ``cells=`` and
    the label counts they imply); ``None`` without ``confidence``, with weights, or when the
    cells cannot give the label counts (a label of more than two values)."""
    import numpy as np

    if confidence is None or counts.weighted:
        return None
    rng = np.random.default_rng(random_state)
    if stage == "pre_training":
        return {"label_counts": bootstrap_cells(counts.label_counts, None, None, n_boot, rng)[0]}
    if counts.cells is None or len(counts.labels) > 2:
        return None
    cells = bootstrap_cells(counts.cells, None, None, n_boot, rng)[0]  # (n_boot, S, G, [tn, fp, fn, tp])
    negatives, positives = cells[..., 0] + cells[..., 1], cells[..., 2] + cells[..., 3]
    labels = np.stack([positives if positive else negatives for positive in counts.positive], axis=-1)
    return {"cells": cells, "label_counts": labels}


def _assertion(
    constraint: Constraint,
    value: BiasValue,
    facet_values: Any,
    replicates: np.ndarray | None,
    confidence: float | None,
    counts: BiasCounts,
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
    if constraint.rationale:
        details["rationale"] = constraint.rationale
    if value.value is None:
        details["reason"] = value.reason
        success = False  # an undefined value never passes a bound (D11)
    else:
        if confidence is not None:
            details["confidence"] = confidence
            if replicates is None:
                details["ci_note"] = NO_INTERVAL_WEIGHTED if counts.weighted else "no interval for a multi-class label"
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
