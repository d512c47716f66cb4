"""Fairness verdicts: constraints judged into assertions, the metrics block and the summary.

Works on the per-group values of :mod:`.fairness` (``View`` and ``MetricValues``); the
aggregate formulas themselves live in :mod:`._fairness_metrics`, one copy for the point
estimate and the bootstrap.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from airflow_alignment.engines import _fairness_metrics as fm
from airflow_alignment.exceptions import SpecError
from airflow_alignment.results import Assertion, CheckResult

if TYPE_CHECKING:
    from airflow_alignment.engines._fairness_inputs import Inputs
    from airflow_alignment.engines.fairness import MetricValues, View

NO_BASELINE = "no baseline result given: only the absolute bounds apply"
# The aggregates reported for every metric: (result key, aggregate, method).
_REPORTED = (
    ("group_min", "group_min", "between_groups"),
    ("group_max", "group_max", "between_groups"),
    ("difference", "difference", "between_groups"),
    ("ratio", "ratio", "between_groups"),
    ("difference_to_overall", "difference", "to_overall"),
    ("ratio_to_overall", "ratio", "to_overall"),
)
_TOLERANCE = 1e-12  # bounds and margins are judged with this slack against rounding


class Baseline:
    """The assertions' observed values of a previous result, by name."""

    def __init__(self, info: dict[str, Any], observed: dict[str, Any] | None = None) -> None:
        self.info, self.observed = info, observed


def load_baseline(baseline: Any, kind: str = "fairness") -> Baseline:
    """A ``CheckResult`` of ``kind``, its dict, or a path / URI of its JSON; ``None`` for no baseline."""
    from airflow_alignment.engines.fairness import load_result

    if baseline is None:
        return Baseline({"given": False, "message": NO_BASELINE})
    if isinstance(baseline, CheckResult):
        doc, where = baseline.to_dict(), "CheckResult"
    elif isinstance(baseline, Mapping):
        doc, where = dict(baseline), "dict"
    elif isinstance(baseline, (str, os.PathLike)):
        doc, where = load_result(os.fspath(baseline)), os.fspath(baseline)
    else:
        raise SpecError(f"baseline: expected a CheckResult, its dict, or a path / URI, got {type(baseline).__name__}")
    try:
        result = CheckResult.from_dict(doc)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"baseline: {where} is not a CheckResult: {exc}") from None
    if result.kind != kind:
        raise SpecError(f"baseline: {where} is a {result.kind!r} result, not a {kind} one")
    info = {
        "given": True,
        "source": where,
        "check": result.check,
        "status": result.status,
        "started_at": result.started_at,
    }
    return Baseline(info, {a.name: a.observed for a in result.assertions})


# -- one constraint on one view -------------------------------------------------------------
def judge(
    spec: dict[str, Any], view: View, values: dict[str, MetricValues], confidence: float | None, baseline: Baseline
) -> Assertion:
    name = spec["name"] if not view.key else f"{spec['name']} [{view.key}]"
    comps = [values[_key(m)] for m in spec["metrics"]]
    if spec["aggregate"] == "per_group":
        observed, success, details = _per_group(spec, view, comps[0], confidence)
    else:
        observed, success, details = _scalar(spec, view, comps, confidence)
    details = {
        "metric": spec["metric_name"],
        "aggregate": spec["aggregate"],
        "features": view.features,
        "decide_on": spec["decide_on"],
        **details,
    }
    if spec["aggregate"] in ("difference", "ratio"):
        details["method"] = spec["method"]
    if spec["agg"]:
        details["agg"] = spec["agg"]
    if confidence is not None:
        details["confidence"] = confidence
    if spec["rationale"]:
        details["rationale"] = spec["rationale"]
    compared = _compare(name, observed, spec, baseline)
    if compared is not None:
        details["baseline"] = compared
        success = success and compared.get("success", True)
    return Assertion(
        name=name,
        success=bool(success),
        observed=observed,
        expected={"min": spec["min"], "max": spec["max"]},
        severity=spec["severity"],
        details=details,
    )


def _key(metric: Any) -> str:
    return str(getattr(metric, "__name__", "metric")) if callable(metric) else str(metric)


def _scalar(
    spec: dict[str, Any], view: View, comps: list[MetricValues], confidence: float | None
) -> tuple[float | None, bool, dict[str, Any]]:
    kind, method = spec["aggregate"], spec["method"]
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
        observed = _combine(a, b, kind, spec["agg"])
        boot = None if boot_a is None or boot_b is None else _combine(boot_a, boot_b, kind, spec["agg"])
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
    ci = _ci(boot, confidence)
    success = _decide(observed, ci, spec, details)
    return observed, success, details


def _combine(a: Any, b: Any, kind: str, agg: str) -> Any:
    if agg == "mean":
        return (a + b) / 2
    return np.maximum(a, b) if kind == "difference" else np.minimum(a, b)


