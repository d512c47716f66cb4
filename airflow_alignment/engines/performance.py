"""Performance: overall model-quality metrics judged against absolute and baseline bounds.

Use it without Airflow::

    from airflow_alignment.engines.performance import evaluate
    result = evaluate(df, y_true="label", y_pred="pred",
                      constraints=[{"metric": "accuracy", "min": 0.7},
                                   {"metric": "accuracy", "name": "accuracy_vs_production",
                                    "baseline": {"max_decrease": 0.02}}],
                      baseline="s3://bucket/alignment/results/.../performance.json")

It runs on the fairness engine's metrics with the whole data as one group: count metrics come
from the four cells of the confusion matrix (``_fairness_metrics.cell_counts`` and ``rate``)
and their bootstrap draws those cells from a multinomial. Score metrics (``roc_auc``,
``log_loss``, ``brier_score``) are scikit-learn's; their interval is a row bootstrap with one
scikit-learn call per replicate, computed only within :data:`SCORE_BOOTSTRAP_BUDGET` (about a
second a metric), and the result says when it was left out.

The numbers equal ``sklearn.metrics`` wherever both are defined; where scikit-learn reports 0
for an empty denominator (precision without a predicted positive) this engine reports
``null`` and the reason.

``df`` may be a :class:`~airflow_alignment.engines.cells.CellTable` instead (the cell counts
computed elsewhere, e.g. by a database ``GROUP BY``): the result is the same as on the rows it
was computed from, except ``result.data``; score metrics need the rows and are refused
(``SpecError``).

The names and :func:`validate_constraints` import nothing heavy: the operator calls them when
the DAG is parsed. numpy, pandas and scikit-learn load when :func:`evaluate` runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines import fairness
from airflow_alignment.engines.cells import ROWS, CellTable
from airflow_alignment.engines.common import check_seed, check_severity, column_arguments, require_columns
from airflow_alignment.exceptions import DataError, SpecError, did_you_mean, preview
from airflow_alignment.results import (
    Assertion,
    CheckResult,
    status_from_assertions,
    utcnow,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from airflow_alignment.engines._fairness_judge import Baseline

# Another name for a fairness metric: the formula is the same.
ALIASES: dict[str, str] = {"recall": "true_positive_rate"}
COUNT_METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "error_rate",
    "selection_rate",
    "base_rate",
    "true_positive_rate",
    "false_positive_rate",
    "true_negative_rate",
    "false_negative_rate",
    "negative_predictive_value",
    "false_discovery_rate",
    "false_omission_rate",
)
SCORE_METRICS: tuple[str, ...] = fairness.SCORE_METRICS
METRICS: tuple[str, ...] = COUNT_METRICS + SCORE_METRICS
PROBABILITY_METRICS: tuple[str, ...] = ("log_loss", "brier_score")
CONSTRAINT_KEYS: tuple[str, ...] = ("metric", "min", "max", "baseline", "name", "severity", "rationale", "decide_on")
# The row bootstrap of a score metric makes one scikit-learn call per replicate: about 3 ms of
# fixed cost (its input checks, worth some 5,000 rows) plus ~0.5 microseconds a row. A metric
# gets an interval while n_boot x (rows + SCORE_CALL_ROWS) stays within the budget, about one
# second: e.g. n_boot=200 up to 5,000 rows.
SCORE_BOOTSTRAP_BUDGET = 2_000_000
SCORE_CALL_ROWS = 5_000


# -- spec validation (no heavy import) ------------------------------------------------------
def validate_constraints(
    constraints: Any,
    *,
    severity: str = "block",
    decide_on: str = "estimate",
    confidence: float | None = None,
    n_boot: int = 1000,
) -> list[dict[str, Any]]:
    """Check the constraints (and the options that judge them); return them normalised.

    Cheap enough for DAG parse time. Each normalised constraint has every key of
    :data:`CONSTRAINT_KEYS` (defaults filled in, ``severity`` and ``decide_on`` resolved)
    plus ``metric_name`` (the name given) and ``formula`` (the metric computed).

    :raises SpecError: naming the position, e.g. ``constraints[1].min: ...``.
    """
    fairness._check_options(decide_on, severity, confidence, n_boot, 0, "error")
    return fairness.validate_list(
        constraints,
        lambda raw, here: _constraint(raw, here, decide_on, severity, confidence),
        example="{'metric': 'accuracy', 'min': 0.7}",
    )


def _constraint(raw: Any, here: str, decide_on: str, severity: str, confidence: float | None) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise SpecError(
            f"{here}: expected an object like {{'metric': 'accuracy', 'min': 0.7}}, got {type(raw).__name__}"
        )
    for key in raw:
        if key not in CONSTRAINT_KEYS:
            hint = " (a fairness key: performance judges the whole data)" if key in fairness.CONSTRAINT_KEYS else ""
            raise SpecError(
                f"{here}: unknown key {key!r}{hint}.{did_you_mean(str(key), CONSTRAINT_KEYS)} "
                f"Keys: {', '.join(CONSTRAINT_KEYS)}"
            )
    spec = {k: raw.get(k) for k in CONSTRAINT_KEYS}
    spec["metric_name"] = _metric(spec["metric"], here)
    spec["formula"] = ALIASES.get(spec["metric_name"], spec["metric_name"])
    for bound in ("min", "max"):
        value = spec[bound]
        if value is not None and not (fairness._is_number(value) and math.isfinite(value)):
            raise SpecError(f"{here}.{bound}: expected a number, got {value!r}")
    if spec["min"] is None and spec["max"] is None and spec["baseline"] is None:
        raise SpecError(f"{here}: give a bound: 'min' and/or 'max' (or a 'baseline' margin)")
    _meetable(spec, here)
    spec["baseline"] = fairness._baseline_spec(spec["baseline"], f"{here}.baseline")
    spec["severity"] = check_severity(spec["severity"] or severity, f"{here}.severity")
    spec["decide_on"] = fairness._choice(spec["decide_on"] or decide_on, fairness.DECIDE_ON, f"{here}.decide_on")
    if spec["decide_on"] != "estimate" and confidence is None:
        raise SpecError(
            f"{here}.decide_on: {spec['decide_on']!r} judges the confidence interval: set confidence (e.g. 0.95)"
        )
    for key in ("name", "rationale"):
        if spec[key] is not None and not isinstance(spec[key], str):
            raise SpecError(f"{here}.{key}: expected a string, got {type(spec[key]).__name__}")
    spec["name"] = spec["name"] or spec["metric_name"]
    return spec


def _metric(metric: Any, here: str) -> str:
    if metric is None:
        raise SpecError(f"{here}: missing 'metric' (e.g. 'accuracy' or 'roc_auc')")
    if isinstance(metric, str) and metric in METRICS:
        return metric
    hint = ""
    if isinstance(metric, str) and metric in fairness.NAMED_AGGREGATES:
        hint = f" {metric!r} compares groups: judge it with FairnessCheckOperator."
    raise SpecError(
        f"{here}.metric: unknown metric {metric!r}.{did_you_mean(str(metric), METRICS)}{hint} "
        f"Valid metrics: {', '.join(METRICS)}"
    )


def _meetable(spec: dict[str, Any], here: str) -> None:
    low, high, name = spec["min"], spec["max"], spec["metric_name"]
    if low is not None and high is not None and low > high:
        raise SpecError(f"{here}: min ({low}) is above max ({high}); no value can meet both")
    ceiling, what = (None, f"{name} is at least 0") if name == "log_loss" else (1, f"{name} lies between 0 and 1")
    if low is not None and ceiling is not None and low > ceiling:
        raise SpecError(f"{here}.min: {low} cannot be met: {what}")
    if high is not None and high < 0:
        raise SpecError(f"{here}.max: {high} cannot be met: {what}")


# -- evaluation -----------------------------------------------------------------------------
def evaluate(
    df: pd.DataFrame | CellTable,
    *,
    y_true: str,
    constraints: Any,
    y_pred: str | None = None,
    y_score: str | None = None,
    threshold: float | None = None,
    pos_label: Any = 1,
    sample_weight: str | None = None,
    confidence: float | None = None,
    n_boot: int = 1000,
    decide_on: str = "estimate",
    baseline: Any = None,
    severity: str = "block",
    check_name: str | None = None,
    random_state: int | None = 0,
    source: str | None = None,
) -> CheckResult:
    """Compute model-quality metrics on ``df`` and judge the performance ``constraints``.

    :param df: the data, one row per prediction; or a :class:`~.cells.CellTable` of it (same
        result but ``data``; its columns must play the roles named here, and it cannot feed
        score metrics).
    :param y_true: column of true labels (two classes; ``pos_label`` is the positive one).
    :param constraints: list of constraints such as ``{"metric": "accuracy", "min": 0.7}`` or
        ``{"metric": "roc_auc", "baseline": {"max_decrease": 0.01}}``; see
        ``docs/operators/performance-check.md``.
    :param y_pred: column of predicted labels (same classes as ``y_true``).
    :param y_score: column of scores; with ``threshold`` it stands in for ``y_pred``
        (predicted positive when ``score >= threshold``), and it feeds ``roc_auc``,
        ``log_loss`` and ``brier_score`` (those two need probabilities of the positive class).
    :param pos_label: the positive label of ``y_true`` and ``y_pred``.
    :param sample_weight: column of non-negative row weights.
    :param confidence: e.g. 0.95 to compute bootstrap intervals (``n_boot`` replicates).
    :param decide_on: ``estimate`` (judge the value), ``conservative`` (fail unless the whole
        interval is inside the bounds) or ``significant`` (fail only when it is all outside).
    :param baseline: a previous performance result (``CheckResult``, its dict, or a path / URI
        of its JSON) for constraints with ``baseline: {max_increase|max_decrease: margin}``.
    :param severity: the default severity of the constraints (``block`` or ``warn``).
    :param check_name: the result's ``check`` (default ``"performance"``).
    :param random_state: seed of the bootstrap.
    :param source: text naming where ``df`` came from, recorded in ``result.data``.
    :raises SpecError: a bad constraint, option or baseline (names the position); with a
        CellTable, a score metric, or a table counted for other columns.
    :raises DataError: a missing column, missing values, labels that are not binary,
        probabilities given as ``y_pred``, scores outside [0, 1] for ``log_loss`` or
        ``brier_score``.
    """
    started, t0 = utcnow(), time.perf_counter()
    specs = validate_constraints(
        constraints, severity=severity, decide_on=decide_on, confidence=confidence, n_boot=n_boot
    )
    found = load_baseline(baseline)  # before the data work: a bad baseline fails fast
    column_arguments(y_true=y_true, y_pred=y_pred, y_score=y_score, sample_weight=sample_weight, required=("y_true",))
    check_seed(random_state)
    columns = _check_columns(df, y_true, y_pred, y_score, threshold, sample_weight, specs)
    data = fairness._describe(df, source, columns)
    inputs = _prepare(df, y_true, y_pred, y_score, threshold, pos_label, sample_weight, specs)
    values = _metric_values(inputs, specs, confidence, n_boot, random_state)
    assertions = [_judge(spec, values[spec["metric_name"]], confidence, found) for spec in specs]
    settings = {
        "pos_label": pos_label,
        "threshold": threshold,
        "sample_weight": sample_weight,
        "confidence": confidence,
        "n_boot": n_boot if confidence else None,
        "decide_on": decide_on,
        "random_state": random_state,
    }
    return CheckResult(
        check=check_name or "performance",
        kind="performance",
        status=status_from_assertions(assertions),
        severity=check_severity(severity, "severity"),  # type: ignore[arg-type]
        summary=summary(assertions, inputs.rows),
        assertions=assertions,
        metrics=_metrics_block(values, inputs, found, settings),
        data=data,
        started_at=started,
        duration_s=round(time.perf_counter() - t0, 6),
    )


def load_baseline(baseline: Any) -> Baseline:
    """A performance ``CheckResult``, its dict, or a path / URI of its JSON; ``None`` for none."""
    from airflow_alignment.engines._fairness_judge import load_baseline as load

    return load(baseline, kind="performance")


def _check_columns(
    df: pd.DataFrame | CellTable,
    y_true: str,
    y_pred: str | None,
    y_score: str | None,
    threshold: float | None,
    sample_weight: str | None,
    specs: list[dict[str, Any]],
) -> list[str]:
    if threshold is not None and not (fairness._is_number(threshold) and math.isfinite(threshold)):
        raise SpecError(f"threshold: expected a number, got {threshold!r}")
    if y_pred is not None and threshold is not None:
        raise SpecError("threshold: applies to y_score; with y_pred given, leave threshold out")
    for i, spec in enumerate(specs):
        name = spec["metric_name"]
        if name in SCORE_METRICS and y_score is None:
            raise SpecError(f"constraints[{i}]: {name} is computed from scores: give y_score (a column of scores)")
        if name in COUNT_METRICS and y_pred is None and (y_score is None or threshold is None):
            raise SpecError(
                f"constraints[{i}]: {name} is computed from predicted labels: give y_pred "
                "(a column of predicted labels), or y_score with a threshold"
            )
    if isinstance(df, CellTable):
        from airflow_alignment.engines._fairness_inputs import check_table

        for i, spec in enumerate(specs):
            if spec["metric_name"] in SCORE_METRICS:
                raise SpecError(f"constraints[{i}]: {spec['metric_name']} {fairness._needs_rows(spec['metric_name'])}")
        check_table(
            df,
            y_true=y_true,
            y_pred=y_pred,
            y_score=y_score,
            threshold=threshold,
            features=[],
            sample_weight=sample_weight,
        )
        return df.columns
    roles = [
        ("y_true column", y_true),
        ("y_pred column", y_pred),
        ("y_score column", y_score),
        ("sample_weight column", sample_weight),
    ]
    for what, col in roles:
        if col is not None:
            require_columns(df, [col], what=what)
    return [col for _, col in roles if col is not None]


@dataclass
class Inputs:
    """The data of one performance check, as arrays (one entry per row, or per cell)."""

    positive: np.ndarray  # y_true == pos_label
    predicted: np.ndarray | None  # y_pred == pos_label, or y_score >= threshold
    score: np.ndarray | None
    weight: np.ndarray | None
    # From a CellTable: the rows behind each entry and their squared weights (see _fairness_inputs).
    multiplicity: np.ndarray | None = None
    weight_sq: np.ndarray | None = None

    @property
    def rows(self) -> int:
        """The number of rows the arrays stand for."""
        return len(self.positive) if self.multiplicity is None else int(self.multiplicity.sum())


def _prepare(
    df: pd.DataFrame | CellTable,
    y_true: str,
    y_pred: str | None,
    y_score: str | None,
    threshold: float | None,
    pos_label: Any,
    sample_weight: str | None,
    specs: list[dict[str, Any]],
) -> Inputs:
    import numpy as np

    from airflow_alignment.engines import _fairness_inputs as fi

    table = df if isinstance(df, CellTable) else None
    multiplicity = None
    if isinstance(df, CellTable):  # y_score is the thresholded prediction, or (beside y_pred) not in the table
        y_score = y_score if df.thresholded else None
        df = df.frame
        multiplicity = df[ROWS].to_numpy(dtype=np.int64)
    rows = len(df) if multiplicity is None else int(multiplicity.sum())
    for role, col in (("y_true", y_true), ("y_pred", y_pred), ("y_score", y_score), ("sample_weight", sample_weight)):
        count = 0
        if col is not None:
            count = int(df[col].isna().sum()) if multiplicity is None else int(multiplicity[df[col].isna()].sum())
        if count:
            values = "value" if count == 1 else "values"
            raise DataError(
                f"{role} column {col!r} has {count:,} missing {values} (NaN/None) in {rows:,} rows; "
                "fill them, or leave those rows out of the data"
            )
    true_values = fi._distinct(df[y_true])
    fi._require_binary(true_values, "y_true", y_true, pos_label)
    predicted = None
    if y_pred is not None:
        pred_values = fi._distinct(df[y_pred])
        fi._require_predictions(df[y_pred], pred_values, y_pred, pos_label)
        fi._require_same_labels(true_values, pred_values, y_true, y_pred, pos_label)
        predicted = fi._equals(df[y_pred], pos_label)
    elif len(true_values) == 2 and pos_label not in true_values:
        raise DataError(
            f"pos_label={pos_label!r} is not one of the labels of y_true {y_true!r} "
            f"({preview(true_values)}); set pos_label to the positive one, e.g. pos_label={true_values[-1]!r}"
        )
    score = weight = weight_sq = None
    if table is not None:
        if predicted is None and y_score is not None:  # 1.0 where score >= threshold (upstream)
            predicted = df[y_score].to_numpy(dtype=float) == 1.0
        if sample_weight is not None:
            weight, weight_sq = fi._cell_weights(df, sample_weight)
        return Inputs(fi._equals(df[y_true], pos_label), predicted, None, weight, multiplicity, weight_sq)
    if y_score is not None:
        score = fi._numeric(df[y_score], "y_score", y_score)
        _require_scores(score, y_score, specs)
        if predicted is None and threshold is not None:
            predicted = score >= threshold
    weight = fi._weights(df[sample_weight], sample_weight) if sample_weight is not None else None
    return Inputs(fi._equals(df[y_true], pos_label), predicted, score, weight)


def _require_scores(score: np.ndarray, col: str, specs: list[dict[str, Any]]) -> None:
    import numpy as np

    infinite = int(np.isinf(score).sum())
    if infinite:
        raise DataError(f"y_score column {col!r} has {infinite:,} infinite values; scores must be finite")
    low, high = float(score.min()), float(score.max())
    if low >= 0 and high <= 1:
        return
    for i, spec in enumerate(specs):
        if spec["metric_name"] in PROBABILITY_METRICS:
            raise DataError(
                f"y_score column {col!r} has values outside [0, 1] (from {low:.4g} to {high:.4g}), but "
                f"{spec['metric_name']} (constraints[{i}]) needs probabilities of the positive class; "
                "give probabilities, or judge roc_auc, which takes any score"
            )


class MetricValue:
    """One metric on the whole data: the value (NaN = undefined), why not, its replicates."""

    def __init__(
        self, value: float, reason: str | None, boot: np.ndarray | None = None, ci_note: str | None = None
    ) -> None:
        self.value, self.reason, self.boot, self.ci_note = value, reason, boot, ci_note


def _metric_values(
    inputs: Inputs, specs: list[dict[str, Any]], confidence: float | None, n_boot: int, seed: int | None
) -> dict[str, MetricValue]:
    """Every count metric (when there are predictions) and the score metrics the constraints read."""
    import numpy as np

    rng = np.random.default_rng(seed)
    asked = [s["metric_name"] for s in specs]
    out: dict[str, MetricValue] = {}
    if inputs.predicted is not None:
        names = [m for m in COUNT_METRICS if m not in ALIASES or m in asked]
        out.update(_count_metrics(names, inputs, confidence, n_boot, rng))
    if inputs.score is not None:
        for name in dict.fromkeys(m for m in asked if m in SCORE_METRICS):
            out[name] = _score_metric(name, inputs.positive, inputs.score, inputs.weight, confidence, n_boot, rng)
    return out


def _cells(inputs: Inputs, kind: str = "counts") -> np.ndarray:
    """The confusion cells ``[tn, fp, fn, tp]`` of the whole data (one group), shape ``(1, 4)``.

    ``kind``: ``counts`` (rows, int64), ``weight`` (weight sums) or ``weight_sq`` (sums of
    squared weights).
    """
    import numpy as np

    from airflow_alignment.engines import _fairness_metrics as fm

    assert inputs.predicted is not None
    if kind == "counts":
        weight = inputs.multiplicity
    elif kind == "weight":
        weight = inputs.weight
    else:
        assert inputs.weight is not None
        weight = inputs.weight**2 if inputs.weight_sq is None else inputs.weight_sq
    one_group = np.zeros(len(inputs.positive), dtype=np.int64)
    cells = fm.cell_counts(one_group, 1, inputs.positive, inputs.predicted, weight)
    if kind == "counts" and inputs.multiplicity is not None:  # sums of whole numbers: exact, as from rows
        cells = cells.astype(np.int64)
    return cells


def _count_metrics(
    names: list[str], inputs: Inputs, confidence: float | None, n_boot: int, rng: np.random.Generator
) -> dict[str, MetricValue]:
    from airflow_alignment.engines import _fairness_metrics as fm

    counts = _cells(inputs)
    cells = counts if inputs.weight is None else _cells(inputs, "weight")
    boot_cells = None
    if confidence is not None:
        squares = None if inputs.weight is None else _cells(inputs, "weight_sq")
        boot_cells, _ = fm.bootstrap_cells(counts, None if cells is counts else cells, squares, n_boot, rng)
    out = {}
    for name in names:
        formula = ALIASES.get(name, name)
        value = float(fm.rate(formula, cells[0]))
        reason = None
        if math.isnan(value):
            reason = fm.undefined_reason(formula, cells[0]).replace("the group", "the data")
        boot = None if boot_cells is None else fm.rate(formula, boot_cells[:, 0, :])
        out[name] = MetricValue(value, reason, boot)
    return out


def _score_metric(
    name: str,
    positive: np.ndarray,
    score: np.ndarray,
    weight: np.ndarray | None,
    confidence: float | None,
    n_boot: int,
    rng: np.random.Generator,
) -> MetricValue:
    import warnings

    import numpy as np

    from airflow_alignment.engines import _fairness_metrics as fm

    func, y = fm.score_metric(name), positive.astype(np.int64)
    try:
        value = float(func(y, score, sample_weight=weight))
    except ValueError as exc:  # scikit-learn refusing the data
        raise DataError(f"metric {name!r} could not be computed: {type(exc).__name__}: {exc}") from exc
    reason = None
    if math.isnan(value):
        reason = fm.SCORE_REASONS.get(name, "undefined").replace("the group", "the data")
    if confidence is None or math.isnan(value):
        return MetricValue(value, reason)
    n = len(y)
    if n_boot * (n + SCORE_CALL_ROWS) > SCORE_BOOTSTRAP_BUDGET:
        fits = SCORE_BOOTSTRAP_BUDGET // (n + SCORE_CALL_ROWS)
        hint = f"; n_boot={fits} or fewer would get one" if fits >= 100 else ""
        note = (
            f"no confidence interval for {name}: a row bootstrap of {n_boot:,} scikit-learn calls on {n:,} rows "
            f"is over the time budget{hint}"
        )
        return MetricValue(value, reason, None, note)
    boot = np.empty(n_boot)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(n_boot):
            drawn = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
            kept = drawn > 0  # a row drawn k times weighs k: the same as resampling it
            w = drawn[kept] if weight is None else drawn[kept] * weight[kept]
            boot[b] = func(y[kept], score[kept], sample_weight=w)
    return MetricValue(value, reason, boot)


# -- verdicts -------------------------------------------------------------------------------
def _judge(spec: dict[str, Any], mv: MetricValue, confidence: float | None, baseline: Baseline) -> Assertion:
    from airflow_alignment.engines import _fairness_judge as judge

    observed = None if math.isnan(mv.value) else mv.value
    details: dict[str, Any] = {"metric": spec["metric_name"], "decide_on": spec["decide_on"]}
    if confidence is not None:
        details["confidence"] = confidence
    if mv.ci_note:
        details["ci_note"] = mv.ci_note
    if spec["rationale"]:
        details["rationale"] = spec["rationale"]
    if observed is None:
        details["reason"] = mv.reason
        success = False
    else:
        success = judge._decide(observed, judge._ci(mv.boot, confidence), spec, details)
    compared = judge._compare(spec["name"], observed, spec, baseline)
    if compared is not None:
        details["baseline"] = compared
        success = success and compared.get("success", True)
    return Assertion(
        name=spec["name"],
        success=bool(success),
        observed=observed,
        expected={"min": spec["min"], "max": spec["max"]},
        severity=spec["severity"],
        details=details,
    )


def _metrics_block(
    values: dict[str, MetricValue], inputs: Inputs, baseline: Baseline, settings: dict[str, Any]
) -> dict[str, Any]:
    from airflow_alignment.engines import _fairness_judge as judge

    out: dict[str, Any] = {"rows": inputs.rows}
    if inputs.weight is not None:
        out["weight"] = float(inputs.weight.sum())
    for name, mv in values.items():
        entry: dict[str, Any] = {"value": judge._num(mv.value)}
        ci = judge._ci(mv.boot, settings["confidence"])
        if ci is not None and not math.isnan(mv.value):
            entry["ci"] = ci
        if mv.reason:
            entry["reason"] = mv.reason
        if mv.ci_note:
            entry["ci_note"] = mv.ci_note
        out[name] = entry
    if inputs.predicted is not None:
        out["confusion_matrix"] = _confusion(_cells(inputs)[0])
        if inputs.weight is not None:
            out["weighted_confusion_matrix"] = _confusion(_cells(inputs, "weight")[0])
    out["settings"] = settings
    out["baseline"] = baseline.info
    return out


def _confusion(cells: np.ndarray) -> dict[str, float]:
    return {key: cells[i].item() for i, key in enumerate(("tn", "fp", "fn", "tp"))}


def summary(assertions: list[Assertion], rows: int) -> str:
    """The worst violation and the count of failures, or the closest call when all passed."""
    from airflow_alignment.engines import _fairness_judge as judge

    failed = [a for a in assertions if a.success is False]
    if not failed:
        tight = [a for a in assertions if a.observed is not None and judge._bounded(a)]
        closest = f"; closest: {judge._describe(max(tight, key=judge._gap))}" if tight else ""
        return f"all {len(assertions)} performance constraints passed on {rows:,} rows{closest}"
    failed.sort(key=lambda a: (a.severity != "block", a.observed is None, -judge._gap(a)))
    blocking = sum(a.severity == "block" for a in failed)
    counts = f"{len(failed)} of {len(assertions)} constraints failed"
    if blocking != len(failed):
        counts += f" ({blocking} blocking, {len(failed) - blocking} warning)"
    return f"{judge._describe(failed[0])}; {counts}"
