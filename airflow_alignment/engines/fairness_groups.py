"""Fairness by group: the groupings of a check, each metric's per-group values, and the
constraints judged on them.

A *view* is one way of grouping the rows: the intersectional groups of every sensitive
feature, or (``marginal``) one feature alone. Each view holds the cell counts of its groups;
each metric gets per-group values, an overall value and bootstrap replicates. Constraints are
judged per view into assertions, and the views become the result's metrics block. The
aggregate formulas live in :mod:`.binary.metrics`, one copy for the point estimate and the
bootstrap; bounds, intervals and baselines are judged by :mod:`.binary.judging`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.binary import judging
from airflow_alignment.engines.binary import metrics as fm
from airflow_alignment.exceptions import DataError
from airflow_alignment.limits import MAX_BOOTSTRAP_DRAWS
from airflow_alignment.results import Assertion
from airflow_alignment.specs.metrics import COUNT_METRICS

if TYPE_CHECKING:
    import numpy as np

    from airflow_alignment.engines.binary.inputs import Inputs
    from airflow_alignment.specs.constraints import Constraint
    from airflow_alignment.specs.fairness import FairnessSpec

# The aggregates reported for every metric: (result key, aggregate, method).
_REPORTED = (
    ("group_min", "group_min", "between_groups"),
    ("group_max", "group_max", "between_groups"),
    ("difference", "difference", "between_groups"),
    ("ratio", "ratio", "between_groups"),
    ("difference_to_overall", "difference", "to_overall"),
    ("ratio_to_overall", "ratio", "to_overall"),
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


def views(inputs: Inputs, spec: FairnessSpec) -> list[View]:
    """The intersectional view, then (``marginal``) one view per feature; with ``confidence``,
    each view's bootstrap replicates (drawn once, merged into the marginal views)."""
    import numpy as np

    n_groups = len(inputs.groups)
    counts = fm.cell_counts(inputs.codes, n_groups, inputs.positive, _predicted(inputs), inputs.multiplicity)
    if inputs.multiplicity is not None:  # sums of whole numbers: exact in float64, integers as from rows
        counts = counts.astype(np.int64)
    cells, cells_sq = counts, None
    if inputs.weight is not None:
        squares = inputs.weight**2 if inputs.weight_sq is None else inputs.weight_sq
        cells = fm.cell_counts(inputs.codes, n_groups, inputs.positive, _predicted(inputs), inputs.weight)
        cells_sq = fm.cell_counts(inputs.codes, n_groups, inputs.positive, _predicted(inputs), squares)
    min_group_size = spec.min_group_size
    views = [View("", inputs.features, inputs.groups, counts, cells, None, min_group_size)]
    if spec.marginal and len(inputs.features) > 1:
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
    if spec.confidence is not None:
        _check_bootstrap_size(spec.n_boot, n_groups)
        rng = np.random.default_rng(spec.random_state)
        boot_cells, boot_counts = fm.bootstrap_cells(
            counts, None if cells is counts else cells, cells_sq, spec.n_boot, rng
        )
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


def metric_values(view: View, inputs: Inputs, reported: dict[str, Any]) -> dict[str, MetricValues]:
    return {name: _metric_values(name, m, view, inputs) for name, m in reported.items()}


def _metric_values(name: str, metric: Any, view: View, inputs: Inputs) -> MetricValues:
    """Count metrics from the view's cells; score metrics from the rows, or (a cell table
    with scores) from the values computed where the data lives; callables from the rows."""
    if metric in COUNT_METRICS:
        return _count_metric(name, view)
    if inputs.scores is not None and isinstance(metric, str):
        return _scored_metric(name, metric, view, inputs)
    return _frame_metric(name, metric, view, inputs)


def _count_metric(name: str, view: View) -> MetricValues:
    import numpy as np

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


def _scored_metric(name: str, metric: str, view: View, inputs: Inputs) -> MetricValues:
    """A score metric of each group of the view, computed where the data lives, on the rows
    the check keeps (those with a missing value in a column it drops them for are left out)."""
    import numpy as np

    assert inputs.scores is not None
    found, overall = inputs.scores.metric(metric, view.features, not_null=list(inputs.dropped))
    values = np.array([found.get(tuple(g[f] for f in view.features), np.nan) for g in view.groups], dtype=float)
    reason = fm.SCORE_REASONS.get(metric, "undefined")
    reasons = [reason if np.isnan(v) else None for v in values]
    overall_reason = reason.replace("the group", "the data") if math.isnan(overall) else None
    return MetricValues(name, values, overall, reasons, overall_reason)


