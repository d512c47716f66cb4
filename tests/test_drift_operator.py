"""DriftCheckOperator: parse-time checks and real ``dag.test()`` runs on a SQLite metadata DB."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.exceptions import SpecError
from tests.conftest import TEST_DAGS, checked, load_dag, task_states, xcom_value

pytestmark = pytest.mark.airflow


def _frames(shift: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    n = 4000

    def frame(mean: float, f_rate: float) -> pd.DataFrame:
        sex = rng.choice(["F", "M"], n)
        return pd.DataFrame(
            {
                "income": rng.normal(mean, 10, n),
                "region": rng.choice(["n", "s", "e"], n),
                "sex": sex,
                "approved": (rng.random(n) < np.where(sex == "F", f_rate, 0.5)).astype(int),
            }
        )

    return frame(50, 0.5), frame(50 + shift, 0.5 - shift / 100)


def _run(tmp_path, dag_id: str, shift: float):
    ref, cur = _frames(shift)
    paths = {"reference": tmp_path / "ref.parquet", "current": tmp_path / "cur.parquet"}
    ref.to_parquet(paths["reference"])
    cur.to_parquet(paths["current"])
    dag = load_dag(TEST_DAGS / "drift_cases.py", dag_id)
    return dag.test(run_conf={k: str(v) for k, v in paths.items()})


def test_no_drift_passes(airflow_home, tmp_path):
    run = _run(tmp_path, "drift_cases_default", shift=0.0)
    assert task_states(run) == {"drift": "success"}
    result = checked(xcom_value(run, "drift"))
    assert result["kind"] == "drift" and result["status"] == "passed"
    assert result["summary"].startswith("no drift: largest PSI 0.0")
    assert set(result["metrics"]["features"]) == {"income", "region", "sex", "approved"}
    assert result["data"]["source"].endswith("cur.parquet") and result["data"]["reference"]["rows"] == 4000


def test_drifted_data_fails_and_keeps_its_result(airflow_home, tmp_path):
    run = _run(tmp_path, "drift_cases_bounds", shift=8.0)
    assert task_states(run) == {"drift": "failed"}
    result = checked(xcom_value(run, "drift"))
    assert result["status"] == "failed"
    by_name = {a["name"]: a for a in result["assertions"]}
    # income moved, but its bound (0.5, warn, with a rationale) lets it through as a warning
    assert by_name["psi(income)"]["details"]["rationale"] == "incomes rise every year"
    assert by_name["psi(income)"]["severity"] == "warn" and by_name["psi(income)"]["success"] is False
    assert by_name["selection_rate_change(sex=F)"]["success"] is False
    assert result["summary"].startswith("selection rate of sex=F: 0.5")


def test_auto_methods_judge_each_feature_and_the_report_draws_them(airflow_home, tmp_path):
    run = _run(tmp_path, "drift_cases_auto", shift=8.0)
    assert task_states(run) == {"drift": "success"}  # severity warn
    result = checked(xcom_value(run, "drift"))
    by_name = {a["name"]: a for a in result["assertions"]}
    assert by_name["wasserstein(income)"]["success"] is False  # moved by 0.8 sd
    assert by_name["jensenshannon(region)"]["success"] is True and "missing_share(region)" in by_name
    dataset = by_name["dataset_drift"]
    assert (dataset["observed"], dataset["success"]) == (1 / 4, True)  # only income: 0.25 < 0.5
    assert result["status"] == "warned" and result["summary"].startswith("income: wasserstein 0.")
    page = Path(result["report"].removeprefix("file://")).read_text()
    assert 'id="drift-verdict"' in page and "1 of 4 features drifted (25%)" in page


def _dag(**op_kwargs):
    from airflow.sdk import DAG

    from airflow_alignment.operators.drift import DriftCheckOperator

    with DAG(dag_id="drift_parse", schedule=None, start_date=datetime(2026, 1, 1), catchup=False) as dag:
        DriftCheckOperator(task_id="drift", **op_kwargs)
    return dag


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"reference": "a.csv", "current": "b.csv", "bounds": {"income": {"psi_max": "x"}}},
            "DriftCheckOperator.bounds.income.psi_max: expected a number, got 'x'",
        ),
        ({"current": "b.csv"}, "DriftCheckOperator.reference: no data source given"),
        ({"reference": "a.csv"}, "DriftCheckOperator.current: no data source given"),
        (
            {"reference": "a.csv", "current": "b.csv", "data": "c.csv"},
            "DriftCheckOperator: give current= or data= (the same thing), not both",
        ),
        (
            {"reference": "a.csv", "current": "b.csv", "method": "wasserstien"},
            "DriftCheckOperator.method: unknown drift method 'wasserstien'. Did you mean 'wasserstein'?",
        ),
        (
            {"reference": "a.csv", "current": "b.csv", "severity": "loud"},
            "DriftCheckOperator.severity: severity must be 'block' or 'warn', got 'loud'",
        ),
    ],
)
def test_a_bad_spec_fails_when_the_dag_is_parsed(kwargs, message):
    with pytest.raises(SpecError) as info:
        _dag(**kwargs)
    assert str(info.value).startswith(message)


def test_data_is_the_current_data_and_defaults_apply():
    op = _dag(reference="a.csv", data="b.csv", psi_block=0.3).get_task("drift")
    assert op.current == "b.csv" and op.spec.psi_block == 0.3 and op.spec.psi_warn == 0.1
    assert op.template_fields == ("reference", "current", "window_end", "check_name")
