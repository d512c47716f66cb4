"""Fairness and performance estimated before the labels arrive, from calibrated scores.

In a feedback loop labels arrive weeks after the predictions. If the scores are calibrated
(``P(y = 1 | score = p, group) = p`` in every group), the expected confusion cells of each group
are known from the scores alone: a row with score ``p`` and prediction 1 adds ``p`` to the
expected true positives and ``1 - p`` to the expected false positives; with prediction 0, ``p``
to the false negatives and ``1 - p`` to the true negatives (confidence-based performance
estimation, per group).

- :func:`summarize_scores` reduces the rows to what every step needs: per group x prediction,
  the row count, the sum and sum of squares of the scores, and a histogram of the scores.
- :func:`to_cell_table` / :func:`expected_cells` give those expected cells as a
  :class:`~airflow_alignment.engines.binary.cells.CellTable` whose *weights* are the expected counts
  (the ``sample_weight`` column, :data:`WEIGHT`), so ``fairness.evaluate(table, ...,
  sample_weight=WEIGHT)`` and ``performance`` compute the per-group TPR, FPR, precision,
  accuracy and the fairness aggregates unchanged. The table's row counts (``__rows__``) split each
  group x prediction's rows between its two label cells in proportion to the expected counts
  (rounded), so each group's ``count`` and ``min_group_size`` read its true number of rows.
- :func:`label_uncertainty`: intervals for the value the metrics will take once the labels
  arrive. Under the same assumption the positives of each group x prediction follow a
  Poisson-binomial law (independent Bernoulli(p) labels); the labels are drawn again from the
  scores ``n_draws`` times (a parametric bootstrap), each draw's cells go through the engine's
  formulas, and the interval is the percentile interval of the draws. Scores are grouped in
  :data:`LEVELS` equal-width levels per cell and each level is drawn as a binomial with the
  level's mean score: the mean is exact; the variance is overstated by at most the spread of the
  scores within a level (conservative, negligible with 200 levels).
- :func:`calibration_check`: on the last labelled window, per group, the expected calibration
  error (ECE) and a Hosmer-Lemeshow test over score deciles, which say whether the estimate can
  be trusted (see :class:`Calibration`).

The assumption is calibration *within each group*; a model calibrated overall can be
miscalibrated in a group, which is why the check runs per group. Drift in ``P(y | x)`` (concept
drift) after the labelled window breaks the estimate without showing in the scores: the check
must be repeated as labels land. docs/estimated-fairness.md explains how to read the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from airflow_alignment.engines import fairness
from airflow_alignment.engines.binary import metrics as fm
from airflow_alignment.engines.binary.cells import CellTable, build
from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.io.cells import ROWS, WEIGHT_MIN, WEIGHT_MISSING, WEIGHT_SQ, WEIGHT_SUM, CellKeys
from airflow_alignment.specs.metrics import COUNT_METRICS

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from airflow_alignment.results import CheckResult

WEIGHT = "expected"  # the weight column of an expected cell table: expected counts
LABEL = "label"  # its label column: 1 for the expected positives, 0 for the negatives
LEVELS = 200  # score levels per group x prediction for the label draws
TN, FP, FN, TP = 0, 1, 2, 3
ESTIMABLE = frozenset(COUNT_METRICS) - {"count"}  # ratios of cells: what expected cells and label draws estimate


@dataclass
class ScoreSummary:
    """Scored rows reduced per group (axis 0) x prediction (axis 1: 0, then 1)."""

    features: list[str]
    groups: list[dict[str, Any]]
    rows: np.ndarray  # (G, 2) int64
    expected: np.ndarray  # (G, 2) sum of scores: expected positives
    squares: np.ndarray  # (G, 2) sum of squared scores
    squares_complement: np.ndarray  # (G, 2) sum of (1 - score)^2
    lowest: np.ndarray  # (G, 2) smallest score (NaN where no row)
    highest: np.ndarray  # (G, 2) largest score
    level_rows: np.ndarray  # (G, 2, LEVELS) rows per score level
    level_scores: np.ndarray  # (G, 2, LEVELS) sum of scores per level
    prediction: str  # the prediction column's name (y_pred, or y_score when thresholded)
    threshold: float | None

    def cells(self) -> np.ndarray:
        """Expected cells ``[tn, fp, fn, tp]`` per group, shape ``(G, 4)`` (fractional)."""
        import numpy as np

        out = np.empty((len(self.groups), 4))
        out[:, TP] = self.expected[:, 1]
        out[:, FP] = self.rows[:, 1] - self.expected[:, 1]
        out[:, FN] = self.expected[:, 0]
        out[:, TN] = self.rows[:, 0] - self.expected[:, 0]
        return out


def summarize_scores(
    df: pd.DataFrame,
    *,
    y_score: str,
    sensitive_features: str | Sequence[str],
    y_pred: str | None = None,
    threshold: float | None = None,
    pos_label: Any = 1,
) -> ScoreSummary:
    """Reduce scored rows to :class:`ScoreSummary` (one pass; nothing per row is kept).

    :param y_score: column of calibrated scores, ``P(y = pos_label)``, in ``[0, 1]``.
    :param sensitive_features: the group columns (missing values form a group of their own).
    :param y_pred: column of predictions (``pos_label`` is the positive one); or leave it out
        and give ``threshold``: predicted positive when ``score >= threshold``.
    :raises SpecError: neither or both of ``y_pred`` and ``threshold``.
    :raises DataError: a missing column, scores missing, outside ``[0, 1]`` or not numeric.
    """
    import numpy as np

    features = [sensitive_features] if isinstance(sensitive_features, str) else list(sensitive_features)
    if (y_pred is None) == (threshold is None):
        raise SpecError(
            "give y_pred (a column of predictions) or threshold (predicted positive when "
            "y_score >= threshold), not both and not neither"
        )
    needed = [y_score, *features] + ([y_pred] if y_pred else [])
    absent = [c for c in needed if c not in df.columns]
    if absent:
        raise DataError(f"column {absent[0]!r} is not in the data; columns: {', '.join(map(str, df.columns[:20]))}")
    score = _scores(df[y_score], y_score)
    predicted = df[y_pred].to_numpy() == pos_label if y_pred is not None else score >= threshold
    codes, groups = _groups(df, features)
    n_groups = len(groups)
    cell = codes * 2 + predicted.astype(np.int64)
    size = 2 * n_groups

    def per_cell(weights: np.ndarray | None) -> np.ndarray:
        return np.bincount(cell, weights=weights, minlength=size).reshape(n_groups, 2)

    lowest = np.full(size, np.inf)
    highest = np.full(size, -np.inf)
    np.minimum.at(lowest, cell, score)
    np.maximum.at(highest, cell, score)
    level = np.minimum((score * LEVELS).astype(np.int64), LEVELS - 1)
    slot = cell * LEVELS + level
    level_rows = np.bincount(slot, minlength=size * LEVELS).reshape(n_groups, 2, LEVELS)
    level_scores = np.bincount(slot, weights=score, minlength=size * LEVELS).reshape(n_groups, 2, LEVELS)
    rows = per_cell(None).astype(np.int64)
    empty = rows.ravel() == 0
    lowest[empty], highest[empty] = np.nan, np.nan
    return ScoreSummary(
        features,
        groups,
        rows,
        per_cell(score),
        per_cell(score * score),
        per_cell((1 - score) ** 2),
        lowest.reshape(n_groups, 2),
        highest.reshape(n_groups, 2),
        level_rows,
        level_scores,
        y_pred if y_pred is not None else y_score,
        threshold,
    )


def _scores(series: pd.Series, col: str) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        raise DataError(f"y_score column {col!r} must hold numbers (probabilities), got dtype {series.dtype}")
    score = series.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = int(np.isnan(score).sum())
    if missing:
        raise DataError(
            f"y_score column {col!r} has {missing:,} missing values; the estimate needs a score for "
            "every row: drop those rows or fill them"
        )
    outside = (score < 0) | (score > 1)
    if outside.any():
        raise DataError(
            f"y_score column {col!r} has {int(outside.sum()):,} values outside [0, 1] (e.g. "
            f"{float(score[outside][0])!r}); the estimate needs probabilities, not raw scores or logits"
        )
    return score


def _groups(df: pd.DataFrame, features: list[str]) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Intersectional group codes ``0..G-1`` (groups sorted as the fairness engine sorts them)."""
    import numpy as np
    import pandas as pd

    combined = np.zeros(len(df), dtype=np.int64)
    values: list[list[Any]] = []
    for col in features:
        try:
            codes, uniques = pd.factorize(df[col], sort=True, use_na_sentinel=False)
        except TypeError:  # values that do not compare: order of appearance
            codes, uniques = pd.factorize(df[col], sort=False, use_na_sentinel=False)
        values.append([None if pd.isna(v) else v for v in uniques.tolist()])
        combined = combined * len(uniques) + codes
    present, codes = np.unique(combined, return_inverse=True)
    levels = (
        np.stack(np.unravel_index(present, tuple(len(v) for v in values)), axis=1) if features else present[:, None]
    )
    groups = [
        {f: values[j][int(code)] for j, (f, code) in enumerate(zip(features, row, strict=True))} for row in levels
    ]
    return codes.astype(np.int64), groups


