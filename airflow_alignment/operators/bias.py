"""``DataBiasCheckOperator``: pre-training bias of labelled data (SageMaker Clarify's metrics) as a DAG task."""

from __future__ import annotations

from airflow_alignment.operators.base import AlignmentCheckOperator
from airflow_alignment.tasks.bias import DataBiasTask


class DataBiasCheckOperator(DataBiasTask, AlignmentCheckOperator):
    """Judge labelled training data for bias before a model is trained.

    Clarify's pre-training metrics (``CI``, ``DPL``, ``KL``, ``JS``, ``LP``, ``TVD``, ``KS``,
    ``CDDL``) and AIF360's dataset metrics compare the facet ``d`` (``facet_values``) with the
    rest of the data, from the counts of labels per group: a ``SqlSource`` is counted by one
    ``GROUP BY`` in the database, a large file in batches. The numbers equal ``smclarify``'s
    (``docs/bias-metrics.md``); the page ``docs/operators/data-bias-check.md`` has examples.

    :param data: labelled rows: a path or URI, a ``FileSource``, a ``SqlSource``, a
        ``SparkSource``, or a callable returning a DataFrame (templated).
    :param label: column of the labels.
    :param sensitive_features: the facet column, or a list (their combinations are the groups).
    :param constraints: bounds on the metrics, e.g. ``[{"metric": "DPL", "min": -0.1, "max": 0.1}]``
        (templated).
    :param facet_values: the facet ``d``, e.g. ``{"sex": "F"}`` or ``{"age": {"above": 60}}``
        (templated).
    :param group_variable: the strata of ``CDDL`` (a column).
    :param pos_label: the positive label, or a list of them (default 1).
    :param label_threshold: a label above it is positive (continuous labels; replaces ``pos_label``).
    :param sample_weight: column of non-negative row weights.
    :param p: order of ``LP`` (default 2).
    :param label_distribution: ``binary`` (default) or ``values``: what KL, JS, LP, TVD, KS compare.
    :param concentration: smoothing of ``smoothed_empirical_differential_fairness`` (default 1).
    :param confidence: e.g. ``0.95`` to add bootstrap intervals (with ``sample_weight`` too: D31).
    :param n_boot: bootstrap replicates.
    :param decide_on: ``estimate``, ``conservative`` or ``significant``.
    :param random_state: the bootstrap's seed.
    :param baseline: a stored ``data_bias`` result (path or URI of its JSON) for
        baseline-relative constraints (templated).
    :param severity: ``block`` or ``warn``, the default of every constraint.
    :param check_name: the name recorded in the result; defaults to the task id.
    :param policy: an alignment policy; with ``check=`` the arguments come from that
        ``data_bias`` check of the policy (see :class:`AlignmentCheckOperator`).
    """
