"""A DAG whose checks read their data from callables (tests/test_callable_data.py).

Airflow 3.3 calls a callable found in a templated field with ``(context=, jinja_env=)`` when
it renders the field; a ``data=`` callable takes no argument and must reach the check as is.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_alignment.operators import (
    DriftCheckOperator,
    ExpectationsCheckOperator,
    FairnessCheckOperator,
    PerformanceCheckOperator,
)
from airflow_alignment.sensors import ExpectationsSensor


def applicants():
    from airflow_alignment.samples import lending_applicants

    return lending_applicants(2_000, seed=3)


def predictions():
    frame = applicants()
    frame["approved"] = (frame["credit_score"] >= 600).astype("int64")
    return frame


with DAG(dag_id="callable_data", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    ExpectationsCheckOperator(
        task_id="expectations",
        data=applicants,
        expectations=[{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}}],
    )
    FairnessCheckOperator(
        task_id="fairness",
        data=predictions,
        y_true="repaid",
        y_pred="approved",
        sensitive_features="race",
        constraints=[{"metric": "demographic_parity_ratio", "min": 0.0}],
    )
    PerformanceCheckOperator(
        task_id="performance",
        data=predictions,
        y_true="repaid",
        y_pred="approved",
        constraints=[{"metric": "accuracy", "min": 0.0}],
    )
    DriftCheckOperator(task_id="drift", reference=applicants, current=applicants, features=["income", "age"])
    ExpectationsSensor(task_id="sensor", data=applicants, min_rows=100, mode="poke", poke_interval=1, timeout=60)
