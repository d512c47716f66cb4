"""The product in a distributed Airflow: Celery workers that share no disk, PostgreSQL, Redis,
results and data on S3 (see ``tests/deploy/cluster.py`` for what runs and how), driven through
the REST API only. Then three faults: a worker killed mid-check, the S3 endpoint lost while a
result is written, the api-server restarted.

What is stored is read back with boto3, straight from the S3 server, never through the package.
The tests share one cluster and run in file order: the templates first, the faults after.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.deploy.cluster import BUCKET, PASSWORD, ROOT, USER, WORKERS, Cluster
from tests.objectstore import keys

pytestmark = pytest.mark.deploy

LENDING, DEPLOY = "alignment_lending_pipeline", "alignment_deploy_on_approval"
MONITORING, ARRIVAL = "alignment_monitoring", "alignment_data_arrival"
CHECKS = (
    "alignment.applications_quality",
    "alignment.training_data_bias",
    "alignment.fairness",
    "alignment.performance",
)
ARTIFACTS = ROOT / "test-artifacts" / "deploy"
CHROMIUM = os.environ.get("ALIGNMENT_CHROMIUM", "/usr/bin/chromium")


# -- reading the bucket (boto3, not our code) -------------------------------------------------
def segment(value: str) -> str:
    """A key segment as the store writes it (percent-encoded, see ``safe_segment``)."""
    return quote(value, safe="-_~")


def read_json(cluster: Cluster, key: str) -> Any:
    return json.loads(cluster.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def result_keys(cluster: Cluster, dag_id: str, run_id: str, task_id: str = "") -> list[str]:
    prefix = f"alignment/results/{dag_id}/{segment(run_id)}/"
    return keys(cluster.s3, BUCKET, prefix + (f"{task_id}/" if task_id else ""))


def audit_records(cluster: Cluster, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The run's audit records; each must be whole (its checksum holds)."""
    records = []
    for key in keys(cluster.s3, BUCKET, "alignment/audit/records/"):
        record = read_json(cluster, key)
        body = {k: v for k, v in record.items() if k != "sha256"}
        text = json.dumps(body, sort_keys=True, allow_nan=False, default=str)
        assert hashlib.sha256(text.encode()).hexdigest() == record["sha256"], f"torn audit record {key}"
        if record["dag_id"] == dag_id and record["run_id"] == run_id:
            records.append(record)
    return sorted(records, key=lambda r: (r["task_id"], r["try_number"]))


# -- the runs the template tests look at ----------------------------------------------------
@pytest.fixture(scope="package")
def lending_run(cluster: Cluster) -> str:
    """A lending pipeline run triggered through the REST API, finished; the deploy DAG is
    unpaused first so that the approval's asset event schedules it. The data-arrival DAG is
    unpaused at the same time (its daily run overlaps with this one)."""
    cluster.wait_for_dag(DEPLOY)
    cluster.wait_for_dag(ARRIVAL)  # unpausing a daily DAG starts its run for the last day
    run_id = cluster.trigger(LENDING)
    assert cluster.wait_for_run(LENDING, run_id) == "success", cluster.task_states(LENDING, run_id)
    return run_id


