"""DAGs used by tests/test_sql_operators.py: checks on a SQL table (connection
``cases_warehouse``, set by the test) and on a file read in batches (path from the run conf)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_alignment.io import FileSource, SqlSource
from airflow_alignment.operators.fairness import FairnessCheckOperator
from airflow_alignment.operators.performance import PerformanceCheckOperator
from airflow_alignment.taskgroup import alignment_checks

CONN = "cases_warehouse"
FAIRNESS = {
    "y_true": "repaid",
    "y_pred": "approved",
    "sensitive_features": ["sex", "race"],
    "marginal": True,
    "sample_weight": "weight",
    "confidence": 0.9,
    "n_boot": 200,
    "constraints": [
        {"metric": "demographic_parity_ratio", "min": 0.6},
        {"metric": "equalized_odds_difference", "max": 0.3},
    ],
}
PERFORMANCE = {
    "y_true": "repaid",
    "y_score": "score",
    "threshold": 0.5,
    "constraints": [{"metric": "accuracy", "min": 0.4}, {"metric": "f1", "min": 0.1}],
    "confidence": 0.9,
    "n_boot": 200,
}

with DAG(dag_id="sql_pushdown", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    partition = SqlSource(conn_id=CONN, table="predictions", where="ds = '{{ ds }}'")
    FairnessCheckOperator(task_id="fairness", data=partition, **FAIRNESS)
    PerformanceCheckOperator(task_id="performance", data=partition, **PERFORMANCE)
    # roc_auc needs the rows: the operator reads the needed columns instead of counting
    PerformanceCheckOperator(
        task_id="performance_rows",
        data=SqlSource(conn_id=CONN, table="predictions", where="ds = :ds", parameters={"ds": "{{ ds }}"}),
        y_true="repaid",
        y_score="score",
        constraints=[{"metric": "roc_auc", "min": 0.3}],
    )

with DAG(dag_id="file_batches", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    FairnessCheckOperator(
        task_id="fairness",
        data=FileSource("{{ dag_run.conf['path'] }}", batch_rows=700),
        **FAIRNESS,
    )

# a policy that names its SQL source as a mapping, as a YAML policy file would
POLICY = {
    "name": "sql_lending",
    "version": "1",
    "checks": [
        {
            "name": "fairness",
            "kind": "fairness",
            "data": {"conn_id": CONN, "table": "predictions", "where": "ds = :ds", "parameters": {"ds": "{{ ds }}"}},
            "y_true": "repaid",
            "y_pred": "approved",
            "sensitive_features": ["sex"],
            "constraints": [{"metric": "demographic_parity_ratio", "min": 0.5}],
        },
    ],
}

with DAG(dag_id="sql_policy", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    alignment_checks(policy=POLICY, model="credit-risk-sql")
