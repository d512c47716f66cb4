"""FairnessCheckOperator through a real ``dag.test()`` of the lending template."""

from __future__ import annotations

import pytest

from airflow_alignment.exceptions import SpecError
from tests.conftest import DAGS, checked, load_dag, task_states, xcom_value

pytestmark = pytest.mark.airflow


def test_lending_template_plain_model_fails_mitigated_model_passes(airflow_home, caplog):
    dag = load_dag(DAGS / "alignment_lending_fairness.py", "alignment_lending_fairness")
    run = dag.test()
    assert task_states(run) == {
        "generate_applicants": "success",
        "train_and_predict": "success",
        "fairness_plain": "failed",
        "fairness_mitigated": "success",
    }
    plain = checked(xcom_value(run, "fairness_plain"))
    mitigated = checked(xcom_value(run, "fairness_mitigated"))
    assert plain["status"] == "failed" and mitigated["status"] == "passed"

    by_name = {a["name"]: a for a in plain["assertions"]}
    dp = by_name["demographic_parity_ratio"]
    eo = by_name["equalized_odds_difference"]
    assert dp["success"] is False and dp["observed"] < 0.8
    assert eo["success"] is False and eo["observed"] > 0.1
    # the numbers are fairlearn's
    import pandas as pd
    from fairlearn.metrics import demographic_parity_ratio, equalized_odds_difference

    frame = pd.read_parquet(plain["data"]["source"])
    kw = {"y_true": frame["repaid"], "y_pred": frame["approved"], "sensitive_features": frame["sex"]}
    assert dp["observed"] == pytest.approx(demographic_parity_ratio(**kw), abs=1e-12)
    assert eo["observed"] == pytest.approx(equalized_odds_difference(**kw), abs=1e-12)
    assert "demographic_parity_ratio" in plain["summary"] or "equalized_odds_difference" in plain["summary"]

    for a in mitigated["assertions"]:
        if a["severity"] == "block":
            assert a["success"] is True, a
    groups = {tuple(sorted(g["group"].items())) for g in mitigated["metrics"]["selection_rate"]["by_group"]}
    assert groups == {(("sex", "F"),), (("sex", "M"),)}
    assert all("ci" in g for g in mitigated["metrics"]["selection_rate"]["by_group"])


def test_constraints_are_validated_when_the_dag_is_parsed():
    from datetime import datetime

    from airflow.sdk import DAG

    from airflow_alignment.operators import FairnessCheckOperator

    def build(**kwargs):
        base = {
            "task_id": "f",
            "data": "p.parquet",
            "y_true": "y",
            "y_pred": "p",
            "sensitive_features": "sex",
            "constraints": [{"metric": "demographic_parity_ratio", "min": 0.8}],
        }
        base.update(kwargs)
        with DAG(dag_id="fairness_parse", schedule=None, start_date=datetime(2026, 1, 1)):
            FairnessCheckOperator(**base)

    build()
    with pytest.raises(SpecError, match=r"constraints\[0\]"):
        build(constraints=[{"metric": "demographic_parity_rato", "min": 0.8}])
    with pytest.raises(SpecError, match="exactly one of y_pred="):
        build(y_score="s")
    build(constraints="{{ var.json.fairness_constraints }}")  # templated: checked at run time
    with pytest.raises(SpecError, match=r"FairnessCheckOperator.data: no data source given"):
        build(data=None)