# -- one constraint on one view -------------------------------------------------------------
def judge(
    constraint: Constraint,
    view: View,
    values: dict[str, MetricValues],
    confidence: float | None,
    baseline: judging.Baseline,
) -> Assertion:
    """One constraint on one view, as an assertion."""
    name = constraint.name if not view.key else f"{constraint.name} [{view.key}]"
    comps = [values[_key(m)] for m in constraint.metrics]
    if constraint.aggregate == "per_group":
        observed, success, details = _per_group(constraint, view, comps[0], confidence)
    else:
        observed, success, details = _scalar(constraint, view, comps, confidence)
    details = {
        "metric": constraint.metric_name,
        "aggregate": constraint.aggregate,
        "features": view.features,
        "decide_on": constraint.decide_on,
        **details,
    }
    if constraint.aggregate in ("difference", "ratio"):
        details["method"] = constraint.method
    if constraint.agg:
        details["agg"] = constraint.agg
    if confidence is not None:
        details["confidence"] = confidence
    if constraint.rationale:
        details["rationale"] = constraint.rationale
    compared = judging.compare(name, observed, constraint, baseline)
    if compared is not None:
        details["baseline"] = compared
        success = success and compared.get("success", True)
    return Assertion(
        name=name,
        success=bool(success),
        observed=observed,
        expected=constraint.bounds,
        severity=constraint.severity,
        details=details,
    )


def _key(metric: Any) -> str:
    return str(getattr(metric, "__name__", "metric")) if callable(metric) else str(metric)


def _scalar(
    constraint: Constraint, view: View, comps: list[MetricValues], confidence: float | None
) -> tuple[float | None, bool, dict[str, Any]]:
    import numpy as np

    kind, method = constraint.aggregate, constraint.method
    parts = []
    for mv in comps:
        vals = np.where(view.included, mv.values, np.nan)
        point = float(fm.aggregate(vals, np.float64(mv.overall), kind, method))
        boot = None
        if mv.boot is not None and mv.boot_overall is not None:
            boot = fm.aggregate(np.where(view.included, mv.boot, np.nan), mv.boot_overall, kind, method)
        parts.append((mv, vals, point, boot))
    winner = 0
    if len(parts) == 2:
        (_, _, a, boot_a), (_, _, b, boot_b) = parts
        winner = int(b > a) if kind == "difference" else int(b < a)
        observed = _combine(a, b, kind, constraint.agg)
        boot = None if boot_a is None or boot_b is None else _combine(boot_a, boot_b, kind, constraint.agg)
    else:
        observed, boot = parts[0][2], parts[0][3]
    details: dict[str, Any] = _pair(parts[winner][0], parts[winner][1], view, kind, method)
    if len(parts) == 2:
        details["component"] = parts[winner][0].name
        details["components"] = {mv.name: point for mv, _, point, _ in parts}
    if math.isnan(observed):
        mv, vals = next(((mv, vals) for mv, vals, point, _ in parts if math.isnan(point)), parts[0][:2])
        details["reason"] = _aggregate_reason(mv, vals, view, kind, method)
        return None, False, details
    ci = judging.ci(boot, confidence)
    success = judging.decide(observed, ci, constraint, details)
    return observed, success, details


def _combine(a: Any, b: Any, kind: str, agg: str) -> Any:
    import numpy as np

    if agg == "mean":
        return (a + b) / 2
    return np.maximum(a, b) if kind == "difference" else np.minimum(a, b)


def _pair(mv: MetricValues, vals: np.ndarray, view: View, kind: str, method: str) -> dict[str, Any]:

    low, high = fm.arg_pair(vals, mv.overall, kind, method)
    if kind == "overall" or low is None:
        return {"groups": []} if kind != "overall" else {"groups": ["overall"], "values": [judging.num(mv.overall)]}
    groups: list[Any] = [view.groups[low]]
    shown = [judging.num(vals[low])]
    if high is not None:
        groups.append(view.groups[high])
        shown.append(judging.num(vals[high]))
    elif method == "to_overall" and kind in ("difference", "ratio"):
        groups.append("overall")
        shown.append(judging.num(mv.overall))
    return {"groups": groups, "values": shown}