def _pair(mv: MetricValues, vals: np.ndarray, view: View, kind: str, method: str) -> dict[str, Any]:
    low, high = fm.arg_pair(vals, mv.overall, kind, method)
    if kind == "overall" or low is None:
        return {"groups": []} if kind != "overall" else {"groups": ["overall"], "values": [_num(mv.overall)]}
    groups: list[Any] = [view.groups[low]]
    shown = [_num(vals[low])]
    if high is not None:
        groups.append(view.groups[high])
        shown.append(_num(vals[high]))
    elif method == "to_overall" and kind in ("difference", "ratio"):
        groups.append("overall")
        shown.append(_num(mv.overall))
    return {"groups": groups, "values": shown}


def _per_group(
    spec: dict[str, Any], view: View, mv: MetricValues, confidence: float | None
) -> tuple[float | None, bool, dict[str, Any]]:
    idx = np.flatnonzero(view.included)
    cis = None
    if mv.boot is not None and confidence is not None:
        cis = fm.interval(mv.boot[:, idx], confidence)
    failing, excess = [], []
    for j, i in enumerate(idx):
        value = float(mv.values[i])
        ci = None if cis is None else _ci_pair(cis[0, j], cis[1, j])
        entry: dict[str, Any] = {"group": view.groups[i], "value": _num(value)}
        if ci is not None:
            entry["ci"] = ci
        if math.isnan(value):
            entry["reason"] = mv.reasons[i]
            ok, gap = False, math.inf
        else:
            ok, gap = _decide(value, ci, spec, {}), _excess(value, spec)
        excess.append(gap)
        if not ok:
            failing.append(entry)
    worst = int(np.argmax(excess))
    observed = _num(mv.values[idx[worst]])
    details: dict[str, Any] = {
        "groups": [view.groups[idx[worst]]],
        "values": [observed],
        "failing_groups": failing[:10],
        "failing_count": len(failing),
    }
    if observed is None:
        details["reason"] = mv.reasons[idx[worst]]
    return observed, not failing, details


def _excess(value: float, spec: dict[str, Any]) -> float:
    """How far ``value`` lies outside the bounds (negative: inside, by that much)."""
    gaps = [spec["min"] - value] if spec["min"] is not None else []
    gaps += [value - spec["max"]] if spec["max"] is not None else []
    return max(gaps) if gaps else -math.inf


def _decide(observed: float, ci: list[float] | None, spec: dict[str, Any], details: dict[str, Any]) -> bool:
    low, high, rule = spec["min"], spec["max"], spec["decide_on"]

    def inside(a: float, b: float) -> bool:  # is the span [a, b] inside the bounds?
        return (low is None or a >= low - _TOLERANCE) and (high is None or b <= high + _TOLERANCE)

    estimate = inside(observed, observed)
    if ci is not None:
        details["ci"] = ci
    if rule == "estimate":
        return estimate
    if ci is None:
        details["decided_on"] = "estimate"
        details["note"] = f"no confidence interval for {spec['metric_name']}: judged on the estimate"
        return estimate
    details["estimate_success"] = estimate
    if rule == "conservative":
        return inside(ci[0], ci[1])
    outside = (low is not None and ci[1] < low - _TOLERANCE) or (high is not None and ci[0] > high + _TOLERANCE)
    return not outside


def _ci(boot: np.ndarray | None, confidence: float | None) -> list[float] | None:
    if boot is None or confidence is None:
        return None
    low, high = fm.interval(boot, confidence)
    return _ci_pair(low, high)


def _ci_pair(low: float, high: float) -> list[float] | None:
    return [float(low), float(high)] if math.isfinite(low) and math.isfinite(high) else None


def _compare(name: str, observed: float | None, spec: dict[str, Any], baseline: Baseline) -> dict[str, Any] | None:
    margin = spec["baseline"]
    known = baseline.observed or {}
    if margin is None:
        if name in known and _is_num(known[name]) and observed is not None:
            return {"status": "reference", "baseline_observed": known[name], "change": observed - known[name]}
        return None
    if baseline.observed is None:
        return {"status": "no_baseline", "message": NO_BASELINE, **margin}
    if name not in known:
        return {
            "status": "missing",
            **margin,
            "message": f"the baseline result has no assertion {name!r}: only the absolute bounds apply",
        }
    before = known[name]
    if not _is_num(before) or observed is None:
        return {
            "status": "undefined",
            **margin,
            "baseline_observed": before,
            "message": "the value is undefined here or in the baseline: only the absolute bounds apply",
        }
    change = observed - before
    ((key, limit),) = margin.items()
    ok = (change if key == "max_increase" else -change) <= limit + _TOLERANCE
    return {"status": "compared", "baseline_observed": before, "change": change, key: limit, "success": ok}


