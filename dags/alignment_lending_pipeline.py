"""Lending pipeline template: data, training and deployment governed by an alignment policy.

generate applications -> data quality -> training-data bias -> train and predict -> fairness,
performance -> gate -> deploy (copies the model into a model registry folder). The checks and
the gate are those of ``policies/lending.yaml``; the data checks run before training, so a model
is never trained on broken or biased labels.

Where the data and the registry live: ``ALIGNMENT_SAMPLE_DATA`` and ``ALIGNMENT_MODEL_REGISTRY``,
each a local folder (default: under ``$AIRFLOW_HOME``) or an object storage URI such as
``s3://aws_default@my-bucket/alignment-data`` (Airflow's ``ObjectStoragePath``: the connection
before the ``@`` holds the credentials). Workers that share no disk need a URI.

- The default run trains the fairness-mitigated model: every check passes, the gate approves,
  the model is deployed, and the approval is published as an event of the asset
  ``alignment/lending/credit-risk`` (the ``alignment_deploy_on_approval`` DAG runs on it).
- The training data's labels are checked for bias before training (``training_data_bias``:
  Clarify's class imbalance, difference in label proportions and KL divergence of women's
  against men's labels, ``docs/operators/data-bias-check.md``). The sample's labels are
  balanced: the bias it documents is in the features, which only the model's check sees.
- Trigger with ``{"variant": "plain"}`` to train the unmitigated model: it fails the four-fifths
  rule and equalized odds, the gate rejects it and ``deploy`` is skipped.
- Warnings (for example a group's true positive rate under 0.6) go to a person: the gate waits
  in Airflow's "Required actions" view for Approve or Reject.

The data is generated with a documented bias (see ``airflow_alignment.samples``); copy the
file, replace ``generate_applications`` and ``train_and_predict`` with yours, keep the rest.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import Param, dag, task

from airflow_alignment import alignment_checks

HOME = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))
DATA_DIR = os.environ.get("ALIGNMENT_SAMPLE_DATA", os.path.join(HOME, "alignment-sample-data"))
REGISTRY = os.environ.get("ALIGNMENT_MODEL_REGISTRY", os.path.join(HOME, "model-registry"))
FEATURES = ["income", "debt_to_income", "employment_years", "credit_score", "age"]
TRAIN_ROWS = 14_000  # the first rows train the model; the rest are the holdout it is judged on
RUN_FOLDER = "{{ ti.xcom_pull(task_ids='generate_applications') }}"


@dag(
    dag_id="alignment_lending_pipeline",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment", "template"],
    params={"variant": Param("mitigated", enum=["mitigated", "plain"])},
    doc_md=__doc__,
)
def alignment_lending_pipeline():
    @task
    def generate_applications(run_id: str | None = None) -> str:
        from airflow.sdk import ObjectStoragePath

        from airflow_alignment.samples import lending_applicants
        from airflow_alignment.store.artifacts import safe_segment

        folder = ObjectStoragePath(DATA_DIR) / "lending-pipeline" / safe_segment(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        applications = lending_applicants(20_000, seed=7)
        with (folder / "applications.parquet").open("wb") as out:
            applications.to_parquet(out, index=False)
        with (folder / "training.parquet").open("wb") as out:
            applications.iloc[:TRAIN_ROWS].to_parquet(out, index=False)
        return str(folder)

    @task
    def train_and_predict(folder: str, params: dict | None = None) -> str:
        import pickle

        import pandas as pd
        from airflow.sdk import ObjectStoragePath
        from fairlearn.postprocessing import ThresholdOptimizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        run_folder = ObjectStoragePath(folder)
        with (run_folder / "applications.parquet").open("rb") as data:
            applications = pd.read_parquet(data)
        train, holdout = applications.iloc[:TRAIN_ROWS], applications.iloc[TRAIN_ROWS:]
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
        model.fit(train[FEATURES], train["repaid"])
        if params["variant"] == "mitigated":
            model = ThresholdOptimizer(
                estimator=model, constraints="equalized_odds", prefit=True, predict_method="predict_proba"
            ).fit(train[FEATURES], train["repaid"], sensitive_features=train["sex"])
            approved = model.predict(holdout[FEATURES], sensitive_features=holdout["sex"], random_state=0)
        else:
            approved = model.predict(holdout[FEATURES])
        predictions = holdout[["applicant_id", "sex", "race", "repaid"]].assign(approved=approved.astype("int64"))
        with (run_folder / "predictions.parquet").open("wb") as out:
            predictions.to_parquet(out, index=False)
        (run_folder / "model.pkl").write_bytes(pickle.dumps(model))
        return folder

    @task
    def deploy(folder: str, run_id: str | None = None) -> str:
        from airflow.sdk import ObjectStoragePath

        from airflow_alignment.store.artifacts import safe_segment

        target = ObjectStoragePath(REGISTRY) / "credit-risk" / safe_segment(run_id)
        target.mkdir(parents=True, exist_ok=True)
        (target / "model.pkl").write_bytes((ObjectStoragePath(folder) / "model.pkl").read_bytes())
        return str(target)

    folder = generate_applications()
    trained = train_and_predict(folder)
    checks = alignment_checks(
        policy="policies/lending.yaml",
        data={
            "applications": RUN_FOLDER + "/applications.parquet",
            "training": RUN_FOLDER + "/training.parquet",
            "predictions": RUN_FOLDER + "/predictions.parquet",
        },
        model="credit-risk",
        review=True,
    )
    # the data checks run before training, the model's after it; the gate waits for all of them
    data_checks = [checks.get_child_by_label(name) for name in ("applications_quality", "training_data_bias")]
    model_checks = [checks.get_child_by_label(name) for name in ("fairness", "performance")]
    folder >> data_checks[0] >> data_checks[1] >> trained >> model_checks
    checks >> deploy(trained)


alignment_lending_pipeline()
