"""Pre-training bias of labelled data: Clarify's metrics judged against a :class:`DataBiasSpec`.

The data is reduced to its cell table (facet groups x stratum x label, with weight sums),
whoever counted it: a DataFrame here, a file read in batches or a SQL ``GROUP BY`` upstream
(:func:`airflow_alignment.engines.binary.cells.count`). The metrics are
:mod:`airflow_alignment.engines.bias`'s, equal to ``smclarify``'s; the judging (bounds,
``decide_on``, baselines, the summary) is :mod:`.binary.judging`'s, as for fairness. Intervals
draw the label counts from a multinomial (rows resampled with replacement); with
``sample_weight`` there is none, and a constraint is judged on its estimate (the details say so).

Use it without Airflow::

    from airflow_alignment.engines.data_bias import evaluate
    result = evaluate(df, label="approved", sensitive_features="sex", facet_values={"sex": "F"},
                      constraints=[{"metric": "DPL", "min": -0.1, "max": 0.1}])
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.bias import counts as bias_counts
from airflow_alignment.engines.binary import cells, judging
from airflow_alignment.engines.binary.cells import CellTable, describe_data
from airflow_alignment.engines.binary.metrics import bootstrap_cells
from airflow_alignment.results import Assertion, CheckResult, status_from_assertions, utcnow
from airflow_alignment.specs.bias import DataBiasSpec
from airflow_alignment.specs.bias_metrics import PRE_TRAINING, BiasValue

if TYPE_CHECKING:
    from types import ModuleType

    import numpy as np
    import pandas as pd

    from airflow_alignment.engines.bias.counts import BiasCounts
    from airflow_alignment.specs.constraints import Constraint


def evaluate(
    data: pd.DataFrame | CellTable,
    spec: DataBiasSpec | None = None,
    *,
    baseline: Any = None,
    check_name: str | None = None,
    source: str | None = None,
    **options: Any,
) -> CheckResult:
    """Judge the pre-training bias constraints of ``spec`` on ``data``.

    :param data: labelled rows, or their :class:`~.binary.cells.CellTable` (counted with the
        sensitive features and ``group_variable`` as features and the label as ``y_true``).
    :param spec: what to judge; or its fields as keyword ``options``.
    :param baseline: a previous ``data_bias`` result (or its dict, path or URI) for constraints
        with ``baseline: {max_increase|max_decrease: margin}``.
    :param check_name: the result's ``check`` (default ``"data_bias"``).
    :param source: text naming where ``data`` came from, recorded in ``result.data``.
    :raises SpecError: a bad spec; ``facet_values`` that name no group of the data.
    :raises DataError: a missing column, missing values in a used column, negative weights.
    """
    # the bias formulas import numpy at module top: loaded when a check runs, never when a DAG is parsed
    from airflow_alignment.engines.bias import metrics as bias_metrics

    started, t0 = utcnow(), time.perf_counter()
    spec = spec if spec is not None else DataBiasSpec(**options)
    found = judging.load_baseline(baseline, kind="data_bias")
    described = describe_data(data, source, spec.columns)
    table = data if isinstance(data, CellTable) else cells.from_frame(data, **cell_keys(spec))
    counts = bias_counts.from_cells(
        table,
        facets=list(spec.sensitive_features),
        group_variable=spec.group_variable,
        positive_labels=spec.positive_labels,
        label_threshold=spec.label_threshold,
    )
    values = bias_metrics.evaluate(
        counts, spec.metrics, stage="pre_training", facet_values=spec.facet_values, **spec.params
    )
    facet = _facet(counts, spec)
    replicates = _bootstrap(counts, facet, spec, bias_metrics)
    assertions = [_judge(c, values[c.metric_name], replicates, spec, found) for c in spec.constraints]
    rows = int(counts.rows.sum())
    scope = f"on {rows:,} labelled rows, facet {_name(spec.facet_values)} ({int(counts.rows[:, facet].sum()):,} rows)"
    return CheckResult(
        check=check_name or "data_bias",
        kind="data_bias",
        status=status_from_assertions(assertions),
        severity=spec.severity,  # type: ignore[arg-type]
        summary=judging.summary(assertions, "data bias", scope),
        assertions=assertions,
        metrics=_metrics_block(counts, values, facet, spec, found),
        data=described,
        started_at=started,
        duration_s=round(time.perf_counter() - t0, 6),
    )


def cell_keys(spec: DataBiasSpec) -> dict[str, Any]:
    """The cell table's roles for ``spec``: the facets and the stratum as features, the label as ``y_true``."""
    features = [*spec.sensitive_features, *([spec.group_variable] if spec.group_variable else [])]
    return {"features": features, "y_true": spec.label, "sample_weight": spec.sample_weight}


