"""DAGs of the deployment test (tests/deploy/). Two fault cases, each lands a batch of applications
in the sample-data location (``ALIGNMENT_SAMPLE_DATA``: S3 in the deployment test) and checks it:

- ``alignment_deploy_worker_loss``: the check's first try takes long enough for the test to kill
  the worker running it (SIGKILL); the retry, on the other worker, is quick.
- ``alignment_deploy_store_loss``: a quick check; the test takes the object store away while its
  result is written, and brings it back before the retry.

And ``alignment_deploy_late_data``: a deferrable ``ExpectationsSensor`` waits for a batch that
nobody in the DAG writes: the test uploads it (with boto3) once the sensor has deferred to the
triggerer.

The data is generated (seeded); results go to the configured artifact store.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, task

from airflow_alignment.operators import ExpectationsCheckOperator
from airflow_alignment.sensors import ExpectationsSensor

#: How long the first try of ``slow_check`` waits before it evaluates.
SLOW_FIRST_TRY_S = 120
DATA_DIR = os.environ.get(
    "ALIGNMENT_SAMPLE_DATA",
    os.path.join(os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "alignment-sample-data"),
)
BATCH = DATA_DIR.rstrip("/") + "/faults/{{ dag.dag_id }}/{{ run_id | replace(':', '_') | replace('+', '_') }}.parquet"
EXPECTATIONS = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1000}},
]


@task(templates_dict={"path": BATCH})
def land(templates_dict: dict | None = None) -> str:
    from airflow.sdk import ObjectStoragePath

    from airflow_alignment.samples import lending_applicants

    path = ObjectStoragePath(templates_dict["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        lending_applicants(2_000, seed=3).to_parquet(out, index=False)
    return str(path)


class SlowFirstTryExpectations(ExpectationsCheckOperator):
    """Works ``SLOW_FIRST_TRY_S`` on its first try before it evaluates (the test kills its worker)."""

    def evaluate(self, context: Any) -> Any:
        import time

        if context["ti"].try_number == 1:
            self.log.info("first try: working for %s s", SLOW_FIRST_TRY_S)
            time.sleep(SLOW_FIRST_TRY_S)
        return super().evaluate(context)


with DAG(
    "alignment_deploy_worker_loss",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment", "test"],
):
    land() >> SlowFirstTryExpectations(
        task_id="slow_check", data=BATCH, expectations=EXPECTATIONS, retries=2, retry_delay=timedelta(seconds=2)
    )

with DAG(
    "alignment_deploy_store_loss",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment", "test"],
):
    land() >> ExpectationsCheckOperator(
        task_id="store_check",
        data=BATCH,
        expectations=EXPECTATIONS,
        retries=2,
        retry_delay=timedelta(seconds=25),  # the test reads try 1's XCom and log meanwhile
    )

with DAG(
    "alignment_deploy_late_data",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment", "test"],
):
    ExpectationsSensor(
        task_id="wait_for_batch",
        data=BATCH,
        expectations=EXPECTATIONS,
        deferrable=True,
        poke_interval=3,
        timeout=timedelta(minutes=10),
    )
