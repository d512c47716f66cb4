"""Fairness: per-group metrics and fairness constraints judged into a ``CheckResult``.

Use it without Airflow::

    from airflow_alignment.engines.fairness import evaluate
    result = evaluate(df, y_true="label", y_pred="pred", sensitive_features=["sex"],
                      constraints=[{"metric": "demographic_parity_ratio", "min": 0.8}])
    print(result.status, result.summary)

Count-based metrics come from per-group cell counts (group x label x prediction), computed in
one vectorised pass; their bootstrap draws the cell counts from a multinomial. Score-based
metrics (``roc_auc``, ``log_loss``, ``brier_score``) and callables go through fairlearn's
``MetricFrame``. fairlearn is the reference: the numbers agree with it wherever both are
defined; where fairlearn reports 0 for an empty denominator this engine reports ``null`` and
the reason.

``df`` may be a :class:`~airflow_alignment.engines.cells.CellTable` instead: the cell counts
computed elsewhere (a database ``GROUP BY``, a file read in batches). The result is the same as
on the rows the table was computed from, except ``result.data`` (the table's description and
fingerprint); score metrics and callables need the rows and are refused (``SpecError``).

The names and :func:`validate_constraints` at the top import nothing heavy: the operator
calls them when the DAG is parsed. numpy, pandas and fairlearn load when ``evaluate`` runs.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.cells import CellTable
from airflow_alignment.engines.common import (
    check_seed,
    check_severity,
    column_arguments,
    column_list,
    describe,
    require_columns,
    require_rows,
)
from airflow_alignment.exceptions import (
    DataError,
    SourceUnavailableError,
    SpecError,
    did_you_mean,
)
from airflow_alignment.limits import MAX_BOOTSTRAP_DRAWS, MAX_N_BOOT, whole_number
from airflow_alignment.results import CheckResult, status_from_assertions, utcnow

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from airflow_alignment.engines._fairness_inputs import Inputs

COUNT_METRICS: tuple[str, ...] = (
    "count",
    "selection_rate",
    "base_rate",
    "true_positive_rate",
    "false_positive_rate",
    "true_negative_rate",
    "false_negative_rate",
    "precision",
    "negative_predictive_value",
    "false_discovery_rate",
    "false_omission_rate",
    "accuracy",
    "error_rate",
    "balanced_accuracy",
    "f1",
)
SCORE_METRICS: tuple[str, ...] = ("roc_auc", "log_loss", "brier_score")
METRICS: tuple[str, ...] = COUNT_METRICS + SCORE_METRICS
# fairlearn's named aggregates: (metric, aggregate); equalized odds judges two metrics.
NAMED_AGGREGATES: dict[str, tuple[tuple[str, ...], str]] = {
    "demographic_parity_difference": (("selection_rate",), "difference"),
    "demographic_parity_ratio": (("selection_rate",), "ratio"),
    "equalized_odds_difference": (("true_positive_rate", "false_positive_rate"), "difference"),
    "equalized_odds_ratio": (("true_positive_rate", "false_positive_rate"), "ratio"),
    "equal_opportunity_difference": (("true_positive_rate",), "difference"),
    "equal_opportunity_ratio": (("true_positive_rate",), "ratio"),
}
AGGREGATES: tuple[str, ...] = ("difference", "ratio", "group_min", "group_max", "per_group", "overall")
METHODS: tuple[str, ...] = ("between_groups", "to_overall")
AGGS: tuple[str, ...] = ("worst_case", "mean")
DECIDE_ON: tuple[str, ...] = ("estimate", "conservative", "significant")
MISSING_GROUPS: tuple[str, ...] = ("error", "drop", "as_group")
CONSTRAINT_KEYS: tuple[str, ...] = (
    "metric",
    "aggregate",
    "method",
    "agg",
    "min",
    "max",
    "baseline",
    "name",
    "severity",
    "rationale",
    "decide_on",
)
BASELINE_KEYS: tuple[str, ...] = ("max_increase", "max_decrease")
# Keys of result.metrics that are not metric names.
RESERVED_KEYS: tuple[str, ...] = ("settings", "excluded_groups", "dropped_rows", "baseline", "marginal")
# Metrics whose every value lies in [0, 1]: a bound outside cannot be met.
_UNIT_METRICS = frozenset(METRICS) - {"count", "log_loss"}


# -- spec validation (no heavy import) ------------------------------------------------------
def validate_constraints(
    constraints: Any,
    *,
    decide_on: str = "estimate",
    severity: str = "block",
    confidence: float | None = None,
    n_boot: int = 1000,
    min_group_size: int = 30,
    missing_groups: str = "error",
) -> list[dict[str, Any]]:
    """Check the constraints (and the options that judge them); return them normalised.

    Cheap enough for DAG parse time. Each normalised constraint has every key of
    :data:`CONSTRAINT_KEYS` (defaults filled in, ``severity`` and ``decide_on`` resolved)
    plus ``metrics`` (the base metrics it reads) and ``metric_name``.

    :raises SpecError: naming the position, e.g. ``constraints[1].min: ...``.
    """
    _check_options(decide_on, severity, confidence, n_boot, min_group_size, missing_groups)
    return validate_list(
        constraints,
        lambda raw, here: _constraint(raw, here, decide_on, severity, confidence),
        example="{'metric': 'demographic_parity_ratio', 'min': 0.8}",
    )


def validate_list(constraints: Any, build: Callable[[Any, str], dict[str, Any]], example: str) -> list[dict[str, Any]]:
    """Validate each constraint with ``build(raw, "constraints[i]")``; names must be unique."""
    if isinstance(constraints, (str, bytes, Mapping)) or not isinstance(constraints, Sequence):
        raise SpecError(f"constraints: expected a list like [{example}], got {type(constraints).__name__}")
    if not constraints:
        raise SpecError(f"constraints: the list is empty; give at least one, e.g. {example}")
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(constraints):
        spec = build(raw, f"constraints[{i}]")
        if spec["name"] in seen:
            raise SpecError(
                f"constraints[{i}].name: {spec['name']!r} is already the name of constraints[{seen[spec['name']]}]; "
                "give each constraint its own 'name'"
            )
        seen[spec["name"]] = i
        out.append(spec)
    return out


def _check_options(
    decide_on: Any, severity: Any, confidence: Any, n_boot: Any, min_group_size: Any, missing_groups: Any
) -> None:
    check_severity(severity, "severity")
    _choice(decide_on, DECIDE_ON, "decide_on")
    _choice(missing_groups, MISSING_GROUPS, "missing_groups")
    if confidence is not None and not (_is_number(confidence) and 0 < confidence < 1):
        raise SpecError(f"confidence: expected a number between 0 and 1 (e.g. 0.95), got {confidence!r}")
    whole_number(n_boot, "n_boot", low=1, high=MAX_N_BOOT, what="bootstrap replicates")
    if isinstance(min_group_size, bool) or not isinstance(min_group_size, int) or min_group_size < 0:
        raise SpecError(f"min_group_size: expected a whole number of rows (0 or more), got {min_group_size!r}")


def _constraint(raw: Any, here: str, decide_on: str, severity: str, confidence: float | None) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise SpecError(
            f"{here}: expected an object like {{'metric': 'demographic_parity_ratio', 'min': 0.8}}, "
            f"got {type(raw).__name__}"
        )
    for key in raw:
        if key not in CONSTRAINT_KEYS:
            raise SpecError(
                f"{here}: unknown key {key!r}.{did_you_mean(str(key), CONSTRAINT_KEYS)} "
                f"Keys: {', '.join(CONSTRAINT_KEYS)}"
            )
    spec = {k: raw.get(k) for k in CONSTRAINT_KEYS}
    _metric(spec, here)
    for bound in ("min", "max"):
        value = spec[bound]
        if value is not None and not (_is_number(value) and math.isfinite(value)):
            raise SpecError(f"{here}.{bound}: expected a number, got {value!r}")
    if spec["min"] is None and spec["max"] is None and spec["baseline"] is None:
        raise SpecError(f"{here}: give a bound: 'min' and/or 'max' (or a 'baseline' margin)")
    _meetable(spec, here)
    spec["baseline"] = _baseline_spec(spec["baseline"], f"{here}.baseline")
    spec["severity"] = check_severity(spec["severity"] or severity, f"{here}.severity")
    spec["decide_on"] = _choice(spec["decide_on"] or decide_on, DECIDE_ON, f"{here}.decide_on")
    if spec["decide_on"] != "estimate" and confidence is None:
        raise SpecError(
            f"{here}.decide_on: {spec['decide_on']!r} judges the confidence interval: set confidence (e.g. 0.95)"
        )
    for key in ("name", "rationale"):
        if spec[key] is not None and not isinstance(spec[key], str):
            raise SpecError(f"{here}.{key}: expected a string, got {type(spec[key]).__name__}")
    spec["name"] = spec["name"] or _default_name(spec)
    return spec


def _metric(spec: dict[str, Any], here: str) -> None:
    """Resolve ``metric`` into ``metrics`` (base metrics read) and the aggregate options."""
    metric = spec["metric"]
    if metric is None:
        raise SpecError(f"{here}: missing 'metric' (e.g. 'demographic_parity_ratio' or 'true_positive_rate')")
    if callable(metric):
        spec["metric_name"] = getattr(metric, "__name__", "metric")
        spec["metrics"] = (metric,)
    elif not isinstance(metric, str):
        raise SpecError(f"{here}.metric: expected a metric name or a callable, got {type(metric).__name__} {metric!r}")
    elif metric in NAMED_AGGREGATES:
        if spec["aggregate"] is not None:
            raise SpecError(
                f"{here}.aggregate: {metric!r} is already an aggregate; remove 'aggregate' "
                "(or use a base metric such as 'selection_rate' with an aggregate)"
            )
        spec["metric_name"] = metric
        spec["metrics"], spec["aggregate"] = NAMED_AGGREGATES[metric]
    elif metric in METRICS:
        spec["metric_name"] = metric
        spec["metrics"] = (metric,)
    else:
        valid = list(NAMED_AGGREGATES) + list(METRICS)
        raise SpecError(
            f"{here}.metric: unknown metric {metric!r}.{did_you_mean(str(metric), valid)} "
            f"Valid metrics: {', '.join(valid)}"
        )
    if spec["aggregate"] is None:
        raise SpecError(f"{here}.aggregate: {spec['metric_name']!r} needs an aggregate: one of {', '.join(AGGREGATES)}")
    spec["aggregate"] = _choice(spec["aggregate"], AGGREGATES, f"{here}.aggregate")
    if spec["method"] is not None and spec["aggregate"] not in ("difference", "ratio"):
        raise SpecError(f"{here}.method: 'method' applies to a difference or a ratio, not to {spec['aggregate']!r}")
    spec["method"] = _choice(spec["method"] or "between_groups", METHODS, f"{here}.method")
    if spec["agg"] is not None and len(spec["metrics"]) < 2:
        raise SpecError(f"{here}.agg: 'agg' applies to equalized_odds_difference and equalized_odds_ratio only")
    if len(spec["metrics"]) == 2:
        spec["agg"] = _choice(spec["agg"] or "worst_case", AGGS, f"{here}.agg")


def _meetable(spec: dict[str, Any], here: str) -> None:
    low, high, kind = spec["min"], spec["max"], spec["aggregate"]
    if low is not None and high is not None and low > high:
        raise SpecError(f"{here}: min ({low}) is above max ({high}); no value can meet both")
    unit = all(m in _UNIT_METRICS for m in spec["metrics"])
    if kind == "ratio":
        ceiling, floor, what = 1, 0, "a ratio (smaller over larger) lies between 0 and 1"
    elif kind == "difference":
        ceiling, floor, what = (
            (1 if unit else None),
            0,
            "a difference is at least 0" + (" and at most 1 for rates" if unit else ""),
        )
    elif unit:
        ceiling, floor, what = 1, 0, f"{spec['metric_name']} lies between 0 and 1"
    else:
        return
    if low is not None and ceiling is not None and low > ceiling:
        raise SpecError(f"{here}.min: {low} cannot be met: {what}")
    if high is not None and high < floor:
        raise SpecError(f"{here}.max: {high} cannot be met: {what}")


def _baseline_spec(value: Any, here: str) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in BASELINE_KEYS:
        raise SpecError(f"{here}: expected {{'max_increase': x}} or {{'max_decrease': x}}, got {value!r}")
    key, margin = next(iter(value.items()))
    if not (_is_number(margin) and math.isfinite(margin) and margin >= 0):
        raise SpecError(f"{here}.{key}: expected a number of at least 0, got {margin!r}")
    return {key: margin}


def _default_name(spec: dict[str, Any]) -> str:
    name = spec["metric_name"]
    if spec["metric"] not in NAMED_AGGREGATES:
        name += f".{spec['aggregate']}"
    if spec["aggregate"] in ("difference", "ratio") and spec["method"] != "between_groups":
        name += f"({spec['method']})"
    if spec["agg"] not in (None, "worst_case"):
        name += f"[{spec['agg']}]"
    return str(name)


def _choice(value: Any, valid: Sequence[str], where: str) -> str:
    if value not in valid:
        raise SpecError(
            f"{where}: unknown value {value!r}.{did_you_mean(str(value), valid)} Use one of: {', '.join(valid)}"
        )
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- evaluation -----------------------------------------------------------------------------
def evaluate(
    df: pd.DataFrame | CellTable,
    *,
    y_true: str,
    sensitive_features: str | Sequence[str],
    constraints: Any,
    y_pred: str | None = None,
    y_score: str | None = None,
    threshold: float | None = None,
    pos_label: Any = 1,
    min_group_size: int = 30,
    confidence: float | None = None,
    n_boot: int = 1000,
    decide_on: str = "estimate",
    baseline: Any = None,
    severity: str = "block",
    check_name: str | None = None,
    marginal: bool = False,
    sample_weight: str | None = None,
    missing_groups: str = "error",
    metrics: Sequence[str | Callable[..., Any]] | None = None,
    random_state: int | None = 0,
    source: str | None = None,
) -> CheckResult:
    """Compute per-group metrics on ``df`` and judge the fairness ``constraints``.

    :param df: the data, one row per prediction; or a :class:`~.cells.CellTable` of it (same
        result but ``data``; the table's columns must play the roles named here, and it cannot
        feed score metrics or callables).
    :param y_true: column of true labels (two classes; ``pos_label`` is the positive one).
    :param sensitive_features: a column, or several (their combinations are the groups).
    :param constraints: list of constraints; see ``docs/fairness-engine.md``.
    :param y_pred: column of predicted labels (same classes as ``y_true``).
    :param y_score: column of scores; with ``threshold`` it stands in for ``y_pred``
        (predicted positive when ``score >= threshold``), and it feeds ``roc_auc``,
        ``log_loss`` and ``brier_score``.
    :param pos_label: the positive label of ``y_true`` and ``y_pred``.
    :param min_group_size: groups with fewer rows are listed and left out of the aggregates.
    :param confidence: e.g. 0.95 to compute bootstrap intervals (``n_boot`` replicates).
    :param decide_on: ``estimate`` (judge the value), ``conservative`` (fail unless the whole
        interval is inside the bounds) or ``significant`` (fail only when it is all outside).
    :param baseline: a previous result (``CheckResult``, its dict, or a path / URI of its JSON)
        for constraints with ``baseline: {max_increase|max_decrease: margin}``.
    :param severity: the default severity of the constraints (``block`` or ``warn``).
    :param check_name: the result's ``check`` (default ``"fairness"``).
    :param marginal: with several sensitive features, also judge each feature alone.
    :param sample_weight: column of non-negative row weights.
    :param missing_groups: ``error`` on missing values; ``drop`` leaves those rows out;
        ``as_group`` makes a missing sensitive value a group of its own.
    :param metrics: more metrics to report (names or callables ``f(y_true, y_pred)``).
    :param random_state: seed of the bootstrap.
    :param source: text naming where ``df`` came from, recorded in ``result.data``.
    :raises SpecError: a bad constraint or option (names the position); with a CellTable, a
        metric that needs the rows, or a table counted for other columns.
    :raises DataError: a missing column, missing values, labels that are not binary,
        probabilities given as ``y_pred``, fewer than two groups of ``min_group_size`` rows.
    """
    from airflow_alignment.engines import _fairness_judge as judge

    started, t0 = utcnow(), time.perf_counter()
    specs = validate_constraints(
        constraints,
        decide_on=decide_on,
        severity=severity,
        confidence=confidence,
        n_boot=n_boot,
        min_group_size=min_group_size,
        missing_groups=missing_groups,
    )
    found = judge.load_baseline(baseline)  # before the data work: a bad baseline fails fast
    features = column_list(sensitive_features, "sensitive_features")
    column_arguments(y_true=y_true, y_pred=y_pred, y_score=y_score, sample_weight=sample_weight, required=("y_true",))
    check_seed(random_state)
    reported = _reported_metrics(specs, metrics)
    columns = _check_columns(df, y_true, y_pred, y_score, threshold, features, sample_weight, reported, specs)
    data = _describe(df, source, columns)
    inputs = _prepare(df, y_true, y_pred, y_score, threshold, pos_label, features, sample_weight, missing_groups)
    views = _views(inputs, marginal, min_group_size, confidence, n_boot, random_state)
    values = {view.key: _metric_values(view, inputs, reported) for view in views}
    assertions = [judge.judge(spec, view, values[view.key], confidence, found) for spec in specs for view in views]
    return CheckResult(
        check=check_name or "fairness",
        kind="fairness",
        status=status_from_assertions(assertions),
        severity=check_severity(severity, "severity"),  # type: ignore[arg-type]
        summary=judge.summary(assertions, int(views[0].included.sum()), inputs.rows, features),
        assertions=assertions,
        metrics=judge.metrics_block(
            views,
            values,
            inputs,
            found,
            confidence,
            {
                "sensitive_features": features,
                "pos_label": pos_label,
                "threshold": threshold,
                "min_group_size": min_group_size,
                "confidence": confidence,
                "n_boot": n_boot if confidence else None,
                "decide_on": decide_on,
                "missing_groups": missing_groups,
                "marginal": marginal,
                "sample_weight": sample_weight,
                "random_state": random_state,
            },
        ),
        data=data,
        started_at=started,
        duration_s=round(time.perf_counter() - t0, 6),
    )


def _reported_metrics(specs: list[dict[str, Any]], extra: Any) -> dict[str, Any]:
    """Metric name -> metric (a name, or a callable) for every metric the result reports."""
    out: dict[str, Any] = {}
    for spec in specs:
        for m in spec["metrics"]:
            out[getattr(m, "__name__", m) if callable(m) else m] = m
    for i, m in enumerate(extra or ()):
        if callable(m):
            out[getattr(m, "__name__", f"metric_{i}")] = m
        elif m in METRICS:
            out[m] = m
        else:
            raise SpecError(
                f"metrics[{i}]: unknown metric {m!r}.{did_you_mean(str(m), METRICS)} "
                f"Valid metrics: {', '.join(METRICS)}"
            )
    for name in out:
        if name in RESERVED_KEYS:
            raise SpecError(f"metric name {name!r} is reserved in the result; rename the function")
    return out


def _check_columns(
    df: pd.DataFrame | CellTable,
    y_true: str,
    y_pred: str | None,
    y_score: str | None,
    threshold: float | None,
    features: list[str],
    sample_weight: str | None,
    reported: dict[str, Any],
    specs: list[dict[str, Any]],
) -> list[str]:
    if threshold is not None and not (_is_number(threshold) and math.isfinite(threshold)):
        raise SpecError(f"threshold: expected a number, got {threshold!r}")
    if y_pred is not None and threshold is not None:
        raise SpecError("threshold: applies to y_score; with y_pred given, leave threshold out")
    needs_pred = any(not (isinstance(m, str) and m in SCORE_METRICS) for m in reported.values())
    if needs_pred and y_pred is None and (y_score is None or threshold is None):
        raise SpecError("give y_pred (a column of predicted labels), or y_score with a threshold")
    for name, m in reported.items():
        if isinstance(m, str) and m in SCORE_METRICS and y_score is None:
            where = next((f"constraints[{i}]" for i, s in enumerate(specs) if m in s["metrics"]), "metrics")
            raise SpecError(f"{where}: {name} is computed from scores: give y_score (a column of scores)")
    if isinstance(df, CellTable):
        from airflow_alignment.engines._fairness_inputs import check_table

        for name, m in reported.items():
            if not (isinstance(m, str) and m in COUNT_METRICS):
                where = next((f"constraints[{i}]" for i, s in enumerate(specs) if m in s["metrics"]), "metrics")
                raise SpecError(f"{where}: {name} {_needs_rows(m)}")
        check_table(
            df,
            y_true=y_true,
            y_pred=y_pred,
            y_score=y_score,
            threshold=threshold,
            features=features,
            sample_weight=sample_weight,
        )
        return df.columns
    roles = [
        ("y_true column", y_true),
        ("y_pred column", y_pred),
        ("y_score column", y_score),
        ("sample_weight column", sample_weight),
    ] + [("sensitive feature", f) for f in features]
    for what, col in roles:
        if col is not None:
            require_columns(df, [col], what=what)
    return [col for _, col in roles if col is not None]


def _needs_rows(metric: Any) -> str:
    """Why ``metric`` (a score metric name or a callable) cannot be computed from a CellTable."""
    if callable(metric):
        return (
            "needs the rows, not counts: a callable metric is called on the rows' labels and predictions, "
            "and a cell table holds only their counts; pass the rows (a DataFrame)"
        )
    return (
        "needs the rows (scores), not counts: a cell table holds the counts of labels and thresholded "
        "predictions, not the scores; pass the rows (a DataFrame)"
    )


def _describe(df: pd.DataFrame | CellTable, source: str | None, columns: list[str]) -> dict[str, Any]:
    """The ``data`` block (computed first: its hashes are freed before the arrays exist)."""
    if isinstance(df, CellTable):
        require_rows(df.frame, source if source is not None else df.source)  # a cell stands for 1+ rows
        data = df.describe()
        if source is not None:
            data["source"] = source
        return data
    require_rows(df, source)
    return describe(df, source, columns)


def _prepare(
    df: pd.DataFrame | CellTable,
    y_true: str,
    y_pred: str | None,
    y_score: str | None,
    threshold: float | None,
    pos_label: Any,
    features: list[str],
    sample_weight: str | None,
    missing_groups: str,
) -> Inputs:
    from airflow_alignment.engines._fairness_inputs import prepare

    return prepare(
        df,
        y_true=y_true,
        y_pred=y_pred,
        y_score=y_score,
        threshold=threshold,
        pos_label=pos_label,
        features=features,
        sample_weight=sample_weight,
        missing_groups=missing_groups,
    )


class View:
    """One way of grouping the rows: the intersectional groups, or one feature alone."""

    def __init__(
        self,
        key: str,
        features: list[str],
        groups: list[dict[str, Any]],
        counts: np.ndarray,
        cells: np.ndarray,
        membership: np.ndarray | None,
        min_group_size: int,
    ) -> None:
        import numpy as np

        self.key, self.features, self.groups = key, features, groups
        self.counts, self.cells, self.membership = counts, cells, membership
        self.weighted = cells is not counts
        sizes = counts.sum(axis=1)
        self.included = sizes >= min_group_size
        self.boot: tuple[np.ndarray, np.ndarray] | None = None
        if not self.included.any():
            largest = int(np.argmax(sizes))
            raise DataError(
                f"{self._what()}: every group has fewer than min_group_size={min_group_size} rows "
                f"(largest: {groups[largest]} with {int(sizes[largest]):,} rows); lower min_group_size or use more data"
            )
        if self.included.sum() < 2:
            kept = int(np.flatnonzero(self.included)[0])
            small = [f"{groups[i]} ({int(sizes[i]):,} rows)" for i in np.flatnonzero(~self.included)[:10]]
            raise DataError(
                f"{self._what()}: only one group has at least min_group_size={min_group_size} rows "
                f"({groups[kept]}: {int(sizes[kept]):,} rows), and fairness compares two or more; "
                f"smaller groups: {', '.join(small)}"
            )

    def _what(self) -> str:
        return (
            f"sensitive feature {self.features[0]!r}"
            if len(self.features) == 1
            else (f"sensitive features {self.features}")
        )


def _views(
    inputs: Inputs, marginal: bool, min_group_size: int, confidence: float | None, n_boot: int, seed: int | None
) -> list[View]:
    import numpy as np

    from airflow_alignment.engines import _fairness_metrics as fm

    n_groups = len(inputs.groups)
    counts = fm.cell_counts(inputs.codes, n_groups, inputs.positive, _predicted(inputs), inputs.multiplicity)
    if inputs.multiplicity is not None:  # sums of whole numbers: exact in float64, integers as from rows
        counts = counts.astype(np.int64)
    cells, cells_sq = counts, None
    if inputs.weight is not None:
        squares = inputs.weight**2 if inputs.weight_sq is None else inputs.weight_sq
        cells = fm.cell_counts(inputs.codes, n_groups, inputs.positive, _predicted(inputs), inputs.weight)
        cells_sq = fm.cell_counts(inputs.codes, n_groups, inputs.positive, _predicted(inputs), squares)
    views = [View("", inputs.features, inputs.groups, counts, cells, None, min_group_size)]
    if marginal and len(inputs.features) > 1:
        for j, feature in enumerate(inputs.features):
            values = inputs.feature_values[j]
            present = np.unique(inputs.levels[:, j])
            remap = np.zeros(len(values), dtype=np.int64)
            remap[present] = np.arange(len(present))
            membership = remap[inputs.levels[:, j]]
            groups = [{feature: values[k]} for k in present]
            merged = fm.merge_groups(counts, membership, len(groups))
            weighted = merged if cells is counts else fm.merge_groups(cells, membership, len(groups))
            views.append(View(feature, [feature], groups, merged, weighted, membership, min_group_size))
    if confidence is not None:
        _check_bootstrap_size(n_boot, n_groups)
        rng = np.random.default_rng(seed)
        boot_cells, boot_counts = fm.bootstrap_cells(counts, None if cells is counts else cells, cells_sq, n_boot, rng)
        for view in views:
            if view.membership is None:
                view.boot = (boot_cells, boot_counts)
            else:
                n_out = len(view.groups)
                view.boot = (
                    fm.merge_groups(boot_cells, view.membership, n_out),
                    fm.merge_groups(boot_counts, view.membership, n_out),
                )
    return views


def _check_bootstrap_size(n_boot: int, n_groups: int) -> None:
    """Refuse a bootstrap whose replicate tables would exceed :data:`MAX_BOOTSTRAP_DRAWS`."""
    if n_boot * n_groups > MAX_BOOTSTRAP_DRAWS:
        fits = MAX_BOOTSTRAP_DRAWS // n_groups
        raise DataError(
            f"n_boot: {n_boot:,} bootstrap replicates of {n_groups:,} groups is {n_boot * n_groups:,} group draws, "
            f"more than {MAX_BOOTSTRAP_DRAWS:,}; lower n_boot to {fits:,} or fewer, or leave confidence out"
        )


def _predicted(inputs: Inputs) -> np.ndarray:
    import numpy as np

    return inputs.predicted if inputs.predicted is not None else np.zeros(len(inputs.codes), dtype=bool)


class MetricValues:
    """One metric over one view: per-group values (NaN = undefined), overall, replicates."""

    def __init__(
        self,
        name: str,
        values: np.ndarray,
        overall: float,
        reasons: list[str | None],
        overall_reason: str | None,
        boot: np.ndarray | None = None,
        boot_overall: np.ndarray | None = None,
    ) -> None:
        self.name, self.values, self.overall = name, values, overall
        self.reasons, self.overall_reason = reasons, overall_reason
        self.boot, self.boot_overall = boot, boot_overall


def _metric_values(view: View, inputs: Inputs, reported: dict[str, Any]) -> dict[str, MetricValues]:
    return {
        name: _count_metric(name, view) if m in COUNT_METRICS else _frame_metric(name, m, view, inputs)
        for name, m in reported.items()
    }


def _count_metric(name: str, view: View) -> MetricValues:
    import numpy as np

    from airflow_alignment.engines import _fairness_metrics as fm

    values = fm.rate(name, view.cells, view.counts)
    total = view.cells.sum(axis=0)
    overall = float(fm.rate(name, total, view.counts.sum(axis=0)))
    reasons = [None if not np.isnan(v) else fm.undefined_reason(name, view.cells[i]) for i, v in enumerate(values)]
    overall_reason = None
    if np.isnan(overall):
        overall_reason = fm.undefined_reason(name, total).replace("the group", "the data")
    boot = boot_overall = None
    if view.boot is not None:
        boot_cells, boot_counts = view.boot
        boot = fm.rate(name, boot_cells, boot_counts)
        boot_overall = fm.rate(name, boot_cells.sum(axis=1), boot_counts.sum(axis=1))
    return MetricValues(name, values, overall, reasons, overall_reason, boot, boot_overall)


def _frame_metric(name: str, metric: Any, view: View, inputs: Inputs) -> MetricValues:
    import numpy as np

    from airflow_alignment.engines import _fairness_metrics as fm

    codes = inputs.codes if view.membership is None else view.membership[inputs.codes]
    y_true = inputs.positive.astype(np.int64)
    if isinstance(metric, str):
        func, other = fm.score_metric(metric), inputs.score
        reason = fm.SCORE_REASONS.get(metric, "undefined")
    else:
        func, other, reason = metric, _predicted(inputs).astype(np.int64), f"{name} returned no number for the group"
    try:
        overall, values = fm.frame_metric(func, y_true, other, codes, inputs.weight)
    except Exception as exc:  # a user callable or scikit-learn refusing the data
        raise DataError(f"metric {name!r} could not be computed: {type(exc).__name__}: {exc}") from exc
    reasons = [reason if np.isnan(v) else None for v in values]
    overall_reason = reason.replace("the group", "the data") if math.isnan(overall) else None
    return MetricValues(name, values, overall, reasons, overall_reason)


def load_result(location: str) -> dict[str, Any]:
    """A stored ``CheckResult`` JSON document from a path or URI (``s3://conn_id@bucket/...``
    through Airflow's object storage, see :func:`airflow_alignment.sources.object_path`)."""
    from airflow_alignment.sources import object_path

    try:
        with object_path(location).open("r") as handle:
            payload = json.load(handle)
    except FileNotFoundError as exc:
        raise SourceUnavailableError(f"baseline result not found: {location}") from exc
    except json.JSONDecodeError as exc:
        raise SpecError(f"baseline: {location} is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise SpecError(f"baseline: {location} is not a CheckResult document")
    return payload
