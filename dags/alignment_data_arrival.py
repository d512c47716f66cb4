"""Data-arrival template: train only once the day's partition has landed and is sound.

``wait_for_partition`` (an ``ExpectationsSensor``) waits, in the triggerer (``deferrable=True``),
until the day's applicants file exists, holds at least 1,000 rows, and passes the
data-quality expectations; a file that is missing, half written or broken just means "not
yet". Only then does ``train`` run. If nothing sound arrives within the timeout, the task
fails with the last evaluation's summary (or is skipped with ``soft_fail=True``), and that
result is stored and shown like any check's.

``land_partition`` stands in for the upstream system that writes the file (seeded sample
data, nothing downloaded): delete it and point ``PARTITION`` at your landing path.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import dag, task

from airflow_alignment.samples import applicant_expectations
from airflow_alignment.sensors import ExpectationsSensor

DATA_DIR = os.environ.get(
    "ALIGNMENT_SAMPLE_DATA",
    os.path.join(os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "alignment-sample-data"),
)
PARTITION = os.path.join(DATA_DIR, "arrival", "{{ run_id | replace(':', '_') }}", "applicants_{{ ds }}.parquet")
FEATURES = ["income", "debt_to_income", "employment_years", "credit_score", "age"]


@dag(
    dag_id="alignment_data_arrival",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment", "template"],
    doc_md=__doc__,
)
def alignment_data_arrival():
    @task(templates_dict={"path": PARTITION})
    def land_partition(templates_dict: dict | None = None) -> str:
        from airflow_alignment.samples import lending_applicants

        path = templates_dict["path"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        lending_applicants(5_000, seed=21).to_parquet(path + ".tmp", index=False)
        os.replace(path + ".tmp", path)  # appear at once: never half written
        return path

    wait = ExpectationsSensor(
        task_id="wait_for_partition",
        data=PARTITION,
        expectations=applicant_expectations(),
        min_rows=1_000,
        deferrable=True,
        poke_interval=timedelta(minutes=5),
        timeout=timedelta(hours=6),
    )

    @task
    def train(path: str) -> float:
        import pandas as pd
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        batch = pd.read_parquet(path)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        model.fit(batch[FEATURES], batch["repaid"])
        return float(model.score(batch[FEATURES], batch["repaid"]))

    landed = land_partition()
    landed >> wait >> train(landed)


alignment_data_arrival()
