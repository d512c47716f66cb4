"""Performance: overall model-quality metrics judged against absolute and baseline bounds.

Use it without Airflow::

    from airflow_alignment.engines.performance import evaluate
    result = evaluate(df, y_true="label", y_pred="pred",
                      constraints=[{"metric": "accuracy", "min": 0.7},
                                   {"metric": "accuracy", "name": "accuracy_vs_production",
                                    "baseline": {"max_decrease": 0.02}}],
                      baseline="s3://bucket/alignment/results/.../performance.json")

It runs on the binary-classification core (:mod:`.binary`) with the whole data as one group:
count metrics come from the four cells of the confusion matrix (:func:`.binary.metrics.cell_counts`
and :func:`.binary.metrics.rate`) and their bootstrap draws those cells from a multinomial. Score metrics (``roc_auc``,
``log_loss``, ``brier_score``) are scikit-learn's; their interval is a row bootstrap with one
scikit-learn call per replicate, computed only within :data:`SCORE_BOOTSTRAP_BUDGET` (about a
second a metric), and the result says when it was left out.

The numbers equal ``sklearn.metrics`` wherever both are defined; where scikit-learn reports 0
for an empty denominator (precision without a predicted positive) this engine reports
``null`` and the reason.

``df`` may be a :class:`~airflow_alignment.engines.binary.cells.CellTable` instead (the cell counts
computed elsewhere, e.g. by a database ``GROUP BY``): the result is the same as on the rows it
was computed from, except ``result.data``; score metrics need the rows and are refused
(``SpecError``), unless the table carries them computed where the data lives
(:func:`~.binary.cells.count_scored`, a ``SparkSource``): then they are judged without an
interval, and ``confidence`` with a score metric is refused (its interval is a row bootstrap).

Importing this module is cheap (the spec, :class:`~airflow_alignment.specs.PerformanceSpec`, is
checked when a DAG is parsed); numpy, pandas and scikit-learn load when :func:`evaluate` runs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.binary import judging
from airflow_alignment.engines.binary import metrics as fm
from airflow_alignment.engines.binary.cells import ROWS, CellTable, ScoreTables, describe_data, needs_rows
from airflow_alignment.engines.binary.inputs import (
    cell_weights,
    check_table,
    distinct,
    equals,
    numeric,
    require_binary,
    require_predictions,
    require_same_labels,
    weights,
)
from airflow_alignment.exceptions import DataError, SpecError, preview
from airflow_alignment.io.frames import require_columns
from airflow_alignment.results import Assertion, CheckResult, status_from_assertions, utcnow
from airflow_alignment.specs.constraints import PERFORMANCE_KEYS as CONSTRAINT_KEYS
from airflow_alignment.specs.constraints import Constraint, performance_constraints
from airflow_alignment.specs.labelled import check_options
from airflow_alignment.specs.metrics import ALIASES, PROBABILITY_METRICS, SCORE_METRICS
from airflow_alignment.specs.metrics import PERFORMANCE_COUNT_METRICS as COUNT_METRICS
from airflow_alignment.specs.metrics import PERFORMANCE_METRICS as METRICS
from airflow_alignment.specs.performance import PerformanceSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = [
    "ALIASES",
    "CONSTRAINT_KEYS",
    "COUNT_METRICS",
    "METRICS",
    "PROBABILITY_METRICS",
    "SCORE_METRICS",
    "PerformanceSpec",
    "evaluate",
    "validate_constraints",
]

# The row bootstrap of a score metric makes one scikit-learn call per replicate: about 3 ms of
# fixed cost (its input checks, worth some 5,000 rows) plus ~0.5 microseconds a row. A metric
# gets an interval while n_boot x (rows + SCORE_CALL_ROWS) stays within the budget, about one
# second: e.g. n_boot=200 up to 5,000 rows.
SCORE_BOOTSTRAP_BUDGET = 2_000_000
SCORE_CALL_ROWS = 5_000


# -- evaluation -----------------------------------------------------------------------------
def validate_constraints(
    constraints: Any,
    *,
    severity: str = PerformanceSpec.severity,
    decide_on: str = PerformanceSpec.decide_on,
    confidence: float | None = PerformanceSpec.confidence,
    n_boot: int = PerformanceSpec.n_boot,
) -> tuple[Constraint, ...]:
    """Check the constraints (and the options that judge them); return them normalised.

    Cheap enough for DAG parse time. :class:`~airflow_alignment.specs.PerformanceSpec` does
    the same with the columns too; this checks a constraint list alone.

    :raises SpecError: naming the position, e.g. ``constraints[1].min: ...``.
    """
    check_options(
        decide_on=decide_on,
        severity=severity,
        confidence=confidence,
        n_boot=n_boot,
        min_group_size=0,
        missing_groups="error",
    )
    return performance_constraints(constraints, decide_on=decide_on, severity=severity, confidence=confidence)


def evaluate(
    df: pd.DataFrame | CellTable,
    spec: PerformanceSpec | None = None,
    *,
    baseline: Any = None,
    check_name: str | None = None,
    source: str | None = None,
    **options: Any,
) -> CheckResult:
    """Compute model-quality metrics on ``df`` and judge the performance constraints of ``spec``.

    :param df: the data, one row per prediction; or a :class:`~.binary.cells.CellTable` of it
        (same result but ``data``; its columns must play the roles of the spec, and it cannot
        feed score metrics).
    :param spec: what to judge; or give its fields as keyword ``options`` (``y_true``,
        ``constraints``, ``y_pred`` or ``y_score`` with ``threshold``, ``confidence``, ...: see
        :class:`~airflow_alignment.specs.PerformanceSpec` and ``docs/operators/performance-check.md``).
    :param baseline: a previous performance result (``CheckResult``, its dict, or a path / URI
        of its JSON) for constraints with ``baseline: {max_increase|max_decrease: margin}``.
    :param check_name: the result's ``check`` (default ``"performance"``).
    :param source: text naming where ``df`` came from, recorded in ``result.data``.
    :raises SpecError: a bad constraint, option or baseline (names the position); with a
        CellTable, a score metric, or a table counted for other columns.
    :raises DataError: a missing column, missing values, labels that are not binary,
        probabilities given as ``y_pred``, scores outside [0, 1] for ``log_loss`` or
        ``brier_score``.
    """
    started, t0 = utcnow(), time.perf_counter()
    if spec is None:
        spec = PerformanceSpec(**options)
    elif options:
        raise TypeError(f"evaluate(): give a PerformanceSpec or its fields ({', '.join(options)}), not both")
    found = load_baseline(baseline)  # before the data work: a bad baseline fails fast
    columns = _check_columns(df, spec)
    data = describe_data(df, source, columns)
    inputs = _prepare(df, spec)
    values = _metric_values(inputs, spec)
    assertions = [_judge(c, values[c.metric_name], spec.confidence, found) for c in spec.constraints]
    settings = {
        "pos_label": spec.pos_label,
        "threshold": spec.threshold,
        "sample_weight": spec.sample_weight,
        "confidence": spec.confidence,
        "n_boot": spec.n_boot if spec.confidence else None,
        "decide_on": spec.decide_on,
        "random_state": spec.random_state,
    }
    return CheckResult(
        check=check_name or "performance",
        kind="performance",
        status=status_from_assertions(assertions),
        severity=spec.severity,  # type: ignore[arg-type]
        summary=judging.summary(assertions, "performance", f"on {inputs.rows:,} rows"),
        assertions=assertions,
        metrics=_metrics_block(values, inputs, found, settings),
        data=data,
        started_at=started,
        duration_s=round(time.perf_counter() - t0, 6),
    )


def load_baseline(baseline: Any) -> judging.Baseline:
    """A performance ``CheckResult``, its dict, or a path / URI of its JSON; ``None`` for none."""
    return judging.load_baseline(baseline, kind="performance")


def _check_columns(df: pd.DataFrame | CellTable, spec: PerformanceSpec) -> list[str]:
    if isinstance(df, CellTable):
        for i, constraint in enumerate(spec.constraints):
            if constraint.metric_name in SCORE_METRICS:
                _check_scored(df, spec, i, constraint.metric_name)
        check_table(
            df,
            y_true=spec.y_true,
            y_pred=spec.y_pred,
            y_score=spec.y_score,
            threshold=spec.threshold,
            features=[],
            sample_weight=spec.sample_weight,
        )
        return df.columns
    roles = [
        ("y_true column", spec.y_true),
        ("y_pred column", spec.y_pred),
        ("y_score column", spec.y_score),
        ("sample_weight column", spec.sample_weight),
    ]
    for what, col in roles:
        if col is not None:
            require_columns(df, [col], what=what)
    return [col for _, col in roles if col is not None]


def _check_scored(table: CellTable, spec: PerformanceSpec, i: int, name: str) -> None:
    """A score metric from a cell table: computed where the data lives, without an interval."""
    if not table.scored:
        raise SpecError(f"constraints[{i}]: {name} {needs_rows(name)}")
    if spec.confidence is not None:
        raise SpecError(
            f"constraints[{i}]: {name} with confidence={spec.confidence} needs the rows: its interval is a row "
            f"bootstrap, and the rows of {table.source} are not read here (the metric itself is computed where "
            f"they live); leave confidence out of the checks of {', '.join(SCORE_METRICS)} (judge the count metrics "
            "with intervals in a check of their own), or read the rows (a FileSource of the same data)"
        )


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
    # From a CellTable with scores: the score metrics computed where the data lives.
    scores: ScoreTables | None = None

    @property
    def rows(self) -> int:
        """The number of rows the arrays stand for."""
        return len(self.positive) if self.multiplicity is None else int(self.multiplicity.sum())


def _prepare(df: pd.DataFrame | CellTable, spec: PerformanceSpec) -> Inputs:
    """The checked arrays of the rows (or of a CellTable's cells)."""
    import numpy as np

    y_true, y_pred, y_score, threshold = spec.y_true, spec.y_pred, spec.y_score, spec.threshold
    pos_label, sample_weight = spec.pos_label, spec.sample_weight
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
    true_values = distinct(df[y_true])
    require_binary(true_values, "y_true", y_true, pos_label)
    predicted = None
    if y_pred is not None:
        pred_values = distinct(df[y_pred])
        require_predictions(df[y_pred], pred_values, y_pred, pos_label)
        require_same_labels(true_values, pred_values, y_true, y_pred, pos_label)
        predicted = equals(df[y_pred], pos_label)
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
            weight, weight_sq = cell_weights(df, sample_weight)
        if table.scores is not None and any(c.metric_name in SCORE_METRICS for c in spec.constraints):
            whole = table.scores.by(())
            _require_range(float(whole["score_min"].iloc[0]), float(whole["score_max"].iloc[0]), spec)
        return Inputs(equals(df[y_true], pos_label), predicted, None, weight, multiplicity, weight_sq, table.scores)
    if y_score is not None:
        score = numeric(df[y_score], "y_score", y_score)
        _require_scores(score, y_score, spec)
        if predicted is None and threshold is not None:
            predicted = score >= threshold
    weight = weights(df[sample_weight], sample_weight) if sample_weight is not None else None
    return Inputs(equals(df[y_true], pos_label), predicted, score, weight)


def _require_scores(score: np.ndarray, col: str, spec: PerformanceSpec) -> None:
    import numpy as np

    infinite = int(np.isinf(score).sum())
    if infinite:
        raise DataError(f"y_score column {col!r} has {infinite:,} infinite values; scores must be finite")
    _require_range(float(score.min()), float(score.max()), spec)


def _require_range(low: float, high: float, spec: PerformanceSpec) -> None:
    """Scores from ``low`` to ``high``: probabilities where log loss or Brier reads them."""
    col = spec.y_score
    if low >= 0 and high <= 1:
        return
    for i, constraint in enumerate(spec.constraints):
        if constraint.metric_name in PROBABILITY_METRICS:
            raise DataError(
                f"y_score column {col!r} has values outside [0, 1] (from {low:.4g} to {high:.4g}), but "
                f"{constraint.metric_name} (constraints[{i}]) needs probabilities of the positive class; "
                "give probabilities, or judge roc_auc, which takes any score"
            )


class MetricValue:
    """One metric on the whole data: the value (NaN = undefined), why not, its replicates."""

    def __init__(
        self, value: float, reason: str | None, boot: np.ndarray | None = None, ci_note: str | None = None
    ) -> None:
        self.value, self.reason, self.boot, self.ci_note = value, reason, boot, ci_note


def _metric_values(inputs: Inputs, spec: PerformanceSpec) -> dict[str, MetricValue]:
    """Every count metric (when there are predictions) and the score metrics the constraints read."""
    import numpy as np

    confidence, n_boot = spec.confidence, spec.n_boot
    rng = np.random.default_rng(spec.random_state)
    asked = [c.metric_name for c in spec.constraints]
    out: dict[str, MetricValue] = {}
    if inputs.predicted is not None:
        names = [m for m in COUNT_METRICS if m not in ALIASES or m in asked]
        out.update(_count_metrics(names, inputs, confidence, n_boot, rng))
    for name in dict.fromkeys(m for m in asked if m in SCORE_METRICS):
        if inputs.score is not None:
            out[name] = _score_metric(name, inputs.positive, inputs.score, inputs.weight, confidence, n_boot, rng)
        elif inputs.scores is not None:  # computed where the data lives (no interval: refused before)
            value = inputs.scores.metric(name, ())[1]
            reason = fm.SCORE_REASONS.get(name, "undefined").replace("the group", "the data")
            out[name] = MetricValue(value, reason if math.isnan(value) else None)
    return out


def _cells(inputs: Inputs, kind: str = "counts") -> np.ndarray:
    """The confusion cells ``[tn, fp, fn, tp]`` of the whole data (one group), shape ``(1, 4)``.

    ``kind``: ``counts`` (rows, int64), ``weight`` (weight sums) or ``weight_sq`` (sums of
    squared weights).
    """
    import numpy as np

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
def _judge(constraint: Constraint, mv: MetricValue, confidence: float | None, baseline: judging.Baseline) -> Assertion:
    observed = None if math.isnan(mv.value) else mv.value
    details: dict[str, Any] = {"metric": constraint.metric_name, "decide_on": constraint.decide_on}
    if confidence is not None:
        details["confidence"] = confidence
    if mv.ci_note:
        details["ci_note"] = mv.ci_note
    if constraint.rationale:
        details["rationale"] = constraint.rationale
    if observed is None:
        details["reason"] = mv.reason
        success = False
    else:
        success = judging.decide(observed, judging.ci(mv.boot, confidence), constraint, details)
    compared = judging.compare(constraint.name, observed, constraint, baseline)
    if compared is not None:
        details["baseline"] = compared
        success = success and compared.get("success", True)
    return Assertion(
        name=constraint.name,
        success=bool(success),
        observed=observed,
        expected=constraint.bounds,
        severity=constraint.severity,
        details=details,
    )


def _metrics_block(
    values: dict[str, MetricValue], inputs: Inputs, baseline: judging.Baseline, settings: dict[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": inputs.rows}
    if inputs.weight is not None:
        out["weight"] = float(inputs.weight.sum())
    for name, mv in values.items():
        entry: dict[str, Any] = {"value": judging.num(mv.value)}
        ci = judging.ci(mv.boot, settings["confidence"])
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
