"""A DAG for tests/test_history.py: one performance check mapped over two thresholds, so that a
run leaves two task instances (map indexes 0 and 1) in the history index."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_alignment.operators.performance import PerformanceCheckOperator

with DAG(dag_id="history_runs", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    PerformanceCheckOperator.partial(
        task_id="check",
        data="{{ dag_run.conf['path'] }}",
        y_true="label",
        y_score="score",
        constraints=[{"metric": "accuracy", "min": 0.5}],
    ).expand(threshold=[0.5, 0.6])
