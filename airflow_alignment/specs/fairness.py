"""``FairnessSpec``: what a fairness check judges, every default and bound in one place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_alignment.exceptions import SpecError, did_you_mean
from airflow_alignment.specs.bias import check_facet_keys
from airflow_alignment.specs.bias_metrics import POST_TRAINING
from airflow_alignment.specs.common import check_seed, column_list
from airflow_alignment.specs.constraints import Constraint, fairness_constraints
from airflow_alignment.specs.labelled import JudgingOptions, LabelColumns
from airflow_alignment.specs.metrics import METRICS, RESERVED_KEYS, SCORE_METRICS


@dataclass(frozen=True, kw_only=True)
class FairnessSpec(LabelColumns, JudgingOptions):
    """A fairness check: per-group metrics of a binary classifier and the constraints on them.

    The roles and judging options are :class:`~.labelled.LabelColumns` and
    :class:`~.labelled.JudgingOptions`; constraints are checked and normalised into
    :class:`~.constraints.Constraint` (see ``docs/fairness-engine.md``).

    :param sensitive_features: a column, or several (their combinations are the groups).
    :param constraints: the constraints, e.g. ``[{"metric": "demographic_parity_ratio", "min": 0.8}]``.
    :param min_group_size: groups with fewer rows are listed and left out of the aggregates.
    :param marginal: with several sensitive features, also judge each feature alone.
    :param missing_groups: ``error`` on missing values; ``drop`` leaves those rows out;
        ``as_group`` makes a missing sensitive value a group of its own.
    :param metrics: more metrics to report (names or callables ``f(y_true, y_pred)``).
    :param facet_values: the facet ``d`` of the constraints on post-training metrics of the bias
        catalogue by their Clarify or AIF360 names (``{"metric": "DI", "min": 0.8}``), e.g.
        ``{"sex": "F"}``; a constraint's own ``facet_values`` overrides it
        (``docs/fairness-engine.md``, "Clarify and AIF360 metrics").
    :raises SpecError: naming the field or the constraint's position.
    """

    sensitive_features: Sequence[str]
    constraints: Sequence[Any]
    min_group_size: int = 30
    marginal: bool = False
    missing_groups: str = "error"
    metrics: Sequence[str | Callable[..., Any]] = field(default=(), metadata={"policy": False})
    facet_values: Any = None
    #: name -> metric (a name, or a callable) of every metric the result reports
    reported: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.check_judging(self.min_group_size, self.missing_groups)
        constraints = fairness_constraints(
            self.constraints, decide_on=self.decide_on, severity=self.severity, confidence=self.confidence
        )
        object.__setattr__(self, "constraints", constraints)
        features = column_list(self.sensitive_features, "sensitive_features")
        object.__setattr__(self, "sensitive_features", tuple(features))
        self.check_columns()
        check_seed(self.random_state)
        object.__setattr__(self, "reported", _reported(self.judged_by_groups, self.metrics))
        self.check_threshold()
        self._check_predictions()
        self._check_catalogue(features)

    @property
    def judged_by_groups(self) -> tuple[Constraint, ...]:
        """The constraints on fairlearn's metrics and aggregates (every group compared)."""
        return tuple(c for c in self.constraints if c.catalogue is None)

    @property
    def judged_by_facet(self) -> tuple[Constraint, ...]:
        """The constraints on the bias catalogue's metrics (the facet against the rest)."""
        return tuple(c for c in self.constraints if c.catalogue is not None)

    def _check_catalogue(self, features: list[str]) -> None:
        """A catalogue constraint has predicted labels, a facet where it compares one, no strata."""
        check_facet_keys(self.facet_values, features, "facet_values")
        for i, c in enumerate(self.constraints):
            if c.catalogue is None:
                continue
            where = f"constraints[{i}]"
            if not self.counted:
                raise SpecError(
                    f"{where}: {c.metric_name} reads predicted labels: give y_pred, or y_score with a threshold"
                )
            if c.metric_name == "CDDPL":
                raise SpecError(
                    f"{where}: CDDPL is conditioned on strata (a group_variable), which a fairness check does not "
                    "count; bound CDDL of the labels with DataBiasCheckOperator, or DPPL here"
                )
            check_facet_keys(c.facet_values, features, f"{where}.facet_values")
            if POST_TRAINING[c.metric_name].scope == "facet" and c.facet_values is None and self.facet_values is None:
                raise SpecError(
                    f"{where}: {c.metric_name} compares a facet with the rest of the data: give facet_values, "
                    f"e.g. facet_values={{{features[0]!r}: ...}} (on the check, or on the constraint)"
                )

    def _check_predictions(self) -> None:
        """The metrics read have what they are computed from: predicted labels, or scores."""
        needs_labels = any(not (isinstance(m, str) and m in SCORE_METRICS) for m in self.reported.values())
        if needs_labels and not self.counted and self.judged_by_groups:
            raise SpecError("give y_pred (a column of predicted labels), or y_score with a threshold")
        for name, metric in self.reported.items():
            if isinstance(metric, str) and metric in SCORE_METRICS and self.y_score is None:
                where = self.where(metric)
                raise SpecError(f"{where}: {name} is computed from scores: give y_score (a column of scores)")

    def where(self, metric: Any) -> str:
        """The position of the first constraint that reads ``metric`` (``metrics`` when none does)."""
        return next((f"constraints[{i}]" for i, c in enumerate(self.constraints) if metric in c.metrics), "metrics")

    @property
    def features(self) -> list[str]:
        return list(self.sensitive_features)


def _reported(constraints: tuple[Constraint, ...], extra: Any) -> dict[str, Any]:
    """Metric name -> metric (a name, or a callable) for every metric the result reports."""
    out: dict[str, Any] = {}
    for constraint in constraints:
        for m in constraint.metrics:
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