def to_cell_table(
    summary: ScoreSummary, *, label: str = LABEL, weight: str = WEIGHT, source: str | None = None
) -> CellTable:
    """The expected cells as a :class:`CellTable` (see the module docstring).

    Call the engines with ``y_true=label``, ``sample_weight=weight``, ``pos_label=1`` and the
    prediction as the summary read it: ``y_pred=summary.prediction`` (the table holds 1 for
    ``pos_label`` and 0 otherwise), or ``y_score=summary.prediction, threshold=summary.threshold``.
    """
    import numpy as np
    import pandas as pd

    if label in summary.features or weight in summary.features or summary.prediction in (label, weight):
        raise SpecError(f"label={label!r} and weight={weight!r} must differ from the feature and prediction columns")
    n_groups = len(summary.groups)
    positive_rows = np.clip(np.rint(summary.expected), 0, summary.rows).astype(np.int64)
    records: dict[str, list[Any]] = {f: [] for f in summary.features}
    for name in (label, summary.prediction, ROWS, WEIGHT_SUM, WEIGHT_SQ, WEIGHT_MIN):
        records[name] = []
    for g in range(n_groups):
        for pred in (0, 1):
            if summary.rows[g, pred] == 0:
                continue
            for lab in (1, 0):
                for f in summary.features:
                    records[f].append(summary.groups[g][f])
                records[label].append(lab)
                records[summary.prediction].append(float(pred) if summary.threshold is not None else pred)
                ones = positive_rows[g, pred]
                records[ROWS].append(int(ones if lab else summary.rows[g, pred] - ones))
                if lab:
                    records[WEIGHT_SUM].append(summary.expected[g, pred])
                    records[WEIGHT_SQ].append(summary.squares[g, pred])
                    records[WEIGHT_MIN].append(summary.lowest[g, pred])
                else:
                    records[WEIGHT_SUM].append(summary.rows[g, pred] - summary.expected[g, pred])
                    records[WEIGHT_SQ].append(summary.squares_complement[g, pred])
                    records[WEIGHT_MIN].append(1.0 - summary.highest[g, pred])
    frame = pd.DataFrame(records)
    frame[WEIGHT_MISSING] = False
    thresholded = summary.threshold is not None
    keys = CellKeys.of(
        summary.features,
        label,
        None if thresholded else summary.prediction,
        summary.prediction if thresholded else None,
        summary.threshold,
        weight,
    )
    return build(frame, keys, source=source)


