"""Data quality template: validate each new batch of loan applications before training.

Two batches are generated (deterministically, nothing downloaded): a clean one, which passes
every expectation, and a broken one (missing incomes, impossible ages, scores out of range,
an unknown code), whose check fails with a summary naming the worst expectation and its
numbers. Copy this file, point ``data=`` at your own batch, and keep the expectations that fit.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag, task

from airflow_alignment import ExpectationsCheckOperator
from airflow_alignment.samples import applicant_expectations

DATA_DIR = os.environ.get(
    "ALIGNMENT_SAMPLE_DATA",
    os.path.join(os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "alignment-sample-data"),
)
EXPECTATIONS = applicant_expectations()


@dag(
    dag_id="alignment_data_quality",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment", "template"],
    doc_md=__doc__,
)
def alignment_data_quality():
    @task
    def generate_batches(run_id: str | None = None) -> dict[str, str]:
        from airflow_alignment.samples import corrupt, lending_applicants
        from airflow_alignment.store.artifacts import safe_segment

        folder = os.path.join(DATA_DIR, safe_segment(run_id))
        os.makedirs(folder, exist_ok=True)
        clean = lending_applicants(5_000, seed=1)
        paths = {"clean": os.path.join(folder, "clean.parquet"), "broken": os.path.join(folder, "broken.csv")}
        clean.to_parquet(paths["clean"], index=False)
        corrupt(clean).to_csv(paths["broken"], index=False)
        return paths

    batches = generate_batches()

    validate_clean = ExpectationsCheckOperator(
        task_id="validate_clean_batch",
        data="{{ ti.xcom_pull(task_ids='generate_batches')['clean'] }}",
        expectations=EXPECTATIONS,
    )
    validate_broken = ExpectationsCheckOperator(
        task_id="validate_broken_batch",
        data="{{ ti.xcom_pull(task_ids='generate_batches')['broken'] }}",
        expectations=EXPECTATIONS,
    )
    batches >> [validate_clean, validate_broken]


alignment_data_quality()
