"""The lending templates end to end: policy, checks, gate, deploy, the approval asset, and a
baseline-relative constraint across two consecutive runs."""

from __future__ import annotations

import json
import os

import pytest

from airflow_alignment.store.artifacts import ArtifactStore
from airflow_alignment.store.baselines import baseline_key
from tests.conftest import DAGS, checked, load_dag, task_states, xcom_value

pytestmark = pytest.mark.airflow
CHECKS = (
    "alignment.applications_quality",
    "alignment.training_data_bias",
    "alignment.fairness",
    "alignment.performance",
)


def _assertion(result, name):
    return next(a for a in result["assertions"] if a["name"] == name)


def test_mitigated_model_is_approved_twice_and_compared_with_the_last_approved(airflow_home):
    store = ArtifactStore(airflow_home / "alignment")
    dag = load_dag(DAGS / "alignment_lending_pipeline.py", "alignment_lending_pipeline")

    # the data checks run before training: quality, then the training labels' bias
    tasks = dag.task_dict
    assert tasks["alignment.applications_quality"].upstream_task_ids == {"generate_applications"}
    assert tasks["alignment.training_data_bias"].upstream_task_ids == {"alignment.applications_quality"}
    assert tasks["train_and_predict"].upstream_task_ids == {"generate_applications", "alignment.training_data_bias"}
    assert tasks["alignment.fairness"].upstream_task_ids == {"train_and_predict"}
    assert tasks["alignment.gate"].upstream_task_ids == set(CHECKS)

    first = dag.test()
    states = task_states(first)
    assert {t: states[t] for t in CHECKS} == dict.fromkeys(CHECKS, "success")
    bias = checked(xcom_value(first, "alignment.training_data_bias"))
    assert bias["kind"] == "data_bias" and bias["data"]["rows"] == 14_000  # the training rows only
    assert {a["name"] for a in bias["assertions"]} == {"CI", "DPL", "KL"}
    assert abs(_assertion(bias, "DPL")["observed"]) < 0.05 and "ci" in _assertion(bias, "DPL")["details"]
    assert states["alignment.gate"] == "success" and states["deploy"] == "success"
    deployed = xcom_value(first, "deploy")
    assert os.path.exists(os.path.join(deployed, "model.pkl"))
    perf = checked(xcom_value(first, "alignment.performance"))
    assert perf["policy"]["name"] == "lending" and len(perf["policy"]["sha256"]) == 64
    assert _assertion(perf, "accuracy_vs_production")["details"]["baseline"]["status"] == "no_baseline"
    baseline = json.loads(store.read_text(baseline_key("lending", "credit-risk")))
    assert baseline["run_id"] == first.run_id

    second = dag.test()
    assert task_states(second)["deploy"] == "success"
    perf2 = checked(xcom_value(second, "alignment.performance"))
    compared = _assertion(perf2, "accuracy_vs_production")["details"]["baseline"]
    assert compared["status"] == "compared"
    assert compared["baseline_observed"] == pytest.approx(
        _assertion(perf, "accuracy.overall")["observed"]
        if any(a["name"] == "accuracy.overall" for a in perf["assertions"])
        else perf["assertions"][0]["observed"]
    )
    assert compared["change"] == pytest.approx(0.0, abs=1e-12)  # same seed, same model, same accuracy
    assert json.loads(store.read_text(baseline_key("lending", "credit-risk")))["run_id"] == second.run_id


def test_plain_model_is_rejected_and_not_deployed(airflow_home):
    store = ArtifactStore(airflow_home / "alignment")
    key = baseline_key("lending", "credit-risk")
    before = store.read_text(key) if store.exists(key) else None
    dag = load_dag(DAGS / "alignment_lending_pipeline.py", "alignment_lending_pipeline")
    run = dag.test(run_conf={"variant": "plain"})
    states = task_states(run)
    assert states["alignment.fairness"] == "failed"
    assert states["alignment.gate"] == "skipped" and states["deploy"] == "skipped"
    gate = checked(xcom_value(run, "alignment.gate"))
    assert gate["metrics"]["verdict"] == "rejected"
    assert "fairness failed" in gate["summary"]
    assert (store.read_text(key) if store.exists(key) else None) == before


def test_deploy_on_approval_reads_the_event_extra(airflow_home):
    """The approval asset's event (emitted by the runs above, or by one here) triggers nothing in
    dag.test(), so the deploy DAG is run directly: its task reads the latest event's extra."""
    pipeline = load_dag(DAGS / "alignment_lending_pipeline.py", "alignment_lending_pipeline")
    approved = pipeline.test()
    assert task_states(approved)["alignment.gate"] == "success"
    deploy = load_dag(DAGS / "alignment_deploy_on_approval.py", "alignment_deploy_on_approval")
    run = deploy.test()
    assert task_states(run) == {"promote": "success"}
    extra = xcom_value(run, "promote")
    assert extra["verdict"] == "approved" and extra["policy"]["name"] == "lending"
    assert extra["run_id"] == approved.run_id
    assert {c["check"] for c in extra["checks"]} == {
        "applications_quality",
        "training_data_bias",
        "fairness",
        "performance",
    }


def test_existing_dag_adopts_the_policy_with_one_line(airflow_home):
    dag = load_dag(DAGS / "alignment_existing_dag_adoption.py", "alignment_existing_dag_adoption")
    assert {"extract", "train", "deploy", "alignment.gate"} <= set(dag.task_dict)
    assert dag.task_dict["alignment.applications_quality"].upstream_task_ids == {"train"}
    assert dag.task_dict["deploy"].upstream_task_ids == {"alignment.gate"}
    run = dag.test()
    assert task_states(run)["deploy"] == "success"
