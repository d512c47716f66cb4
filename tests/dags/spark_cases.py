"""DAGs used by tests/test_spark_dags.py: every check on a SparkSource, through the connections
``alignment_spark_local`` (an in-process ``local[2]`` session) and ``alignment_spark_connect``
(a Spark Connect server), both set by the tests as ``AIRFLOW_CONN_*`` variables.

``spark_checks_<kind>``: expectations, fairness (count metrics; and ROC AUC with a count metric),
performance (a policy mapping with ``engine: spark``; count and score metrics) and drift on the
partition ``ds`` (run conf) of ``spark_cases.predictions``.
``spark_arrival`` / ``spark_feedback``: the sensors on a Parquet folder read by a query (path
in the run conf), which the test fills between pokes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_alignment import (
    DriftCheckOperator,
    ExpectationsCheckOperator,
    ExpectationsSensor,
    FairnessCheckOperator,
    FairnessFeedbackSensor,
    PerformanceCheckOperator,
    SparkSource,
)

TABLE = "spark_cases.predictions"
DS = "{{ dag_run.conf['ds'] }}"
EXPECTATIONS = [
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 100}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "sex", "value_set": ["F", "M"]}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "score", "min_value": 0, "max_value": 1}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "city"}, "severity": "warn"},
]
FAIRNESS = {
    "y_true": "repaid",
    "y_pred": "approved",
    "sensitive_features": ["sex", "race"],
    "sample_weight": "weight",
    "confidence": 0.9,
    "n_boot": 200,
    "constraints": [
        {"metric": "demographic_parity_ratio", "min": 0.6},
        {"metric": "equalized_odds_difference", "max": 0.5},
    ],
}
PERFORMANCE = {
    "y_true": "repaid",
    "y_score": "score",
    "threshold": 0.5,
    "constraints": [
        {"metric": "accuracy", "min": 0.4},
        {"metric": "f1", "min": 0.1},
        {"metric": "roc_auc", "min": 0.4},  # the score metrics are computed inside Spark too
        {"metric": "log_loss", "max": 1.5},
        {"metric": "brier_score", "max": 0.4},
    ],
}
FAIRNESS_SCORES = {  # ROC AUC by group, computed inside Spark, beside a count metric
    "y_true": "repaid",
    "y_score": "score",
    "threshold": 0.5,
    "sensitive_features": ["sex", "race"],
    "sample_weight": "weight",
    "constraints": [
        {"metric": "roc_auc", "aggregate": "difference", "max": 0.3},
        {"metric": "selection_rate", "aggregate": "ratio", "min": 0.5},
    ],
}
DRIFT = {"features": ["income", "score", "city"], "categorical": ["city"], "prediction": "approved", "bins": 8}

for kind in ("local", "connect"):
    conn = f"alignment_spark_{kind}"
    with DAG(dag_id=f"spark_checks_{kind}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
        day = SparkSource(conn, table=TABLE, where="ds = :ds", parameters={"ds": DS})
        ExpectationsCheckOperator(task_id="quality", data=day, expectations=EXPECTATIONS)
        FairnessCheckOperator(task_id="fairness", data=day, **FAIRNESS)
        FairnessCheckOperator(task_id="fairness_scores", data=day, **FAIRNESS_SCORES)
        PerformanceCheckOperator(  # as a policy writes it
            task_id="performance",
            data={"engine": "spark", "conn_id": conn, "table": TABLE, "where": "ds = :ds", "parameters": {"ds": DS}},
            **PERFORMANCE,
        )
        DriftCheckOperator(
            task_id="drift",
            reference=SparkSource(conn, table=TABLE, where={"ds": "{{ dag_run.conf['reference_ds'] }}"}),
            current=day,
            **DRIFT,
        )

# The sensors read a Parquet folder by path (a query lists the files again at each poke).
FOLDER = SparkSource("alignment_spark_local", query="SELECT * FROM parquet.`{{ dag_run.conf['path'] }}`")
FAST = {"mode": "poke", "poke_interval": 0.2, "timeout": 60}

with DAG(dag_id="spark_arrival", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    ExpectationsSensor(task_id="wait", data=FOLDER, expectations=EXPECTATIONS[1:3], min_rows=100, **FAST)

with DAG(dag_id="spark_feedback", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    FairnessFeedbackSensor(
        task_id="wait",
        data=FOLDER,
        y_true="label",
        y_pred="approved",
        sensitive_features="sex",
        constraints=[{"metric": "demographic_parity_difference", "max": 0.5}],
        min_group_size=40,
        timestamp_column="ts",
        window=timedelta(days=7),
        window_end="{{ dag_run.conf['end'] }}",
        **FAST,
    )
