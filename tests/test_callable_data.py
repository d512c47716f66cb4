"""``data=`` callables survive Airflow's rendering (3.3 calls callables in templated fields)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TEST_DAGS, checked, load_dag, task_states, xcom_value

pytestmark = pytest.mark.airflow


def test_callable_data_reaches_every_check(airflow_home):
    run = load_dag(TEST_DAGS / "callable_cases.py", "callable_data").test()
    states = task_states(run)
    assert states == dict.fromkeys(("expectations", "fairness", "performance", "drift", "sensor"), "success")
    for task_id in ("expectations", "fairness", "performance", "sensor"):
        result = checked(xcom_value(run, task_id))
        assert result["status"] == "passed", (task_id, result["summary"])
        expected = "applicants" if task_id in ("expectations", "sensor") else "predictions"
        assert result["data"]["source"].endswith(f"callable_cases.{expected}"), result["data"]
        assert result["data"]["rows"] == 2_000
    drift = xcom_value(run, "drift")
    assert drift["status"] == "passed", json.dumps(drift)[:500]


def test_a_callable_is_held_as_a_value_not_called_at_parse_time():
    from airflow_alignment.io import CallableData, describe_source, load_frame
    from airflow_alignment.operators import FairnessCheckOperator

    calls = []

    def frame():
        import pandas as pd

        calls.append(1)
        return pd.DataFrame({"y": [1, 0], "p": [1, 1], "g": ["a", "b"]})

    op = FairnessCheckOperator(
        task_id="f",
        data=frame,
        y_true="y",
        y_pred="p",
        sensitive_features="g",
        constraints=[{"metric": "demographic_parity_ratio", "min": 0}],
    )
    assert isinstance(op.data, CallableData) and not callable(op.data) and calls == []
    assert describe_source(op.data).endswith("frame")
    assert list(load_frame(op.data, columns=["y"])["y"]) == [1, 0] and calls == [1]