def test_lending_pipeline_runs_on_two_workers_with_data_and_results_on_s3(cluster: Cluster, lending_run: str):
    states = cluster.task_states(LENDING, lending_run)
    assert states == dict.fromkeys(
        ["generate_applications", "train_and_predict", *CHECKS, "alignment.gate", "deploy"], "success"
    )
    hosts = {t: cluster.task_instance(LENDING, lending_run, t)["hostname"] for t in states}
    assert set(hosts.values()) <= set(WORKERS), hosts

    # the data the tasks passed to each other went through S3, not a disk
    print(f"\n[deploy] cluster started in {cluster.started_in_s} s: {', '.join(cluster.services)}")
    data = f"sample-data/lending-pipeline/{segment(lending_run)}/"
    assert keys(cluster.s3, BUCKET, data) == [
        data + n for n in ("applications.parquet", "model.pkl", "predictions.parquet", "training.parquet")
    ]
    registry = keys(cluster.s3, BUCKET, "model-registry/credit-risk/")
    assert f"model-registry/credit-risk/{segment(lending_run)}/model.pkl" in registry

    # every check stored its report and result; the sources were s3:// paths
    base = f"alignment/results/{LENDING}/{segment(lending_run)}"
    stored = result_keys(cluster, LENDING, lending_run)
    for task in (*CHECKS, "alignment.gate"):
        assert [k for k in stored if f"/{task}/" in k] == [
            f"{base}/{task}/-1/try-1/report.html",
            f"{base}/{task}/-1/try-1/result.json",
        ]
        result = read_json(cluster, f"{base}/{task}/-1/try-1/result.json")
        assert result["status"] == "passed" and result["context"]["run_id"] == lending_run
        assert result["full_result"] == f"s3://alignment_s3@{BUCKET}/{base}/{task}/-1/try-1/result.json"
        if task != "alignment.gate":
            assert result["data"]["source"].startswith(f"s3://alignment_s3@{BUCKET}/{data}"), result["data"]
    report = cluster.s3.get_object(Bucket=BUCKET, Key=f"{base}/alignment.fairness/-1/try-1/report.html")
    assert b"<svg" in report["Body"].read()

    # the approval became the baseline; the audit trail has one whole record per task
    latest = read_json(cluster, "alignment/baselines/lending/credit-risk/latest.json")
    assert latest["run_id"] == lending_run and set(latest["results"]) == {
        "applications_quality",
        "training_data_bias",
        "fairness",
        "performance",
    }
    assert f"alignment/baselines/lending/credit-risk/history/{segment(lending_run)}.json" in keys(
        cluster.s3, BUCKET, "alignment/baselines/lending/credit-risk/history/"
    )
    records = audit_records(cluster, LENDING, lending_run)
    assert [(r["task_id"], r["try_number"], r["status"]) for r in records] == [
        ("alignment.applications_quality", 1, "passed"),
        ("alignment.fairness", 1, "passed"),
        ("alignment.gate", 1, "passed"),
        ("alignment.performance", 1, "passed"),
        ("alignment.training_data_bias", 1, "passed"),
    ]
    assert next(r for r in records if r["kind"] == "gate")["verdict"] == "approved"


def test_the_approval_is_an_asset_event_that_runs_the_deploy_dag(cluster: Cluster, lending_run: str):
    events = cluster.get("/api/v2/assets/events", params={"source_dag_id": LENDING, "source_run_id": lending_run})
    assert events["total_entries"] == 1, events
    event = events["asset_events"][0]
    assert event["name"] == "alignment/lending/credit-risk" and event["source_task_id"] == "alignment.gate"
    extra = event["extra"]
    assert extra["verdict"] == "approved" and extra["run_id"] == lending_run and extra["model"] == "credit-risk"
    assert extra["policy"]["name"] == "lending" and len(extra["policy"]["sha256"]) == 64
    assert {c["check"]: c["status"] for c in extra["checks"]} == dict.fromkeys(
        ["applications_quality", "training_data_bias", "fairness", "performance"], "passed"
    )
    assert extra["gate_result"].startswith(f"s3://alignment_s3@{BUCKET}/alignment/results/{LENDING}/")

    created = cluster.wait_until(
        "the deploy DAG's run off the event",
        lambda: cluster.get("/api/v2/assets/events", params={"source_run_id": lending_run})["asset_events"][0][
            "created_dagruns"
        ],
        timeout_s=120,
    )
    (deploy_run,) = [r["run_id"] for r in created if r["dag_id"] == DEPLOY]
    assert cluster.wait_for_run(DEPLOY, deploy_run, 300) == "success"
    assert cluster.get(cluster.run_path(DEPLOY, deploy_run))["run_type"] == "asset_triggered"
    promoted = cluster.xcom(DEPLOY, deploy_run, "promote")
    assert promoted["run_id"] == lending_run and promoted["verdict"] == "approved"


