"""Monitoring template: a daily check of a deployed credit model on its production feedback.

The deployed model's predictions are logged when they are made; whether the applicant repaid
(the label) arrives days later. Every day this DAG:

1. waits for labelled feedback (``FairnessFeedbackSensor``): every group of ``sex`` needs at
   least ``min_group_size`` labelled predictions in the last 7 days (deferrable: the wait
   happens in the triggerer, not in a worker slot); then it judges fairness,
   on absolute bounds and against the approved baseline (the model's fairness when it was
   approved);
2. estimates the fairness of the last day's decisions before their labels exist
   (``EstimatedFairnessOperator``): from the model's repayment scores, with a calibration check
   on the labelled window that says whether the estimate can be trusted; step 1 confirms it
   when the labels land;
3. checks drift of this week's applicants against the training data (``DriftCheckOperator``);
4. when the labelled fairness check or the drift check degraded, triggers the retraining DAG
   (``alignment_lending_pipeline``) and notifies (``AlignmentNotifier``); otherwise it ends at ``healthy``.

The sample data lives under ``ALIGNMENT_SAMPLE_DATA``: a local folder or an object storage URI
(``s3://aws_default@my-bucket/alignment-data``), which workers that share no disk need.

The checks run with ``severity="warn"``: a degradation is a signal to act on, not a broken
run. The first task simulates production (seeded, nothing downloaded): the vendor's credit
score now under-scores women by 80 points instead of 50, and incomes rose by 20%; labels
arrive two days late and one in ten never does. The repayment score is calibrated on the
training data by credit-score band for everyone at once, so with the larger bias it is no
longer calibrated for women: the estimate says so and ends ``warned`` (not trusted). Replace
``simulate_production`` with the paths of your outcome log, training data and approved baseline (or give the sensor
``policy=`` and ``model=`` to compare with the last approved run in the artifact store).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag, task

from airflow_alignment import (
    AlignmentNotifier,
    DriftCheckOperator,
    EstimatedFairnessOperator,
    FairnessFeedbackSensor,
)

DATA_DIR = os.environ.get(
    "ALIGNMENT_SAMPLE_DATA",
    os.path.join(os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "alignment-sample-data"),
)
# A local JSON-lines file the notifier appends to (none when the data lives in object storage,
# which cannot append: the notification is then only logged).
NOTIFICATIONS = os.environ.get("ALIGNMENT_NOTIFICATIONS") or (
    None if "://" in DATA_DIR else os.path.join(DATA_DIR, "monitoring", "notifications.jsonl")
)
FEATURES = ["income", "debt_to_income", "employment_years", "credit_score", "age"]
CONSTRAINTS = [
    {"metric": "demographic_parity_ratio", "min": 0.8, "rationale": "four-fifths rule"},
    {"metric": "equalized_odds_difference", "max": 0.15},
    {
        "metric": "demographic_parity_ratio",
        "name": "parity_vs_approved",
        "baseline": {"max_decrease": 0.05},
        "rationale": "no more than 5 points worse than when the model was approved",
    },
]


def produced(name: str) -> str:
    """A path the first task returned (rendered when the task runs)."""
    return "{{ ti.xcom_pull(task_ids='simulate_production')['" + name + "'] }}"


ESTIMATED = [  # count-based metrics: what calibrated scores can estimate before the labels
    {"metric": "demographic_parity_ratio", "min": 0.8, "rationale": "four-fifths rule"},
    {"metric": "equalized_odds_difference", "max": 0.15},
]


def approve(frame):  # the deployed model: a cut-off on the vendor's credit score
    return (frame["credit_score"] >= 640).astype("int64")


@dag(
    dag_id="alignment_monitoring",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment", "template"],
    doc_md=__doc__,
)
def alignment_monitoring():
    @task
    def simulate_production(run_id: str | None = None, data_interval_end: datetime | None = None) -> dict[str, str]:
        import numpy as np
        from airflow.sdk import ObjectStoragePath

        from airflow_alignment.engines.fairness import evaluate
        from airflow_alignment.samples import lending_applicants
        from airflow_alignment.store.artifacts import safe_segment

        folder = ObjectStoragePath(DATA_DIR) / "monitoring" / safe_segment(run_id)
        folder.mkdir(parents=True, exist_ok=True)
        training = lending_applicants(6_000, seed=7)
        training["approved"] = approve(training)
        approved = evaluate(
            training,
            y_true="repaid",
            y_pred="approved",
            sensitive_features="sex",
            constraints=CONSTRAINTS,
            check_name="wait_for_feedback",
        )
        log = lending_applicants(4_000, seed=8, score_bias=80.0)
        log["income"] = (log["income"] * 1.2).round(2)
        log["approved"] = approve(log)
        rng = np.random.default_rng(80)  # not 8: the applicants drew their sex from that stream
        end = data_interval_end or datetime.now().astimezone()
        log["predicted_at"] = [end - timedelta(hours=float(h)) for h in rng.uniform(0, 24 * 10, len(log))]
        late = (log["predicted_at"] > end - timedelta(days=2)) | (rng.random(len(log)) < 0.1)
        log["repaid"] = log["repaid"].astype("Float64").mask(late)  # not labelled yet
        log["repay_score"] = repay_score(training, log)
        today = log[log["predicted_at"] > end - timedelta(days=1)]
        labelled = log[log["repaid"].notna()].astype({"repaid": "int64"})
        frames = {
            "training": training.drop(columns="approved"),
            "outcome_log": log,
            "scored_today": today[["sex", "repay_score", "approved"]],
            "labelled_window": labelled[["sex", "repay_score", "repaid"]],
        }
        for name, frame in frames.items():
            with (folder / f"{name}.parquet").open("wb") as out:
                frame.to_parquet(out, index=False)
        (folder / "approved_fairness.json").write_text(approved.to_json())
        return {
            "training": str(folder / "training.parquet"),
            "outcome_log": str(folder / "outcome_log.parquet"),
            "baseline": str(folder / "approved_fairness.json"),
            "scored_today": str(folder / "scored_today.parquet"),
            "labelled_window": str(folder / "labelled_window.parquet"),
        }

    feedback = FairnessFeedbackSensor(
        task_id="wait_for_feedback",
        data=produced("outcome_log"),
        y_true="repaid",
        y_pred="approved",
        sensitive_features="sex",
        constraints=CONSTRAINTS,
        baseline=produced("baseline"),
        min_group_size=300,
        timestamp_column="predicted_at",
        window=timedelta(days=7),
        severity="warn",
        deferrable=True,  # waits in the triggerer, not in a worker slot
        poke_interval=timedelta(minutes=30),
        timeout=timedelta(hours=12),
    )
    estimate = EstimatedFairnessOperator(
        task_id="estimate_fairness",
        data=produced("scored_today"),  # today's decisions: no label yet
        y_score="repay_score",
        y_pred="approved",
        sensitive_features="sex",
        constraints=ESTIMATED,
        labelled=produced("labelled_window"),  # the labels that landed: is the score calibrated?
        y_true="repaid",
        severity="warn",
    )
    drift = DriftCheckOperator(
        task_id="check_drift",
        reference=produced("training"),
        current=produced("outcome_log"),
        features=FEATURES,
        severity="warn",
    )

    @task.branch
    def decide(ti=None) -> list[str]:
        results = {t: ti.xcom_pull(task_ids=t) for t in ("wait_for_feedback", "check_drift")}
        degraded = {t: r["summary"] for t, r in results.items() if r["status"] != "passed"}
        ti.xcom_push(key="reason", value="; ".join(f"{t}: {s}" for t, s in degraded.items()))
        return ["trigger_retraining"] if degraded else ["healthy"]

    retrain = TriggerDagRunOperator(
        task_id="trigger_retraining",
        trigger_dag_id="alignment_lending_pipeline",
        conf={"reason": "{{ ti.xcom_pull(task_ids='decide', key='reason') }}"},
        on_success_callback=AlignmentNotifier(
            message="{{ dag.dag_id }} {{ ds }}: retraining triggered: "
            "{{ ti.xcom_pull(task_ids='decide', key='reason') }}",
            path=NOTIFICATIONS,
        ),
    )
    paths = simulate_production()
    paths >> estimate
    paths >> [feedback, drift] >> decide() >> [retrain, EmptyOperator(task_id="healthy")]


def repay_score(training, frame):
    """The model's probability of repayment: the training repayment rate of the row's
    credit-score band (20 bands), calibrated on the training data for everyone at once."""
    import numpy as np

    edges = np.unique(np.quantile(training["credit_score"], np.linspace(0, 1, 21)[1:-1]))
    rate = training.groupby(np.searchsorted(edges, training["credit_score"], side="right"))["repaid"].mean()
    band = np.searchsorted(edges, frame["credit_score"], side="right")
    return rate.reindex(band).fillna(training["repaid"].mean()).to_numpy()


alignment_monitoring()
