"""DAGs that tests/e2e/test_triggerer.py runs in a real ``airflow standalone``: deferrable
alignment sensors waiting in its triggerer, and a probe that reports from inside the triggerer.
Paths and URIs come from the run conf; the test creates the connections through the REST API."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.sdk import DAG

from airflow_alignment.io import SqlSource
from airflow_alignment.sensors import ExpectationsSensor, FairnessFeedbackSensor
from tests.e2e.triggerer_probe import TriggererProbe  # the repository root is on PYTHONPATH

AGE = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}}
WAIT = {"deferrable": True, "poke_interval": 1, "timeout": 900}
START = datetime(2026, 1, 1)

with DAG(dag_id="triggerer_probe", schedule=None, start_date=START, catchup=False, max_active_runs=1):
    TriggererProbe(task_id="probe")

# a 1M-row file that is there but never good enough: the sensor waits in the triggerer for a change
with DAG(dag_id="triggerer_big_file", schedule=None, start_date=START, catchup=False):
    ExpectationsSensor(
        task_id="wait_big_file", data="{{ dag_run.conf['path'] }}", expectations=[AGE], min_rows=2_000_000, **WAIT
    )

# data that arrives while the sensors wait: an object on S3, labels in a SQL table
with DAG(dag_id="triggerer_arrivals", schedule=None, start_date=START, catchup=False):
    ExpectationsSensor(task_id="wait_object", data="{{ dag_run.conf['uri'] }}", expectations=[AGE], min_rows=3, **WAIT)
    FairnessFeedbackSensor(
        task_id="wait_labels",
        data=SqlSource(conn_id="alignment_e2e_feedback", table="feedback"),
        y_true="label",
        y_pred="pred",
        sensitive_features="grp",
        min_group_size=3,
        constraints=[{"metric": "demographic_parity_difference", "max": 0.5}],
        timestamp_column="ts",
        window=timedelta(days=7),
        window_end="{{ dag_run.conf['end'] }}",
        **WAIT,
    )

# benchmarks/bench_triggerer.py: FLEET sensors waiting on files that never arrive, ours and
# Airflow's own FileSensor (FileTrigger) as the peer
FLEET, FLEET_POKE_S = 50, 5
MISSING = ["{{ dag_run.conf['folder'] }}" + f"/missing-{i}.csv" for i in range(FLEET)]
with DAG(dag_id="triggerer_fleet_alignment", schedule=None, start_date=START, catchup=False, max_active_tasks=FLEET):
    ExpectationsSensor.partial(
        task_id="wait", expectations=[AGE], deferrable=True, poke_interval=FLEET_POKE_S, timeout=3600
    ).expand(data=MISSING)
with DAG(dag_id="triggerer_fleet_file", schedule=None, start_date=START, catchup=False, max_active_tasks=FLEET):
    FileSensor.partial(
        task_id="wait", fs_conn_id="bench_fs_root", deferrable=True, poke_interval=FLEET_POKE_S, timeout=3600
    ).expand(filepath=MISSING)
