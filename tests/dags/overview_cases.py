"""DAGs for tests/test_overview.py: two models under two policies with different owners, each a
blocking and a warning expectation adopted with alignment_checks; the batch (from the run conf)
decides the verdict. ``overview_credit`` sends warnings to a person (Airflow's HITL)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_alignment.taskgroup import alignment_checks


def policy(name: str, owner: str) -> dict:
    return {
        "name": name,
        "version": "3",
        "owner": owner,
        "references": ["EU AI Act Art. 10(3)"],
        "checks": [
            {
                "name": "ages_possible",
                "kind": "expectations",
                "data": "batch",
                "rationale": "an age outside 18..100 is a data error",
                "references": ["internal DQ-7"],
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
                "references": ["NIST AI RMF MEASURE 2.1", "internal DQ-7"],
                "expectations": [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}}],
            },
        ],
    }


for dag_id, policy_name, owner, model, review in (
    ("overview_credit", "overview-credit", "risk-office", "credit", True),
    ("overview_churn", "overview-churn", "growth-team", "churn", False),
):
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):

        @task
        def deploy() -> str:
            return "deployed"

        (
            alignment_checks(
                policy=policy(policy_name, owner),
                data={"batch": "{{ dag_run.conf['path'] }}"},
                model=model,
                review=review,
            )
            >> deploy()
        )
