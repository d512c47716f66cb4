"""DAGs used by tests/test_drift_operator.py; each reads its reference and current paths from the run conf."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_alignment.operators.drift import DriftCheckOperator

CASES = {
    "drift_cases_default": {},
    "drift_cases_bounds": {
        "bounds": {"income": {"psi_max": 0.5, "severity": "warn", "rationale": "incomes rise every year"}},
        "prediction": "approved",
        "sensitive_features": ["sex"],
    },
    "drift_cases_auto": {"method": "auto", "drift_share": 0.5, "missing_share_max": 0.01, "severity": "warn"},
}

for dag_id, kwargs in CASES.items():
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
        DriftCheckOperator(
            task_id="drift",
            reference="{{ dag_run.conf['reference'] }}",
            current="{{ dag_run.conf['current'] }}",
            **kwargs,
        )
