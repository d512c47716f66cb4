"""Fairness: per-group metrics and fairness constraints judged into a ``CheckResult``.

Use it without Airflow::

    from airflow_alignment.engines import evaluate_fairness
    result = evaluate_fairness(df, y_true="label", y_pred="pred", sensitive_features=["sex"],
                               constraints=[{"metric": "demographic_parity_ratio", "min": 0.8}])
    print(result.status, result.summary)

or with a spec built once (a :class:`~airflow_alignment.specs.FairnessSpec`, checked when it
is made): ``evaluate(df, spec)``.

Count-based metrics come from per-group cell counts (group x label x prediction), computed in
one vectorised pass; their bootstrap draws the cell counts from a multinomial. Score-based
metrics (``roc_auc``, ``log_loss``, ``brier_score``) and callables go through fairlearn's
``MetricFrame``. fairlearn is the reference: the numbers agree with it wherever both are
defined; where fairlearn reports 0 for an empty denominator this engine reports ``null`` and
the reason.

``df`` may be a :class:`~airflow_alignment.engines.binary.cells.CellTable` instead: the cell
counts computed elsewhere (a database ``GROUP BY``, a file read in batches). The result is the
same as on the rows the table was computed from, except ``result.data`` (the table's
description and fingerprint); callables need the rows and are refused (``SpecError``), and so
are score metrics unless the table carries them computed where the data lives
(:func:`~.binary.cells.count_scored`, a ``SparkSource``). Score metrics have no bootstrap
interval, from the rows or not.

Importing this module is cheap: numpy, pandas and fairlearn load when ``evaluate`` runs.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines import fairness_groups as grouped
from airflow_alignment.engines.bias import counts as bias_counts
from airflow_alignment.engines.bias import judge as bias_judge
from airflow_alignment.engines.binary import cells, judging
from airflow_alignment.engines.binary.cells import CellTable, describe_data, needs_rows
from airflow_alignment.engines.binary.inputs import check_table, prepare
from airflow_alignment.exceptions import SpecError
from airflow_alignment.io.frames import require_columns
from airflow_alignment.results import Assertion, CheckResult, status_from_assertions, utcnow
from airflow_alignment.specs.common import DECIDE_ON
from airflow_alignment.specs.constraints import Constraint, fairness_constraints
from airflow_alignment.specs.fairness import FairnessSpec
from airflow_alignment.specs.labelled import check_options
from airflow_alignment.specs.metrics import (
    AGGREGATES,
    AGGS,
    COUNT_METRICS,
    METHODS,
    METRICS,
    MISSING_GROUPS,
    NAMED_AGGREGATES,
    SCORE_METRICS,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AGGREGATES",
    "AGGS",
    "COUNT_METRICS",
    "DECIDE_ON",
    "METHODS",
    "METRICS",
    "MISSING_GROUPS",
    "NAMED_AGGREGATES",
    "SCORE_METRICS",
    "FairnessSpec",
    "evaluate",
    "validate_constraints",
]


def validate_constraints(
    constraints: Any,
    *,
    decide_on: str = FairnessSpec.decide_on,
    severity: str = FairnessSpec.severity,
    confidence: float | None = FairnessSpec.confidence,
    n_boot: int = FairnessSpec.n_boot,
    min_group_size: int = FairnessSpec.min_group_size,
    missing_groups: str = FairnessSpec.missing_groups,
) -> tuple[Constraint, ...]:
    """Check the constraints (and the options that judge them); return them normalised.

    Cheap enough for DAG parse time. :class:`~airflow_alignment.specs.FairnessSpec` does the
    same with the columns too; this checks a constraint list alone.

    :raises SpecError: naming the position, e.g. ``constraints[1].min: ...``.
    """
    check_options(
        decide_on=decide_on,
        severity=severity,
        confidence=confidence,
        n_boot=n_boot,
        min_group_size=min_group_size,
        missing_groups=missing_groups,
    )
    return fairness_constraints(constraints, decide_on=decide_on, severity=severity, confidence=confidence)


def evaluate(
    df: pd.DataFrame | CellTable,
    spec: FairnessSpec | None = None,
    *,
    baseline: Any = None,
    check_name: str | None = None,
    source: str | None = None,
    **options: Any,
) -> CheckResult:
    """Compute per-group metrics on ``df`` and judge the fairness constraints of ``spec``.

    :param df: the data, one row per prediction; or a :class:`~.binary.cells.CellTable` of it
        (same result but ``data``; the table's columns must play the roles of the spec, and it
        cannot feed score metrics or callables).
    :param spec: what to judge; or give its fields as keyword ``options`` (``y_true``,
        ``sensitive_features``, ``constraints``, ``y_pred``, ``min_group_size``, ...: see
        :class:`~airflow_alignment.specs.FairnessSpec` and ``docs/fairness-engine.md``).
    :param baseline: a previous result (``CheckResult``, its dict, or a path / URI of its JSON)
        for constraints with ``baseline: {max_increase|max_decrease: margin}``.
    :param check_name: the result's ``check`` (default ``"fairness"``).
    :param source: text naming where ``df`` came from, recorded in ``result.data``.
    :raises SpecError: a bad constraint or option (names the position); with a CellTable, a
        metric that needs the rows, or a table counted for other columns.
    :raises DataError: a missing column, missing values, labels that are not binary,
        probabilities given as ``y_pred``, fewer than two groups of ``min_group_size`` rows.
    """
    started, t0 = utcnow(), time.perf_counter()
    spec = _spec(spec, options)
    found = judging.load_baseline(baseline)  # before the data work: a bad baseline fails fast
    columns = _check_columns(df, spec)
    data = describe_data(df, source, columns)
    inputs = prepare(
        df,
        y_true=spec.y_true,
        y_pred=spec.y_pred,
        y_score=spec.y_score,
        threshold=spec.threshold,
        pos_label=spec.pos_label,
        features=spec.features,
        sample_weight=spec.sample_weight,
        missing_groups=spec.missing_groups,
    )
    # with only Clarify / AIF360 constraints, no group is too small: they read every row
    views = grouped.views(inputs, spec if spec.judged_by_groups else dataclasses.replace(spec, min_group_size=0))
    values = {view.key: grouped.metric_values(view, inputs, spec.reported) for view in views}
    confidence = spec.confidence
    by_facet, catalogue = _catalogue_assertions(df, spec, found)
    assertions = [
        assertion
        for constraint in spec.constraints
        for assertion in (
            [by_facet[constraint.name]]
            if constraint.catalogue
            else [grouped.judge(constraint, view, values[view.key], confidence, found) for view in views]
        )
    ]
    scope = f"on {inputs.rows:,} rows, {int(views[0].included.sum())} groups of {', '.join(spec.features)}"
    return CheckResult(
        check=check_name or "fairness",
        kind="fairness",
        status=status_from_assertions(assertions),
        severity=spec.severity,  # type: ignore[arg-type]
        summary=judging.summary(assertions, "fairness", scope),
        assertions=assertions,
        metrics={**grouped.metrics_block(views, values, inputs, found, confidence, _settings(spec)), **catalogue},
        data=data,
        started_at=started,
        duration_s=round(time.perf_counter() - t0, 6),
    )


def _catalogue_assertions(
    df: pd.DataFrame | CellTable, spec: FairnessSpec, found: judging.Baseline
) -> tuple[dict[str, Assertion], dict[str, Any]]:
    """The constraints on the bias catalogue's post-training metrics (``DI``, ``DPPL``, ...), judged
    on the facet against the rest by :mod:`.bias.judge`: ``({name: assertion}, metrics block)``.

    Their counts are the cell table of every group (``min_group_size`` leaves none out: Clarify's
    metrics read every row); missing sensitive values are dropped with ``missing_groups="drop"``
    and refused otherwise."""
    constraints = spec.judged_by_facet
    if not constraints:
        return {}, {}
    if isinstance(df, CellTable):
        table = df
    else:
        frame = df.dropna(subset=spec.features) if spec.missing_groups == "drop" else df
        table = cells.from_frame(
            frame,
            features=spec.features,
            y_true=spec.y_true,
            y_pred=spec.y_pred,
            y_score=spec.y_score,
            threshold=spec.threshold,
            sample_weight=spec.sample_weight,
        )
    counts = bias_counts.from_cells(table, facets=spec.features, positive_labels=[spec.pos_label])
    assertions, values = bias_judge.judge(
        counts,
        constraints,
        stage="post_training",
        facet_values=spec.facet_values,
        params={},
        confidence=spec.confidence,
        n_boot=spec.n_boot,
        random_state=spec.random_state,
        baseline=found,
    )
    block = {
        a.name: {
            "value": values[a.name].value,
            "reason": values[a.name].reason,
            "facet_values": a.details["facet_values"],
            **({"alpha": a.details["alpha"]} if "alpha" in a.details else {}),
        }
        for a in assertions
    }
    return {a.name: a for a in assertions}, {"catalogue": block}


def _spec(spec: FairnessSpec | None, options: dict[str, Any]) -> FairnessSpec:
    """The spec given, or the one its fields as keyword options make."""
    if spec is None:
        return FairnessSpec(**options)
    if options:
        raise TypeError(f"evaluate(): give a FairnessSpec or its fields ({', '.join(options)}), not both")
    return spec


def _settings(spec: FairnessSpec) -> dict[str, Any]:
    """The options recorded in the result's ``metrics.settings``."""
    return {
        "sensitive_features": spec.features,
        "pos_label": spec.pos_label,
        "threshold": spec.threshold,
        "min_group_size": spec.min_group_size,
        "confidence": spec.confidence,
        "n_boot": spec.n_boot if spec.confidence else None,
        "decide_on": spec.decide_on,
        "missing_groups": spec.missing_groups,
        "marginal": spec.marginal,
        "sample_weight": spec.sample_weight,
        "random_state": spec.random_state,
        "facet_values": spec.facet_values,
    }


def _check_columns(df: pd.DataFrame | CellTable, spec: FairnessSpec) -> list[str]:
    """The columns the data must have, checked: a CellTable counted for these roles (and the
    metrics countable), or a frame with each column."""
    if isinstance(df, CellTable):
        for name, metric in spec.reported.items():
            scored = df.scored and isinstance(metric, str) and metric in SCORE_METRICS
            if not (isinstance(metric, str) and metric in COUNT_METRICS) and not scored:
                raise SpecError(f"{spec.where(metric)}: {name} {needs_rows(metric)}")
        check_table(
            df,
            y_true=spec.y_true,
            y_pred=spec.y_pred,
            y_score=spec.y_score,
            threshold=spec.threshold,
            features=spec.features,
            sample_weight=spec.sample_weight,
        )
        return df.columns
    roles = [
        ("y_true column", spec.y_true),
        ("y_pred column", spec.y_pred),
        ("y_score column", spec.y_score),
        ("sample_weight column", spec.sample_weight),
    ] + [("sensitive feature", f) for f in spec.features]
    for what, col in roles:
        if col is not None:
            require_columns(df, [col], what=what)
    return [col for _, col in roles if col is not None]
