"""Data-arrival template: train only once the day's partition has landed and is sound.

``wait_for_partition`` (an ``ExpectationsSensor``) waits, in the triggerer (``deferrable=True``),
until the day's applicants file exists, holds at least 1,000 rows, and passes the
data-quality expectations; a file that is missing, half written or broken just means "not
yet". Only then does ``train`` run. If nothing sound arrives within the timeout, the task
fails with the last evaluation's summary (or is skipped with ``soft_fail=True``), and that
result is stored and shown like any check's.

``land_partition`` stands in for the upstream system that writes the file (seeded sample
data, nothing downloaded): delete it and point ``PARTITION`` at your landing path. The landing
folder is ``ALIGNMENT_SAMPLE_DATA``: a local folder or an object storage URI
(``s3://aws_default@my-bucket/alignment-data``), which workers that share no disk need.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import dag, task

from airflow_alignment import ExpectationsSensor
from airflow_alignment.samples import applicant_expectations

DATA_DIR = os.environ.get(
    "ALIGNMENT_SAMPLE_DATA",
    os.path.join(os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "alignment-sample-data"),
)
PARTITION = (
    DATA_DIR.rstrip("/") + "/arrival/{{ run_id | replace(':', '_') | replace('+', '_') }}/applicants_{{ ds }}.parquet"
)
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
        from airflow.sdk import ObjectStoragePath

        from airflow_alignment.samples import lending_applicants

        path = ObjectStoragePath(templates_dict["path"])
        path.parent.mkdir(parents=True, exist_ok=True)
        # appear at once, never half written: a local file is renamed into place; an object
        # store makes an object visible only when its upload completes
        part = path.parent / (path.name + ".tmp") if path.protocol in ("", "file") else path
        with part.open("wb") as out:
            lending_applicants(5_000, seed=21).to_parquet(out, index=False)
        if part != path:
            part.rename(path)
        return str(path)

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
        from airflow.sdk import ObjectStoragePath
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        with ObjectStoragePath(path).open("rb") as data:
            batch = pd.read_parquet(data)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        model.fit(batch[FEATURES], batch["repaid"])
        return float(model.score(batch[FEATURES], batch["repaid"]))

    landed = land_partition()
    landed >> wait >> train(landed)


alignment_data_arrival()
