"""The plugin's routes inside Airflow's own API app, with Airflow's real auth.

The app is ``airflow.api_fastapi.app.create_app("core")``: the plugin is found through its
entry point and mounted by Airflow. Users come from SimpleAuthManager's configuration and
tokens from its JWT signer: ``admin`` (admin), ``viewer`` (viewer: may read every DAG) and
``outsider`` (no role: may read nothing).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from airflow_alignment.store.artifacts import ArtifactStore
from tests.test_reports import (
    EVIL_IMG,
    EVIL_SCRIPT,
    assert_escaped,
    expectations_result,
    fairness_result,
    gate_result,
    publish,
    svg_count,
)

DAG = "alignment_lending_fairness"
RUN1 = "manual__2026-01-01T00:00:00+00:00"
RUN2 = "manual__2026-01-02T00:00:00+00:00"
EVIL_DAG = "xss_dag"
REPORT = f"/alignment/dags/{DAG}/runs/{quote(RUN1, safe='')}/tasks/fairness_plain/report"
PAGES = [
    REPORT,
    f"/alignment/dags/{DAG}/runs/{quote(RUN1, safe='')}",
    f"/alignment/dags/{DAG}/history",
    f"/alignment/api/dags/{DAG}/runs/{quote(RUN1, safe='')}/tasks/fairness_plain/result",
    f"/alignment/api/dags/{DAG}/runs/{quote(RUN1, safe='')}",
    f"/alignment/api/dags/{DAG}/history",
]


@contextmanager
def airflow_api(root: Path, store: str) -> Iterator[dict[str, Any]]:
    """Airflow's API app (the plugin mounted through its entry point) with SimpleAuthManager's
    users, reading the artifact store ``store``: ``{"client", "tokens", "am"}``."""
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW__ALIGNMENT__ARTIFACT_STORE", store)
    mp.setenv(
        "AIRFLOW__CORE__AUTH_MANAGER", "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    )
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin,viewer:viewer,outsider:")
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
    mp.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(root / "passwords.json"))
    mp.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "test-secret-for-the-alignment-plugin-routes-" + "x" * 32)
    from airflow.api_fastapi.app import create_app, get_auth_manager, purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    purge_cached_app()
    app = create_app("core")
    am = get_auth_manager()
    tokens = {
        name: am.generate_jwt(SimpleAuthManagerUser(username=name, role=role))
        for name, role in (("admin", "admin"), ("viewer", "viewer"), ("outsider", ""))
    }
    tokens["expired"] = am.generate_jwt(
        SimpleAuthManagerUser(username="admin", role="admin"), expiration_time_in_seconds=-3600
    )
    try:
        with TestClient(app) as client:
            yield {"client": client, "tokens": tokens, "am": am}
    finally:
        purge_cached_app()
        mp.undo()


@pytest.fixture(scope="module")
def world(airflow_home, tmp_path_factory):
    """Stored results of two runs (and of a DAG full of payloads), and Airflow's API app."""
    root = tmp_path_factory.mktemp("plugin")
    store_dir = root / "store"
    store = ArtifactStore(store_dir)

    plain, mitigated = fairness_result(n=1200), fairness_result(n=1200, bias=0.0, seed=8)
    quality = expectations_result()
    for run, fair in ((RUN1, plain), (RUN2, mitigated)):
        publish(fair, store, dag_id=DAG, run_id=run, task_id="fairness_plain")
        publish(quality, store, dag_id=DAG, run_id=run, task_id="data_quality")
        gate = gate_result([("fairness_plain", fair), ("data_quality", quality)])
        publish(gate, store, dag_id=DAG, run_id=run, task_id="gate")
    # a retry: try 2 of data_quality in run 1 passed
    retried = expectations_result()
    retried.status, retried.summary = "passed", "retried and passed"
    publish(retried, store, dag_id=DAG, run_id=RUN1, task_id="data_quality", try_number=2)
    # the payloads, as column, group, sample, check and policy names
    evil_fair = fairness_result(evil=True, n=1200)
    evil_fair.policy = {"name": EVIL_IMG, "version": EVIL_SCRIPT, "sha256": "c" * 64}
    for run in ("r1", "r2"):
        publish(evil_fair, store, dag_id=EVIL_DAG, run_id=run, task_id="fair")
        evil_quality = expectations_result(column=EVIL_IMG, sample=[EVIL_SCRIPT])
        publish(evil_quality, store, dag_id=EVIL_DAG, run_id=run, task_id="quality")
        publish(
            gate_result([("fair", evil_fair), ("quality", evil_quality)]),
            store,
            dag_id=EVIL_DAG,
            run_id=run,
            task_id="gate",
        )
    # where a path that climbed out of the store would land
    (root / "outside" / "-1" / "try-1").mkdir(parents=True)
    (root / "outside" / "-1" / "try-1" / "result.json").write_text(json.dumps({"check": "LEAKED"}))
    (root / "outside" / "-1" / "try-1" / "report.html").write_text("LEAKED")

    with airflow_api(root, str(store_dir)) as api:
        yield {**api, "store": store, "root": root}


