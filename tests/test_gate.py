"""The gate: verdicts, asset events, baselines, the audit trail, and human review through
Airflow's own HITL REST API, all through real dag.test() runs."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from airflow_alignment.engines.gate import apply_review, decide, finding
from airflow_alignment.store.artifacts import ArtifactStore
from airflow_alignment.store.audit import read_audit
from airflow_alignment.store.baselines import baseline_key
from tests.conftest import TEST_DAGS, checked, load_dag, task_states, xcom_value


def _f(check, status, severity="block"):
    return finding(check, {"check": check, "status": status, "severity": severity, "summary": f"{check} {status}"})


@pytest.mark.parametrize(
    ("statuses", "review", "verdict", "status"),
    [
        ([("a", "passed"), ("b", "passed")], True, "approved", "passed"),
        ([("a", "passed"), ("b", "warned")], True, "needs_review", "warned"),
        ([("a", "passed"), ("b", "warned")], False, "approved", "passed"),
        ([("a", "failed"), ("b", "warned")], True, "rejected", "failed"),
        ([("a", "error"), ("b", "passed")], True, "rejected", "failed"),
        ([("a", "passed"), ("b", "error", "warn")], True, "needs_review", "warned"),
    ],
)
def test_verdicts(statuses, review, verdict, status):
    result = checked(decide([_f(*s) for s in statuses], review=review, model="m"))
    assert result.metrics["verdict"] == verdict and result.status == status and result.kind == "gate"


def test_summary_names_the_decisive_findings_and_a_missing_result_rejects():
    result = decide([_f("quality", "passed"), finding("fairness", None)])
    assert result.summary.startswith("rejected: 1 of 2 checks block deployment; fairness error: fairness left no")
    auto = decide([_f("quality", "warned")], review=False)
    assert auto.summary == "approved with 1 warning(s) (review is off); quality warned: quality warned"
    reviewed = checked(
        apply_review(
            decide([_f("q", "warned")]),
            approved=False,
            reviewer={"id": "u", "name": "Ada"},
            responded_at="2026-01-01T00:00:00+00:00",
        )
    )
    assert reviewed.metrics["verdict"] == "rejected" and reviewed.summary.startswith("rejected by Ada after review")


# -- through Airflow --------------------------------------------------------------------------


@pytest.fixture()
def batches(tmp_path):
    base = {"age": [25, 37, 52, 44], "income": [1.0, 2.0, 3.0, 4.0]}
    paths = {}
    for name, change in {
        "clean": {},
        "bad_age": {"age": [25, 37, 150, 44]},
        "no_income": {"income": [1.0, None, 3.0, 4.0]},
    }.items():
        paths[name] = tmp_path / f"{name}.csv"
        pd.DataFrame({**base, **change}).to_csv(paths[name], index=False)
    return paths


def _run(dag_id: str, path: Path):
    return load_dag(TEST_DAGS / "gate_cases.py", dag_id).test(run_conf={"path": str(path)})


def _store(airflow_home):
    return ArtifactStore(airflow_home / "alignment")


def _asset_events(uri: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetEvent).join(AssetModel, AssetEvent.asset_id == AssetModel.id).where(AssetModel.uri == uri)
        ).all()
        return [dict(r.extra) for r in rows]


@pytest.mark.airflow
def test_approved_emits_the_asset_event_and_updates_the_baseline(airflow_home, batches):
    store = _store(airflow_home)
    before = len(_asset_events("alignment/gate-test/m1"))
    run = _run("gate_auto", batches["clean"])
    assert task_states(run) == {
        "alignment.ages_possible": "success",
        "alignment.income_present": "success",
        "alignment.gate": "success",
        "deploy": "success",
    }
    gate = checked(xcom_value(run, "alignment.gate"))
    assert gate["metrics"]["verdict"] == "approved" and gate["summary"] == "approved: all 2 checks passed"
    events = _asset_events("alignment/gate-test/m1")
    assert len(events) == before + 1
    extra = events[-1]
    assert extra["verdict"] == "approved" and extra["run_id"] == run.run_id and extra["model"] == "m1"
    assert extra["policy"]["name"] == "gate-test" and len(extra["policy"]["sha256"]) == 64
    assert [c["check"] for c in extra["checks"]] == ["ages_possible", "income_present"]
    baseline = json.loads(store.read_text(baseline_key("gate-test", "m1")))
    assert baseline["run_id"] == run.run_id
    assert baseline["results"]["ages_possible"]["status"] == "passed"
    trail = [r for r in read_audit(store, policy="gate-test").records if r["run_id"] == run.run_id]
    assert sorted((r["check"], r["status"]) for r in trail) == [
        ("ages_possible", "passed"),
        ("alignment.gate", "passed"),
        ("income_present", "passed"),
    ]


@pytest.mark.airflow
def test_rejected_skips_deploy_writes_audit_and_keeps_the_baseline(airflow_home, batches):
    store = _store(airflow_home)
    _run("gate_auto", batches["clean"])  # an approved run first: the baseline to keep
    kept = store.read_text(baseline_key("gate-test", "m1"))
    events = len(_asset_events("alignment/gate-test/m1"))
    run = _run("gate_auto", batches["bad_age"])
    assert task_states(run) == {
        "alignment.ages_possible": "failed",
        "alignment.income_present": "success",
        "alignment.gate": "skipped",
        "deploy": "skipped",
    }
    gate = checked(xcom_value(run, "alignment.gate"))
    assert gate["metrics"]["verdict"] == "rejected"
    assert gate["summary"].startswith(
        "rejected: 1 of 2 checks block deployment; ages_possible failed: 1 of 1 expectations failed"
    )
    assert store.read_text(baseline_key("gate-test", "m1")) == kept
    assert len(_asset_events("alignment/gate-test/m1")) == events
    (line,) = [r for r in read_audit(store).records if r["run_id"] == run.run_id and r["kind"] == "gate"]
    assert line["verdict"] == "rejected" and line["policy"]["version"] == "7"


@pytest.mark.airflow
def test_on_reject_fail_fails_the_gate(airflow_home, batches):
    run = _run("gate_fail", batches["bad_age"])
    assert task_states(run)["alignment.gate"] == "failed" and task_states(run)["deploy"] == "upstream_failed"


def _respond_when_asked(dag_id: str, option: str, user: str, box: dict) -> None:
    """Wait for the gate to ask, then answer through Airflow's HITL REST endpoint."""
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from fastapi.testclient import TestClient

    deadline = time.monotonic() + 120
    ti = None
    while time.monotonic() < deadline and ti is None:
        with create_session() as session:
            ti = (
                session.query(TaskInstance)
                .filter(
                    TaskInstance.dag_id == dag_id,
                    TaskInstance.task_id == "alignment.gate",
                    TaskInstance.state.in_(["awaiting_input", "deferred"]),
                )
                .order_by(TaskInstance.start_date.desc())
                .first()
            )
            if ti is not None:
                ti = (ti.run_id, ti.map_index)
        time.sleep(0.5)
    assert ti is not None, "the gate never asked for a review"
    client = TestClient(create_app("core"))
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username=user, role="admin"))
    url = f"/api/v2/dags/{dag_id}/dagRuns/{ti[0]}/taskInstances/alignment.gate/{ti[1]}/hitlDetails"
    detail = client.get(url, headers={"Authorization": f"Bearer {token}"})
    box["detail"] = detail.json()
    response = client.patch(
        url, json={"chosen_options": [option], "params_input": {}}, headers={"Authorization": f"Bearer {token}"}
    )
    box["status"] = response.status_code
    box["response"] = response.json()


