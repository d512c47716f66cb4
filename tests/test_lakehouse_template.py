"""The lakehouse template (dags/alignment_lakehouse_checks.py) end to end with a real
``dag.test()`` run on a real in-process ``local[2]`` Spark session: it writes a day-partitioned
Parquet table and the training set, checks the run's day inside Spark with
``policies/lakehouse.yaml`` (expectations, fairness, performance, drift) and the gate approves;
a rerun of the same ``ds`` replaces the partitions instead of adding files to them."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from airflow_alignment.engines import drift, fairness
from tests.conftest import DAGS, checked, load_dag, task_states, xcom_value
from tests.test_sql_operators import _same  # equal results bar where the data came from and when

pytestmark = pytest.mark.airflow
DAG_ID = "alignment_lakehouse_checks"
CHECKS = (
    "alignment.predictions_quality",
    "alignment.fairness",
    "alignment.performance",
    "alignment.feature_drift",
)
DAY = datetime(2026, 11, 2, 6, tzinfo=timezone.utc)
DS = "2026-11-02"
PARTITIONS = {"2026-10-31": 20_000, "2026-11-01": 20_000, DS: 20_000}


@pytest.fixture()
def lakehouse(spark_local, airflow_home, monkeypatch):
    """``alignment_lakehouse``: the test process's in-process ``local[2]`` session."""
    from tests.sparkservers import local_connection

    monkeypatch.setenv("AIRFLOW_CONN_ALIGNMENT_LAKEHOUSE", local_connection())
    return airflow_home / "lakehouse"


def _run_and_check(dag, root) -> dict[str, dict]:
    run = dag.test(logical_date=DAY)
    assert task_states(run) == {
        "write_tables": "success",
        **dict.fromkeys(CHECKS, "success"),
        "alignment.gate": "success",
    }
    assert xcom_value(run, "write_tables") == PARTITIONS
    results = {task_id: checked(xcom_value(run, task_id)) for task_id in (*CHECKS, "alignment.gate")}
    for task_id in CHECKS:
        assert results[task_id]["status"] == "passed", results[task_id]["summary"]
        assert results[task_id]["policy"]["name"] == "lakehouse"
    source = f"spark://alignment_lakehouse/(SELECT * FROM parquet.`{root}/predictions` WHERE ds = :ds) [ds='{DS}']"
    for task_id in CHECKS:
        assert results[task_id]["data"]["source"] == source, task_id
        assert results[task_id]["data"]["rows"] == PARTITIONS[DS], task_id
    for task_id in ("alignment.fairness", "alignment.performance"):  # one groupBy in Spark: cells, not rows
        assert results[task_id]["data"]["fingerprint"].startswith("sha256:cells:"), task_id
    assert "10 groups of sex, race" in results["alignment.fairness"]["summary"]
    gate = results["alignment.gate"]
    assert gate["metrics"]["verdict"] == "approved", gate["summary"]
    assert {c["check"] for c in gate["metrics"]["checks"]} == {
        "predictions_quality",
        "fairness",
        "performance",
        "feature_drift",
    }
    return results


def test_template_checks_a_parquet_table_inside_spark_and_a_rerun_replaces_the_day(lakehouse):
    from airflow_alignment import load_policy

    dag = load_dag(DAGS / "alignment_lakehouse_checks.py", DAG_ID)
    first = _run_and_check(dag, lakehouse)
    day = pd.read_parquet(lakehouse / "predictions" / f"ds={DS}").assign(ds=DS)  # Spark reads ds from the path
    training = pd.read_parquet(lakehouse / "training")
    assert len(day) == PARTITIONS[DS] and len(training) == 14_000

    # the same numbers as the engines on the rows (the policy's own checks)
    policy = load_policy(DAGS / "policies" / "lakehouse.yaml")
    checks = {c.name: c for c in policy.checks}
    fair = dict(checks["fairness"].spec)
    _same(first["alignment.fairness"], fairness.evaluate(day, **fair).to_dict())
    moved = {k: v for k, v in checks["feature_drift"].spec.items() if k != "reference"}
    _same(first["alignment.feature_drift"], drift.evaluate(training, day, **moved).to_dict())

    second = _run_and_check(dag, lakehouse)  # the same ds again: the day's folder replaced, not added to
    assert sorted(p.name for p in (lakehouse / "predictions").iterdir()) == [f"ds={d}" for d in PARTITIONS]
    assert [p.name for p in (lakehouse / "predictions" / f"ds={DS}").iterdir()] == ["part-00000.parquet"]
    for task_id in ("alignment.fairness", "alignment.performance"):
        assert second[task_id]["data"]["fingerprint"] == first[task_id]["data"]["fingerprint"]