def _per_group(
    constraint: Constraint, view: View, mv: MetricValues, confidence: float | None
) -> tuple[float | None, bool, dict[str, Any]]:
    import numpy as np

    idx = np.flatnonzero(view.included)
    cis = None
    if mv.boot is not None and confidence is not None:
        cis = fm.interval(mv.boot[:, idx], confidence)
    failing, excess = [], []
    for j, i in enumerate(idx):
        value = float(mv.values[i])
        ci = None if cis is None else judging.ci_pair(cis[0, j], cis[1, j])
        entry: dict[str, Any] = {"group": view.groups[i], "value": judging.num(value)}
        if ci is not None:
            entry["ci"] = ci
        if math.isnan(value):
            entry["reason"] = mv.reasons[i]
            ok, gap = False, math.inf
        else:
            ok, gap = judging.decide(value, ci, constraint, {}), judging.excess(value, constraint.bounds)
        excess.append(gap)
        if not ok:
            failing.append(entry)
    worst = int(np.argmax(excess))
    observed = judging.num(mv.values[idx[worst]])
    details: dict[str, Any] = {
        "groups": [view.groups[idx[worst]]],
        "values": [observed],
        "failing_groups": failing[:10],
        "failing_count": len(failing),
    }
    if observed is None:
        details["reason"] = mv.reasons[idx[worst]]
    return observed, not failing, details


def _aggregate_reason(mv: MetricValues, vals: np.ndarray, view: View, kind: str, method: str) -> str:
    import numpy as np

    defined = ~np.isnan(vals)
    undefined = [f"{view.groups[i]}: {mv.reasons[i]}" for i in np.flatnonzero(view.included & ~defined)[:5]]
    if kind == "overall" or (method == "to_overall" and math.isnan(mv.overall)):
        return f"the overall {mv.name} is undefined: {mv.overall_reason}"
    if kind in ("group_min", "group_max"):
        return f"no group has a defined {mv.name} ({'; '.join(undefined)})"
    if defined.sum() < 2:
        return f"fewer than two groups have a defined {mv.name} ({'; '.join(undefined)})"
    if method == "to_overall":
        return f"the overall {mv.name} is 0, so no ratio to it is defined"
    return f"every group has {mv.name} 0: the ratio 0/0 is undefined"


# -- result blocks --------------------------------------------------------------------------
def metrics_block(
    views: list[View],
    values: dict[str, dict[str, MetricValues]],
    inputs: Inputs,
    baseline: judging.Baseline,
    confidence: float | None,
    settings: dict[str, Any],
) -> dict[str, Any]:
    main = views[0]
    out: dict[str, Any] = {"settings": settings, **_view_block(main, values[main.key], confidence)}
    if inputs.dropped:
        out["dropped_rows"] = inputs.dropped
    out["baseline"] = baseline.info
    if len(views) > 1:
        out["marginal"] = {v.key: _view_block(v, values[v.key], confidence) for v in views[1:]}
    return out


def _view_block(view: View, values: dict[str, MetricValues], confidence: float | None) -> dict[str, Any]:
    import numpy as np

    block: dict[str, Any] = {name: _metric_block(mv, view, confidence) for name, mv in values.items()}
    sizes = view.counts.sum(axis=1)
    block["excluded_groups"] = [
        {"group": view.groups[i], "count": int(sizes[i])} for i in np.flatnonzero(~view.included)
    ]
    return block


def _metric_block(mv: MetricValues, view: View, confidence: float | None) -> dict[str, Any]:
    import numpy as np

    weighted = view.weighted
    cis = fm.interval(mv.boot, confidence) if mv.boot is not None and confidence is not None else None
    by_group = []
    for i in np.flatnonzero(view.included):
        entry: dict[str, Any] = {
            "group": view.groups[i],
            "value": judging.num(mv.values[i]),
            "count": int(view.counts[i].sum()),
        }
        if weighted:
            entry["weight"] = float(view.cells[i].sum())
        ci = None if cis is None else judging.ci_pair(cis[0, i], cis[1, i])
        if ci is not None:
            entry["ci"] = ci
        if mv.reasons[i]:
            entry["reason"] = mv.reasons[i]
        by_group.append(entry)
    block: dict[str, Any] = {"overall": judging.num(mv.overall), "by_group": by_group}
    if mv.boot_overall is not None and confidence is not None:
        ci = judging.ci(mv.boot_overall, confidence)
        if ci is not None:
            block["overall_ci"] = ci
    reasons = {"overall": mv.overall_reason} if mv.overall_reason else {}
    vals = np.where(view.included, mv.values, np.nan)
    for key, kind, method in _REPORTED:
        value = float(fm.aggregate(vals, np.float64(mv.overall), kind, method))
        block[key] = judging.num(value)
        if math.isnan(value):
            reasons[key] = _aggregate_reason(mv, vals, view, kind, method)
    if reasons:
        block["reasons"] = reasons
    return block
