"""``PerformanceSpec``: what a model-quality check judges, every default and bound in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_alignment.exceptions import SpecError
from airflow_alignment.specs.common import check_seed
from airflow_alignment.specs.constraints import performance_constraints
from airflow_alignment.specs.labelled import JudgingOptions, LabelColumns
from airflow_alignment.specs.metrics import PERFORMANCE_COUNT_METRICS, SCORE_METRICS


@dataclass(frozen=True, kw_only=True)
class PerformanceSpec(LabelColumns, JudgingOptions):
    """A model-quality check: metrics of the whole data and the bounds on them.

    The roles and judging options are :class:`~.labelled.LabelColumns` and
    :class:`~.labelled.JudgingOptions`.

    :param constraints: e.g. ``[{"metric": "accuracy", "min": 0.7}]`` or ``[{"metric":
        "roc_auc", "baseline": {"max_decrease": 0.01}}]`` (see ``docs/operators/performance-check.md``).
    :raises SpecError: naming the field or the constraint's position.
    """

    constraints: Sequence[Any]

    def __post_init__(self) -> None:
        self.check_judging()
        constraints = performance_constraints(
            self.constraints, decide_on=self.decide_on, severity=self.severity, confidence=self.confidence
        )
        object.__setattr__(self, "constraints", constraints)
        self.check_columns()
        check_seed(self.random_state)
        self.check_threshold()
        for i, constraint in enumerate(constraints):
            name = constraint.metric_name
            if name in SCORE_METRICS and self.y_score is None:
                raise SpecError(f"constraints[{i}]: {name} is computed from scores: give y_score (a column of scores)")
            if name in PERFORMANCE_COUNT_METRICS and not self.counted:
                raise SpecError(
                    f"constraints[{i}]: {name} is computed from predicted labels: give y_pred "
                    "(a column of predicted labels), or y_score with a threshold"
                )
