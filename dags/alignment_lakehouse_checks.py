"""Lakehouse template: alignment checks inside Spark, on a day of a Parquet table.

A credit model's decisions land in a Parquet table partitioned by day (``predictions/ds=
2026-11-02/...``), next to the training set it was fitted on (``training/``). This DAG checks the
run's day through Spark, with the policy ``policies/lakehouse.yaml``, whose checks read::

    data: {engine: spark, conn_id: alignment_lakehouse,
           query: "SELECT * FROM parquet.`{{ params.lakehouse }}/predictions` WHERE ds = :ds",
           parameters: {ds: "{{ ds }}"}}

(in Python, ``SparkSource("alignment_lakehouse", query="SELECT * FROM parquet.`...` WHERE ds =
:ds", parameters={"ds": "{{ ds }}"})``). ``{{ ds }}`` reaches Spark as a bound parameter; the
table's location is the DAG's ``lakehouse`` param (the DAG author's, rendered into the query).
A table of your catalog reads the same way: ``table: ml.predictions, where: "ds = :ds"``
(Delta and Iceberg tables too, when the Spark behind the connection has their catalogs).

What runs where: everything inside Spark; only counts come back to the Airflow worker.

- ``predictions_quality`` (expectations): Great Expectations' Spark execution engine.
- ``fairness`` (sex x race, 95% intervals) and ``performance`` (accuracy, F1): one Spark
  ``groupBy`` returns the cell counts (group x label x decision); the metrics and the bootstrap
  are computed from those counts (the data fingerprint starts with ``sha256:cells:``).
- ``feature_drift`` (PSI, KS, chi-square): the day against the training set, from bin counts,
  category counts and cumulative counts made in Spark; the statistics equal the pandas path's.

The gate's verdict is ``approved`` on the sample data.

The connection ``alignment_lakehouse``: a Spark Connect server (``pip install
"airflow-alignment[spark]"``; Databricks, EMR, Dataproc and Spark on Kubernetes serve one)::

    airflow connections add alignment_lakehouse --conn-type spark_connect \\
        --conn-host spark-connect.example --conn-port 15002

or, on one machine (tests, a laptop; Java 17+ and the full ``pyspark`` package), an in-process
session::

    export AIRFLOW_CONN_ALIGNMENT_LAKEHOUSE='{"conn_type": "spark", "host": "local[2]"}'

The first task stands in for the job that writes the table: it trains a credit model
(fairness-mitigated, as in ``alignment_lending_pipeline``) on generated applicants (seeded,
nothing downloaded, see ``airflow_alignment.samples``), writes the training set and three days
of decisions (the run's ``ds`` and the two days before, 20,000 rows each) as Parquet under the
``lakehouse`` param (default ``$AIRFLOW_HOME/lakehouse``, a folder the Spark behind the
connection must reach: a shared volume or an ``s3a://`` URI in production). Each day's folder is
replaced whole (written next to it, then renamed), so a rerun of the same ``ds`` leaves the same
rows. Copy this file, delete ``write_tables``, and point the policy at your table.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import Param, dag, task

from airflow_alignment import alignment_checks

FEATURES = ["income", "debt_to_income", "employment_years", "credit_score", "age"]
DAYS = 3  # partitions written per run: the run's ds and the days before it
ROWS_PER_DAY = 20_000
LAKEHOUSE = os.path.join(os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "lakehouse")


@dag(
    dag_id="alignment_lakehouse_checks",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment", "template", "spark"],
    params={"lakehouse": Param(LAKEHOUSE, type="string", description="folder or URI of the Parquet tables")},
    doc_md=__doc__,
)
def alignment_lakehouse_checks():
    @task
    def write_tables(ds: str | None = None, params: dict | None = None) -> dict[str, int]:
        """Train the sample model; write the training set and replace the partitions of ``ds``
        and the days before, as Parquet."""
        import shutil
        import tempfile
        from datetime import date, timedelta
        from pathlib import Path

        from fairlearn.postprocessing import ThresholdOptimizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from airflow_alignment.samples import lending_applicants

        root = Path(params["lakehouse"])
        train = lending_applicants(14_000, seed=7)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(train[FEATURES], train["repaid"])
        mitigated = ThresholdOptimizer(
            estimator=model, constraints="equalized_odds", prefit=True, predict_method="predict_proba"
        ).fit(train[FEATURES], train["repaid"], sensitive_features=train["sex"])

        def replace(folder: Path, frame) -> None:  # write next to the folder, then swap it in
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
            frame.to_parquet(staging / "part-00000.parquet", index=False)
            if folder.exists():
                shutil.rmtree(folder)
            staging.rename(folder)

        replace(root / "training", train)
        run_day, written = date.fromisoformat(ds), {}
        for offset in range(DAYS):  # seeded by position, so the run's ds always holds the same sample
            day = (run_day - timedelta(days=DAYS - 1 - offset)).isoformat()
            applicants = lending_applicants(ROWS_PER_DAY, seed=10 + offset)
            applicants["score"] = model.predict_proba(applicants[FEATURES])[:, 1].round(6)
            applicants["approved"] = mitigated.predict(
                applicants[FEATURES], sensitive_features=applicants["sex"], random_state=10 + offset
            ).astype("int64")
            replace(root / "predictions" / f"ds={day}", applicants)  # Hive-style partition: Spark reads ds
            written[day] = len(applicants)
        return written

    write_tables() >> alignment_checks(policy="policies/lakehouse.yaml", model="credit-risk")


alignment_lakehouse_checks()
