"""Lending fairness template: train a credit model, predict on a held-out split, check fairness.

The applicants are generated (seeded, nothing downloaded) with a documented, injected bias: a
legacy credit score under-scores women by 50 points while their true repayment rate is the
same as men's (see ``airflow_alignment.samples.lending_applicants``).

- ``fairness_plain`` checks a logistic regression trained on that score. It approves women
  less often and misses more of the women who would repay: it fails the four-fifths rule
  (demographic parity ratio below 0.8) and equalized odds, with the numbers in the log.
- ``fairness_mitigated`` checks the same model post-processed with fairlearn's
  ``ThresholdOptimizer`` (equalized odds): it passes.

Copy this file, replace the training tasks with yours, and keep the checks.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import dag, task

from airflow_alignment import FairnessCheckOperator

DATA_DIR = os.environ.get(
    "ALIGNMENT_SAMPLE_DATA",
    os.path.join(os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "alignment-sample-data"),
)
FEATURES = ["income", "debt_to_income", "employment_years", "credit_score", "age"]
CONSTRAINTS = [
    {
        "metric": "demographic_parity_ratio",
        "min": 0.8,
        "rationale": "Four-fifths rule (US EEOC Uniform Guidelines, 29 CFR 1607.4(D)): the approval "
        "rate of any group at least 80% of the most favoured group's.",
    },
    {
        "metric": "equalized_odds_difference",
        "max": 0.1,
        "rationale": "Applicants who would repay (and who would not) are approved at rates within "
        "10 points of each other, whatever their sex.",
    },
    {"metric": "true_positive_rate", "aggregate": "group_min", "min": 0.7, "severity": "warn"},
]


@dag(
    dag_id="alignment_lending_fairness",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment", "template"],
    doc_md=__doc__,
)
def alignment_lending_fairness():
    @task
    def generate_applicants(run_id: str | None = None) -> str:
        from airflow_alignment.samples import lending_applicants
        from airflow_alignment.store.artifacts import safe_segment

        folder = os.path.join(DATA_DIR, "lending", safe_segment(run_id))
        os.makedirs(folder, exist_ok=True)
        applicants = lending_applicants(20_000, seed=7)
        applicants.iloc[:14_000].to_parquet(os.path.join(folder, "train.parquet"), index=False)
        applicants.iloc[14_000:].to_parquet(os.path.join(folder, "holdout.parquet"), index=False)
        return folder

    @task
    def train_and_predict(folder: str) -> dict[str, str]:
        import pickle

        import pandas as pd
        from fairlearn.postprocessing import ThresholdOptimizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        train = pd.read_parquet(os.path.join(folder, "train.parquet"))
        holdout = pd.read_parquet(os.path.join(folder, "holdout.parquet"))
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        model.fit(train[FEATURES], train["repaid"])
        mitigated = ThresholdOptimizer(
            estimator=model, constraints="equalized_odds", prefit=True, predict_method="predict_proba"
        )
        mitigated.fit(train[FEATURES], train["repaid"], sensitive_features=train["sex"])
        out = {}
        for name, predict in {
            "plain": lambda x: model.predict(x[FEATURES]),
            "mitigated": lambda x: mitigated.predict(x[FEATURES], sensitive_features=x["sex"], random_state=0),
        }.items():
            scored = holdout[["applicant_id", "sex", "race", "repaid"]].copy()
            scored["approved"] = predict(holdout).astype("int64")
            scored["score"] = model.predict_proba(holdout[FEATURES])[:, 1]
            out[name] = os.path.join(folder, f"predictions_{name}.parquet")
            scored.to_parquet(out[name], index=False)
        with open(os.path.join(folder, "model.pkl"), "wb") as handle:
            pickle.dump({"plain": model, "mitigated": mitigated}, handle)
        return out

    predictions = train_and_predict(generate_applicants())

    for name in ("plain", "mitigated"):
        check = FairnessCheckOperator(
            task_id=f"fairness_{name}",
            data="{{ ti.xcom_pull(task_ids='train_and_predict')['" + name + "'] }}",
            y_true="repaid",
            y_pred="approved",
            sensitive_features=["sex"],
            constraints=CONSTRAINTS,
            min_group_size=30,
            confidence=0.95,
        )
        predictions >> check


alignment_lending_fairness()
