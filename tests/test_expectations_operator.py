"""ExpectationsCheckOperator through real ``dag.test()`` runs on a SQLite metadata DB."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from airflow_alignment.exceptions import SpecError
from airflow_alignment.store.artifacts import result_key
from tests.conftest import DAGS, TEST_DAGS, checked, load_dag, task_states, xcom_value

pytestmark = pytest.mark.airflow

AGE = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}}
INCOME = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}}


def stored(artifact_root: Path, run, task_id: str) -> dict:
    ti = next(t for t in run.get_task_instances() if t.task_id == task_id)
    ctx = {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "task_id": task_id,
        "map_index": ti.map_index,
        "try_number": ti.try_number,
    }
    path = artifact_root / result_key(ctx)
    assert path.exists(), f"no stored result at {path}"
    return json.loads(path.read_text())


def test_sample_dag_clean_batch_passes_broken_batch_fails(airflow_home, artifact_root):
    dag = load_dag(DAGS / "alignment_data_quality.py", "alignment_data_quality")
    run = dag.test()
    assert task_states(run) == {
        "generate_batches": "success",
        "validate_clean_batch": "success",
        "validate_broken_batch": "failed",
    }
    clean = checked(stored(artifact_root, run, "validate_clean_batch"))
    broken = checked(stored(artifact_root, run, "validate_broken_batch"))
    assert clean["status"] == "passed" and clean["data"]["rows"] == 5000
    assert broken["status"] == "failed"
    # the worst finding and its numbers: 3% of 5,000 incomes are missing
    assert broken["summary"].startswith(
        "4 of 6 expectations failed; worst: expect_column_values_to_not_be_null(income): "
        "150 unexpected of 5,000 rows (3.00%)"
    )
    by_name = {a["name"]: a for a in broken["assertions"]}
    assert by_name["expect_column_values_to_be_between(age)"]["details"]["unexpected_count"] == 50
    assert by_name["expect_column_values_to_be_in_set(sex)"]["details"]["unexpected_sample"] == ["U"]
    # a failing check never loses its result: XCom has it too, pointing at the store
    xcom = checked(xcom_value(run, "validate_broken_batch"))
    assert xcom["status"] == "failed" and xcom["summary"] == broken["summary"]
    assert Path(xcom["full_result"]).exists()
    assert checked(xcom_value(run, "validate_clean_batch"))["status"] == "passed"
    assert broken["context"]["task_id"] == "validate_broken_batch" and broken["context"]["try_number"] == 1


def _dag(dag_id: str, **op_kwargs):
    """Build (not run) a DAG in memory: enough for parse-time checks."""
    from airflow.sdk import DAG

    from airflow_alignment.operators import ExpectationsCheckOperator

    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        ExpectationsCheckOperator(task_id="check", **op_kwargs)
    return dag


def _case(dag_id: str, path: Path):
    return load_dag(TEST_DAGS / "expectations_cases.py", dag_id).test(run_conf={"path": str(path)})


@pytest.fixture()
def batch(tmp_path) -> Path:
    path = tmp_path / "batch.csv"
    pd.DataFrame({"age": [20, 30, 40, 50], "income": [1.0, None, 3.0, 4.0]}).to_csv(path, index=False)
    return path


def test_warned_check_succeeds_and_templates_render(airflow_home, batch):
    run = _case("expectations_warned", batch)
    assert task_states(run) == {"check": "success"}
    result = checked(xcom_value(run, "check"))
    assert result["status"] == "warned"
    assert result["data"]["source"] == str(batch)
    assert result["assertions"][0]["expected"] == {"min_value": "18", "max_value": 100}


def test_missing_column_fails_without_retry_and_keeps_an_error_result(airflow_home, artifact_root, batch):
    run = _case("expectations_missing_column", batch)
    assert task_states(run) == {"check": "failed"}  # AirflowFailException: no retry
    result = checked(xcom_value(run, "check"))
    assert result["status"] == "error"
    assert result["error"]["type"] == "DataError"
    assert result["error"]["message"] == (
        f"column 'incom' not in {batch}. Did you mean 'income'? Columns in the data: ['age', 'income']"
    )
    assert checked(stored(artifact_root, run, "check"))["status"] == "error"


def test_missing_file_keeps_airflow_retries(airflow_home, artifact_root, tmp_path):
    missing = tmp_path / "not-yet.parquet"
    run = _case("expectations_missing_file", missing)  # retries=1, retry_delay=0
    assert task_states(run) == {"check": "failed"}
    ti = run.get_task_instances()[0]
    assert ti.try_number == 2  # an I/O error is retried, unlike a failed check
    for attempt in (1, 2):
        key = result_key(
            {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": "check", "map_index": -1, "try_number": attempt}
        )
        result = checked(json.loads((artifact_root / key).read_text()))
        assert result["status"] == "error"
        assert result["error"] == {"type": "SourceUnavailableError", "message": f"data file not found: {missing}"}


def test_expectations_as_a_templated_json_string(airflow_home, batch):
    run = _case("expectations_json_string", batch)
    assert task_states(run) == {"check": "failed"}
    result = checked(xcom_value(run, "check"))
    assert result["assertions"][0]["details"]["unexpected_count"] == 2


def test_malformed_spec_fails_when_the_dag_is_parsed():
    with pytest.raises(SpecError, match=r"expectations\[1\]: unknown key 'kwarg'\. Did you mean 'kwargs'\?"):
        _dag("parse_error", data="x.csv", expectations=[AGE, {"type": "expect_x", "kwarg": {}}])
    with pytest.raises(SpecError, match=r"give expectations= .* or suite="):
        _dag("parse_error_2", data="x.csv")
    with pytest.raises(SpecError, match="no data source given"):
        _dag("parse_error_3", data=None, expectations=[AGE])
    with pytest.raises(SpecError, match="severity must be 'block' or 'warn', got 'fatal'"):
        _dag("parse_error_4", data="x.csv", expectations=[AGE], severity="fatal")