def get(world, url, user="admin", **kwargs):
    headers = {"Authorization": f"Bearer {world['tokens'][user]}"} if user else {}
    return world["client"].get(url, headers=headers, **kwargs)


# -- auth -----------------------------------------------------------------------------------
@pytest.mark.parametrize("url", PAGES)
def test_admin_and_viewer_read_every_page(world, url):
    for user in ("admin", "viewer"):
        response = get(world, url, user)
        assert response.status_code == 200, (user, response.text[:300])
    if "/api/" in url:
        assert response.headers["content-type"].startswith("application/json")
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("url", PAGES)
def test_no_token_is_401(world, url):
    response = get(world, url, user=None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("url", [PAGES[0], PAGES[3]])
def test_invalid_or_expired_token_is_401(world, url):
    tampered = world["tokens"]["admin"][:-4] + ("AAAA" if not world["tokens"]["admin"].endswith("AAAA") else "BBBB")
    assert world["client"].get(url, headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    assert get(world, url, user="expired").status_code == 401
    assert world["client"].get(url, headers={"Authorization": "Bearer not-a-jwt"}).status_code == 401


@pytest.mark.parametrize("url", PAGES)
def test_user_without_access_to_the_dag_is_403(world, url):
    assert get(world, url, user="outsider").status_code == 403


def test_the_ui_cookie_is_accepted(world):
    # what the browser sends in the Airflow UI's iframe: the _token cookie set at login
    client = world["client"]
    client.cookies.set("_token", world["tokens"]["viewer"])
    try:
        assert client.get(REPORT).status_code == 200
        client.cookies.set("_token", world["tokens"]["outsider"])
        assert client.get(REPORT).status_code == 403
    finally:
        client.cookies.clear()


# -- the pages ------------------------------------------------------------------------------
def test_report_of_a_task_instance(world):
    page = get(world, REPORT).text
    assert "fairness_plain" in page and svg_count(page) == 3
    assert page == world["store"].read_text(
        f"results/{DAG}/{quote(RUN1, safe='-_~')}/fairness_plain/-1/try-1/report.html"
    )  # the stored report, as written by the operator


def test_latest_try_by_default_and_any_try_on_request(world):
    url = f"/alignment/dags/{DAG}/runs/{quote(RUN1, safe='')}/tasks/data_quality/report"
    assert "retried and passed" in get(world, url).text
    assert "retried and passed" not in get(world, url, params={"try_number": 1}).text
    missing = get(world, url, params={"try_number": 7})
    assert missing.status_code == 404 and "has no stored alignment result" in missing.text


def test_map_index_placeholder_means_not_mapped(world):
    # the UI leaves {MAP_INDEX} as is on task instances that are not mapped
    assert get(world, REPORT, params={"map_index": "{MAP_INDEX}"}).status_code == 200
    assert get(world, REPORT, params={"map_index": "-1"}).status_code == 200
    assert get(world, REPORT, params={"map_index": "3"}).status_code == 404
    assert get(world, REPORT, params={"map_index": "abc"}).status_code == 400
    assert get(world, REPORT, params={"try_number": "x"}).status_code == 422


def test_report_is_rendered_from_the_result_when_none_was_stored(world):
    store = world["store"]
    key = f"results/{DAG}/{quote(RUN2, safe='-_~')}/data_quality/-1/try-1/report.html"
    page = store.read_text(key)
    os.remove(store.uri(key))
    try:
        url = f"/alignment/dags/{DAG}/runs/{quote(RUN2, safe='')}/tasks/data_quality/report"
        again = get(world, url)
        assert again.status_code == 200 and "expect_column_values_to_be_between" in again.text
    finally:
        store.write_text(key, page)


def test_run_summary_puts_the_gate_first(world):
    data = get(world, PAGES[4]).json()
    assert [r["task_id"] for r in data["results"]] == ["gate", "data_quality", "fairness_plain"]
    assert data["verdict"] == "rejected" and data["results"][0]["verdict"] == "rejected"
    assert data["results"][1]["try_number"] == 2  # the latest try
    assert data["results"][2]["report_url"].startswith(f"/alignment/dags/{DAG}/runs/")
    page = get(world, PAGES[1]).text
    assert page.index('id="verdict"') < page.index("fairness_plain")
    assert "Rejected" in page
    # every link of the page answers
    for r in data["results"]:
        assert get(world, r["report_url"]).status_code == 200
        assert get(world, r["result_url"]).json()["check"] == r["check"]


def test_history_has_every_run_and_a_trend_chart(world):
    data = get(world, PAGES[5]).json()
    assert [r["run_id"] for r in data["runs"]] == [RUN1, RUN2]
    assert data["runs"][0]["verdict"] == "rejected"
    fair = next(r for r in data["runs"][1]["results"] if r["task_id"] == "fairness_plain")
    dp = next(a for a in fair["assertions"] if a["name"] == "demographic_parity_ratio")
    assert isinstance(dp["observed"], float) and dp["expected"] == {"min": 0.8}
    page = get(world, PAGES[2]).text
    assert svg_count(page) >= 2  # fairness_plain and data_quality have numbers to trend
    assert "demographic_parity_ratio" in page
    assert len(get(world, PAGES[5], params={"limit": 1}).json()["runs"]) == 1
    assert get(world, PAGES[5], params={"limit": 0}).status_code == 422


def test_json_result_is_the_stored_document(world):
    doc = get(world, PAGES[3]).json()
    assert doc["schema"] == "airflow-alignment/check-result/v1" and doc["check"] == "fairness_plain"
    assert doc["report"].endswith("/report.html")


def test_unknown_dag_or_run_is_empty_not_an_error(world):
    assert get(world, "/alignment/api/dags/nope/runs/nope").json()["results"] == []
    assert get(world, "/alignment/api/dags/nope/history").json()["runs"] == []
    assert get(world, "/alignment/dags/nope/runs/x/tasks/y/report").status_code == 404


# -- path traversal -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        # a naive join of dag_id "..", run_id ".." and task "outside" lands on <root>/outside
        "/alignment/dags/%2E%2E/runs/%2E%2E/tasks/outside/report",
        "/alignment/api/dags/%2E%2E/runs/%2E%2E/tasks/outside/result",
        "/alignment/dags/..%2F..%2Foutside/runs/x/tasks/y/report",
        "/alignment/dags/d/runs/..%2F..%2F..%2Foutside/tasks/y/report",
        "/alignment/dags/d/runs/%2E%2E/tasks/%2E%2E/report",
        "/alignment/dags/d/runs/r/tasks/..%5C..%5Coutside/report",
        "/alignment/dags/d/runs/r/tasks/t%00/report",
        "/alignment/api/dags/%2E%2E/history",
        "/alignment/api/dags/d/runs/%2E",
        "/alignment/dags/d/runs/r/tasks/t/report?map_index=..%2F..",
        "/alignment/dags/" + "a" * 300 + "/history",
    ],
)
def test_path_traversal_is_refused(world, url):
    response = get(world, url)
    assert response.status_code in (400, 404), response.text[:200]
    assert "LEAKED" not in response.text


