"""The check operators on a SqlSource (counts pushed into the database, a templated partition)
and on a file read in batches, under real ``dag.test()`` runs."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines import fairness, performance
from tests.conftest import TEST_DAGS, checked, load_dag, task_states, xcom_value
from tests.dags.sql_cases import FAIRNESS, PERFORMANCE

pytestmark = pytest.mark.airflow
DAY = datetime(2026, 11, 2, tzinfo=timezone.utc)
IGNORED = ("data", "duration_s", "started_at", "context", "report", "policy", "full_result", "check")


def _frame(n: int = 6000) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    sex = rng.choice(["F", "M"], n)
    frame = pd.DataFrame(
        {
            "ds": rng.choice(["2026-11-01", "2026-11-02"], n),
            "sex": sex,
            "race": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "repaid": rng.integers(0, 2, n),
            "approved": (rng.random(n) < np.where(sex == "F", 0.45, 0.6)).astype(int),
            "score": rng.random(n).round(6),
            "weight": rng.integers(1, 4, n).astype(float),
        }
    )
    return frame


@pytest.fixture()
def warehouse(tmp_path, monkeypatch):
    from airflow_alignment.io import sql

    frame = _frame()
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as db:
        frame.to_sql("predictions", db, index=False)
    monkeypatch.setenv("AIRFLOW_CONN_CASES_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    sql.dispose("cases_warehouse")
    yield frame
    sql.dispose("cases_warehouse")


def _same(result: dict, expected: dict) -> None:
    """Equal results apart from where the data came from and when it ran."""
    got = {k: v for k, v in result.items() if k not in IGNORED}
    want = {k: v for k, v in expected.items() if k not in IGNORED}
    got, want = json.loads(json.dumps(got)), json.loads(json.dumps(want))
    assert {k: v for k, v in got.items() if v != want.get(k)} == {k: v for k, v in want.items() if v != got.get(k)}


def test_checks_on_a_templated_partition_run_inside_the_database(airflow_home, warehouse):
    run = load_dag(TEST_DAGS / "sql_cases.py", "sql_pushdown").test(logical_date=DAY)
    assert task_states(run) == {"fairness": "success", "performance": "success", "performance_rows": "success"}
    rows = warehouse[warehouse["ds"] == "2026-11-02"]

    fair = checked(xcom_value(run, "fairness"))
    assert fair["data"]["source"] == "sql://cases_warehouse/predictions WHERE ds = '2026-11-02'"
    assert fair["data"]["rows"] == len(rows)
    assert fair["data"]["fingerprint"].startswith("sha256:cells:")  # counts arrived, not rows
    expected = fairness.evaluate(
        rows,
        sensitive_features=FAIRNESS["sensitive_features"],
        **{k: v for k, v in FAIRNESS.items() if k != "sensitive_features"},
    ).to_dict()
    _same(fair, expected)

    perf = checked(xcom_value(run, "performance"))
    assert perf["data"]["rows"] == len(rows) and perf["data"]["fingerprint"].startswith("sha256:cells:")
    _same(perf, performance.evaluate(rows, **PERFORMANCE).to_dict())

    # roc_auc needs the scores of every row: read (in chunks), not counted
    auc = checked(xcom_value(run, "performance_rows"))
    assert auc["data"]["source"] == "sql://cases_warehouse/predictions WHERE ds = :ds [ds='2026-11-02']"
    assert not auc["data"]["fingerprint"].startswith("sha256:cells:")
    from sklearn.metrics import roc_auc_score

    assert auc["assertions"][0]["observed"] == pytest.approx(roc_auc_score(rows["repaid"], rows["score"]), abs=1e-12)


def test_a_file_read_in_batches_gives_the_in_memory_result(airflow_home, tmp_path):
    frame = _frame()
    path = tmp_path / "predictions.parquet"
    frame.to_parquet(path, row_group_size=1000)
    run = load_dag(TEST_DAGS / "sql_cases.py", "file_batches").test(run_conf={"path": str(path)})
    assert task_states(run) == {"fairness": "success"}
    result = checked(xcom_value(run, "fairness"))
    assert result["data"]["rows"] == len(frame) and result["data"]["fingerprint"].startswith("sha256:cells:")
    expected = fairness.evaluate(
        frame,
        sensitive_features=FAIRNESS["sensitive_features"],
        **{k: v for k, v in FAIRNESS.items() if k != "sensitive_features"},
    ).to_dict()
    _same(result, expected)


def test_a_policy_names_its_sql_source_as_a_mapping(airflow_home, warehouse):
    run = load_dag(TEST_DAGS / "sql_cases.py", "sql_policy").test(logical_date=DAY)
    states = task_states(run)
    assert states["alignment.fairness"] == "success" and states["alignment.gate"] == "success"
    result = checked(xcom_value(run, "alignment.fairness"))
    assert result["data"]["source"] == "sql://cases_warehouse/predictions WHERE ds = :ds [ds='2026-11-02']"
    assert result["data"]["rows"] == int((warehouse["ds"] == "2026-11-02").sum())
    assert result["policy"]["name"] == "sql_lending"
