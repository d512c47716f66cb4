"""What the checks of a binary classifier's predictions share: the column roles and the judging options.

:class:`LabelColumns` says which column plays which role (``y_true``, ``y_pred`` or ``y_score``
with ``threshold``, ``pos_label``, ``sample_weight``); :class:`JudgingOptions` how constraints
are judged (severity, ``decide_on``, the bootstrap's ``confidence``, ``n_boot`` and seed).
:class:`~airflow_alignment.specs.fairness.FairnessSpec` and
:class:`~airflow_alignment.specs.performance.PerformanceSpec` are both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_alignment.exceptions import SpecError
from airflow_alignment.limits import MAX_N_BOOT, whole_number
from airflow_alignment.results import DEFAULT_SEVERITY
from airflow_alignment.specs.common import (
    DECIDE_ON,
    check_group_size,
    check_severity,
    check_threshold,
    choice,
    column_arguments,
    is_number,
)
from airflow_alignment.specs.metrics import MISSING_GROUPS


@dataclass(frozen=True, kw_only=True)
class LabelColumns:
    """The columns of a binary classifier's predictions, by role.

    :param y_true: column of true labels (two classes; ``pos_label`` is the positive one).
    :param y_pred: column of predicted labels (same classes as ``y_true``).
    :param y_score: column of scores; with ``threshold`` it stands in for ``y_pred``
        (predicted positive when ``score >= threshold``), and it feeds the score metrics.
    :param threshold: ``y_score >= threshold`` predicts the positive label.
    :param pos_label: the positive label of ``y_true`` and ``y_pred``.
    :param sample_weight: column of non-negative row weights.
    """

    y_true: str
    y_pred: str | None = None
    y_score: str | None = None
    threshold: float | None = None
    pos_label: Any = 1
    sample_weight: str | None = None

    def check_columns(self) -> None:
        """Each role names a column (``y_true`` always)."""
        column_arguments(
            y_true=self.y_true,
            y_pred=self.y_pred,
            y_score=self.y_score,
            sample_weight=self.sample_weight,
            required=("y_true",),
        )

    def check_threshold(self) -> None:
        """A threshold is a number, and cuts ``y_score`` (not ``y_pred``)."""
        check_threshold(self.threshold)
        if self.y_pred is not None and self.threshold is not None:
            raise SpecError("threshold: applies to y_score; with y_pred given, leave threshold out")

    @property
    def counted(self) -> bool:
        """Predicted labels are known: ``y_pred``, or ``y_score`` with a threshold."""
        return self.y_pred is not None or (self.y_score is not None and self.threshold is not None)


@dataclass(frozen=True, kw_only=True)
class JudgingOptions:
    """How constraints are judged.

    :param severity: the default severity of the constraints (``block`` or ``warn``).
    :param decide_on: ``estimate`` (judge the value), ``conservative`` (fail unless the whole
        interval is inside the bounds) or ``significant`` (fail only when it is all outside).
    :param confidence: e.g. 0.95 to compute bootstrap intervals (``n_boot`` replicates).
    :param n_boot: bootstrap replicates (at most :data:`~airflow_alignment.limits.MAX_N_BOOT`).
    :param random_state: seed of the bootstrap (``None``: fresh entropy).
    """

    severity: str = DEFAULT_SEVERITY
    decide_on: str = "estimate"
    confidence: float | None = None
    n_boot: int = 1000
    random_state: int | None = 0

    def check_judging(self, min_group_size: Any = 0, missing_groups: Any = "error") -> None:
        """The judging options (fairness adds its group options), each named in its message."""
        check_options(
            decide_on=self.decide_on,
            severity=self.severity,
            confidence=self.confidence,
            n_boot=self.n_boot,
            min_group_size=min_group_size,
            missing_groups=missing_groups,
        )


def check_options(
    *, decide_on: Any, severity: Any, confidence: Any, n_boot: Any, min_group_size: Any, missing_groups: Any
) -> None:
    """The judging options of a fairness check (performance: ``min_group_size=0``,
    ``missing_groups="error"``), each named in its message."""
    check_severity(severity, "severity")
    choice(decide_on, DECIDE_ON, "decide_on")
    choice(missing_groups, MISSING_GROUPS, "missing_groups")
    if confidence is not None and not (is_number(confidence) and 0 < confidence < 1):
        raise SpecError(f"confidence: expected a number between 0 and 1 (e.g. 0.95), got {confidence!r}")
    whole_number(n_boot, "n_boot", low=1, high=MAX_N_BOOT, what="bootstrap replicates")
    check_group_size(min_group_size)
