"""The Alignment overview: every policy x model, its latest verdict and the reviews waiting.

Through real ``dag.test()`` runs of ``tests/dags/overview_cases.py`` (approved, rejected, and
a review answered by a person through Airflow's HITL REST API while the overview shows it
waiting), read through Airflow's own API app with the plugin mounted and a real auth manager:
``admin`` sees every model, ``restricted`` (see ``tests/auth_managers.py``) may not read
``overview_churn`` and sees neither its model nor its pages. Then what the overview costs on a
long history, and its escaping.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest

from airflow_alignment.reporting import models
from airflow_alignment.reporting.html import render_overview
from airflow_alignment.reporting.store import ArtifactStore
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
                .filter(TaskInstance.dag_id == "overview_credit", TaskInstance.task_id == "alignment.gate",
                        TaskInstance.state.in_(["awaiting_input", "deferred"]))
                .first()
            )  # fmt: skip
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
    for name, change in {"clean": {}, "bad_age": {"age": [25, 37, 150, 44]},
                         "no_income": {"income": [1.0, None, 3.0, 4.0]}}.items():  # fmt: skip
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
        tokens = {name: am.generate_jwt(SimpleAuthManagerUser(username=name, role=role))
                  for name, role in (("admin", "admin"), ("restricted", "viewer"))}  # fmt: skip
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
            yield {**world, "runs": runs, "box": box, "store": ArtifactStore(airflow_home / "alignment")}
    finally:
        purge_cached_app()
        mp.undo()


@pytest.mark.airflow
def test_the_runs_decided_as_the_batches_say(world):
    states = {name: task_states(run)["alignment.gate"] for name, run in world["runs"].items()}
    assert states == {"churn_ok": "success", "credit_ok": "success", "credit_bad": "skipped",
                      "churn_bad": "skipped", "credit_reviewed": "success"}  # fmt: skip


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
    [("verdict=rejected", {"churn"}), ("owner=risk-office", {"credit"}), ("policy=overview-churn", {"churn"}),
     ("verdict=needs_review", set())],
)  # fmt: skip
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
def test_the_overview_is_in_airflows_navigation(world):
    plugins = _get(world, "/api/v2/plugins").json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "airflow_alignment")
    (nav,) = [v for v in ours["external_views"] if v["destination"] == "nav"]
    assert nav["name"] == "Alignment" and nav["href"] == "/alignment/overview"


# -- cost, precedence, bad entries, escaping (no Airflow app) --------------------------------
def _decision(model: str, verdict: str, day: int, *, dag: str = "d", try_number: int = 1, policy: str = "p",
              reviewer: str | None = None) -> tuple[dict, datetime]:  # fmt: skip
    run_after = datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(days=day)
    doc = {
        "kind": "gate",
        "status": {"approved": "passed", "rejected": "failed"}.get(verdict, "warned"),
        "summary": f"{verdict} on day {day}",
        "policy": {"name": policy, "version": "1", "sha256": "a" * 64},
        "metrics": {"verdict": verdict, "model": model, "checks": [], "reviewer": reviewer},
        "context": {"dag_id": dag, "run_id": f"scheduled__{day}", "task_id": "gate", "map_index": -1,
                    "try_number": try_number},
    }  # fmt: skip
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
    page = render_overview({"models": list(rows.values()), "reviews": [], "counts": {}, "filters": {},
                            "all_url": "/a", "json_url": "/j"})  # fmt: skip
    assert "unreadable entry: invalid JSON" in page


def test_tilde_and_payloads_in_names_are_keys_and_text(tmp_path):
    store = ArtifactStore(tmp_path)
    doc, when = _decision(f"m~{EVIL_SCRIPT}", "approved", 1, policy=f"p~{EVIL_IMG}", dag="dag~x")
    key = models.write_entry(store, doc, when, owner=EVIL_SCRIPT)
    assert key.count("~") == 7  # one between policy and model, six in the name
    (row,) = models.overview(store, lambda dag: dag == "dag~x")
    assert (row["model"], row["policy_name"], row["dag_id"]) == (f"m~{EVIL_SCRIPT}", f"p~{EVIL_IMG}", "dag~x")
    _linked(row)
    page = render_overview({"models": [row], "reviews": [{"subject": EVIL_SCRIPT, "dag_id": EVIL_IMG, "run_id": "r",
                            "created_at": "t", "url": "/u"}], "counts": {"approved": {"count": 1, "url": "/c"}},
                            "filters": {"owner": EVIL_IMG}, "all_url": "/a", "json_url": "/j"})  # fmt: skip
    assert_escaped(page)
    assert json.loads(json.dumps(row))["owner"] == EVIL_SCRIPT