# -- escaping, served -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        f"/alignment/dags/{EVIL_DAG}/runs/r1/tasks/fair/report",
        f"/alignment/dags/{EVIL_DAG}/runs/r1/tasks/quality/report",
        f"/alignment/dags/{EVIL_DAG}/runs/r1/tasks/gate/report",
        f"/alignment/dags/{EVIL_DAG}/runs/r1",
        f"/alignment/dags/{EVIL_DAG}/history",
    ],
)
def test_payloads_are_served_as_text(world, url):
    response = get(world, url)
    assert response.status_code == 200
    assert_escaped(response.text)
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.text


# -- how Airflow sees the plugin ------------------------------------------------------------
def test_airflow_lists_the_plugin_its_views_and_its_link(world):
    plugins = get(world, "/api/v2/plugins").json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "airflow_alignment")
    views = {v["destination"]: v for v in ours["external_views"]}
    assert views["task_instance"]["name"] == "Alignment"
    assert views["task_instance"]["href"].startswith("/alignment/dags/{DAG_ID}/runs/{RUN_ID}/tasks/{TASK_ID}/report")
    assert views["dag"]["name"] == "Alignment history"
    assert views["dag_run"]["href"] == "/alignment/dags/{DAG_ID}/runs/{RUN_ID}"
    assert ours["fastapi_apps"][0]["url_prefix"] == "/alignment"
    assert any("AlignmentReportLink" in link for link in ours["operator_extra_links"])


def test_the_extra_link_leads_to_the_report(world):
    from airflow.models.taskinstancekey import TaskInstanceKey

    from airflow_alignment.operators import FairnessCheckOperator

    operator = FairnessCheckOperator(
        task_id="fairness_plain",
        data="x.parquet",
        y_true="y",
        y_pred="p",
        sensitive_features="sex",
        constraints=[{"metric": "selection_rate", "aggregate": "group_min", "min": 0.1}],
    )
    links = {link.name: link for link in operator.operator_extra_links}
    key = TaskInstanceKey(dag_id=DAG, task_id="fairness_plain", run_id=RUN1, try_number=1, map_index=-1)
    url = links["Alignment report"].get_link(operator, ti_key=key)
    assert url == REPORT + "?map_index=-1&try_number=1"
    response = get(world, url)
    assert response.status_code == 200 and "fairness_plain" in response.text


@pytest.mark.parametrize("url", PAGES)
def test_no_page_shows_an_absolute_server_path(world, url):
    """Readers of the DAG see store files relative to the store, never the server's folders
    (the stored results keep them, for operators)."""
    response = get(world, url)
    assert response.status_code == 200
    assert str(world["root"]) not in response.text
    stored = world["store"].read_text(f"results/{DAG}/{quote(RUN1, safe='')}/fairness_plain/-1/try-1/result.json")
    assert str(world["root"]) in stored
