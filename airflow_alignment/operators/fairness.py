"""``FairnessCheckOperator``: fairness constraints on a model's predictions as a DAG task."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.fairness import validate_constraints
from airflow_alignment.exceptions import SpecError
from airflow_alignment.operators.base import AlignmentCheckOperator, is_templated
from airflow_alignment.sources import describe_source, validate_data_arg

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_alignment.results import CheckResult


class FairnessCheckOperator(AlignmentCheckOperator):
    """Judge a model's predictions against fairness constraints, group by group.

    Count-based metrics (selection rate, TPR, FPR, precision, ...) are computed from per-group
    cell counts in one vectorised pass; score metrics (``roc_auc``, ``log_loss``,
    ``brier_score``) go through fairlearn's ``MetricFrame``. The numbers equal fairlearn's.

    :param data: predictions with labels and sensitive features: a path or URI, a
        ``FileSource``, or a callable returning a DataFrame (templated).
    :param y_true: column of true labels (binary).
    :param y_pred: column of predicted labels; or give ``y_score`` and ``threshold``.
    :param y_score: column of scores or probabilities.
    :param threshold: ``y_score >= threshold`` predicts the positive label.
    :param pos_label: the label that counts as positive (default 1).
    :param sensitive_features: a column or a list of columns; several make intersectional
        groups.
    :param constraints: a list of constraints, e.g.
        ``[{"metric": "demographic_parity_ratio", "min": 0.8}]`` (templated).
    :param min_group_size: groups with fewer rows are reported and left out of aggregates.
    :param confidence: e.g. ``0.95`` to add bootstrap confidence intervals.
    :param n_boot: bootstrap replicates.
    :param decide_on: ``estimate``, ``conservative`` or ``significant``.
    :param baseline: a stored result (path or URI of its JSON) for baseline-relative
        constraints (templated).
    :param severity: ``block`` or ``warn``, the default of every constraint.
    :param check_name: the name recorded in the result; defaults to the task id.
    :param marginal: also evaluate each sensitive feature alone.
    :param sample_weight: column of sample weights.
    :param missing_groups: ``error`` (default), ``drop`` or ``as_group`` for rows whose
        sensitive feature is missing.
    """

    kind = "fairness"
    template_fields = ("data", "constraints", "baseline", "check_name")
    template_fields_renderers = {"constraints": "json"}

    def __init__(
        self,
        *,
        data: Any,
        y_true: str,
        sensitive_features: str | Sequence[str],
        constraints: Any,
        y_pred: str | None = None,
        y_score: str | None = None,
        threshold: float | None = None,
        pos_label: Any = 1,
        min_group_size: int = 30,
        confidence: float | None = None,
        n_boot: int = 1000,
        decide_on: str = "estimate",
        baseline: Any = None,
        severity: str = "block",
        check_name: str | None = None,
        marginal: bool = False,
        sample_weight: str | None = None,
        missing_groups: str = "error",
        random_state: int | None = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(severity=severity, check_name=check_name, **kwargs)
        name = type(self).__name__
        validate_data_arg(data, f"{name}.data")
        if (y_pred is None) == (y_score is None):
            raise SpecError(f"{name}: give exactly one of y_pred= (labels) or y_score= (with threshold=)")
        self.options = dict(
            decide_on=decide_on,
            severity=self.severity,
            confidence=confidence,
            n_boot=n_boot,
            min_group_size=min_group_size,
            missing_groups=missing_groups,
        )
        if not isinstance(constraints, str) and not is_templated(constraints):
            validate_constraints(constraints, **self.options)  # fail at parse time on a bad spec
        self.data = data
        self.constraints = constraints
        self.baseline = baseline
        self.columns = dict(y_true=y_true, y_pred=y_pred, y_score=y_score, sample_weight=sample_weight)
        self.sensitive_features = [sensitive_features] if isinstance(sensitive_features, str) else list(
            sensitive_features
        )
        self.threshold = threshold
        self.pos_label = pos_label
        self.marginal = marginal
        self.random_state = random_state

    def evaluate(self, context: Context) -> CheckResult:
        from airflow_alignment.engines.fairness import evaluate
        from airflow_alignment.sources import load_frame

        constraints = json.loads(self.constraints) if isinstance(self.constraints, str) else self.constraints
        used = [c for c in self.columns.values() if c] + self.sensitive_features
        frame = load_frame(self.data, columns=used)
        return evaluate(
            frame,
            **self.columns,
            sensitive_features=self.sensitive_features,
            constraints=constraints,
            threshold=self.threshold,
            pos_label=self.pos_label,
            baseline=self.baseline or None,
            check_name=self.check_name,
            marginal=self.marginal,
            random_state=self.random_state,
            source=describe_source(self.data),
            **self.options,
        )
