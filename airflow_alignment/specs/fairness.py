"""``FairnessSpec``: what a fairness check judges, every default and bound in one place."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_alignment.exceptions import SpecError, did_you_mean
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
    :raises SpecError: naming the field or the constraint's position.
    """

    sensitive_features: Sequence[str]
    constraints: Sequence[Any]
    min_group_size: int = 30
    marginal: bool = False
    missing_groups: str = "error"
    metrics: Sequence[str | Callable[..., Any]] = field(default=(), metadata={"policy": False})
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
        object.__setattr__(self, "reported", _reported(constraints, self.metrics))
        self.check_threshold()
        self._check_predictions()

    def _check_predictions(self) -> None:
        """The metrics read have what they are computed from: predicted labels, or scores."""
        needs_labels = any(not (isinstance(m, str) and m in SCORE_METRICS) for m in self.reported.values())
        if needs_labels and not self.counted:
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