def test_data_arrival_waits_then_trains(cluster: Cluster, lending_run: str):
    """Unpaused with the lending run (see ``lending_run``): its run for the last day."""
    (run,) = cluster.wait_until("the data-arrival run", lambda: cluster.runs(ARRIVAL), timeout_s=60)
    assert run["run_type"] == "scheduled"
    assert cluster.wait_for_run(ARRIVAL, run["dag_run_id"]) == "success"
    assert cluster.task_states(ARRIVAL, run["dag_run_id"]) == dict.fromkeys(
        ["land_partition", "wait_for_partition", "train"], "success"
    )
    result = cluster.xcom(ARRIVAL, run["dag_run_id"], "wait_for_partition")
    assert result["status"] == "passed" and result["data"]["rows"] == 5000
    assert result["data"]["source"].startswith(f"s3://alignment_s3@{BUCKET}/sample-data/arrival/")
    assert [r["task_id"] for r in audit_records(cluster, ARRIVAL, run["dag_run_id"])] == ["wait_for_partition"]


def test_a_deferred_sensor_waits_in_the_triggerer_and_resumes_on_a_worker(cluster: Cluster):
    """Nobody in the DAG writes the batch: the sensor defers; the test lands the batch (as an
    upstream system would) and the sensor's task resumes and passes."""
    from airflow_alignment.samples import lending_applicants

    dag_id = "alignment_deploy_late_data"
    run_id = cluster.trigger(dag_id)
    cluster.wait_until(
        "the sensor deferred",
        lambda: cluster.task_instance(dag_id, run_id, "wait_for_batch")["state"] == "deferred",
        timeout_s=180,
    )
    buffer = io.BytesIO()
    lending_applicants(2_000, seed=3).to_parquet(buffer, index=False)
    batch = f"sample-data/faults/{dag_id}/{run_id.replace(':', '_').replace('+', '_')}.parquet"
    cluster.s3.put_object(Bucket=BUCKET, Key=batch, Body=buffer.getvalue())
    assert cluster.wait_for_run(dag_id, run_id, 300) == "success"
    result = cluster.xcom(dag_id, run_id, "wait_for_batch")
    assert result["status"] == "passed" and result["data"]["rows"] == 2000
    assert cluster.task_instance(dag_id, run_id, "wait_for_batch")["hostname"] in WORKERS  # resumed on a worker

    # the log is uploaded in parts (worker, triggerer, worker): wait for the triggerer's
    def with_trigger_part() -> str | None:
        text = cluster.task_log(dag_id, run_id, "wait_for_batch", 1)
        return text if "Trigger fired event" in text else None

    log = cluster.wait_until("the triggerer's part of the log", with_trigger_part, timeout_s=60)
    assert "evaluation 1: waiting" in log  # the worker's first look found nothing, then it deferred


def test_monitoring_judges_feedback_and_drift_and_triggers_retraining(cluster: Cluster, lending_run: str):
    """Unpausing the daily monitoring DAG starts its run for the last day. The lending pipeline
    is paused first: the retraining run it triggers is created, and stays queued."""
    response = cluster.api("PATCH", f"/api/v2/dags/{LENDING}", json={"is_paused": True})
    assert response.status_code == 200, response.text
    before = {r["dag_run_id"] for r in cluster.runs(LENDING)}
    cluster.wait_for_dag(MONITORING)
    (run,) = cluster.wait_until("the monitoring run", lambda: cluster.runs(MONITORING), timeout_s=60)
    run_id = run["dag_run_id"]
    assert cluster.wait_for_run(MONITORING, run_id) == "success"
    assert cluster.task_states(MONITORING, run_id) == {
        "simulate_production": "success",
        "wait_for_feedback": "success",
        "estimate_fairness": "success",
        "check_drift": "success",
        "decide": "success",
        "trigger_retraining": "success",
        "healthy": "skipped",
    }
    sensor = cluster.task_instance(MONITORING, run_id, "wait_for_feedback")
    assert sensor["operator"] == "FairnessFeedbackSensor"
    base = f"alignment/results/{MONITORING}/{segment(run_id)}"
    fairness = read_json(cluster, f"{base}/wait_for_feedback/-1/try-1/result.json")
    drift = read_json(cluster, f"{base}/check_drift/-1/try-1/result.json")
    assert fairness["status"] == "warned" and drift["status"] == "warned"
    # the day's fairness estimated from the scores on a worker, stored on S3 beside the others;
    # the template's scores are miscalibrated for one group, so the estimate says it is not trusted
    estimate = read_json(cluster, f"{base}/estimate_fairness/-1/try-1/result.json")
    assert estimate["metrics"]["estimated"]["trusted"] is False
    assert estimate["metrics"]["estimated"]["calibration"]["status"] == "miscalibrated"
    assert estimate["status"] == "warned"
    assert fairness["data"]["source"].startswith(f"s3://alignment_s3@{BUCKET}/sample-data/monitoring/")
    retraining = [r for r in cluster.runs(LENDING) if r["dag_run_id"] not in before]
    assert len(retraining) == 1 and retraining[0]["state"] == "queued"
    assert (
        "wait_for_feedback: " in retraining[0]["conf"]["reason"] and "check_drift: " in retraining[0]["conf"]["reason"]
    )


