"""DAGs used by tests/test_sensors.py; each reads its data path from the run conf."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_alignment.sensors import ExpectationsSensor, FairnessFeedbackSensor

PATH = "{{ dag_run.conf['path'] }}"
AGE = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}}
FAST = {"poke_interval": 0.2, "timeout": 10}

EXPECTATIONS = {
    "sensor_poke": dict(mode="poke", **FAST),
    "sensor_reschedule": {"mode": "reschedule", "poke_interval": 1, "timeout": 20},
    "sensor_deferrable": dict(deferrable=True, **FAST),
    "sensor_timeout": {"poke_interval": 0.2, "timeout": 1},
    "sensor_soft_fail": {"poke_interval": 0.2, "timeout": 1, "soft_fail": True},
    "sensor_deferrable_timeout": {"deferrable": True, "poke_interval": 0.2, "timeout": 1},
}

for dag_id, kwargs in EXPECTATIONS.items():
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
        ExpectationsSensor(task_id="wait", data=PATH, expectations=[AGE], min_rows=3, **kwargs)

FEEDBACK = {
    "data": PATH,
    "y_true": "label",
    "y_pred": "pred",
    "sensitive_features": "group",
    "constraints": [{"metric": "demographic_parity_difference", "max": 0.3}],
    "min_group_size": 4,
    "timestamp_column": "ts",
    "window": timedelta(days=7),
    "window_end": "{{ dag_run.conf['end'] }}",
}

for dag_id, kwargs in {
    "feedback_poke": dict(mode="poke", **FAST),
    "feedback_deferrable": dict(deferrable=True, **FAST),
    "feedback_timeout": {"poke_interval": 0.2, "timeout": 1},
}.items():
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
        FairnessFeedbackSensor(task_id="wait", **FEEDBACK, **kwargs)
