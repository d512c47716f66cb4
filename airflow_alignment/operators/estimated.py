"""``EstimatedFairnessOperator``: fairness constraints estimated from calibrated scores, before
the labels arrive (docs/estimated-fairness.md; why an operator of its own: docs/decisions.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_alignment.engines import estimated
from airflow_alignment.exceptions import SpecError
from airflow_alignment.io import as_source, describe_source, load_frame
from airflow_alignment.operators.base import AlignmentCheckOperator
from airflow_alignment.specs.constraints import fairness_constraints
from airflow_alignment.specs.metrics import SCORE_METRICS
from airflow_alignment.tasks.base import is_templated

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_alignment.results import CheckResult


class EstimatedFairnessOperator(AlignmentCheckOperator):
    """Estimate fairness constraints on scored predictions whose labels have not arrived yet.

    The expected confusion cells of each group (from the calibrated scores) go through the
    fairness engine; assertions on a difference or ratio between groups carry the interval of
    the value the labels will give; a labelled window (the last one whose labels landed) checks
    the scores' calibration per group. An estimate on scores that are not shown calibrated
    ends ``warned`` (the gate sends it to review), whatever it says, unless
    ``untrusted="judge"``. The result is a fairness result (``kind: fairness``).

    :param data: the scored rows: a path or URI, a ``FileSource``, or a callable (templated).
    :param y_score: column of calibrated scores, ``P(y = pos_label)`` in ``[0, 1]``.
    :param sensitive_features: a column or a list of columns (their combinations are the groups).
    :param constraints: fairness constraints on count-based metrics, e.g.
        ``[{"metric": "true_positive_rate", "aggregate": "difference", "max": 0.1}]`` (templated).
    :param threshold: predicted positive when ``y_score >= threshold``; or give ``y_pred``.
    :param y_pred: column of predictions (``pos_label`` is the positive one).
    :param labelled: the labelled window for the calibration check (templated); without it the
        estimate is not trusted.
    :param y_true: the label column of ``labelled``.
    :param untrusted: ``warn`` (default) or ``judge`` (keep the estimate's status); checked
        when the task runs.
    :param min_group_size: groups with fewer rows are reported and left out of the aggregates.
    :param confidence: the level of the label intervals; ``n_draws`` label draws make them.
    :param ece_max: the largest expected calibration error of a group that is still trusted.
    :param alpha: the level of the per-group Hosmer-Lemeshow test (Bonferroni over groups).
    """

    kind = "fairness"
    template_fields = ("data", "labelled", "constraints", "check_name")
    template_fields_renderers: ClassVar[dict[str, str]] = {"constraints": "json"}

    def __init__(
        self,
        *,
        data: Any,
        y_score: str,
        sensitive_features: str | Sequence[str],
        constraints: Any,
        threshold: float | None = None,
        y_pred: str | None = None,
        pos_label: Any = None,
        labelled: Any = None,
        y_true: str | None = None,
        untrusted: str | None = None,
        min_group_size: int | None = None,
        confidence: float | None = None,
        n_draws: int | None = None,
        ece_max: float | None = None,
        alpha: float | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("policy") is not None:
            raise SpecError("EstimatedFairnessOperator: policies have no estimated-fairness check kind yet; "
                            "pass the arguments to the operator")  # fmt: skip
        super().__init__(**kwargs)
        name = type(self).__name__
        self.data = self.data_argument(data)
        self.labelled = None if labelled is None else self.data_argument(labelled, "labelled")
        if labelled is not None and y_true is None:
            raise SpecError(f"{name}: labelled= needs y_true=, the label column of the labelled window")
        if (y_pred is None) == (threshold is None):
            raise SpecError(f"{name}: give threshold= (predicted positive when y_score >= threshold) or y_pred=")
        if not isinstance(constraints, str) and not is_templated(constraints):
            checked = fairness_constraints(constraints, decide_on="estimate", severity=self.severity, confidence=None)
            needing = [c.metric_name for c in checked if callable(c.metric) or c.metric_name in SCORE_METRICS]
            if needing:
                raise SpecError(f"{name}.constraints: {', '.join(needing)} need the labels themselves; estimate "
                                "count-based metrics (rates, precision, accuracy) and check the others when "
                                "labels land, with FairnessCheckOperator")  # fmt: skip
        self.constraints = constraints
        features = sensitive_features
        self.sensitive_features = [features] if isinstance(features, str) else list(features)
        # only what was given: the defaults are the engine's (engines.estimated.evaluate)
        given = {"y_pred": y_pred, "threshold": threshold, "pos_label": pos_label, "y_true": y_true,
                 "untrusted": untrusted, "min_group_size": min_group_size, "confidence": confidence,
                 "n_draws": n_draws, "ece_max": ece_max, "alpha": alpha}  # fmt: skip
        self.options = {"y_score": y_score, **{k: v for k, v in given.items() if v is not None}}

    def evaluate(self, context: Context) -> CheckResult:
        o, features = self.options, self.sensitive_features
        predictions = [o["y_pred"]] if "y_pred" in o else []
        scored = load_frame(as_source(self.data), columns=[o["y_score"], *predictions, *features])
        labelled = None
        if self.labelled is not None:
            labelled = load_frame(as_source(self.labelled), columns=[o["y_true"], o["y_score"], *features])
        constraints = json.loads(self.constraints) if isinstance(self.constraints, str) else self.constraints
        return estimated.evaluate(scored, labelled=labelled, sensitive_features=features, constraints=constraints,
                                  severity=self.severity, check_name=self.check_name,
                                  source=describe_source(self.data), **o)  # fmt: skip
