"""``DataBiasSpec``: what a pre-training (data) bias check judges, every default and bound in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_alignment.exceptions import SpecError, did_you_mean
from airflow_alignment.specs.bias_metrics import DEFAULTS, PRE_TRAINING, check_params
from airflow_alignment.specs.common import check_seed, check_threshold, column_arguments, column_list
from airflow_alignment.specs.constraints import bias_constraints
from airflow_alignment.specs.labelled import JudgingOptions


@dataclass(frozen=True, kw_only=True)
class DataBiasSpec(JudgingOptions):
    """A pre-training bias check: SageMaker Clarify's (and AIF360's) metrics of labelled data.

    The facet ``d`` (the groups named by ``facet_values``, the disadvantaged side) is compared
    with the rest of the data ``a``, on the labels only: no model is needed
    (``docs/operators/data-bias-check.md``, the metrics in ``docs/bias-metrics.md``).

    :param label: column of the labels.
    :param sensitive_features: the facet column, or several (their value combinations are the groups).
    :param constraints: bounds on pre-training metrics, e.g. ``[{"metric": "CI", "max": 0.3}]``.
    :param facet_values: the facet ``d``: ``{"sex": "F"}``, ``{"age": {"above": 40}}``, a list of
        such mappings (OR-ed), or with one feature a list of its values. Needed by every
        metric but the differential fairness one.
    :param group_variable: the column whose values are the strata of ``CDDL``.
    :param pos_label: the positive label, or a list of them.
    :param label_threshold: a label above it is positive (a continuous label; replaces ``pos_label``).
    :param sample_weight: column of non-negative row weights.
    :param p: order of ``LP``.
    :param label_distribution: what KL, JS, LP, TVD and KS compare: ``binary`` (positive vs
        negative, Clarify's report) or ``values`` (every label value).
    :param concentration: Dirichlet smoothing of ``smoothed_empirical_differential_fairness``.
    :raises SpecError: naming the field or the constraint's position.
    """

    label: str
    sensitive_features: Sequence[str]
    constraints: Sequence[Any]
    facet_values: Any = None
    group_variable: str | None = None
    pos_label: Any = 1
    label_threshold: float | None = None
    sample_weight: str | None = None
    p: float = field(default=DEFAULTS["p"])
    label_distribution: str = field(default=DEFAULTS["label_distribution"])
    concentration: float = field(default=DEFAULTS["concentration"])

    def __post_init__(self) -> None:
        self.check_judging()
        check_seed(self.random_state)
        constraints = bias_constraints(
            self.constraints,
            stage="pre_training",
            decide_on=self.decide_on,
            severity=self.severity,
            confidence=self.confidence,
        )
        object.__setattr__(self, "constraints", constraints)
        features = column_list(self.sensitive_features, "sensitive_features")
        object.__setattr__(self, "sensitive_features", tuple(features))
        column_arguments(
            label=self.label, group_variable=self.group_variable, sample_weight=self.sample_weight, required=("label",)
        )
        if self.group_variable in features:
            raise SpecError(f"group_variable: {self.group_variable!r} is a sensitive feature; name another column")
        check_threshold(self.label_threshold)
        check_params(
            p=self.p,
            alpha=DEFAULTS["alpha"],
            concentration=self.concentration,
            label_distribution=self.label_distribution,
        )
        self._check_facet(features)
        if "CDDL" in self.metrics and self.group_variable is None:
            raise SpecError(f"{self.where('CDDL')}: CDDL is conditioned on strata: give group_variable (a column)")

    def _check_facet(self, features: list[str]) -> None:
        """Every ``facet_values`` names sensitive features; a metric that compares a facet has one."""
        needs = [
            c.metric_name
            for c in self.constraints
            if PRE_TRAINING[c.metric_name].scope == "facet" and c.facet_values is None
        ]
        if self.facet_values is None and needs:
            raise SpecError(
                f"facet_values: {', '.join(dict.fromkeys(needs))} compare a facet with the rest of the data; "
                f"name it, e.g. facet_values={{{features[0]!r}: ...}}"
            )
        check_facet_keys(self.facet_values, features, "facet_values")
        for i, c in enumerate(self.constraints):
            check_facet_keys(c.facet_values, features, f"constraints[{i}].facet_values")

    def where(self, metric: str) -> str:
        """The position of the first constraint on ``metric``."""
        return next(f"constraints[{i}]" for i, c in enumerate(self.constraints) if c.metric_name == metric)

    @property
    def metrics(self) -> list[str]:
        """The metrics the constraints read, each once."""
        return list(dict.fromkeys(c.metric_name for c in self.constraints))

    @property
    def positive_labels(self) -> list[Any] | None:
        """The positive label values (``None`` with a ``label_threshold``)."""
        if self.label_threshold is not None:
            return None
        return list(self.pos_label) if isinstance(self.pos_label, (list, tuple)) else [self.pos_label]

    @property
    def params(self) -> dict[str, Any]:
        """The metrics' parameters (:func:`airflow_alignment.engines.bias.metrics.evaluate`)."""
        return {"p": self.p, "label_distribution": self.label_distribution, "concentration": self.concentration}

    @property
    def columns(self) -> list[str]:
        """The columns the check reads."""
        return [self.label, *self.sensitive_features, *(c for c in (self.group_variable, self.sample_weight) if c)]


def check_facet_keys(facet_values: Any, features: Sequence[str], where: str) -> None:
    """The keys of ``facet_values`` (a mapping or a list of them) are sensitive features (cheap:
    the values are matched against the data's groups when the check runs)."""
    items = facet_values if isinstance(facet_values, (list, tuple)) else [facet_values]
    for item in items:
        for key in item if isinstance(item, Mapping) else ():
            if key not in features:
                raise SpecError(
                    f"{where}: {key!r} is not a sensitive feature.{did_you_mean(str(key), features)} "
                    f"Sensitive features: {', '.join(features)}"
                )
