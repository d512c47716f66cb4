"""Governance across models: the Alignment overview and the compliance dossier.

Through real ``dag.test()`` runs of ``tests/dags/overview_cases.py`` (approved, rejected, and
a review answered by a person through Airflow's HITL REST API while the overview shows it
waiting), read through Airflow's own API app with the plugin mounted and a real auth manager:
``admin`` sees every model, ``restricted`` (see ``tests/auth_managers.py``) may not read
``overview_churn`` and sees neither its model nor its pages nor its dossiers. Then what the
overview costs on a long history, snapshots that were edited, and escaping.
"""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest

from airflow_alignment.reporting.html import render_overview
from airflow_alignment.store import models
from airflow_alignment.store.artifacts import ArtifactStore
from tests.conftest import TEST_DAGS, load_dag, task_states
from tests.test_reports import EVIL_IMG, EVIL_SCRIPT, assert_escaped

OURS = {"overview-credit", "overview-churn"}
HIDDEN = "overview_churn"


def _run(dag_id: str, path) -> Any:
    return load_dag(TEST_DAGS / "overview_cases.py", dag_id).test(run_conf={"path": str(path)})


def _get(world: dict, url: str, user: str = "admin") -> Any:
    return world["client"].get(url, headers={"Authorization": f"Bearer {world['tokens'][user]}"})


def _ours(overview: dict) -> dict[str, dict]:
    return {row["model"]: row for row in overview["models"] if row["policy_name"] in OURS}


