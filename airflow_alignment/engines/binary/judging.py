"""Judging binary-classification metrics: bounds, confidence intervals and baselines.

What fairness and performance judge alike, whatever the grouping: a value (and its bootstrap
interval) against a :class:`~airflow_alignment.specs.Constraint`'s bounds under its
``decide_on`` rule (:func:`decide`); the change against a baseline result (:func:`load_baseline`,
:func:`compare`); the one-sentence summary of the assertions (:func:`summary`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.binary import metrics as fm
from airflow_alignment.exceptions import SourceUnavailableError, SpecError
from airflow_alignment.io import object_path
from airflow_alignment.results import Assertion, CheckResult

if TYPE_CHECKING:
    import numpy as np

    from airflow_alignment.specs.constraints import Constraint

NO_BASELINE = "no baseline result given: only the absolute bounds apply"
TOLERANCE = 1e-12  # bounds and margins are judged with this slack against rounding


class Baseline:
    """The assertions' observed values of a previous result, by name."""

    def __init__(self, info: dict[str, Any], observed: dict[str, Any] | None = None) -> None:
        self.info, self.observed = info, observed


def load_baseline(baseline: Any, kind: str = "fairness") -> Baseline:
    """A ``CheckResult`` of ``kind``, its dict, or a path / URI of its JSON; ``None`` for no baseline."""
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


def load_result(location: str) -> dict[str, Any]:
    """A stored ``CheckResult`` JSON document from a path or URI (``s3://conn_id@bucket/...``
    through Airflow's object storage, see :func:`airflow_alignment.io.object_path`)."""
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


# -- a value against its bounds ---------------------------------------------------------------
def excess(value: float, bounds: Mapping[str, float | None]) -> float:
    """How far ``value`` lies outside ``{"min": ..., "max": ...}`` (negative: inside, by that much)."""
    gaps = [bounds["min"] - value] if bounds["min"] is not None else []
    gaps += [value - bounds["max"]] if bounds["max"] is not None else []
    return max(gaps) if gaps else -math.inf


def decide(observed: float, ci: list[float] | None, constraint: Constraint, details: dict[str, Any]) -> bool:
    """Whether ``observed`` (and its interval ``ci``) meets the constraint's bounds under its
    ``decide_on`` rule; what the decision rested on goes into ``details``."""
    low, high, rule = constraint.min, constraint.max, constraint.decide_on

    def inside(a: float, b: float) -> bool:  # is the span [a, b] inside the bounds?
        return (low is None or a >= low - TOLERANCE) and (high is None or b <= high + TOLERANCE)

    estimate = inside(observed, observed)
    if ci is not None:
        details["ci"] = ci
    if rule == "estimate":
        return estimate
    if ci is None:
        details["decided_on"] = "estimate"
        details["note"] = f"no confidence interval for {constraint.metric_name}: judged on the estimate"
        return estimate
    details["estimate_success"] = estimate
    if rule == "conservative":
        return inside(ci[0], ci[1])
    outside = (low is not None and ci[1] < low - TOLERANCE) or (high is not None and ci[0] > high + TOLERANCE)
    return not outside


def ci(boot: np.ndarray | None, confidence: float | None) -> list[float] | None:
    """The percentile interval of the replicates ``boot``; ``None`` without one (or when undefined)."""

    if boot is None or confidence is None:
        return None
    low, high = fm.interval(boot, confidence)
    return ci_pair(low, high)


def ci_pair(low: float, high: float) -> list[float] | None:
    """``[low, high]`` when both are finite."""
    return [float(low), float(high)] if math.isfinite(low) and math.isfinite(high) else None


def compare(name: str, observed: float | None, constraint: Constraint, baseline: Baseline) -> dict[str, Any] | None:
    """The assertion ``name`` against its value in the baseline: judged when the constraint
    has a baseline margin, else shown for reference (``None``: nothing to show)."""
    margin = constraint.baseline
    known = baseline.observed or {}
    if margin is None:
        if name in known and is_num(known[name]) and observed is not None:
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
    if not is_num(before) or observed is None:
        return {
            "status": "undefined",
            **margin,
            "baseline_observed": before,
            "message": "the value is undefined here or in the baseline: only the absolute bounds apply",
        }
    change = observed - before
    ((key, limit),) = margin.items()
    ok = (change if key == "max_increase" else -change) <= limit + TOLERANCE
    return {"status": "compared", "baseline_observed": before, "change": change, key: limit, "success": ok}


def is_num(value: Any) -> bool:
    """A finite number (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def num(value: Any) -> float | None:
    """``value`` as a float, ``None`` when it is not finite (the result never holds NaN)."""
    value = float(value)
    return value if math.isfinite(value) else None


# -- summary --------------------------------------------------------------------------------
def summary(assertions: list[Assertion], what: str, scope: str) -> str:
    """The worst violation and the count of failures, or the closest call when all passed:
    ``all 3 fairness constraints passed on 1,000 rows, ...; closest: ...`` (``what`` names the
    kind of constraint, ``scope`` the data)."""
    failed = [a for a in assertions if a.success is False]
    if not failed:
        tight = [a for a in assertions if a.observed is not None and _bounded(a)]
        closest = f"; closest: {_describe(max(tight, key=_gap))}" if tight else ""
        return f"all {len(assertions)} {what} constraints passed {scope}{closest}"
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
    return excess(a.observed, a.expected)


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
