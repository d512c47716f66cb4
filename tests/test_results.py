from __future__ import annotations

import json

import jsonschema
import pytest

from airflow_alignment.results import (
    SCHEMA_ID,
    XCOM_MAX_BYTES,
    Assertion,
    CheckResult,
    error_result,
    load_schema,
    status_from_assertions,
    validate,
)
from tests.conftest import checked


def _result(**overrides):
    base = {
        "check": "income_not_null",
        "kind": "expectations",
        "status": "passed",
        "severity": "block",
        "summary": "all 1 expectations passed on 10 rows",
        "assertions": [Assertion(name="a", success=True, observed=0, expected={"max": 0})],
        "metrics": {"evaluated": 1},
        "data": {"source": "x.csv", "rows": 10, "columns": ["income"], "fingerprint": "sha256:00"},
        "context": {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "try_number": 1},
    }
    base.update(overrides)
    return CheckResult(**base)


def test_schema_ships_with_the_package_and_names_v1():
    schema = load_schema()
    assert schema["$id"] == SCHEMA_ID
    assert set(schema["properties"]["status"]["enum"]) == {"passed", "warned", "failed", "error"}


def test_round_trip_keeps_every_field():
    result = _result(policy={"name": "lending", "version": "3", "sha256": "a" * 64}, report="r.html")
    doc = checked(result).to_dict()
    assert doc["schema"] == SCHEMA_ID
    assert CheckResult.from_dict(doc) == result


@pytest.mark.parametrize(
    ("assertions", "status"),
    [
        ([], "passed"),
        ([Assertion("a", True)], "passed"),
        ([Assertion("a", False, severity="warn"), Assertion("b", True)], "warned"),
        ([Assertion("a", False, severity="warn"), Assertion("b", False, severity="block")], "failed"),
        ([Assertion("a", None)], "passed"),
    ],
)
def test_status_from_assertions(assertions, status):
    assert status_from_assertions(assertions) == status


def test_numpy_values_and_nan_become_plain_json():
    import numpy as np

    result = _result(metrics={"ratio": np.float64(0.5), "n": np.int64(3), "bad": float("nan"), "arr": np.arange(2)})
    doc = checked(result).to_dict()
    assert doc["metrics"] == {"ratio": 0.5, "n": 3, "bad": None, "arr": [0, 1]}
    assert type(doc["metrics"]["ratio"]) is float and type(doc["metrics"]["n"]) is int
    json.dumps(doc, allow_nan=False)


def test_schema_rejects_an_unknown_status_and_a_missing_error_block():
    doc = _result().to_dict()
    doc["status"] = "ok"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)
    doc["status"] = "error"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_from_dict_refuses_other_documents():
    with pytest.raises(ValueError, match="not a airflow-alignment/check-result/v1 document"):
        CheckResult.from_dict({"schema": "something/else"})
    doc = _result().to_dict()
    doc["extra"] = 1
    with pytest.raises(ValueError, match="unknown CheckResult field"):
        CheckResult.from_dict(doc)


def test_error_result_names_the_problem():
    result = checked(error_result(check="c", kind="fairness", severity="warn", exc=ValueError("column 'x' missing")))
    assert result.status == "error"
    assert result.error == {"type": "ValueError", "message": "column 'x' missing"}
    assert "column 'x' missing" in result.summary


def test_compact_bounds_the_xcom_value_and_points_to_the_full_result():
    big = [Assertion(name=f"a{i}", success=False, observed=i, details={"sample": ["x" * 200] * 10}) for i in range(200)]
    result = _result(status="failed", assertions=big, metrics={"blob": "y" * 100_000})
    assert len(result.to_json()) > XCOM_MAX_BYTES
    compact = result.compact(full_result_uri="/store/results/x.json")
    assert len(json.dumps(compact).encode()) <= XCOM_MAX_BYTES
    assert compact["full_result"] == "/store/results/x.json"
    assert compact["status"] == "failed" and compact["summary"] == result.summary
    validate(compact)


def test_compact_keeps_a_small_result_whole():
    result = _result()
    assert result.compact("/x.json") == {**result.to_dict(), "full_result": "/x.json"}