def expected_cells(df: pd.DataFrame, *, source: str | None = None, **options: Any) -> CellTable:
    """:func:`to_cell_table` of :func:`summarize_scores` (``options`` go to the latter)."""
    return to_cell_table(summarize_scores(df, **options), source=source)


# -- intervals --------------------------------------------------------------------------------
@dataclass
class Intervals:
    """Per metric: the estimate and the interval of the value the labels will give.

    ``by_group[metric]`` and ``bounds[metric]`` have one entry per group (``summary.groups``
    order); ``aggregates[(metric, kind)]`` holds ``estimate``, ``low``, ``high`` and ``median`` for
    ``difference`` and ``ratio`` between groups. NaN where a value is undefined (an empty
    denominator).

    ``estimate`` is the value of the expected cells (what the fairness engine reports on the
    expected cell table). The interval is that of the *realised* value: for a spread between
    groups (max - min), label noise widens the realised spread, so when groups are close the
    realised difference sits above the expected one, and the interval (and ``median``, the
    draws' median) can lie above ``estimate``.
    """

    groups: list[dict[str, Any]]
    confidence: float
    n_draws: int
    by_group: dict[str, np.ndarray] = field(default_factory=dict)
    bounds: dict[str, np.ndarray] = field(default_factory=dict)  # (G, 2): low, high
    overall: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    aggregates: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)


