"""Pre-training bias of labelled data: Clarify's metrics judged against a :class:`DataBiasSpec`.

The data is reduced to its cell table (facet groups x stratum x label, with weight sums),
whoever counted it: a DataFrame here, a file read in batches or a SQL ``GROUP BY`` upstream
(:func:`airflow_alignment.engines.binary.cells.count`). The metrics are
:mod:`airflow_alignment.engines.bias`'s, equal to ``smclarify``'s, judged by
:mod:`.bias.judge` (bounds, ``decide_on``, intervals and baselines as fairness judges them).

Use it without Airflow::

    from airflow_alignment.engines.data_bias import evaluate
    result = evaluate(df, label="approved", sensitive_features="sex", facet_values={"sex": "F"},
                      constraints=[{"metric": "DPL", "min": -0.1, "max": 0.1}])
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.bias import counts as bias_counts
from airflow_alignment.engines.bias import judge as bias_judge
from airflow_alignment.engines.binary import cells, judging
from airflow_alignment.engines.binary.cells import CellTable, describe_data
from airflow_alignment.results import CheckResult, status_from_assertions, utcnow
from airflow_alignment.specs.bias import DataBiasSpec
from airflow_alignment.specs.bias_metrics import BiasValue

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from airflow_alignment.engines.bias.counts import BiasCounts


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
    assertions, values = bias_judge.judge(
        counts,
        spec.constraints,
        stage="pre_training",
        facet_values=spec.facet_values,
        params=spec.params,
        confidence=spec.confidence,
        n_boot=spec.n_boot,
        random_state=spec.random_state,
        baseline=found,
    )
    facet = bias_judge.mask(counts, spec.facet_values)
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
