"""Warehouse template: alignment checks where the data lives, on a partition of a SQL table.

A credit model's decisions are stored in a table ``predictions``, one partition per day
(column ``ds``). This DAG checks the run's day inside the database, with the policy
``policies/warehouse.yaml``, whose checks all read the same SQL source::

    data: {conn_id: alignment_warehouse, table: predictions, where: "ds = :ds", parameters: {ds: "{{ ds }}"}}

(in Python, ``SqlSource(conn_id="alignment_warehouse", table="predictions", where="ds = :ds",
parameters={"ds": "{{ ds }}"})``). ``{{ ds }}`` is rendered when the task runs and is a bound
parameter, never SQL text. ``alignment_checks`` turns the policy into one task per check and a
gate whose verdict is ``approved`` on the sample data.

What runs inside the database and what does not:

- ``predictions_quality`` (expectations): inside the database, through Great Expectations' SQL
  data sources; only counts and a few example values come back.
- ``fairness`` (sex x race intersections, 95% intervals) and ``performance`` (accuracy, F1):
  one ``GROUP BY`` inside the database returns the cell counts (group x label x decision); the
  metrics and the bootstrap are computed from those counts. The result's data fingerprint
  starts with ``sha256:cells:``.
- ``score_ranking`` (ROC AUC): needs every row's score, so it reads the two columns it needs,
  ``chunk_rows`` at a time (the task log says so).

The connection: ``alignment_warehouse``, any Airflow connection whose hook speaks SQLAlchemy.

- SQLite (``pip install "airflow-alignment[sqlite]"``, the SQLite provider; the file is
  created by the first task)::

    airflow connections add alignment_warehouse --conn-type sqlite --conn-host /path/to/warehouse.db

- PostgreSQL (``pip install "airflow-alignment[postgres]"``)::

    airflow connections add alignment_warehouse \\
        --conn-uri 'postgresql://user:password@db.example:5432/analytics'

  or as an environment variable, ``AIRFLOW_CONN_ALIGNMENT_WAREHOUSE='postgresql://...'``.

The first task stands in for the job that writes the predictions: it trains a credit model
(fairness-mitigated, as in ``alignment_lending_pipeline``) on generated applicants (seeded,
nothing downloaded, see ``airflow_alignment.samples``) and writes three days of its decisions,
the run's ``ds`` and the two days before, 20,000 rows each. Each day's partition is replaced
(delete its rows, then insert, in one transaction), so a rerun of the same ``ds`` leaves the
same rows. ``{{ ds }}`` is the run's logical date: ``airflow dags test alignment_warehouse_checks
2026-11-02`` checks 2026-11-02 (today when no date is given). Copy this file, delete
``write_predictions``, and point the policy at your table.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from airflow_alignment import alignment_checks

CONN_ID = "alignment_warehouse"
TABLE = "predictions"
FEATURES = ["income", "debt_to_income", "employment_years", "credit_score", "age"]
DAYS = 3  # partitions written per run: the run's ds and the days before it
ROWS_PER_DAY = 20_000


@dag(
    dag_id="alignment_warehouse_checks",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment", "template"],
    doc_md=__doc__,
)
def alignment_warehouse_checks():
    @task
    def write_predictions(ds: str | None = None) -> dict[str, int]:
        """Train the sample model and replace the partitions of ``ds`` and the days before."""
        import os
        from datetime import date, timedelta

        import pandas as pd
        import sqlalchemy as sa
        from fairlearn.postprocessing import ThresholdOptimizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from airflow_alignment.io import sql
        from airflow_alignment.samples import lending_applicants

        train = lending_applicants(14_000, seed=7)
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(train[FEATURES], train["repaid"])
        mitigated = ThresholdOptimizer(
            estimator=model, constraints="equalized_odds", prefit=True, predict_method="predict_proba"
        ).fit(train[FEATURES], train["repaid"], sensitive_features=train["sex"])

        run_day = date.fromisoformat(ds)
        days = {}
        for offset in range(DAYS):  # seeded by position, so the run's ds always holds the same sample
            day = (run_day - timedelta(days=DAYS - 1 - offset)).isoformat()
            applicants = lending_applicants(ROWS_PER_DAY, seed=10 + offset)
            applicants.insert(0, "ds", day)
            applicants["score"] = model.predict_proba(applicants[FEATURES])[:, 1].round(6)
            applicants["approved"] = mitigated.predict(
                applicants[FEATURES], sensitive_features=applicants["sex"], random_state=10 + offset
            ).astype("int64")
            days[day] = applicants
        frame = pd.concat(days.values(), ignore_index=True)

        engine = sql.engine(CONN_ID)  # the connection's own SQLAlchemy engine, through its hook
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            os.makedirs(os.path.dirname(os.path.abspath(engine.url.database)), exist_ok=True)
        with engine.begin() as conn:  # one transaction: the partitions are replaced or left as they were
            if sa.inspect(conn).has_table(TABLE):
                table = sa.table(TABLE, sa.column("ds"))
                conn.execute(sa.delete(table).where(table.c.ds.in_(list(days))))
            frame.to_sql(TABLE, conn, if_exists="append", index=False, chunksize=5_000)
        return {day: len(rows) for day, rows in days.items()}

    write_predictions() >> alignment_checks(policy="policies/warehouse.yaml", model="credit-risk")


alignment_warehouse_checks()