def draw_cells(summary: ScoreSummary, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """``n_draws`` realisations of the confusion cells, labels drawn from the scores:
    shape ``(n_draws, G, 4)``."""
    import numpy as np

    rows, means = (
        summary.level_rows,
        np.divide(
            summary.level_scores,
            summary.level_rows,
            out=np.zeros(summary.level_rows.shape),
            where=summary.level_rows > 0,
        ),
    )
    filled = np.flatnonzero(rows.ravel())
    drawn = rng.binomial(rows.ravel()[filled], np.clip(means.ravel()[filled], 0, 1), size=(n_draws, len(filled)))
    cell_of = filled // LEVELS  # index into (G * 2), nondecreasing
    cells, starts = np.unique(cell_of, return_index=True)
    positives = np.zeros((n_draws, rows.shape[0] * 2))
    if len(filled):
        positives[:, cells] = np.add.reduceat(drawn, starts, axis=1)
    positives = positives.reshape(n_draws, -1, 2)
    out = np.empty((n_draws, rows.shape[0], 4))
    out[..., TP] = positives[..., 1]
    out[..., FP] = summary.rows[:, 1] - positives[..., 1]
    out[..., FN] = positives[..., 0]
    out[..., TN] = summary.rows[:, 0] - positives[..., 0]
    return out


def label_uncertainty(
    summary: ScoreSummary,
    metrics: Sequence[str] = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy"),
    *,
    confidence: float = 0.95,
    n_draws: int = 1000,
    seed: int | None = 0,
    aggregates: Sequence[Literal["difference", "ratio"]] = ("difference", "ratio"),
) -> Intervals:
    """Estimates and intervals for the metrics once labels arrive (see the module docstring).

    The formulas are the fairness engine's (``binary.metrics.rate`` and ``aggregate``,
    between groups), applied to the expected cells and to each draw.

    :raises SpecError: an unknown metric, or ``confidence`` outside (0, 1).
    """
    import numpy as np

    if not 0 < confidence < 1:
        raise SpecError(f"confidence: expected a level between 0 and 1 (e.g. 0.95), got {confidence!r}")
    for name in metrics:
        if name not in ESTIMABLE:
            raise SpecError(
                f"metric {name!r} cannot be estimated from expected cells; metrics: {', '.join(sorted(ESTIMABLE))}"
            )
    rng = np.random.default_rng(seed)
    point = summary.cells()
    draws = draw_cells(summary, n_draws, rng)
    out = Intervals(summary.groups, confidence, n_draws)
    for name in metrics:
        value, values = fm.rate(name, point), fm.rate(name, draws)
        overall, overalls = float(fm.rate(name, point.sum(axis=0))), fm.rate(name, draws.sum(axis=1))
        out.by_group[name] = value
        out.bounds[name] = fm.interval(values, confidence).T
        low, high = fm.interval(overalls, confidence)
        out.overall[name] = (overall, float(low), float(high))
        for kind in aggregates:
            estimate = float(fm.aggregate(value, np.asarray(overall), kind))
            spread = fm.aggregate(values, overalls, kind)
            low, high = fm.interval(spread, confidence)
            median = float(np.nanmedian(spread)) if not np.isnan(spread).all() else float("nan")
            out.aggregates[(name, kind)] = {
                "estimate": estimate,
                "low": float(low),
                "high": float(high),
                "median": median,
            }
    return out


# -- calibration ----------------------------------------------------------------------------
@dataclass
class GroupCalibration:
    """One group's calibration on the labelled window (``judged`` False: too few rows)."""

    group: dict[str, Any]
    rows: int
    ece: float
    hosmer_lemeshow: float
    dof: int
    pvalue: float
    judged: bool
    bins: list[dict[str, float]]


@dataclass
class Calibration:
    """Whether scores can stand in for labels.

    ``status``: ``calibrated`` (every judged group's ECE is within ``ece_max`` and its
    Hosmer-Lemeshow p-value is at least ``alpha / groups``); ``approximate`` (ECE within the
    bound, but the test detects miscalibration: the estimates are off by about the ECE at most,
    and the intervals are too narrow); ``miscalibrated`` (a group's ECE is above the bound: do
    not trust the estimate); ``unknown`` (no group large enough to judge).
    """

    status: Literal["calibrated", "approximate", "miscalibrated", "unknown"]
    reasons: list[str]
    groups: list[GroupCalibration]
    ece_max: float
    alpha: float


def calibration_check(
    df: pd.DataFrame,
    *,
    y_true: str,
    y_score: str,
    sensitive_features: str | Sequence[str],
    pos_label: Any = 1,
    bins: int = 10,
    ece_max: float = 0.05,
    alpha: float = 0.05,
    min_group_size: int = 100,
) -> Calibration:
    """Check the scores' calibration per group on labelled rows.

    Per group, the rows are cut into ``bins`` bins of equal size by score (deciles of risk).
    ``ECE = sum_b (n_b / n) |observed_b - mean score_b|``; the Hosmer-Lemeshow statistic
    ``H = sum_b (O_b - E_b)^2 / (E_b (1 - E_b / n_b))`` (``O_b`` positives, ``E_b`` the sum of
    scores) is compared with a chi-square with ``bins`` degrees of freedom (the scores were not
    fitted on this window; the ``bins - 2`` of the original test is for the fitting data).
    Groups are tested at ``alpha / groups`` (Bonferroni).

    :raises DataError: a missing column or invalid scores (as :func:`summarize_scores`).
    """
    from scipy.stats import chi2

    features = [sensitive_features] if isinstance(sensitive_features, str) else list(sensitive_features)
    if y_true not in df.columns:
        raise DataError(f"y_true column {y_true!r} is not in the data")
    score = _scores(df[y_score], y_score)
    positive = (df[y_true].to_numpy() == pos_label).astype(float)
    codes, groups = _groups(df, features)
    per_group, reasons = [], []
    for g, group in enumerate(groups):
        mask = codes == g
        ece, h, dof, table = _calibration(score[mask], positive[mask], bins)
        p = float(chi2.sf(h, dof)) if dof else 1.0
        per_group.append(
            GroupCalibration(group, int(mask.sum()), ece, h, dof, p, bool(mask.sum() >= min_group_size), table)
        )
    judged = [c for c in per_group if c.judged]
    if not judged:
        return Calibration("unknown", [f"no group has {min_group_size} labelled rows"], per_group, ece_max, alpha)
    level = alpha / len(judged)
    off = [c for c in judged if c.ece > ece_max]
    tested = [c for c in judged if c.pvalue < level]
    for c in off:
        reasons.append(f"{_label(c.group)}: ECE {c.ece:.3f} above {ece_max:g}")
    for c in tested:
        reasons.append(f"{_label(c.group)}: Hosmer-Lemeshow p = {c.pvalue:.2g} below {level:.2g}")
    status = "miscalibrated" if off else "approximate" if tested else "calibrated"
    return Calibration(status, reasons, per_group, ece_max, alpha)


def _calibration(
    score: np.ndarray, positive: np.ndarray, bins: int
) -> tuple[float, float, int, list[dict[str, float]]]:
    import numpy as np

    order = np.argsort(score, kind="stable")
    parts = [p for p in np.array_split(order, min(bins, len(order))) if len(p)]
    ece = h = 0.0
    dof = 0
    table = []
    for part in parts:
        n_b = len(part)
        expected, observed = float(score[part].sum()), float(positive[part].sum())
        ece += abs(observed - expected) / len(score)
        variance = expected * (1 - expected / n_b)
        if variance > 0:
            h += (observed - expected) ** 2 / variance
            dof += 1
        elif observed != expected:
            h = float("inf")
            dof += 1
        table.append({"rows": n_b, "mean_score": expected / n_b, "observed_rate": observed / n_b})
    return ece, h, dof, table


def _label(group: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


# -- the check --------------------------------------------------------------------------------
TRUSTED = ("calibrated", "approximate")  # calibration statuses under which an estimate is judged


def evaluate(
    scored: pd.DataFrame,
    *,
    y_score: str,
    sensitive_features: str | Sequence[str],
    constraints: Any,
    y_pred: str | None = None,
    threshold: float | None = None,
    pos_label: Any = 1,
    labelled: pd.DataFrame | None = None,
    y_true: str | None = None,
    min_group_size: int = 30,
    confidence: float = 0.95,
    n_draws: int = 1000,
    ece_max: float = 0.05,
    alpha: float = 0.05,
    untrusted: Literal["warn", "judge"] = "warn",
    severity: str = "block",
    check_name: str | None = None,
    source: str | None = None,
    seed: int | None = 0,
) -> CheckResult:
    """Judge fairness ``constraints`` on predictions whose labels have not arrived yet.

    The expected cells of ``scored`` go through ``fairness.evaluate`` unchanged (same metrics,
    aggregates, constraints and summary); each assertion on a difference or ratio between groups
    gets the interval of the value the labels will give (``details["label_interval"]``), and
    ``metrics["estimated"]`` holds every interval and the calibration check of ``labelled`` (the
    last window whose labels have landed, with ``y_true``).

    The estimate is trusted when the scores are ``calibrated`` (or ``approximate``) in every
    group of the labelled window. Otherwise (``miscalibrated``, or ``unknown``: no labelled
    window, or no group large enough) ``untrusted="warn"`` makes the result ``warned`` whatever
    the estimate says, since it can neither clear nor block the model; ``"judge"`` keeps the
    estimate's status. The summary starts with what the estimate rests on.

    :raises SpecError: ``labelled`` without ``y_true``, an unknown ``untrusted``, or what
        ``fairness.evaluate`` and :func:`summarize_scores` raise.
    """
    if untrusted not in ("warn", "judge"):
        raise SpecError(f"untrusted: expected 'warn' or 'judge', got {untrusted!r}")
    if labelled is not None and y_true is None:
        raise SpecError("labelled: give y_true, the label column of the labelled window, to check calibration")
    summary = summarize_scores(
        scored,
        y_score=y_score,
        sensitive_features=sensitive_features,
        y_pred=y_pred,
        threshold=threshold,
        pos_label=pos_label,
    )
    if threshold is not None:
        prediction = {"y_score": summary.prediction, "threshold": threshold}
    else:
        prediction = {"y_pred": summary.prediction}
    result = fairness.evaluate(
        to_cell_table(summary, source=source),
        y_true=LABEL,
        sample_weight=WEIGHT,
        pos_label=1,
        **prediction,
        sensitive_features=sensitive_features,
        constraints=constraints,
        min_group_size=min_group_size,
        severity=severity,
        check_name=check_name or "estimated_fairness",
    )
    if labelled is None:
        calibration = Calibration(
            "unknown", ["no labelled window to check the scores' calibration on"], [], ece_max, alpha
        )
    else:
        calibration = calibration_check(
            labelled,
            y_true=str(y_true),
            y_score=y_score,
            pos_label=pos_label,
            sensitive_features=sensitive_features,
            ece_max=ece_max,
            alpha=alpha,
        )
    shown = [m for m, block in result.metrics.items() if isinstance(block, dict) and "by_group" in block]
    intervals = label_uncertainty(
        summary, [m for m in shown if m in ESTIMABLE], confidence=confidence, n_draws=n_draws, seed=seed
    )
    _attach_intervals(result, intervals)
    trusted = calibration.status in TRUSTED
    result.metrics["estimated"] = _estimated_block(intervals, calibration, trusted)
    if trusted:
        basis = f"estimated from the scores ({calibration.status}), labels pending"
    else:
        basis = f"estimate NOT trusted (calibration {calibration.status}: {'; '.join(calibration.reasons[:3])})"
        if untrusted == "warn" and result.status in ("passed", "failed"):
            result.status = "warned"
    result.summary = f"{basis}: {result.summary}"
    return result


def _attach_intervals(result: CheckResult, intervals: Intervals) -> None:
    """``details["label_interval"]`` on each assertion on a difference or ratio between groups."""
    for a in result.assertions:
        if a.details.get("method", "between_groups") != "between_groups":
            continue
        found = intervals.aggregates.get((a.details.get("metric"), a.details.get("aggregate")))
        if found is not None:
            a.details["label_interval"] = [found["low"], found["high"]]


def _estimated_block(intervals: Intervals, calibration: Calibration, trusted: bool) -> dict[str, Any]:
    import numpy as np

    def number(value: float) -> float | None:
        return None if np.isnan(value) else float(value)

    per_group = {
        metric: [
            {"group": g, "estimate": number(v), "low": number(lo), "high": number(hi)}
            for g, v, (lo, hi) in zip(intervals.groups, values, intervals.bounds[metric], strict=True)
        ]
        for metric, values in intervals.by_group.items()
    }
    return {
        "trusted": trusted,
        "confidence": intervals.confidence,
        "n_draws": intervals.n_draws,
        "per_group": per_group,  # not "by_group": the report reads those blocks as metrics
        "overall": {
            m: dict(zip(("estimate", "low", "high"), map(number, v), strict=True)) for m, v in intervals.overall.items()
        },
        "aggregates": [
            {"metric": m, "aggregate": k, **{key: number(v) for key, v in values.items()}}
            for (m, k), values in intervals.aggregates.items()
        ],
        "calibration": {
            "status": calibration.status,
            "reasons": calibration.reasons,
            "ece_max": calibration.ece_max,
            "alpha": calibration.alpha,
            "groups": [
                {"group": c.group, "rows": c.rows, "ece": c.ece, "pvalue": c.pvalue, "judged": c.judged}
                for c in calibration.groups
            ],
        },
    }
