"""Adopting a policy in an existing DAG: one line between train and deploy.

Before:  extract >> train >> deploy
After:   extract >> train >> alignment_checks(...) >> deploy

The tasks below stand for a team's existing training DAG; only the ``alignment_checks`` line
was added.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag, task

from airflow_alignment import alignment_checks

HOME = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
DATA_DIR = os.path.join(
    os.environ.get("ALIGNMENT_SAMPLE_DATA", os.path.join(HOME, "alignment-sample-data")), "adoption"
)


@dag(
    dag_id="alignment_existing_dag_adoption",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment", "template"],
    doc_md=__doc__,
)
def alignment_existing_dag_adoption():
    @task
    def extract() -> None:
        from airflow_alignment.samples import lending_applicants

        os.makedirs(DATA_DIR, exist_ok=True)
        lending_applicants(20_000, seed=3).to_parquet(os.path.join(DATA_DIR, "applications.parquet"), index=False)

    @task
    def train() -> None:
        import pandas as pd
        from fairlearn.postprocessing import ThresholdOptimizer
        from sklearn.linear_model import LogisticRegression

        features = ["income", "debt_to_income", "employment_years", "credit_score", "age"]
        data = pd.read_parquet(os.path.join(DATA_DIR, "applications.parquet"))
        train, holdout = data.iloc[:14_000], data.iloc[14_000:]
        model = ThresholdOptimizer(
            estimator=LogisticRegression(max_iter=1000), constraints="equalized_odds", predict_method="predict_proba"
        ).fit(train[features], train["repaid"], sensitive_features=train["sex"])
        approved = model.predict(holdout[features], sensitive_features=holdout["sex"], random_state=0)
        holdout.assign(approved=approved.astype("int64")).to_parquet(os.path.join(DATA_DIR, "predictions.parquet"))

    @task
    def deploy() -> None:
        print("deploying the approved model")

    (
        extract()
        >> train()
        >> alignment_checks(
            policy="policies/lending.yaml",
            data={
                "applications": DATA_DIR + "/applications.parquet",
                "training": DATA_DIR + "/applications.parquet",  # the labelled data the model learns from
                "predictions": DATA_DIR + "/predictions.parquet",
            },
            model="credit-risk-adoption",
        )
        >> deploy()
    )


alignment_existing_dag_adoption()
