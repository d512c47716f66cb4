"""Smoke test on the oldest supported Airflow line (3.1): the data-quality and warehouse
templates end to end.

A real ``dag.test()`` on a fresh SQLite metadata DB: the clean batch passes, the broken batch
fails the task, and both results are stored and valid against the result schema. The warehouse
template writes a SQLite table behind the connection ``alignment_warehouse`` (set by
``conftest.py``), checks its partition inside the database, and the gate approves.
"""

from __future__ import annotations

import os

from airflow_alignment.results import validate

DAG_ID = "alignment_data_quality"


def test_installed_airflow_is_the_one_asked_for() -> None:
    # scripts/test.sh sets ALIGNMENT_SMOKE_AIRFLOW=3.1 so that a wrong venv cannot pass silently
    wanted = os.environ.get("ALIGNMENT_SMOKE_AIRFLOW")
    import airflow

    if wanted:
        assert airflow.__version__.startswith(wanted + "."), (airflow.__version__, wanted)


def test_every_dag_file_parses(run_dag_test) -> None:
    report = run_dag_test("-")
    errors = {path: text.strip().splitlines()[-1] for path, text in report["import_errors"].items()}
    assert not errors, f"DAG files that do not import on Airflow {report['airflow_version']}: {errors}"
    assert DAG_ID in report["dag_ids"]


def test_data_quality_template(run_dag_test) -> None:
    report = run_dag_test(DAG_ID)
    states, stored = report["states"], report["stored"]
    print(f"Airflow {report['airflow_version']}: run {report['run_state']}, tasks {states} (log: {report['log']})")

    assert states["generate_batches"] == "success", report["log"]
    assert states["validate_clean_batch"] == "success", report["log"]
    assert states["validate_broken_batch"] == "failed", report["log"]
    assert report["run_state"] == "failed"

    clean = stored["validate_clean_batch"]["doc"]
    broken = stored["validate_broken_batch"]["doc"]
    for doc in (clean, broken):
        validate(doc)
        assert doc["context"]["dag_id"] == DAG_ID
    assert clean["status"] == "passed", clean["summary"]
    assert broken["status"] == "failed", broken["summary"]
    assert "income" in broken["summary"]

    # The compact result reaches XCom even though the broken task raised.
    for task_id, doc in (("validate_clean_batch", clean), ("validate_broken_batch", broken)):
        compact = report["xcom"][task_id]
        validate(compact)
        assert compact["status"] == doc["status"]
        assert compact["full_result"] == stored[task_id]["path"]


WAREHOUSE = "alignment_warehouse_checks"
WAREHOUSE_CHECKS = (
    "alignment.predictions_quality",
    "alignment.fairness",
    "alignment.performance",
    "alignment.score_ranking",
    "alignment.gate",
)


def test_warehouse_template(run_dag_test) -> None:
    report = run_dag_test(WAREHOUSE)
    states, stored = report["states"], report["stored"]
    print(f"Airflow {report['airflow_version']}: run {report['run_state']}, tasks {states} (log: {report['log']})")

    assert states == {"write_predictions": "success", **dict.fromkeys(WAREHOUSE_CHECKS, "success")}, report["log"]
    assert report["run_state"] == "success"
    partitions = report["xcom"]["write_predictions"]
    assert len(partitions) == 3 and set(partitions.values()) == {20_000}, partitions
    ds = max(partitions)  # the run's ds: the last of the days written

    for task_id in WAREHOUSE_CHECKS:
        doc = stored[task_id]["doc"]
        validate(doc)
        assert doc["status"] == "passed", (task_id, doc["summary"])
        assert doc["context"]["dag_id"] == WAREHOUSE
        compact = report["xcom"][task_id]
        validate(compact)
        assert compact["status"] == "passed" and compact["full_result"] == stored[task_id]["path"]
    for task_id in ("alignment.predictions_quality", "alignment.fairness", "alignment.performance"):
        data = stored[task_id]["doc"]["data"]
        assert data["source"] == f"sql://alignment_warehouse/predictions WHERE ds = :ds [ds='{ds}']", data
        assert data["rows"] == partitions[ds]
    for task_id in ("alignment.fairness", "alignment.performance"):  # counted by a GROUP BY in SQLite
        assert stored[task_id]["doc"]["data"]["fingerprint"].startswith("sha256:cells:")
    assert stored["alignment.gate"]["doc"]["metrics"]["verdict"] == "approved"
