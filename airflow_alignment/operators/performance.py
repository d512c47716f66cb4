"""``PerformanceCheckOperator``: model-quality bounds on a model's predictions as a DAG task."""

from __future__ import annotations

from airflow_alignment.operators.base import AlignmentCheckOperator
from airflow_alignment.tasks.labelled import PerformanceTask


class PerformanceCheckOperator(PerformanceTask, AlignmentCheckOperator):
    """Judge a model's predictions against model-quality bounds (accuracy, recall, ROC AUC, ...).

    Count-based metrics come from the four cells of the confusion matrix; score metrics
    (``roc_auc``, ``log_loss``, ``brier_score``) are scikit-learn's. The numbers equal
    ``sklearn.metrics``. A constraint bounds a metric absolutely (``min``, ``max``) and/or
    relative to a baseline result (``baseline: {max_decrease: 0.02}``).

    :param data: predictions with labels: a path or URI, a ``FileSource``, a ``SqlSource`` or
        ``SparkSource`` (the confusion-matrix counts are one ``GROUP BY`` where the data lives),
        or a callable returning a DataFrame (templated).
    :param y_true: column of true labels (binary).
    :param constraints: a list of constraints, e.g. ``[{"metric": "accuracy", "min": 0.7}]``
        (templated).
    :param y_pred: column of predicted labels; or give ``y_score`` (with ``threshold`` for
        count metrics).
    :param y_score: column of scores or probabilities.
    :param threshold: ``y_score >= threshold`` predicts the positive label.
    :param pos_label: the label that counts as positive (default 1).
    :param sample_weight: column of sample weights.
    :param confidence: e.g. ``0.95`` to add bootstrap confidence intervals.
    :param n_boot: bootstrap replicates.
    :param decide_on: ``estimate``, ``conservative`` or ``significant``.
    :param baseline: a stored performance result (path or URI of its JSON) for
        baseline-relative constraints (templated).
    :param severity: ``block`` or ``warn``, the default of every constraint.
    :param check_name: the name recorded in the result; defaults to the task id (templated).
    :param random_state: seed of the bootstrap.
    :param policy: an alignment policy; with ``check=`` the arguments above come from that
        check of the policy. With ``model=`` too, baseline constraints compare with the last
        approved run (see :class:`AlignmentCheckOperator`).
    """

    kind = "performance"