def _answer_review(world: dict, box: dict) -> None:
    """Wait for the credit gate to ask; read the overview while it waits; answer as ``ada``."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    deadline, waiting = time.monotonic() + 120, None
    while time.monotonic() < deadline and waiting is None:
        with create_session() as session:
            ti = (
                session.query(TaskInstance)
                .filter(
                    TaskInstance.dag_id == "overview_credit",
                    TaskInstance.task_id == "alignment.gate",
                    TaskInstance.state.in_(["awaiting_input", "deferred"]),
                )
                .first()
            )
            waiting = ti and (ti.run_id, ti.map_index)
        time.sleep(0.5)
    assert waiting is not None, "the gate never asked for a review"
    box["while_waiting"] = _get(world, "/alignment/api/overview").json()
    box["page_while_waiting"] = _get(world, "/alignment/overview").text
    token = world["am"].generate_jwt(SimpleAuthManagerUser(username="ada", role="admin"))
    url = f"/api/v2/dags/overview_credit/dagRuns/{waiting[0]}/taskInstances/alignment.gate/{waiting[1]}/hitlDetails"
    response = world["client"].patch(
        url, json={"chosen_options": ["Approve"], "params_input": {}}, headers={"Authorization": f"Bearer {token}"}
    )
    box["status"] = response.status_code


@pytest.fixture(scope="module")
def world(airflow_home, tmp_path_factory):
    from airflow.api_fastapi.app import create_app, get_auth_manager, purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    root = tmp_path_factory.mktemp("overview")
    base = {"age": [25, 37, 52, 44], "income": [1.0, 2.0, 3.0, 4.0]}
    batches = {}
    for name, change in {
        "clean": {},
        "bad_age": {"age": [25, 37, 150, 44]},
        "no_income": {"income": [1.0, None, 3.0, 4.0]},
    }.items():
        batches[name] = root / f"{name}.csv"
        pd.DataFrame({**base, **change}).to_csv(batches[name], index=False)

    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW__CORE__AUTH_MANAGER", "tests.auth_managers.HidingAuthManager")
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,restricted:viewer,ada:admin")
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(root / "passwords.json"))
    mp.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "test-secret-for-the-alignment-overview-" + "x" * 40)
    mp.setenv("ALIGNMENT_TEST_HIDDEN_DAGS", HIDDEN)
    purge_cached_app()
    try:
        app = create_app("core")
        am = get_auth_manager()
        tokens = {
            name: am.generate_jwt(SimpleAuthManagerUser(username=name, role=role))
            for name, role in (("admin", "admin"), ("restricted", "viewer"))
        }
        with TestClient(app) as client:
            world = {"client": client, "tokens": tokens, "am": am}
            runs = {
                "churn_ok": _run("overview_churn", batches["clean"]),
                "credit_ok": _run("overview_credit", batches["clean"]),
                "credit_bad": _run("overview_credit", batches["bad_age"]),
                "churn_bad": _run("overview_churn", batches["bad_age"]),
            }
            box: dict = {}
            responder = threading.Thread(target=_answer_review, args=(world, box))
            responder.start()
            runs["credit_reviewed"] = _run("overview_credit", batches["no_income"])
            responder.join(timeout=60)
            assert box.get("status") == 200, box
            yield {
                **world,
                "runs": runs,
                "box": box,
                "store": ArtifactStore(airflow_home / "alignment"),
                "batches": batches,
            }
    finally:
        purge_cached_app()
        mp.undo()


@pytest.mark.airflow
def test_the_runs_decided_as_the_batches_say(world):
    states = {name: task_states(run)["alignment.gate"] for name, run in world["runs"].items()}
    assert states == {
        "churn_ok": "success",
        "credit_ok": "success",
        "credit_bad": "skipped",
        "churn_bad": "skipped",
        "credit_reviewed": "success",
    }


@pytest.mark.airflow
def test_the_overview_shows_each_models_state(world):
    response = _get(world, "/alignment/api/overview")
    assert response.status_code == 200
    rows, runs = _ours(response.json()), world["runs"]
    assert set(rows) == {"credit", "churn"}
    credit, churn = rows["credit"], rows["churn"]
    assert credit["verdict"] == "approved" and credit["reviewer"]["name"] == "ada"
    assert credit["run_id"] == runs["credit_reviewed"].run_id and credit["dag_id"] == "overview_credit"
    assert credit["sparkline"] == ["approved", "rejected", "approved"]  # oldest first
    assert credit["last_approved"]["run_id"] == runs["credit_reviewed"].run_id
    assert credit["owner"] == "risk-office" and credit["policy"]["version"] == "3"
    assert len(credit["policy"]["sha256"]) == 64
    assert credit["run_url"] == f"/alignment/dags/overview_credit/runs/{runs['credit_reviewed'].run_id}".replace(
        ":", "%3A"
    ).replace("+", "%2B")
    assert churn["verdict"] == "rejected" and churn["sparkline"] == ["approved", "rejected"]
    assert churn["last_approved"]["run_id"] == runs["churn_ok"].run_id
    assert [c["status"] for c in churn["checks"]] == ["failed", "passed"]
    assert churn["owner"] == "growth-team"
    page = _get(world, "/alignment/overview")
    assert page.status_code == 200 and page.headers["content-security-policy"].startswith("default-src 'none'")
    assert page.text.count('class="spark"') >= 2 and "overview-credit" in page.text and "growth-team" in page.text
    assert "reviewed by" in page.text and "failing: ages_possible" in page.text


@pytest.mark.airflow
def test_a_review_waiting_for_a_person_is_listed_with_its_link_until_answered(world):
    waiting = world["box"]["while_waiting"]
    (review,) = [r for r in waiting["reviews"] if r["dag_id"] == "overview_credit"]
    run_id = world["runs"]["credit_reviewed"].run_id
    assert review["subject"] == "Alignment review: overview-credit / credit" and review["run_id"] == run_id
    assert review["url"].endswith("/tasks/alignment.gate/required_actions")
    assert _ours(waiting)["credit"]["verdict"] == "needs_review"  # what the gate said when it asked
    assert "Waiting for a person (1)" in world["box"]["page_while_waiting"]
    now = _get(world, "/alignment/api/overview").json()
    assert not [r for r in now["reviews"] if r["dag_id"] == "overview_credit"]


@pytest.mark.airflow
@pytest.mark.parametrize(
    ("query", "models_shown"),
    [
        ("verdict=rejected", {"churn"}),
        ("owner=risk-office", {"credit"}),
        ("policy=overview-churn", {"churn"}),
        ("verdict=needs_review", set()),
    ],
)
def test_filters(world, query, models_shown):
    data = _get(world, f"/alignment/api/overview?{query}").json()
    assert set(_ours(data)) == models_shown
    key, value = query.split("=")
    assert data["filters"] == {key: value}
    assert f"{key} = <strong>{value}</strong>" in _get(world, f"/alignment/overview?{query}").text


@pytest.mark.airflow
def test_a_user_sees_only_the_models_of_dags_they_may_read(world):
    rows = _ours(_get(world, "/alignment/api/overview", user="restricted").json())
    assert set(rows) == {"credit"}
    page = _get(world, "/alignment/overview", user="restricted").text
    assert "overview-credit" in page and "churn" not in page
    assert _get(world, f"/alignment/dags/{HIDDEN}/history", user="restricted").status_code == 403
    assert _get(world, f"/alignment/api/dags/{HIDDEN}/history", user="restricted").status_code == 403
    assert _get(world, "/alignment/dags/overview_credit/history", user="restricted").status_code == 200
    assert world["client"].get("/alignment/api/overview").status_code == 401


@pytest.mark.airflow
def test_the_overview_links_each_models_dossier(world):
    (credit,) = [r for r in _get(world, "/alignment/api/overview").json()["models"] if r["model"] == "credit"]
    assert credit["dossier_url"].startswith("/alignment/models/overview-credit/credit/dossier?run_id=")
    assert _get(world, credit["dossier_url"]).status_code == 200


@pytest.mark.airflow
def test_the_home_dashboard_summary(world):
    plugins = _get(world, "/api/v2/plugins").json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "airflow_alignment")
    (app,) = ours["react_apps"]
    assert app["destination"] == "dashboard" and app["bundle_url"] == "/alignment/static/dashboard.js"
    script = _get(world, app["bundle_url"])
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert 'new URL("../overview?compact=1", import.meta.url)' in script.text
    assert "globalThis.AirflowPlugin = AlignmentSummary" in script.text
    assert world["client"].get(app["bundle_url"]).status_code == 401  # behind Airflow's auth like every page
    page = _get(world, "/alignment/overview?compact=1")
    assert page.status_code == 200 and 'href="/plugin/alignment-overview" target="_top"' in page.text
    assert "overview-credit" in page.text and "Waiting for a person" not in page.text
    restricted = _get(world, "/alignment/overview?compact=1", user="restricted").text
    assert "churn" not in restricted and "credit" in restricted


@pytest.mark.airflow
def test_the_overview_is_in_airflows_navigation(world):
    plugins = _get(world, "/api/v2/plugins").json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "airflow_alignment")
    (nav,) = [v for v in ours["external_views"] if v["destination"] == "nav"]
    assert nav["name"] == "Alignment" and nav["href"] == "/alignment/overview"


def _dossier(world: dict, model: str, run: str | None = None, user: str = "admin", api: bool = True) -> Any:
    policy = {"credit": "overview-credit", "churn": "overview-churn"}[model]
    query = f"?run_id={quote(world['runs'][run].run_id, safe='')}" if run else ""
    return _get(world, f"/alignment/{'api/' if api else ''}models/{policy}/{model}/dossier{query}", user=user)


@pytest.mark.airflow
def test_the_dossier_of_a_reviewed_approval_holds_everything_behind_it(world, airflow_home):
    response = _dossier(world, "credit", "credit_reviewed")
    assert response.status_code == 200
    d, runs = response.json(), world["runs"]
    decision = d["decision"]
    assert decision["verdict"] == "approved" and decision["reviewed"] and decision["reviewer"]["name"] == "ada"
    assert decision["responded_at"] and decision["run_id"] == runs["credit_reviewed"].run_id
    # the policy as it was, its hash re-computed from the kept snapshot
    policy = d["policy"]
    assert policy["snapshot"]["verified"] is True and policy["version"] == "3" and policy["owner"] == "risk-office"
    assert policy["content"]["name"] == "overview-credit" and policy["references"] == ["EU AI Act Art. 10(3)"]
    (ages,) = [c for c in policy["checks"] if c["name"] == "ages_possible"]
    assert ages["rationale"] == "an age outside 18..100 is a data error" and ages["references"] == ["internal DQ-7"]
    assert ages["thresholds"]["expectations"][0]["kwargs"]["max_value"] == 100
    # each check's result and the data it read, with no server path
    checks = {c["check"]: c for c in d["checks"]}
    assert {k: c["status"] for k, c in checks.items()} == {"ages_possible": "passed", "income_present": "warned"}
    data = checks["income_present"]["data"]
    assert data["rows"] == 4 and data["fingerprint"].startswith("sha256:") and data["source"].endswith("no_income.csv")
    assert data["dataset"]["namespace"] == "file" and str(airflow_home) not in json.dumps(d)
    assert checks["ages_possible"]["report_url"].startswith("/alignment/dags/overview_credit/runs/")
    # what changed since the previous approved version
    previous = d["previous_approved"]
    assert previous["run_id"] == runs["credit_ok"].run_id
    (income,) = [x for x in previous["changes"] if x["check"] == "income_present"]
    assert income["passed_before"] is True and income["passed_after"] is False
    # the audit records behind it, checksums verified
    audit = d["audit"]
    assert audit["complete"] is True and audit["damaged_in_window"] == 0
    kinds = sorted((r["kind"], r["verdict"]) for r in audit["records"] if r["kind"] == "gate")
    assert kinds == [("gate", "approved"), ("gate", "needs_review")]
    assert {r["check"] for r in audit["records"] if r["kind"] != "gate"} == {"ages_possible", "income_present"}
    # requirement -> checks that evidence it -> status
    coverage = {r["requirement"]: r for r in d["coverage"]}
    assert set(coverage) == {"EU AI Act Art. 10(3)", "internal DQ-7", "NIST AI RMF MEASURE 2.1"}
    assert coverage["EU AI Act Art. 10(3)"]["status"] == "warned"
    assert [c["check"] for c in coverage["internal DQ-7"]["checks"]] == ["ages_possible", "income_present"]
    assert coverage["NIST AI RMF MEASURE 2.1"]["checks"] == [{"check": "income_present", "status": "warned"}]
    page = _dossier(world, "credit", "credit_reviewed", api=False)
    assert page.status_code == 200 and "@media print" in page.text
    for text in (
        "snapshot matches the hash",
        "every checksum verified",
        "by <strong>ada</strong>",
        "Requirements coverage",
        "EU AI Act Art. 10(3)",
        runs["credit_ok"].run_id,
    ):
        assert text in page.text, text


@pytest.mark.airflow
def test_the_dossier_of_a_rejection_and_the_default_decision(world):
    d = _dossier(world, "credit", "credit_bad").json()
    assert d["decision"]["verdict"] == "rejected" and not d["decision"]["reviewed"]
    assert d["previous_approved"]["run_id"] == world["runs"]["credit_ok"].run_id
    assert {c["check"]: c["status"] for c in d["checks"]}["ages_possible"] == "failed"
    newest = _dossier(world, "churn").json()  # no run_id: the newest approved or rejected decision
    assert newest["decision"]["run_id"] == world["runs"]["churn_bad"].run_id
    assert _get(world, "/alignment/api/models/overview-churn/churn/dossier?run_id=nope").status_code == 404
    assert _get(world, "/alignment/api/models/overview-churn/nobody/dossier").status_code == 404


@pytest.mark.airflow
def test_no_dossier_of_a_dag_the_user_may_not_read(world):
    assert _dossier(world, "churn", "churn_ok", user="restricted").status_code == 403
    assert _dossier(world, "churn", user="restricted", api=False).status_code == 403
    assert _dossier(world, "credit", "credit_ok", user="restricted").status_code == 200


@pytest.mark.airflow
def test_the_cli_writes_the_same_dossier_and_exports_the_audit(world, tmp_path, airflow_home):
    from airflow_alignment.cli import main

    store, run_id = str(airflow_home / "alignment"), world["runs"]["credit_reviewed"].run_id
    target = tmp_path / "dossier.json"
    assert (
        main(
            [
                "dossier",
                "--policy",
                "overview-credit",
                "--model",
                "credit",
                "--run-id",
                run_id,
                "-o",
                str(target),
                "--store",
                store,
            ]
        )
        == 0
    )
    mine, served = json.loads(target.read_text()), _dossier(world, "credit", "credit_reviewed").json()
    assert mine["coverage"] == served["coverage"]
    mine_decision = {k: v for k, v in mine["decision"].items() if k != "summary"}  # the page redacts paths
    assert mine_decision == {k: v for k, v in served["decision"].items() if k != "summary"}
    assert mine["audit"] == served["audit"] and mine["policy"]["sha256"] == served["policy"]["sha256"]
    page = tmp_path / "dossier.html"
    assert (
        main(
            [
                "dossier",
                "--policy",
                "overview-credit",
                "--model",
                "credit",
                "--run-id",
                run_id,
                "-o",
                str(page),
                "--store",
                store,
            ]
        )
        == 0
    )
    assert "Compliance dossier: overview-credit / credit" in page.read_text()
    assert main(["dossier", "--policy", "overview-credit", "--model", "nobody", "--store", store]) == 4
    csv_path = tmp_path / "audit.csv"
    assert (
        main(
            [
                "audit",
                "export",
                "--policy",
                "overview-credit",
                "--model",
                "credit",
                "-o",
                str(csv_path),
                "--store",
                store,
            ]
        )
        == 0
    )
    import csv

    rows = list(csv.DictReader(csv_path.open()))
    gates = [(r["run_id"], r["verdict"], r["reviewer"]) for r in rows if r["kind"] == "gate"]
    assert (run_id, "approved", "ada") in gates and (run_id, "needs_review", "") in gates
    assert {r["policy_name"] for r in rows} == {"overview-credit"} and len(gates) == 4


@pytest.mark.airflow
@pytest.mark.parametrize(
    ("batch", "run", "code", "verdict"),
    [
        ("clean", "credit_ok", 0, "approved"),
        ("bad_age", "credit_bad", 1, "rejected"),
        ("no_income", "credit_reviewed", 2, "needs_review"),
    ],
)
def test_cli_check_decides_as_the_gate_did_on_the_same_data(world, tmp_path, batch, run, code, verdict):
    import yaml

    from airflow_alignment.cli import main
    from tests.dags.overview_cases import policy

    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy("overview-credit", "risk-office")))
    out = io.StringIO()
    assert main(["check", str(path), "--var", f"batch={world['batches'][batch]}", "--format", "json"], out=out) == code
    mine = json.loads(out.getvalue())
    (gate,) = [r for r in _gate_records(world, run) if r["verdict"] in (verdict,)][:1] or [None]
    assert gate is not None, f"the gate of {run} never said {verdict}"
    assert mine["verdict"] == verdict and mine["policy"]["sha256"] == gate["policy"]["sha256"]
    stored = {r["check"]: r["status"] for r in _check_records(world, run)}
    assert {c["check"]: c["status"] for c in mine["checks"]} == stored


def _gate_records(world: dict, run: str) -> list[dict]:
    from airflow_alignment.store.audit import read_audit

    run_id = world["runs"][run].run_id
    return [r for r in read_audit(world["store"], run_id=run_id).records if r["kind"] == "gate"]


def _check_records(world: dict, run: str) -> list[dict]:
    from airflow_alignment.store.audit import read_audit

    run_id = world["runs"][run].run_id
    return [r for r in read_audit(world["store"], run_id=run_id).records if r["kind"] != "gate"]


def test_cli_check_exit_codes_and_text(tmp_path):
    import subprocess
    import sys

    import yaml

    from tests.dags.overview_cases import policy

    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy("p", "o")))
    good = tmp_path / "good.csv"
    good.write_text("age,income\n25,1.0\n37,2.0\n")
    warned = tmp_path / "warned.csv"
    warned.write_text("age,income\n25,1.0\n37,\n")
    command = [sys.executable, "-m", "airflow_alignment", "check", str(path)]
    ok = subprocess.run([*command, "--var", f"batch={good}"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "ages_possible" in ok.stdout and "PASSED" in ok.stdout and "verdict: approved" in ok.stdout
    review = subprocess.run([*command, "--var", f"batch={warned}"], capture_output=True, text=True)
    assert review.returncode == 2 and "verdict: needs_review" in review.stdout
    auto = subprocess.run(
        [*command, "--var", f"batch={warned}", "--auto-approve-warnings"], capture_output=True, text=True
    )
    assert auto.returncode == 0 and "verdict: approved" in auto.stdout
    # one check's data overridden: the missing file cannot be read, so the check errors (3)
    missing = subprocess.run(
        [*command, "--var", f"batch={good}", "--data", f"ages_possible={tmp_path}/nope.csv"],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 3 and "could not evaluate ages_possible" in missing.stderr
    assert "ERROR" in missing.stdout and "verdict: rejected" in missing.stdout
    template = subprocess.run(command, capture_output=True, text=True)  # data "batch" given by nobody
    assert template.returncode == 3 and "give it with --var batch=PATH" in template.stderr
    wrong = subprocess.run([*command, "--data", "nosuch=x.csv"], capture_output=True, text=True)
    assert wrong.returncode == 3 and "has no check 'nosuch'" in wrong.stderr
    usage = subprocess.run([*command, "--var", "novalue"], capture_output=True, text=True)
    assert usage.returncode == 3 and "expected NAME=VALUE" in usage.stderr


# -- cost, precedence, bad entries, escaping (no Airflow app) --------------------------------
def _decision(
    model: str,
    verdict: str,
    day: int,
    *,
    dag: str = "d",
    try_number: int = 1,
    policy: str = "p",
    reviewer: str | None = None,
) -> tuple[dict, datetime]:
    run_after = datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(days=day)
    doc = {
        "kind": "gate",
        "status": {"approved": "passed", "rejected": "failed"}.get(verdict, "warned"),
        "summary": f"{verdict} on day {day}",
        "policy": {"name": policy, "version": "1", "sha256": "a" * 64},
        "metrics": {"verdict": verdict, "model": model, "checks": [], "reviewer": reviewer},
        "context": {
            "dag_id": dag,
            "run_id": f"scheduled__{day}",
            "task_id": "gate",
            "map_index": -1,
            "try_number": try_number,
        },
    }
    return doc, run_after


def _linked(row: dict) -> dict:
    """The links the plugin adds to a row (see ``plugin/overview.py``)."""
    row.update(run_url="/r", policy_url="/p", owner_url="/o")
    if row["last_approved"]:
        row["last_approved"]["run_url"] = "/a"
    return row


def test_the_overview_reads_one_object_per_model_whatever_the_history(tmp_path, monkeypatch):
    store = ArtifactStore(tmp_path)
    for model in ("a", "b", "c"):
        for day in range(400):  # more than a year of daily decisions each
            verdict = "approved" if day % 7 == 3 else ("rejected" if model == "c" else "needs_review")
            models.write_entry(store, *_decision(model, verdict, day), owner=f"owner-{model}")
    read: list[str] = []
    real = models.read_texts
    monkeypatch.setattr(models, "read_texts", lambda s, keys: read.extend(keys) or real(s, keys))
    rows = {r["model"]: r for r in models.overview(store, lambda dag: True)}
    assert len(read) == 3  # one GET per model shown; the sparklines come from the listing
    assert set(rows) == {"a", "b", "c"}
    assert rows["c"]["summary"] == "rejected on day 399" and rows["c"]["owner"] == "owner-c"
    assert len(rows["a"]["sparkline"]) == models.SPARKLINE and rows["a"]["sparkline"][-1] == "needs_review"
    assert rows["a"]["last_approved"]["run_id"] == "scheduled__395"  # the newest day with day % 7 == 3
    read.clear()
    assert [r["model"] for r in models.overview(store, lambda dag: True, owner="owner-b")] == ["b"]
    assert [r["model"] for r in models.overview(store, lambda dag: True, verdict="rejected")] == ["c"]
    assert models.overview(store, lambda dag: dag != "d") == []  # no readable DAG: nothing shown


def test_a_persons_decision_supersedes_the_pending_review_and_a_later_try_the_earlier(tmp_path):
    store = ArtifactStore(tmp_path)
    models.write_entry(store, *_decision("m", "needs_review", 1))
    models.write_entry(store, *_decision("m", "rejected", 1, reviewer="ada"))  # same try, after the review
    models.write_entry(store, *_decision("m", "approved", 2))
    models.write_entry(store, *_decision("m", "rejected", 2, try_number=2))  # try 2 of the same run
    (row,) = models.overview(store, lambda dag: True)
    assert row["sparkline"] == ["rejected", "rejected"] and row["verdict"] == "rejected"
    assert row["last_approved"] is None


def test_an_unreadable_newest_entry_is_one_bad_row_not_a_crash(tmp_path):
    store = ArtifactStore(tmp_path)
    models.write_entry(store, *_decision("ok", "approved", 1))
    key = models.write_entry(store, *_decision("broken", "approved", 1))
    (tmp_path / key).write_text('{"truncated')
    rows = {r["model"]: r for r in models.overview(store, lambda dag: True)}
    assert rows["ok"]["unreadable"] is None and rows["ok"]["summary"] == "approved on day 1"
    assert rows["broken"]["unreadable"].startswith("invalid JSON") and rows["broken"]["verdict"] == "approved"
    for row in rows.values():
        _linked(row)
    page = render_overview(
        {"models": list(rows.values()), "reviews": [], "counts": {}, "filters": {}, "all_url": "/a", "json_url": "/j"}
    )
    assert "unreadable entry: invalid JSON" in page


def test_tilde_and_payloads_in_names_are_keys_and_text(tmp_path):
    store = ArtifactStore(tmp_path)
    doc, when = _decision(f"m~{EVIL_SCRIPT}", "approved", 1, policy=f"p~{EVIL_IMG}", dag="dag~x")
    key = models.write_entry(store, doc, when, owner=EVIL_SCRIPT)
    assert key.count("~") == 7  # one between policy and model, six in the name
    (row,) = models.overview(store, lambda dag: dag == "dag~x")
    assert (row["model"], row["policy_name"], row["dag_id"]) == (f"m~{EVIL_SCRIPT}", f"p~{EVIL_IMG}", "dag~x")
    _linked(row)
    page = render_overview(
        {
            "models": [row],
            "reviews": [{"subject": EVIL_SCRIPT, "dag_id": EVIL_IMG, "run_id": "r", "created_at": "t", "url": "/u"}],
            "counts": {"approved": {"count": 1, "url": "/c"}},
            "filters": {"owner": EVIL_IMG},
            "all_url": "/a",
            "json_url": "/j",
        }
    )
    assert_escaped(page)
    assert json.loads(json.dumps(row))["owner"] == EVIL_SCRIPT


def test_a_snapshot_edited_after_the_decision_no_longer_verifies(tmp_path):
    from airflow_alignment.policy import load_policy
    from airflow_alignment.store import policies
    from tests.dags.overview_cases import policy

    store = ArtifactStore(tmp_path)
    loaded = load_policy(
        "name: p\nversion: 1.10\nchecks:\n"
        + "\n".join("  " + line for line in json.dumps(policy("p", "o")["checks"]).splitlines())
    )
    key = policies.write_snapshot(store, loaded)
    kept = policies.read_snapshot(store, "p", loaded.sha256)
    assert kept["verified"] is True and kept["version"] == "1.10" and kept["text"].startswith("name: p")
    doc = json.loads((tmp_path / key).read_text())
    doc["content"]["checks"][0]["expectations"][0]["kwargs"]["max_value"] = 1000  # a threshold loosened later
    (tmp_path / key).write_text(json.dumps(doc))
    assert policies.read_snapshot(store, "p", loaded.sha256)["verified"] is False
    assert policies.write_snapshot(store, loaded) == key  # written once: never overwritten
    assert (
        json.loads((tmp_path / key).read_text())["content"]["checks"][0]["expectations"][0]["kwargs"]["max_value"]
        == 1000
    )


def test_verify_audit_finds_torn_lines_edits_and_gaps(tmp_path, airflow_home):
    import subprocess
    import sys

    from airflow_alignment.cli import main
    from airflow_alignment.store.audit import AUDIT_FILE
    from tests.test_reports import expectations_result, publish

    store = ArtifactStore(tmp_path)
    for run in ("r1", "r2", "r3"):
        publish(expectations_result(), store, dag_id="d", run_id=run, task_id="quality")
    ok = subprocess.run(
        [sys.executable, "-m", "airflow_alignment", "verify-audit", "--store", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and "3 audit record(s)" in ok.stdout and "whole" in ok.stdout, ok.stderr
    trail = tmp_path / AUDIT_FILE
    lines = trail.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["status"] = "passed"  # someone turned a failure into a pass
    lines[1] = json.dumps(edited, sort_keys=True)
    trail.write_text("\n".join(lines) + '\n{"time": "2026-01-0')  # and an append was cut short
    (tmp_path / "results/d/r3/quality/-1/try-1/result.json").unlink()  # a result removed
    extra = tmp_path / "results/d/r4/quality/-1/try-1"
    extra.mkdir(parents=True)
    (extra / "result.json").write_text("{}")  # a result that never went through publish
    out = io.StringIO()
    assert main(["verify-audit", "--store", str(tmp_path), "--format", "json"], out=out) == 1
    found = json.loads(out.getvalue())
    assert found["records"] == 2 and found["mismatched"] == [f"{AUDIT_FILE} line 2"]
    assert found["torn"] == [f"{AUDIT_FILE} line 4"]
    # r2's only record was edited, so its result has no valid record left; r4 never had one
    assert found["results_without_record"] == [f"results/d/{r}/quality/-1/try-1/result.json" for r in ("r2", "r4")]
    assert found["records_without_result"] == ["results/d/r3/quality/-1/try-1/result.json"]
