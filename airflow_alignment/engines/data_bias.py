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

LABELS_SHOWN = 20  # a label of more values (a continuous one) is reported as positive vs negative

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
    """Every metric's value (or why none); the groups with their rows, positive share and label
    distribution; each facet the constraints compare with the rest; the settings."""
    by_group = counts.label_counts.sum(axis=0)  # (G, K)
    groups = [
        {
            "group": group,
            "rows": int(counts.rows[:, g].sum()),
            **_distribution(counts, by_group[g]),
            "in_facet": bool(facet[g]),
        }
        for g, group in enumerate(counts.groups)
    ]
    return {
        "stage": "pre_training",
        "values": {name: v.value for name, v in values.items()},
        "undefined": {name: v.reason for name, v in values.items() if v.value is None},
        "groups": groups,
        "facets": _facets(counts, spec),
        "labels": [str(v) for v in counts.labels[:LABELS_SHOWN]],
        "label_count": len(counts.labels),
        "positive_labels": [str(v) for v, p in zip(counts.labels, counts.positive, strict=True) if p][:LABELS_SHOWN],
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


def _facets(counts: BiasCounts, spec: DataBiasSpec) -> list[dict[str, Any]]:
    """Each facet ``d`` a constraint compares (the check's, or its own ``facet_values``), once:
    the rows and label distribution of ``d`` and of the rest ``a``."""
    out: list[dict[str, Any]] = []
    for facet_values in [spec.facet_values, *(c.facet_values for c in spec.constraints)]:
        if facet_values is None or any(f["facet_values"] == facet_values for f in out):
            continue
        d = bias_judge.mask(counts, facet_values)
        sides = {
            side: {
                "rows": int(counts.rows[:, m].sum()),
                **_distribution(counts, counts.label_counts[:, m].sum(axis=(0, 1))),
            }
            for side, m in (("d", d), ("a", ~d))
        }
        out.append({"facet_values": facet_values, **sides})
    return out


def _distribution(counts: BiasCounts, by_label: np.ndarray) -> dict[str, Any]:
    """``positive_share`` and ``label_shares`` (each label value's share, in label order; ``None``
    for a label of more than :data:`LABELS_SHOWN` values) of label counts ``(K,)``."""
    total = float(by_label.sum())
    if total <= 0:
        return {"positive_share": None, "label_shares": None}
    shares = None
    if len(counts.labels) <= LABELS_SHOWN:
        shares = {str(label): float(n) / total for label, n in zip(counts.labels, by_label, strict=True)}
    return {"positive_share": float(by_label[counts.positive].sum()) / total, "label_shares": shares}


def _name(facet_values: Any) -> str:
    return "-" if facet_values is None else str(facet_values)
