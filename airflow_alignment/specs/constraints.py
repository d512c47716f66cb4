"""Constraints on binary-classification metrics: one :class:`Constraint` per bound, validated.

A fairness constraint bounds an aggregate of a per-group metric (``{"metric":
"demographic_parity_ratio", "min": 0.8}``); a performance constraint bounds a metric of the
whole data (``{"metric": "accuracy", "min": 0.7}``). Both may bound the change against a
baseline result (``"baseline": {"max_decrease": 0.02}``), carry their own severity and
``decide_on`` rule, a name and a rationale. :func:`fairness_constraints` and
:func:`performance_constraints` check the raw list (every message names the position, e.g.
``constraints[1].min: expected a number, got 'ten'``) and return the constraints with every
default resolved.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_alignment.exceptions import SpecError, did_you_mean
from airflow_alignment.results import Severity
from airflow_alignment.specs.bias_metrics import CATALOGUE, FAIRLEARN_NAME_CLASHES, POST_TRAINING, Stage
from airflow_alignment.specs.common import DECIDE_ON, check_severity, choice, is_number
from airflow_alignment.specs.metrics import (
    AGGREGATES,
    AGGS,
    ALIASES,
    METHODS,
    METRICS,
    NAMED_AGGREGATES,
    PERFORMANCE_METRICS,
    UNIT_METRICS,
)

FAIRNESS_KEYS: tuple[str, ...] = (
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
PERFORMANCE_KEYS: tuple[str, ...] = ("metric", "min", "max", "baseline", "name", "severity", "rationale", "decide_on")
BIAS_KEYS: tuple[str, ...] = (*PERFORMANCE_KEYS, "facet_values", "alpha")
BASELINE_KEYS: tuple[str, ...] = ("max_increase", "max_decrease")


@dataclass(frozen=True)
class Constraint:
    """One normalised constraint.

    :param name: the assertion's name (default: from the metric and its aggregate).
    :param metric: the metric as given: a name, or (fairness) a callable ``f(y_true, y_pred)``.
    :param metric_name: the metric's name (a callable's ``__name__``).
    :param metrics: the base metrics read: two for equalized odds, else one.
    :param formula: (performance) the metric computed: ``recall`` is ``true_positive_rate``.
    :param aggregate: (fairness) how groups are compared: see :data:`~.metrics.AGGREGATES`.
    :param method: (fairness) ``between_groups`` or ``to_overall``.
    :param agg: (equalized odds) ``worst_case`` or ``mean`` of the two metrics.
    :param min: lower bound, or ``None``.
    :param max: upper bound, or ``None``.
    :param baseline: ``{"max_increase": x}`` or ``{"max_decrease": x}`` against a baseline result.
    :param severity: ``block`` or ``warn``.
    :param decide_on: ``estimate``, ``conservative`` or ``significant``.
    :param rationale: why the bound is what it is (shown in reports).
    :param catalogue: (bias) the stage of the bias catalogue the metric is from:
        ``pre_training`` or ``post_training`` (``None``: not a catalogue metric).
    :param facet_values: (bias) the facet ``d`` of this constraint (``None``: the check's).
    :param alpha: (bias) the generalized entropy's alpha of ``GE`` and the generalized entropy
        indexes (``None``: 2, Clarify's); 1 is the Theil index, 0 AIF360's mean log deviation.
    """

    name: str
    metric: str | Callable[..., Any]
    metric_name: str
    metrics: tuple[Any, ...]
    severity: Severity
    decide_on: str
    min: float | None = None
    max: float | None = None
    baseline: dict[str, float] | None = None
    rationale: str | None = None
    formula: str | None = None
    aggregate: str | None = None
    method: str | None = None
    agg: str | None = None
    catalogue: str | None = None
    facet_values: Any = None
    alpha: float | None = None

    @property
    def bounds(self) -> dict[str, float | None]:
        """``{"min": ..., "max": ...}``: the assertion's ``expected``."""
        return {"min": self.min, "max": self.max}


def fairness_constraints(
    constraints: Any, *, decide_on: str, severity: str, confidence: float | None
) -> tuple[Constraint, ...]:
    """The fairness constraints of ``constraints``, checked and normalised."""
    return validate_list(
        constraints,
        lambda raw, here: _fairness(raw, here, decide_on, severity, confidence),
        example="{'metric': 'demographic_parity_ratio', 'min': 0.8}",
    )


def performance_constraints(
    constraints: Any, *, decide_on: str, severity: str, confidence: float | None
) -> tuple[Constraint, ...]:
    """The performance constraints of ``constraints``, checked and normalised."""
    return validate_list(
        constraints,
        lambda raw, here: _performance(raw, here, decide_on, severity, confidence),
        example="{'metric': 'accuracy', 'min': 0.7}",
    )


def validate_list(constraints: Any, build: Callable[[Any, str], Constraint], example: str) -> tuple[Constraint, ...]:
    """Validate each constraint with ``build(raw, "constraints[i]")``; names must be unique."""
    if isinstance(constraints, (str, bytes, Mapping)) or not isinstance(constraints, Sequence):
        raise SpecError(f"constraints: expected a list like [{example}], got {type(constraints).__name__}")
    if not constraints:
        raise SpecError(f"constraints: the list is empty; give at least one, e.g. {example}")
    out: list[Constraint] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(constraints):
        constraint = raw if isinstance(raw, Constraint) else build(raw, f"constraints[{i}]")
        if constraint.name in seen:
            raise SpecError(
                f"constraints[{i}].name: {constraint.name!r} is already the name of "
                f"constraints[{seen[constraint.name]}]; give each constraint its own 'name'"
            )
        seen[constraint.name] = i
        out.append(constraint)
    return tuple(out)


# -- fairness ---------------------------------------------------------------------------------
def _fairness(raw: Any, here: str, decide_on: str, severity: str, confidence: float | None) -> Constraint:
    if not isinstance(raw, Mapping):
        raise SpecError(
            f"{here}: expected an object like {{'metric': 'demographic_parity_ratio', 'min': 0.8}}, "
            f"got {type(raw).__name__}"
        )
    if is_catalogue_metric(raw.get("metric")):
        return _bias(raw, here, "post_training", decide_on, severity, confidence)
    _known_keys(raw, FAIRNESS_KEYS, here)
    spec = {k: raw.get(k) for k in FAIRNESS_KEYS}
    _fairness_metric(spec, here)
    _bounds(spec, here)
    _meetable_fairness(spec, here)
    return _finish(spec, here, decide_on, severity, confidence, default_name=_default_name(spec))


def is_catalogue_metric(metric: Any) -> bool:
    """A fairness constraint's metric that is a post-training metric of the bias catalogue (``DI``,
    ``DPPL``, AIF360's ``average_odds_difference``, ...), not a fairlearn name: it compares the
    facet ``d`` with the rest of the data. fairlearn's names keep fairlearn's meaning
    (:data:`~.bias_metrics.FAIRLEARN_NAME_CLASHES`)."""
    return (
        isinstance(metric, str)
        and metric in POST_TRAINING
        and metric not in FAIRLEARN_NAME_CLASHES
        and metric not in METRICS
        and metric not in NAMED_AGGREGATES
    )


def _fairness_metric(spec: dict[str, Any], here: str) -> None:
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
        # the bias catalogue's names are suggested too, and listed in docs/bias-metrics.md
        close = did_you_mean(str(metric), valid + [m for m in POST_TRAINING if is_catalogue_metric(m)])
        raise SpecError(f"{here}.metric: unknown metric {metric!r}.{close} Valid metrics: {', '.join(valid)}")
    if spec["aggregate"] is None:
        raise SpecError(f"{here}.aggregate: {spec['metric_name']!r} needs an aggregate: one of {', '.join(AGGREGATES)}")
    spec["aggregate"] = choice(spec["aggregate"], AGGREGATES, f"{here}.aggregate")
    if spec["method"] is not None and spec["aggregate"] not in ("difference", "ratio"):
        raise SpecError(f"{here}.method: 'method' applies to a difference or a ratio, not to {spec['aggregate']!r}")
    spec["method"] = choice(spec["method"] or "between_groups", METHODS, f"{here}.method")
    if spec["agg"] is not None and len(spec["metrics"]) < 2:
        raise SpecError(f"{here}.agg: 'agg' applies to equalized_odds_difference and equalized_odds_ratio only")
    if len(spec["metrics"]) == 2:
        spec["agg"] = choice(spec["agg"] or "worst_case", AGGS, f"{here}.agg")


def _meetable_fairness(spec: dict[str, Any], here: str) -> None:
    low, high, kind = spec["min"], spec["max"], spec["aggregate"]
    if low is not None and high is not None and low > high:
        raise SpecError(f"{here}: min ({low}) is above max ({high}); no value can meet both")
    unit = all(m in UNIT_METRICS for m in spec["metrics"])
    if kind == "ratio":
        ceiling, floor, what = 1, 0, "a ratio (smaller over larger) lies between 0 and 1"
    elif kind == "difference":
        ceiling, floor = (1 if unit else None), 0
        what = "a difference is at least 0" + (" and at most 1 for rates" if unit else "")
    elif unit:
        ceiling, floor, what = 1, 0, f"{spec['metric_name']} lies between 0 and 1"
    else:
        return
    if low is not None and ceiling is not None and low > ceiling:
        raise SpecError(f"{here}.min: {low} cannot be met: {what}")
    if high is not None and high < floor:
        raise SpecError(f"{here}.max: {high} cannot be met: {what}")


def _default_name(spec: dict[str, Any]) -> str:
    name = spec["metric_name"]
    if spec["metric"] not in NAMED_AGGREGATES:
        name += f".{spec['aggregate']}"
    if spec["aggregate"] in ("difference", "ratio") and spec["method"] != "between_groups":
        name += f"({spec['method']})"
    if spec["agg"] not in (None, "worst_case"):
        name += f"[{spec['agg']}]"
    return str(name)


# -- performance ------------------------------------------------------------------------------
def _performance(raw: Any, here: str, decide_on: str, severity: str, confidence: float | None) -> Constraint:
    if not isinstance(raw, Mapping):
        raise SpecError(
            f"{here}: expected an object like {{'metric': 'accuracy', 'min': 0.7}}, got {type(raw).__name__}"
        )
    for key in raw:
        if key not in PERFORMANCE_KEYS:
            hint = " (a fairness key: performance judges the whole data)" if key in FAIRNESS_KEYS else ""
            raise SpecError(
                f"{here}: unknown key {key!r}{hint}.{did_you_mean(str(key), PERFORMANCE_KEYS)} "
                f"Keys: {', '.join(PERFORMANCE_KEYS)}"
            )
    spec = {k: raw.get(k) for k in PERFORMANCE_KEYS}
    spec["metric_name"] = _performance_metric(spec["metric"], here)
    spec["formula"] = ALIASES.get(spec["metric_name"], spec["metric_name"])
    spec["metrics"] = (spec["metric_name"],)
    _bounds(spec, here)
    _meetable_performance(spec, here)
    return _finish(spec, here, decide_on, severity, confidence, default_name=spec["metric_name"])


def _performance_metric(metric: Any, here: str) -> str:
    if metric is None:
        raise SpecError(f"{here}: missing 'metric' (e.g. 'accuracy' or 'roc_auc')")
    if isinstance(metric, str) and metric in PERFORMANCE_METRICS:
        return metric
    hint = ""
    if isinstance(metric, str) and metric in NAMED_AGGREGATES:
        hint = f" {metric!r} compares groups: judge it with FairnessCheckOperator."
    raise SpecError(
        f"{here}.metric: unknown metric {metric!r}.{did_you_mean(str(metric), PERFORMANCE_METRICS)}{hint} "
        f"Valid metrics: {', '.join(PERFORMANCE_METRICS)}"
    )


def _meetable_performance(spec: dict[str, Any], here: str) -> None:
    low, high, name = spec["min"], spec["max"], spec["metric_name"]
    if low is not None and high is not None and low > high:
        raise SpecError(f"{here}: min ({low}) is above max ({high}); no value can meet both")
    ceiling, what = (None, f"{name} is at least 0") if name == "log_loss" else (1, f"{name} lies between 0 and 1")
    if low is not None and ceiling is not None and low > ceiling:
        raise SpecError(f"{here}.min: {low} cannot be met: {what}")
    if high is not None and high < 0:
        raise SpecError(f"{here}.max: {high} cannot be met: {what}")


# -- bias (the Clarify / AIF360 catalogue) ---------------------------------------------------
def bias_constraints(
    constraints: Any, *, stage: Stage, decide_on: str, severity: str, confidence: float | None
) -> tuple[Constraint, ...]:
    """Constraints on metrics of the bias catalogue of ``stage`` (``{"metric": "CI", "max": 0.3}``)."""
    return validate_list(
        constraints,
        lambda raw, here: _bias(raw, here, stage, decide_on, severity, confidence),
        example="{'metric': 'DPL', 'min': -0.1, 'max': 0.1}",
    )


def _bias(raw: Any, here: str, stage: Stage, decide_on: str, severity: str, confidence: float | None) -> Constraint:
    if not isinstance(raw, Mapping):
        raise SpecError(f"{here}: expected an object like {{'metric': 'DPL', 'max': 0.1}}, got {type(raw).__name__}")
    for key in raw:
        if key in ("aggregate", "method", "agg"):
            raise SpecError(
                f"{here}.{key}: {raw.get('metric')!r} compares the facet (facet_values) with the rest of the data "
                f"as {CATALOGUE[stage][raw['metric']].library} does; remove {key!r}"
            )
    _known_keys(raw, BIAS_KEYS, here)
    spec = {k: raw.get(k) for k in BIAS_KEYS}
    metric = spec["metric"]
    if metric is None:
        raise SpecError(f"{here}: missing 'metric' (e.g. 'CI' or 'DPL')")
    valid = CATALOGUE[stage]
    if not isinstance(metric, str) or metric not in valid:
        other = next((s for s in CATALOGUE if s != stage and isinstance(metric, str) and metric in CATALOGUE[s]), None)
        hint = f" ({metric!r} is a {other} metric)" if other else did_you_mean(str(metric), valid)
        raise SpecError(f"{here}.metric: unknown {stage} metric {metric!r}.{hint} Valid: {', '.join(valid)}")
    spec["metric_name"], spec["metrics"], spec["catalogue"] = metric, (metric,), stage
    _bounds(spec, here)
    info = valid[metric]
    if spec["min"] is not None and spec["max"] is not None and spec["min"] > spec["max"]:
        raise SpecError(f"{here}: min ({spec['min']}) is above max ({spec['max']}); no value can meet both")
    what = f"{metric} lies between {info.low:g} and {info.high:g}"
    if spec["min"] is not None and spec["min"] > info.high:
        raise SpecError(f"{here}.min: {spec['min']} cannot be met: {what}")
    if spec["max"] is not None and spec["max"] < info.low:
        raise SpecError(f"{here}.max: {spec['max']} cannot be met: {what}")
    name = metric if spec["alpha"] is None else f"{metric}(alpha={_alpha(spec['alpha'], metric, stage, here):g})"
    return _finish(spec, here, decide_on, severity, confidence, default_name=name)


def _alpha(alpha: Any, metric: str, stage: Stage, here: str) -> float:
    """A constraint's ``alpha``: a finite number, on a metric that takes one."""
    if "alpha" not in CATALOGUE[stage][metric].params:
        takes = [m for m, info in CATALOGUE[stage].items() if "alpha" in info.params]
        hint = f"; {', '.join(takes)} take one" if takes else ": no pre-training metric takes one"
        raise SpecError(f"{here}.alpha: {metric} has no alpha{hint}")
    if not (is_number(alpha) and math.isfinite(alpha)):
        raise SpecError(
            f"{here}.alpha: expected a finite number (2 is Clarify's default, 1 the Theil index, "
            f"0 the mean log deviation), got {alpha!r}"
        )
    return float(alpha)


# -- shared -----------------------------------------------------------------------------------
def _known_keys(raw: Mapping[str, Any], keys: tuple[str, ...], here: str) -> None:
    for key in raw:
        if key not in keys:
            raise SpecError(f"{here}: unknown key {key!r}.{did_you_mean(str(key), keys)} Keys: {', '.join(keys)}")


def _bounds(spec: dict[str, Any], here: str) -> None:
    for bound in ("min", "max"):
        value = spec[bound]
        if value is not None and not (is_number(value) and math.isfinite(value)):
            raise SpecError(f"{here}.{bound}: expected a number, got {value!r}")
    if spec["min"] is None and spec["max"] is None and spec["baseline"] is None:
        raise SpecError(f"{here}: give a bound: 'min' and/or 'max' (or a 'baseline' margin)")


def _finish(
    spec: dict[str, Any], here: str, decide_on: str, severity: str, confidence: float | None, default_name: str
) -> Constraint:
    """The options every constraint resolves the same way, then the :class:`Constraint`."""
    spec["baseline"] = _baseline_margin(spec["baseline"], f"{here}.baseline")
    spec["severity"] = check_severity(spec["severity"] or severity, f"{here}.severity")
    spec["decide_on"] = choice(spec["decide_on"] or decide_on, DECIDE_ON, f"{here}.decide_on")
    if spec["decide_on"] != "estimate" and confidence is None:
        raise SpecError(
            f"{here}.decide_on: {spec['decide_on']!r} judges the confidence interval: set confidence (e.g. 0.95)"
        )
    for key in ("name", "rationale"):
        if spec[key] is not None and not isinstance(spec[key], str):
            raise SpecError(f"{here}.{key}: expected a string, got {type(spec[key]).__name__}")
    spec["name"] = spec["name"] or default_name
    return Constraint(**spec)


def _baseline_margin(value: Any, here: str) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or len(value) != 1 or next(iter(value)) not in BASELINE_KEYS:
        raise SpecError(f"{here}: expected {{'max_increase': x}} or {{'max_decrease': x}}, got {value!r}")
    key, margin = next(iter(value.items()))
    if not (is_number(margin) and math.isfinite(margin) and margin >= 0):
        raise SpecError(f"{here}.{key}: expected a number of at least 0, got {margin!r}")
    return {key: margin}
