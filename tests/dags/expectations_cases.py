"""DAGs used by tests/test_expectations_operator.py; each reads its data path from the run conf."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_alignment.operators import ExpectationsCheckOperator

AGE = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}}
INCOME = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}}
PATH = "{{ dag_run.conf['path'] }}"

CASES = {
    "expectations_warned": {
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "age", "min_value": "{{ params.min_age }}", "max_value": 100},
            },
            {**INCOME, "severity": "warning"},
        ],
    },
    "expectations_missing_column": {
        "retries": 2,
        "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "incom"}}],
    },
    "expectations_missing_file": {"retries": 1, "retry_delay": timedelta(seconds=0), "expectations": [AGE]},
    "expectations_json_string": {
        "expectations": '[{"type": "expect_column_values_to_be_between", '
        '"kwargs": {"column": "age", "min_value": {{ params.min_age }}, "max_value": 35}}]'
    },
}

for dag_id, kwargs in CASES.items():
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, params={"min_age": 18}):
        ExpectationsCheckOperator(task_id="check", data=PATH, **kwargs)
