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


_DEFAULTS: dict[str, Any] = {
    "pos_label": 1,
    "min_group_size": 30,
    "confidence": None,
    "n_boot": 1000,
    "decide_on": "estimate",
    "marginal": False,
    "missing_groups": "error",
    "random_state": 0,
}


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
    :param policy: an alignment policy; with ``check=`` the arguments above come from that
        check of the policy. With ``model=`` too, baseline constraints compare with the last
        approved run (see :class:`AlignmentCheckOperator`).
    """

    kind = "fairness"
    template_fields = ("data", "constraints", "baseline", "check_name")
    template_fields_renderers = {"constraints": "json"}

    def __init__(
        self,
        *,
        data: Any = None,
        y_true: str | None = None,
        sensitive_features: str | Sequence[str] | None = None,
        constraints: Any = None,
        y_pred: str | None = None,
        y_score: str | None = None,
        threshold: float | None = None,
        pos_label: Any = None,
        min_group_size: int | None = None,
        confidence: float | None = None,
        n_boot: int | None = None,
        decide_on: str | None = None,
        baseline: Any = None,
        severity: str | None = None,
        check_name: str | None = None,
        marginal: bool | None = None,
        sample_weight: str | None = None,
        missing_groups: str | None = None,
        random_state: int | None = None,
        policy: Any = None,
        check: str | None = None,
        **kwargs: Any,
    ) -> None:
        given = {k: v for k, v in locals().items() if k not in ("self", "kwargs", "policy", "check", "__class__")}
        args, loaded = self.policy_arguments(policy, check, given, kwargs.get("task_id", ""))
        args = {**_DEFAULTS, **{k: v for k, v in args.items() if v is not None}}
        super().__init__(severity=args.get("severity"), check_name=args.get("check_name"), policy=loaded, **kwargs)
        name = type(self).__name__
        validate_data_arg(args.get("data"), f"{name}.data")
        for required in ("y_true", "sensitive_features", "constraints"):
            if args.get(required) is None:
                raise SpecError(f"{name}: {required}= is required")
        if (args.get("y_pred") is None) == (args.get("y_score") is None):
            raise SpecError(f"{name}: give exactly one of y_pred= (labels) or y_score= (with threshold=)")
        self.options = {k: args[k] for k in ("decide_on", "confidence", "n_boot", "min_group_size", "missing_groups")}
        self.options["severity"] = self.severity
        if not isinstance(args["constraints"], str) and not is_templated(args["constraints"]):
            validate_constraints(args["constraints"], **self.options)  # fail at parse time on a bad spec
        self.data = args.get("data")
        self.constraints = args["constraints"]
        self.baseline = args.get("baseline")
        self.columns = {k: args.get(k) for k in ("y_true", "y_pred", "y_score", "sample_weight")}
        features = args["sensitive_features"]
        self.sensitive_features = [features] if isinstance(features, str) else list(features)
        self.threshold = args.get("threshold")
        self.pos_label = args["pos_label"]
        self.marginal = args["marginal"]
        self.random_state = args["random_state"]

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
            baseline=self.baseline or self.last_approved_baseline(),
            check_name=self.check_name,
            marginal=self.marginal,
            random_state=self.random_state,
            source=describe_source(self.data),
            **self.options,
        )