@pytest.mark.airflow
@pytest.mark.parametrize(
    ("option", "gate_state", "deploy_state", "verdict"),
    [("Approve", "success", "success", "approved"), ("Reject", "skipped", "skipped", "rejected")],
)
def test_needs_review_asks_a_person_through_airflow_hitl(
    airflow_home, batches, option, gate_state, deploy_state, verdict
):
    box: dict = {}
    responder = threading.Thread(target=_respond_when_asked, args=("gate_review", option, "ada", box))
    responder.start()
    run = _run("gate_review", batches["no_income"])
    responder.join(timeout=30)
    assert box.get("status") == 200, box
    assert box["detail"]["subject"] == "Alignment review: gate-test / m1"
    body = box["detail"]["body"]
    assert "income_present" in body and "warned" in body
    # the reviewer gets links to the report pages, never a path on the server
    assert "[report](/alignment/dags/gate_review/runs/" in body and str(airflow_home) not in body
    assert task_states(run)["alignment.gate"] == gate_state and task_states(run)["deploy"] == deploy_state
    gate = checked(xcom_value(run, "alignment.gate"))
    assert gate["metrics"]["verdict"] == verdict
    assert gate["metrics"]["reviewer"]["name"] == "ada" and gate["summary"].startswith(f"{verdict} by ada after review")
    decisions = [
        r for r in read_audit(_store(airflow_home)).records if r["run_id"] == run.run_id and r["kind"] == "gate"
    ]
    assert [d["verdict"] for d in decisions] == ["needs_review", verdict]
    assert decisions[-1]["reviewer"]["name"] == "ada"