def _is_num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _aggregate_reason(mv: MetricValues, vals: np.ndarray, view: View, kind: str, method: str) -> str:
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
    baseline: Baseline,
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
    block: dict[str, Any] = {name: _metric_block(mv, view, confidence) for name, mv in values.items()}
    sizes = view.counts.sum(axis=1)
    block["excluded_groups"] = [
        {"group": view.groups[i], "count": int(sizes[i])} for i in np.flatnonzero(~view.included)
    ]
    return block


def _metric_block(mv: MetricValues, view: View, confidence: float | None) -> dict[str, Any]:
    weighted = view.weighted
    cis = fm.interval(mv.boot, confidence) if mv.boot is not None and confidence is not None else None
    by_group = []
    for i in np.flatnonzero(view.included):
        entry: dict[str, Any] = {
            "group": view.groups[i],
            "value": _num(mv.values[i]),
            "count": int(view.counts[i].sum()),
        }
        if weighted:
            entry["weight"] = float(view.cells[i].sum())
        ci = None if cis is None else _ci_pair(cis[0, i], cis[1, i])
        if ci is not None:
            entry["ci"] = ci
        if mv.reasons[i]:
            entry["reason"] = mv.reasons[i]
        by_group.append(entry)
    block: dict[str, Any] = {"overall": _num(mv.overall), "by_group": by_group}
    if mv.boot_overall is not None and confidence is not None:
        ci = _ci(mv.boot_overall, confidence)
        if ci is not None:
            block["overall_ci"] = ci
    reasons = {"overall": mv.overall_reason} if mv.overall_reason else {}
    vals = np.where(view.included, mv.values, np.nan)
    for key, kind, method in _REPORTED:
        value = float(fm.aggregate(vals, np.float64(mv.overall), kind, method))
        block[key] = _num(value)
        if math.isnan(value):
            reasons[key] = _aggregate_reason(mv, vals, view, kind, method)
    if reasons:
        block["reasons"] = reasons
    return block


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# -- summary --------------------------------------------------------------------------------
def summary(assertions: list[Assertion], n_groups: int, rows: int, features: list[str]) -> str:
    failed = [a for a in assertions if a.success is False]
    if not failed:
        scope = f"on {rows:,} rows, {n_groups} groups of {', '.join(features)}"
        tight = [a for a in assertions if a.observed is not None and _bounded(a)]
        closest = ""
        if tight:
            near = max(tight, key=lambda a: _gap(a))
            closest = f"; closest: {_describe(near)}"
        return f"all {len(assertions)} fairness constraints passed {scope}{closest}"
    failed.sort(key=lambda a: (a.severity != "block", a.observed is None, -_gap(a)))
    blocking = sum(a.severity == "block" for a in failed)
    counts = f"{len(failed)} of {len(assertions)} constraints failed"
    if blocking != len(failed):
        counts += f" ({blocking} blocking, {len(failed) - blocking} warning)"
    return f"{_describe(failed[0])}; {counts}"


def _bounded(a: Assertion) -> bool:
    return a.expected["min"] is not None or a.expected["max"] is not None


def _gap(a: Assertion) -> float:
    if a.observed is None or not _bounded(a):
        return -math.inf
    return _excess(a.observed, a.expected)


def _describe(a: Assertion) -> str:
    d = a.details
    if a.observed is None:
        return f"{a.name} is undefined ({d.get('reason', 'no value')})"
    bounds = ", ".join(f"{k} {_fmt(v)}" for k, v in a.expected.items() if v is not None)
    if "ci" in d and d.get("decide_on") != "estimate":
        bounds = f"{_percent(d)}CI {_fmt(d['ci'][0])} to {_fmt(d['ci'][1])}; {bounds}, decide_on={d['decide_on']}"
    text = f"{a.name} = {_fmt(a.observed)} ({bounds})" if bounds else f"{a.name} = {_fmt(a.observed)}"
    text += _where(d)
    cmp = d.get("baseline") or {}
    if cmp.get("status") == "compared" and not cmp["success"]:
        key = "max_increase" if "max_increase" in cmp else "max_decrease"
        way = "up" if cmp["change"] > 0 else "down"
        text += (
            f", {way} {_fmt(abs(cmp['change']))} from the baseline {_fmt(cmp['baseline_observed'])} "
            f"({key} {_fmt(cmp[key])})"
        )
    return text


def _percent(d: dict[str, Any]) -> str:
    return f"{d['confidence']:.0%} " if "confidence" in d else ""


def _where(d: dict[str, Any]) -> str:
    groups = d.get("groups") or []
    if d.get("aggregate") == "per_group" and groups:
        return (
            f" in {groups[0]} ({d['failing_count']} groups out of bounds)"
            if d.get("failing_count")
            else (f" in {groups[0]}")
        )
    if len(groups) == 2:
        return f" between {groups[0]} and {groups[1]}"
    if len(groups) == 1 and groups[0] != "overall":
        return f" in {groups[0]}"
    return " overall" if groups == ["overall"] else ""


def _fmt(value: float) -> str:
    if isinstance(value, int) or abs(value) >= 1000:
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return f"{value:.4g}"