# -- the plugin, through the api-server ----------------------------------------------------------
def plugin_pages(cluster: Cluster, run_id: str) -> dict[str, str]:
    run = quote(run_id, safe="")
    return {
        "report": f"/alignment/dags/{LENDING}/runs/{run}/tasks/alignment.fairness/report",
        "run": f"/alignment/dags/{LENDING}/runs/{run}",
        "history": f"/alignment/dags/{LENDING}/history",
    }


def fetch_pages(cluster: Cluster, run_id: str) -> dict[str, str]:
    pages = {}
    for name, path in plugin_pages(cluster, run_id).items():
        response = cluster.api("GET", path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html"), (
            name,
            response.status_code,
            response.text[:300],
        )
        pages[name] = response.text
    return pages


def test_plugin_pages_read_the_results_from_s3(cluster: Cluster, lending_run: str):
    cluster.login()  # a real login: SimpleAuthManager checks the password
    pages = fetch_pages(cluster, lending_run)
    assert "alignment.fairness" in pages["report"] and "<svg" in pages["report"]
    assert "approved" in pages["run"] and "alignment.performance" in pages["run"]
    assert lending_run in pages["history"]
    for path in plugin_pages(cluster, lending_run).values():
        assert httpx.get(cluster.url + path, timeout=30).status_code == 401


def test_a_report_in_chromium(cluster: Cluster, lending_run: str):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (scripts/test.sh APT_PACKAGES)")
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.test_airflow_ui import CHROMIUM_FLAGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(cluster.url + "/")
            page.wait_for_url("**/auth/login**")
            page.locator("input[name=username]").fill(USER)
            page.locator("input[name=password]").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/auth/login" not in url)
            page.goto(cluster.url + plugin_pages(cluster, lending_run)["report"])
            expect(page.locator("h1")).to_contain_text("fairness")
            expect(page.locator("h1 .badge")).to_have_text("passed")
            expect(page.locator(".chart svg").first).to_be_visible()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report-from-s3.png"))
        finally:
            browser.close()


# -- faults ----------------------------------------------------------------------------------
def test_a_worker_killed_mid_check_is_retried_on_the_other_worker(cluster: Cluster):
    dag_id, task_id = "alignment_deploy_worker_loss", "slow_check"
    run_id = cluster.trigger(dag_id)

    def running_on() -> str | None:
        ti = cluster.task_instance(dag_id, run_id, task_id)
        return ti["hostname"] if ti["state"] == "running" and ti["try_number"] == 1 and ti["hostname"] else None

    victim = cluster.wait_until("the check's first try running", running_on, timeout_s=180)
    time.sleep(3)  # well inside its evaluation
    killed_at = time.monotonic()
    cluster.services[victim].kill()  # SIGKILL: the worker, its pool processes and the task
    try:
        assert cluster.wait_for_run(dag_id, run_id, 300) == "success"
        recovered_in = time.monotonic() - killed_at
    finally:
        cluster.start_worker(victim)  # back for the tests that follow
    tries = cluster.tries(dag_id, run_id, task_id)
    assert [(t["try_number"], t["state"]) for t in tries] == [(1, "failed"), (2, "success")], tries
    survivor = next(w for w in WORKERS if w != victim)
    assert tries[0]["hostname"] == victim and tries[1]["hostname"] == survivor

    base = f"alignment/results/{dag_id}/{segment(run_id)}/{task_id}/-1"
    assert result_keys(cluster, dag_id, run_id, task_id) == [f"{base}/try-2/report.html", f"{base}/try-2/result.json"]
    records = audit_records(cluster, dag_id, run_id)
    assert [(r["task_id"], r["try_number"], r["status"]) for r in records] == [(task_id, 2, "passed")]
    print(f"\n[deploy] worker {victim} killed; try 2 succeeded on {survivor} {recovered_in:.0f} s later")


