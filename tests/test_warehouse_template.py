"""The warehouse template (dags/alignment_warehouse_checks.py) end to end with real ``dag.test()``
runs: it writes partitions of a ``predictions`` table, checks the run's partition inside the
database (SQLite, then a real PostgreSQL server) and the gate approves; a rerun of the same
``ds`` replaces the partition instead of appending to it."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from airflow_alignment.io import sql
from tests.conftest import DAGS, checked, load_dag, task_states, xcom_value

pytestmark = pytest.mark.airflow
DAG_ID = "alignment_warehouse_checks"
CONN_ID = "alignment_warehouse"
CHECKS = ("alignment.predictions_quality", "alignment.fairness", "alignment.performance", "alignment.score_ranking")
DAY = datetime(2026, 11, 2, 6, tzinfo=timezone.utc)
DS = "2026-11-02"
PARTITIONS = {"2026-10-31": 20_000, "2026-11-01": 20_000, DS: 20_000}


def _partitions() -> dict[str, int]:
    """Rows per ``ds`` of the table, counted in the database behind the connection."""
    import sqlalchemy as sa

    with sql.engine(CONN_ID).connect() as conn:
        rows = conn.execute(sa.text("SELECT ds, COUNT(*) FROM predictions GROUP BY ds ORDER BY ds")).all()
    return {str(ds): int(n) for ds, n in rows}


def _run_and_check(dag) -> dict[str, dict]:
    """Run the template for DS; assert what every run must show; return the results by task."""
    run = dag.test(logical_date=DAY)
    states = task_states(run)
    assert states == {"write_predictions": "success", **dict.fromkeys(CHECKS, "success"), "alignment.gate": "success"}
    assert xcom_value(run, "write_predictions") == PARTITIONS
    results = {task_id: checked(xcom_value(run, task_id)) for task_id in (*CHECKS, "alignment.gate")}
    for task_id in CHECKS:
        assert results[task_id]["status"] == "passed", results[task_id]["summary"]
        assert results[task_id]["policy"]["name"] == "warehouse"

    rows = _partitions()[DS]
    assert rows == PARTITIONS[DS]
    source = f"sql://{CONN_ID}/predictions WHERE ds = :ds [ds='{DS}']"
    quality = results["alignment.predictions_quality"]["data"]
    assert quality["source"] == source and quality["rows"] == rows
    # counts came from one GROUP BY in the database, not from rows
    for task_id in ("alignment.fairness", "alignment.performance"):
        data = results[task_id]["data"]
        assert data["source"] == source and data["rows"] == rows
        assert data["fingerprint"].startswith("sha256:cells:"), (task_id, data)
    fairness = results["alignment.fairness"]
    assert "10 groups of sex, race" in fairness["summary"]
    # roc_auc read the rows (two columns)
    ranking = results["alignment.score_ranking"]["data"]
    assert ranking["rows"] == rows and sorted(ranking["columns"]) == ["repaid", "score"]
    assert not ranking["fingerprint"].startswith("sha256:cells:")

    gate = results["alignment.gate"]
    assert gate["metrics"]["verdict"] == "approved", gate["summary"]
    assert {c["check"] for c in gate["metrics"]["checks"]} == {
        "predictions_quality",
        "fairness",
        "performance",
        "score_ranking",
    }
    return results


def test_template_checks_inside_sqlite_and_a_rerun_replaces_the_partition(airflow_home):
    sql.dispose(CONN_ID)
    dag = load_dag(DAGS / "alignment_warehouse_checks.py", DAG_ID)
    first = _run_and_check(dag)
    assert _partitions() == PARTITIONS

    second = _run_and_check(dag)  # the same ds again: partitions replaced, not appended
    assert _partitions() == PARTITIONS
    # the same rows give the same counts
    for task_id in ("alignment.fairness", "alignment.performance"):
        assert second[task_id]["data"]["fingerprint"] == first[task_id]["data"]["fingerprint"]
    sql.dispose(CONN_ID)


@pytest.fixture()
def warehouse_on_postgres(postgres_server, monkeypatch):
    """``alignment_warehouse`` pointed at a database of its own on the session's PostgreSQL
    server (other tests write their own ``predictions`` tables to the default database)."""
    import sqlalchemy as sa

    database = "warehouse_template"
    admin = sa.create_engine(postgres_server.url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    finally:
        admin.dispose()
    connection = {**json.loads(postgres_server.airflow_connection), "schema": database}
    sql.dispose(CONN_ID)
    monkeypatch.setenv("AIRFLOW_CONN_ALIGNMENT_WAREHOUSE", json.dumps(connection))
    yield database
    sql.dispose(CONN_ID)


def test_template_checks_inside_postgres(airflow_home, warehouse_on_postgres):
    assert sql.engine(CONN_ID).dialect.name == "postgresql"
    dag = load_dag(DAGS / "alignment_warehouse_checks.py", DAG_ID)
    _run_and_check(dag)
    _run_and_check(dag)  # rerun: the partitions are replaced
    assert _partitions() == PARTITIONS
