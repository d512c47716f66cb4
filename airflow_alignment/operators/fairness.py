"""``FairnessCheckOperator``: fairness constraints on a model's predictions as a DAG task."""

from __future__ import annotations

from airflow_alignment.operators.base import AlignmentCheckOperator
from airflow_alignment.tasks.labelled import FairnessTask


class FairnessCheckOperator(FairnessTask, AlignmentCheckOperator):
    """Judge a model's predictions against fairness constraints, group by group.

    Count-based metrics (selection rate, TPR, FPR, precision, ...) are computed from per-group
    cell counts in one vectorised pass; score metrics (``roc_auc``, ``log_loss``,
    ``brier_score``) go through fairlearn's ``MetricFrame``. The numbers equal fairlearn's.

    :param data: predictions with labels and sensitive features: a path or URI, a
        ``FileSource``, a ``SqlSource`` or ``SparkSource`` (the cell counts are one ``GROUP BY``
        where the data lives), or a callable returning a DataFrame (templated).
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
    :param facet_values: the facet (e.g. ``{"sex": "F"}``) of constraints on SageMaker Clarify's
        and AIF360's post-training metrics by name (``{"metric": "DI", "min": 0.8}``), which
        compare the facet with the rest of the data; a constraint's own ``facet_values``
        overrides it.
    :param policy: an alignment policy; with ``check=`` the arguments above come from that
        check of the policy. With ``model=`` too, baseline constraints compare with the last
        approved run (see :class:`AlignmentCheckOperator`).
    """

    kind = "fairness"