def _facet(counts: BiasCounts, spec: DataBiasSpec) -> np.ndarray:
    """The ``(G,)`` mask of the facet ``d`` (none without ``facet_values``)."""
    import numpy as np

    if spec.facet_values is None:
        return np.zeros(len(counts.groups), dtype=bool)
    return bias_counts.facet_mask(counts.groups, spec.facet_values, counts.features)


def _bootstrap(
    counts: BiasCounts, facet: np.ndarray, spec: DataBiasSpec, bias_metrics: ModuleType
) -> dict[str, np.ndarray] | None:
    """Each metric's bootstrap replicates, from one multinomial draw of the label counts;
    ``None`` without ``confidence`` or with weights."""
    import numpy as np

    if spec.confidence is None or counts.weighted:
        return None
    rng = np.random.default_rng(spec.random_state)
    drawn, _ = bootstrap_cells(counts.label_counts, None, None, spec.n_boot, rng)
    params = bias_metrics.checked_params(spec.params)
    return {
        name: bias_metrics.values(name, "pre_training", counts, facet[None, :], params, label_counts=drawn)[:, 0]
        for name in spec.metrics
    }


def _judge(
    constraint: Constraint,
    value: BiasValue,
    replicates: dict[str, np.ndarray] | None,
    spec: DataBiasSpec,
    found: judging.Baseline,
) -> Assertion:
    info = PRE_TRAINING[constraint.metric_name]
    details: dict[str, Any] = {
        "metric": info.name,
        "description": info.description,
        "library": f"{info.library} {info.reference}",
        "facet_values": spec.facet_values,
        "decide_on": constraint.decide_on,
    }
    if constraint.rationale:
        details["rationale"] = constraint.rationale
    if value.value is None:
        details["reason"] = value.reason
        success = False  # an undefined value never passes a bound (D11)
    else:
        interval = None
        if replicates is not None:
            details["confidence"] = spec.confidence
            interval = judging.ci(replicates[constraint.metric_name], spec.confidence)
        elif spec.confidence is not None:
            details["note"] = "no interval with sample_weight: the rows' weights are not in the counts"
        success = judging.decide(value.value, interval, constraint, details)
    compared = judging.compare(constraint.name, value.value, constraint, found)
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


def _metrics_block(
    counts: BiasCounts, values: dict[str, BiasValue], facet: np.ndarray, spec: DataBiasSpec, found: judging.Baseline
) -> dict[str, Any]:
    """Every metric's value (or why none), the groups with their rows and positive share, the settings."""
    positive = (counts.label_counts[..., counts.positive].sum(axis=(0, 2))).tolist()
    total = counts.label_counts.sum(axis=(0, 2)).tolist()
    groups = [
        {
            "group": group,
            "rows": int(counts.rows[:, g].sum()),
            "positive_share": positive[g] / total[g] if total[g] > 0 else None,
            "in_facet": bool(facet[g]),
        }
        for g, group in enumerate(counts.groups)
    ]
    return {
        "stage": "pre_training",
        "values": {name: v.value for name, v in values.items()},
        "undefined": {name: v.reason for name, v in values.items() if v.value is None},
        "groups": groups,
        "labels": [str(v) for v in counts.labels],
        "baseline": found.info,
        "settings": {
            "sensitive_features": list(spec.sensitive_features),
            "facet_values": spec.facet_values,
            "group_variable": spec.group_variable,
            "positive_labels": spec.positive_labels,
            "label_threshold": spec.label_threshold,
            "confidence": spec.confidence,
            "n_boot": spec.n_boot,
            **spec.params,
        },
    }


def _name(facet_values: Any) -> str:
    return "-" if facet_values is None else str(facet_values)
