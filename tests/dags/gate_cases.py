"""DAGs for tests/test_gate.py: a policy with one blocking and one warning expectation, adopted
with alignment_checks; the batch (from the run conf) decides which path the gate takes."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_alignment.taskgroup import alignment_checks

POLICY = {
    "name": "gate-test",
    "version": "7",
    "owner": "tests",
    "checks": [
        {
            "name": "ages_possible",
            "kind": "expectations",
            "data": "batch",
            "rationale": "an age outside 18..100 is a data error",
            "expectations": [
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": "age", "min_value": 18, "max_value": 100},
                },
            ],
        },
        {
            "name": "income_present",
            "kind": "expectations",
            "data": "batch",
            "severity": "warn",
            "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}}],
        },
    ],
}

for dag_id, review, on_reject in (
    ("gate_auto", False, "skip"),
    ("gate_review", True, "skip"),
    ("gate_fail", False, "fail"),
):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):

        @task
        def deploy() -> str:
            return "deployed"

        (
            alignment_checks(
                policy=POLICY,
                data={"batch": "{{ dag_run.conf['path'] }}"},
                model="m1",
                review=review,
                on_reject=on_reject,
            )
            >> deploy()
        )
