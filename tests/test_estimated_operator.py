"""EstimatedFairnessOperator through a real ``dag.test()``: a trusted estimate passes or fails
as the fairness engine judges the expected cells, an untrusted one warns (the task succeeds),
and the stored result and report are a fairness result's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.exceptions import SpecError
from tests.conftest import DAG_FOLDER, checked, load_dag, task_states, xcom_value

pytestmark = pytest.mark.airflow

DAG_TEXT = """
from datetime import datetime

from airflow.sdk import DAG

from airflow_alignment.operators.estimated import EstimatedFairnessOperator

TPR_GAP = [{{"metric": "true_positive_rate", "aggregate": "difference", "max": 0.1}}]
common = dict(y_score="score", threshold=0.5, sensitive_features="sex", constraints=TPR_GAP,
              artifact_store="{store}")

with DAG(dag_id="estimated_fairness_test", schedule=None, start_date=datetime(2026, 1, 1)):
    EstimatedFairnessOperator(task_id="fair_trusted", data="{fair}", labelled="{calibrated}", y_true="y", **common)
    EstimatedFairnessOperator(task_id="unfair_trusted", data="{unfair}", labelled="{calibrated}", y_true="y", **common)
    EstimatedFairnessOperator(task_id="unfair_untrusted", data="{unfair}", labelled="{bent}", y_true="y", **common)
    EstimatedFairnessOperator(task_id="no_window", data="{fair}", **common)
"""


def write_data(folder: Path) -> dict[str, str]:
    rng = np.random.default_rng(7)
    n = 20_000

    def scored(tilt: float) -> pd.DataFrame:
        sex = rng.choice(["F", "M"], n)
        return pd.DataFrame({"sex": sex, "score": np.clip(rng.beta(2, 3, n) + tilt * (sex == "M"), 0, 1)})

    calibrated, bent = scored(0.0), scored(0.0)
    calibrated["y"] = (rng.random(n) < calibrated["score"]).astype(int)
    bent["y"] = (rng.random(n) < np.where(bent["sex"] == "F", bent["score"] ** 3, bent["score"])).astype(int)
    paths = {}
    for name, frame in (("fair", scored(0.0)), ("unfair", scored(0.25)), ("calibrated", calibrated), ("bent", bent)):
        paths[name] = str(folder / f"{name}.parquet")
        frame.to_parquet(paths[name])
    return paths


def test_estimates_pass_fail_and_warn_in_a_real_dag_run(airflow_home, tmp_path):
    paths = write_data(tmp_path)
    store = tmp_path / "store"
    dag_file = DAG_FOLDER / "estimated_fairness_test.py"
    dag_file.write_text(DAG_TEXT.format(store=store, **paths))
    run = load_dag(dag_file, "estimated_fairness_test").test()
    assert task_states(run) == {
        "fair_trusted": "success",
        "unfair_trusted": "failed",
        "unfair_untrusted": "success",
        "no_window": "success",
    }
    results = {
        t: checked(xcom_value(run, t)) for t in ("fair_trusted", "unfair_trusted", "unfair_untrusted", "no_window")
    }
    assert {t: r["status"] for t, r in results.items()} == {
        "fair_trusted": "passed",
        "unfair_trusted": "failed",
        "unfair_untrusted": "warned",
        "no_window": "warned",
    }
    for r in results.values():
        assert r["kind"] == "fairness"
    gap = results["unfair_trusted"]["assertions"][0]
    assert gap["success"] is False and gap["observed"] > 0.1
    low, high = gap["details"]["label_interval"]
    assert low <= gap["observed"] <= high
    # the untrusted estimate says the same about the gap, and why it is not trusted
    assert results["unfair_untrusted"]["assertions"][0]["observed"] == gap["observed"]
    assert results["unfair_untrusted"]["summary"].startswith("estimate NOT trusted (calibration miscalibrated: sex=F")
    assert results["no_window"]["summary"].startswith("estimate NOT trusted (calibration unknown: no labelled window")
    # the report shows the estimate as a fairness check: a chart of the metric by group
    from airflow_alignment.reporting.html import render_report

    page = render_report(results["unfair_trusted"], store_base=str(store))
    assert "<h3>true_positive_rate" in page and "<svg" in page
    # stored with its report, as every check
    stored = list(store.rglob("result.json"))
    assert len(stored) == 4 and len(list(store.rglob("report.html"))) == 4


def test_arguments_are_checked_when_the_dag_is_parsed():
    from datetime import datetime

    from airflow.sdk import DAG

    from airflow_alignment.operators.estimated import EstimatedFairnessOperator

    def build(**kwargs):
        base = {
            "task_id": "e",
            "data": "s.parquet",
            "y_score": "score",
            "threshold": 0.5,
            "sensitive_features": "sex",
            "constraints": [{"metric": "true_positive_rate", "aggregate": "difference", "max": 0.1}],
        }
        base.update(kwargs)
        with DAG(dag_id="estimated_parse", schedule=None, start_date=datetime(2026, 1, 1)):
            EstimatedFairnessOperator(**base)

    build()
    build(constraints="{{ var.json.fairness_constraints }}")  # templated: checked at run time
    with pytest.raises(SpecError, match=r"constraints\[0\]"):
        build(constraints=[{"metric": "true_positive_rat", "max": 0.1}])
    with pytest.raises(SpecError, match="roc_auc need the labels themselves; estimate count-based metrics"):
        build(constraints=[{"metric": "roc_auc", "aggregate": "difference", "max": 0.1}])
    with pytest.raises(SpecError, match="labelled= needs y_true="):
        build(labelled="w.parquet")
    with pytest.raises(SpecError, match=r"give threshold= .* or y_pred="):
        build(threshold=None)
    with pytest.raises(SpecError, match=r"EstimatedFairnessOperator\.data: no data source given"):
        build(data=None)
    with pytest.raises(SpecError, match="policies have no estimated-fairness check kind yet"):
        build(policy={"name": "p"})
