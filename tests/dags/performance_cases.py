"""DAGs used by tests/test_performance.py; each reads its data path from the run conf."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_alignment.operators.performance import PerformanceCheckOperator

PATH = "{{ dag_run.conf['path'] }}"
VS_BASELINE = {"metric": "accuracy", "name": "accuracy_vs_baseline", "baseline": {"max_decrease": 0.02}}

CASES = {
    # scores thresholded at 0.5; no baseline yet: only the absolute bounds apply
    "performance_passes": {
        "y_score": "score",
        "threshold": 0.5,
        "constraints": [{"metric": "accuracy", "min": 0.6}, {"metric": "roc_auc", "min": 0.7}, VS_BASELINE],
        "confidence": 0.9,
        "n_boot": 200,
    },
    # a weaker model's labels, compared with a stored result of the one above
    "performance_fails": {
        "y_pred": "pred",
        "constraints": [{"metric": "accuracy", "min": 0.6}, VS_BASELINE],
        "baseline": "{{ dag_run.conf['baseline'] }}",
    },
}

for dag_id, kwargs in CASES.items():
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
        PerformanceCheckOperator(task_id="check", data=PATH, y_true="label", **kwargs)