def test_the_store_lost_while_a_result_is_written(cluster: Cluster):
    """The S3 endpoint goes away at the PUT of the check's result.json (the proxy stops
    listening and cuts its connections: moto keeps its data in memory, so the proxy, not the
    server, is stopped), and comes back after try 1 has failed."""
    dag_id, task_id = "alignment_deploy_store_loss", "store_check"
    cluster.proxy.arm(
        rb"PUT /" + BUCKET.encode() + rb"/alignment/results/" + dag_id.encode() + rb"/[^ ]*/try-1/result\.json "
    )
    try:
        run_id = cluster.trigger(dag_id)
        cluster.wait_until("the endpoint lost", cluster.proxy.tripped.is_set, timeout_s=240)
        ti = cluster.wait_until(
            "try 1 failed, waiting for its retry",
            lambda: (t := cluster.task_instance(dag_id, run_id, task_id))["state"] == "up_for_retry" and t,
            timeout_s=120,
        )
        assert ti["try_number"] == 1
        # while the store is away: the bounded result is in XCom and the log, nothing is stored
        unstored = cluster.xcom(dag_id, run_id, task_id)
        assert unstored["status"] == "passed" and unstored["full_result"] is None and unstored["report"] is None
        log = cluster.task_log(dag_id, run_id, task_id, 1)
        key = f"results/{dag_id}/{segment(run_id)}/{task_id}/-1/try-1/result.json"
        assert f"could not write '{key}' in the artifact store 's3://alignment_s3@{BUCKET}/alignment'" in log
        assert "the result is not stored. Its bounded form is in XCom (return_value) and here: " in log
        assert '"status": "passed"' in log
        left = result_keys(cluster, dag_id, run_id, task_id)
        assert not [k for k in left if k.endswith("result.json")], left  # the report may be left: see below
    finally:
        cluster.proxy.disarm()
        cluster.proxy.come_up()
    assert cluster.wait_for_run(dag_id, run_id, 300) == "success"
    tries = cluster.tries(dag_id, run_id, task_id)
    assert [(t["try_number"], t["state"]) for t in tries] == [(1, "failed"), (2, "success")], tries
    base = f"alignment/results/{dag_id}/{segment(run_id)}/{task_id}/-1"
    # try 2 removed what try 1 could not (its report, written before the endpoint went away)
    assert result_keys(cluster, dag_id, run_id, task_id) == [f"{base}/try-2/report.html", f"{base}/try-2/result.json"]
    assert [(r["task_id"], r["try_number"]) for r in audit_records(cluster, dag_id, run_id)] == [(task_id, 2)]
    assert (
        cluster.xcom(dag_id, run_id, task_id)["full_result"] == f"s3://alignment_s3@{BUCKET}/{base}/try-2/result.json"
    )
    print(f"\n[deploy] try 1 left {left} when the endpoint went away")


def test_pages_come_back_the_same_after_an_api_server_restart(cluster: Cluster, lending_run: str):
    before = fetch_pages(cluster, lending_run)
    token = cluster.token
    api_server = cluster.services["api-server"]
    api_server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(cluster.url + "/api/v2/monitor/health", timeout=5)
    cluster.start_api_server()
    assert cluster.token == token  # the same JWT secret: a token from before still works
    after = fetch_pages(cluster, lending_run)
    assert after == before
    cluster.login()
    assert fetch_pages(cluster, lending_run) == before
