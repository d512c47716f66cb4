"""Deferrable alignment sensors in a real triggerer (``airflow standalone``'s), driven through the
REST API: the triggerer only looks at readiness conditions, so none of pandas, Great
Expectations, fairlearn, scikit-learn or SciPy is ever imported there, and a sensor over a
1M-row file costs it almost no memory; data that arrives (an object on S3, labels in a SQL
table) wakes the sensors, which then evaluate on a worker.

A test-only trigger (``tests/e2e/triggerer_probe.py``) reports from inside the process that runs
the triggers: its pid, resident memory and imported modules.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.conftest import Airflow

pytestmark = pytest.mark.e2e

ALIGNMENT_TRIGGER = "airflow_alignment.triggers.alignment.AlignmentSensorTrigger"
DAGS = ("triggerer_probe", "triggerer_big_file", "triggerer_arrivals")
RSS_GROWTH_LIMIT_MB = 50
TIMEOUT_S = 300


# -- REST helpers --------------------------------------------------------------------------------
def _ready(server: Airflow, dag_ids: tuple[str, ...] = DAGS) -> None:
    """Wait until the DAGs are parsed, then unpause them."""
    deadline = time.monotonic() + TIMEOUT_S
    for dag_id in dag_ids:
        while server.api("GET", f"/api/v2/dags/{dag_id}").status_code != 200:
            assert time.monotonic() < deadline, f"{dag_id} was never parsed:\n{server.log_tail()}"
            time.sleep(2)
        server.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False}).raise_for_status()


def _trigger(server: Airflow, dag_id: str, conf: dict[str, Any] | None = None) -> str:
    response = server.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
    assert response.status_code == 200, response.text
    return str(response.json()["dag_run_id"])


def _ti_path(dag_id: str, run_id: str, task_id: str) -> str:
    return f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"


def _wait_state(server: Airflow, dag_id: str, run_id: str, task_id: str, states: set[str]) -> dict[str, Any]:
    deadline, ti = time.monotonic() + TIMEOUT_S, {}
    while time.monotonic() < deadline:
        ti = server.api("GET", _ti_path(dag_id, run_id, task_id)).json()
        if ti.get("state") in states:
            return ti
        assert ti.get("state") not in ("failed", "upstream_failed", "skipped"), (ti, _log(server, ti))
        time.sleep(1)
    raise AssertionError(f"{dag_id}.{task_id} still {ti.get('state')} after {TIMEOUT_S} s:\n{server.log_tail()}")


def _log(server: Airflow, ti: dict[str, Any]) -> str:
    path = _ti_path(ti["dag_id"], ti["dag_run_id"], ti["task_id"]) + f"/logs/{max(ti.get('try_number') or 1, 1)}"
    response = server.api("GET", path, headers={"Accept": "application/json"})
    if response.status_code != 200:
        return f"(no log: {response.status_code})"
    content = response.json().get("content", [])
    return "\n".join(line.get("event", "") if isinstance(line, dict) else str(line) for line in content)


def _wait_in_log(server: Airflow, ti: dict[str, Any], text: str) -> str:
    """The task's log once it holds ``text`` (the triggerer writes a deferred task's log too)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        log = _log(server, ti)
        if text in log:
            return log
        time.sleep(1)
    raise AssertionError(f"{text!r} never appeared in the log of {ti['task_id']}:\n{_log(server, ti)[-3000:]}")


def _xcom(server: Airflow, dag_id: str, run_id: str, task_id: str) -> Any:
    response = server.api("GET", _ti_path(dag_id, run_id, task_id) + "/xcomEntries/return_value")
    assert response.status_code == 200, response.text
    value = response.json()["value"]
    return json.loads(value) if isinstance(value, str) else value


def _probe(server: Airflow) -> dict[str, Any]:
    """A report from inside the triggerer's trigger-running process."""
    run_id = _trigger(server, "triggerer_probe")
    _wait_state(server, "triggerer_probe", run_id, "probe", {"success"})
    return dict(_xcom(server, "triggerer_probe", run_id, "probe"))


def _connection(server: Airflow, conn_id: str, **fields: Any) -> None:
    server.api("DELETE", f"/api/v2/connections/{conn_id}")
    response = server.api("POST", "/api/v2/connections", json={"connection_id": conn_id, **fields})
    assert response.status_code == 201, response.text


