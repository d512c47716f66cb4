"""DAGs used by tests/test_openlineage.py; each reads its data paths from the run conf.

``lineage_checks``: a passing expectations check on ``conf['applicants']`` and a failing
fairness check (a selection-rate ratio far below 0.8) on ``conf['predictions']``; both run
(neither is downstream of the other), so one run yields a COMPLETE and a FAIL event.
``lineage_drift``: drift between ``conf['reference']`` and ``conf['current']``.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_alignment.operators import (
    DriftCheckOperator,
    ExpectationsCheckOperator,
    FairnessCheckOperator,
)

START = datetime(2026, 1, 1)

with DAG(dag_id="lineage_checks", schedule=None, start_date=START, catchup=False):
    ExpectationsCheckOperator(
        task_id="applicants_quality",
        data="{{ dag_run.conf['applicants'] }}",
        expectations=[
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "age", "min_value": 18, "max_value": 100},
            },
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}},
        ],
    )
    FairnessCheckOperator(
        task_id="approval_fairness",
        data="{{ dag_run.conf['predictions'] }}",
        y_true="y",
        y_pred="p",
        sensitive_features="sex",
        min_group_size=1,
        constraints=[
            {"metric": "demographic_parity_ratio", "min": 0.8},
            {"metric": "selection_rate", "aggregate": "group_min", "min": 0.1},
        ],
    )

with DAG(dag_id="lineage_drift", schedule=None, start_date=START, catchup=False):
    DriftCheckOperator(
        task_id="income_drift",
        reference="{{ dag_run.conf['reference'] }}",
        current="{{ dag_run.conf['current'] }}",
        features=["income"],
    )