# -- the tests -----------------------------------------------------------------------------------
def test_a_sensor_over_a_1m_row_file_keeps_the_triggerer_light(airflow_server: Airflow):
    import pandas as pd

    _ready(airflow_server)
    path = airflow_server.home / "data" / "applicants_1m.csv"
    path.parent.mkdir(exist_ok=True)
    pd.DataFrame({"age": [18 + i % 70 for i in range(1_000_000)], "income": [52_000.5] * 1_000_000}).to_csv(
        path, index=False
    )
    before = _probe(airflow_server)

    run_id = _trigger(airflow_server, "triggerer_big_file", {"path": str(path)})
    ti = _wait_state(airflow_server, "triggerer_big_file", run_id, "wait_big_file", {"deferred"})
    assert ti["trigger"]["classpath"] == ALIGNMENT_TRIGGER
    # evaluated once on the worker (1M rows, too few), then the triggerer polls the unchanged file
    log = _wait_in_log(airflow_server, ti, "unchanged since the last evaluation")
    assert "evaluation 1: waiting (1 of 2 expectations failed" in log
    time.sleep(5)  # five more polls at poke_interval=1
    after = _probe(airflow_server)

    assert after["pid"] == before["pid"]  # the same trigger-running process, which ran our trigger
    assert ALIGNMENT_TRIGGER.rsplit(".", 1)[0] in after["ours"]
    assert after["heavy"] == [], after
    growth_mb = (after["rss_kb"] - before["rss_kb"]) / 1024
    print(
        f"triggerer RSS {before['rss_kb'] / 1024:.1f} MB -> {after['rss_kb'] / 1024:.1f} MB "
        f"(+{growth_mb:.1f} MB) with the 1M-row file sensor deferred"
    )
    assert growth_mb < RSS_GROWTH_LIMIT_MB
    ti = _wait_state(airflow_server, "triggerer_big_file", run_id, "wait_big_file", {"deferred"})
    assert "evaluation 2" not in _log(airflow_server, ti)  # the file never changed: no second evaluation
    path_run = f"/api/v2/dags/triggerer_big_file/dagRuns/{quote(run_id, safe='')}"
    airflow_server.api("PATCH", path_run, json={"state": "failed"}).raise_for_status()


def test_arrivals_on_s3_and_in_sql_wake_the_sensors(airflow_server: Airflow, moto_server: Any):
    _ready(airflow_server)
    bucket, key = "e2e-landing", "applicants/today.csv"
    moto_server.client().create_bucket(Bucket=bucket)
    conn = json.loads(moto_server.airflow_connection)
    _connection(
        airflow_server,
        "alignment_s3",
        conn_type="aws",
        login=conn["login"],
        password=conn["password"],
        extra=json.dumps(conn["extra"]),
    )
    db = airflow_server.home / "data" / "feedback.db"
    db.parent.mkdir(exist_ok=True)
    end = datetime(2026, 3, 8, tzinfo=timezone.utc)
    _feedback(db, end, labelled_b=1)
    _connection(airflow_server, "alignment_e2e_feedback", conn_type="sqlite", host=str(db))

    conf = {"uri": f"s3://alignment_s3@{bucket}/{key}", "end": end.isoformat()}
    run_id = _trigger(airflow_server, "triggerer_arrivals", conf)
    waiting = {
        t: _wait_state(airflow_server, "triggerer_arrivals", run_id, t, {"deferred"})
        for t in ("wait_object", "wait_labels")
    }
    _wait_in_log(airflow_server, waiting["wait_object"], "does not exist yet")
    _wait_in_log(airflow_server, waiting["wait_labels"], "poll 1: 1 of 2 groups have fewer than 3 labelled rows")

    moto_server.client().put_object(Bucket=bucket, Key=key, Body=b"age,income\n25,1\n40,2\n61,3\n")
    _feedback(db, end, labelled_b=4)
    for task_id in ("wait_object", "wait_labels"):
        _wait_state(airflow_server, "triggerer_arrivals", run_id, task_id, {"success"})
    arrived = _xcom(airflow_server, "triggerer_arrivals", run_id, "wait_object")
    assert arrived["status"] == "passed" and arrived["data"]["rows"] == 3
    judged = _xcom(airflow_server, "triggerer_arrivals", run_id, "wait_labels")
    assert judged["status"] == "passed"
    assert judged["metrics"]["feedback"]["labelled_per_group"] == {"grp=A": 4, "grp=B": 4}  # the old rows left out

    report = _probe(airflow_server)
    assert {"airflow_alignment.io.sql", "airflow_alignment.triggers.readiness"} <= set(report["ours"])
    assert report["heavy"] == [], report


def _feedback(db: Path, end: datetime, *, labelled_b: int) -> None:
    """Table ``feedback``: 4 predictions of groups A and B in the week before ``end`` (all of A
    labelled, ``labelled_b`` of B) and 5 unlabelled B rows from a month before."""
    inside = [(end - timedelta(days=d)).isoformat() for d in (1, 2, 3, 4)]
    rows = [(t, "A", 1, 1) for t in inside]
    rows += [(t, "B", i % 2, 1 if i < labelled_b else None) for i, t in enumerate(inside)]
    rows += [((end - timedelta(days=30)).isoformat(), "B", 1, None)] * 5
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TABLE IF EXISTS feedback_new")
        conn.execute("CREATE TABLE feedback_new (ts TEXT, grp TEXT, pred INTEGER, label INTEGER)")
        conn.executemany("INSERT INTO feedback_new VALUES (?, ?, ?, ?)", rows)
        conn.execute("DROP TABLE IF EXISTS feedback")
        conn.execute("ALTER TABLE feedback_new RENAME TO feedback")
