"""The data_bias check kind: DataBiasSpec, the engine (Clarify's pre-training metrics judged like
fairness constraints), DataBiasCheckOperator in real dag.test() runs on a SQL table, a file read
in batches and a policy."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines.bias import counts as bias_counts
from airflow_alignment.engines.bias import metrics as bias_metrics
from airflow_alignment.engines.data_bias import evaluate
from airflow_alignment.exceptions import SpecError
from airflow_alignment.policy import load_policy
from airflow_alignment.specs import DataBiasSpec
from tests.conftest import TEST_DAGS, checked, load_dag, task_states, xcom_value

# 4 rows of F (1 positive), 6 of M (4 positive): n_a = 6, n_d = 4
EIGHT = pd.DataFrame({"sex": ["F"] * 4 + ["M"] * 6, "y": [1, 0, 0, 0, 1, 1, 1, 0, 1, 0]})
BASE = {"label": "y", "sensitive_features": "sex", "facet_values": {"sex": "F"}}


def _training(n: int = 6000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n, p=[0.4, 0.6]),
            "race": rng.choice(["A", "B", "C"], n),
            "region": rng.choice(["north", "south"], n),
            "weight": rng.uniform(0.5, 2.0, n).round(3),
            "ds": rng.choice(["2026-11-01", "2026-11-02"], n),
        }
    )
    frame["repaid"] = (rng.random(n) < np.where(frame["sex"] == "F", 0.45, 0.55)).astype(int)
    return frame


# -- numbers a person can check ---------------------------------------------------------------
def test_hand_computed_class_imbalance_and_label_proportions():
    result = evaluate(EIGHT, **BASE, constraints=[{"metric": "CI", "max": 0.3}, {"metric": "DPL", "max": 0.4}])
    ci, dpl = result.assertions
    assert ci.observed == pytest.approx((6 - 4) / 10, abs=1e-15) and ci.success is True
    assert dpl.observed == pytest.approx(4 / 6 - 1 / 4, abs=1e-15) and dpl.success is False
    assert result.kind == "data_bias" and result.status == "failed"
    assert result.summary.startswith("DPL = 0.4167 (max 0.4)")
    assert "1 of 2 constraints failed" in result.summary
    groups = {g["group"]["sex"]: g for g in result.metrics["groups"]}
    assert groups["F"] == {
        "group": {"sex": "F"},
        "rows": 4,
        "positive_share": 0.25,
        "label_shares": {"0": 0.75, "1": 0.25},
        "in_facet": True,
    }
    (facet,) = result.metrics["facets"]  # what DPL compares: 1 of 4 positive in d, 4 of 6 in a
    assert facet["facet_values"] == {"sex": "F"} and facet["d"]["rows"] == 4 and facet["a"]["rows"] == 6
    assert facet["a"]["label_shares"] == {"0": pytest.approx(2 / 6), "1": pytest.approx(4 / 6)}
    assert result.metrics["positive_labels"] == ["1"] and result.metrics["labels"] == ["0", "1"]
    assert result.metrics["label_count"] == 2
    assert result.metrics["values"] == {"CI": ci.observed, "DPL": dpl.observed}
    assert ci.details["library"] == "smclarify 0.5 pretraining.CI"


def test_values_are_the_bias_engines_on_intersectional_groups_with_strata_and_weights():
    frame = _training()
    spec = json.loads(json.dumps(_bias_args()))
    result = evaluate(frame, **spec)
    data = bias_counts.from_frame(
        frame,
        facets=["sex", "race"],
        label="repaid",
        group_variable="region",
        sample_weight="weight",
        positive_labels=[1],
    )
    names = [c["metric"] for c in spec["constraints"]]
    expected = bias_metrics.evaluate(data, names, stage="pre_training", facet_values={"sex": "F"})
    assert {a.name: a.observed for a in result.assertions} == {n: expected[n].value for n in names}
    assert result.status == "passed"
    assert result.data["rows"] == len(frame)


def test_an_undefined_value_fails_with_its_reason():
    only_f = EIGHT.assign(sex=["F"] * 10)
    result = evaluate(only_f, **BASE, constraints=[{"metric": "DPL", "max": 0.5}])
    (a,) = result.assertions
    assert a.observed is None and a.success is False
    assert a.details["reason"] == "the rest of the data (facet a) has no rows: every group is in facet_values"
    assert result.metrics["undefined"] == {"DPL": a.details["reason"]}


def test_intervals_and_decide_on_with_and_without_weights():
    frame = _training()
    kwargs = {"label": "repaid", "sensitive_features": "sex", "facet_values": {"sex": "F"}, "n_boot": 300}
    bound = [{"metric": "DPL", "max": 0.06}]
    est = evaluate(frame, **kwargs, constraints=bound, confidence=0.95)
    (a,) = est.assertions
    low, high = a.details["ci"]
    assert low < a.observed < high and a.details["confidence"] == 0.95
    assert a.success == (a.observed <= 0.06)
    # the whole interval must be inside the bound: fails when the interval reaches above it
    strict = evaluate(frame, **kwargs, constraints=bound, confidence=0.95, decide_on="conservative")
    assert strict.assertions[0].success == (high <= 0.06 + 1e-12)
    assert strict.assertions[0].details["ci"] == [low, high]  # same seed, same draws
    weighted = evaluate(frame, **kwargs, constraints=bound, confidence=0.95, sample_weight="weight")
    w = weighted.assertions[0]
    assert "ci_note" not in w.details and w.details["ci"][0] < w.observed < w.details["ci"][1]
    assert w.observed != a.observed  # the weighted DPL (tests/test_bias_intervals.py checks its interval)


def test_a_baseline_margin_compares_with_a_previous_result():
    first = evaluate(EIGHT, **BASE, constraints=[{"metric": "DPL", "max": 1, "baseline": {"max_increase": 0.05}}])
    shifted = EIGHT.assign(y=[0, 0, 0, 0, 1, 1, 1, 0, 1, 0])  # the facet loses its positive
    second = evaluate(
        shifted, **BASE, constraints=[{"metric": "DPL", "max": 1, "baseline": {"max_increase": 0.05}}], baseline=first
    )
    (a,) = second.assertions
    assert a.details["baseline"]["status"] == "compared"
    assert a.details["baseline"]["change"] == pytest.approx(0.25, abs=1e-12)
    assert a.success is False and "up 0.25 from the baseline 0.4167" in second.summary
    with pytest.raises(SpecError, match="baseline: dict is a 'fairness' result, not a data_bias one"):
        evaluate(
            EIGHT, **BASE, constraints=[{"metric": "CI", "max": 1}], baseline={**first.to_dict(), "kind": "fairness"}
        )


def test_a_continuous_label_is_cut_above_its_threshold():
    frame = EIGHT.assign(y=[0.9, 0.2, 0.5, 0.1, 0.8, 0.7, 0.6, 0.5, 0.95, 0.3])
    result = evaluate(
        frame, label="y", sensitive_features="sex", facet_values=["F"], label_threshold=0.5,
        constraints=[{"metric": "DPL", "max": 1}],
    )  # fmt: skip
    # above 0.5 (0.5 itself is negative, as in Clarify): F 1 of 4, M 4 of 6
    assert result.assertions[0].observed == pytest.approx(4 / 6 - 1 / 4, abs=1e-15)


UNKNOWN = "constraints[0].metric: unknown pre_training metric"


# -- the spec: checked when it is made --------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"constraints": [{"metric": "DPPL", "max": 0.1}]}, f"{UNKNOWN} 'DPPL'. ('DPPL' is a post_training metric)"),
        ({"constraints": [{"metric": "DLP", "max": 0.1}]}, f"{UNKNOWN} 'DLP'. Did you mean 'LP' or 'DPL'"),
        ({"constraints": [{"metric": "CI"}]}, "constraints[0]: give a bound: 'min' and/or 'max'"),
        ({"constraints": [{"metric": "TVD", "min": 1.5}]}, "constraints[0].min: 1.5 cannot be met: TVD lies"),
        ({"constraints": [{"metric": "CI", "max": 0.1, "agg": "x"}]}, "constraints[0].agg: 'CI' compares the facet"),
        ({"constraints": [{"metric": "CI", "max": 0.1, "minimum": 0}]}, "constraints[0]: unknown key 'minimum'"),
        ({"facet_values": None}, "facet_values: CI compare a facet with the rest of the data; name it"),
        ({"facet_values": {"gender": "F"}}, "facet_values: 'gender' is not a sensitive feature."),
        ({"constraints": [{"metric": "CDDL", "max": 0.1}]}, "constraints[0]: CDDL is conditioned on strata"),
        ({"group_variable": "sex"}, "group_variable: 'sex' is a sensitive feature; name another column"),
        ({"label": ""}, "label: expected a column name (a non-empty string), got ''"),
        ({"p": 0.5}, "p: the Lp-norm order must be a number of at least 1"),
        ({"label_distribution": "all"}, "label_distribution: expected one of binary, values, got 'all'"),
        ({"decide_on": "conservative"}, "constraints[0].decide_on: 'conservative' judges the confidence"),
        ({"n_boot": 0}, "n_boot:"),
    ],
)  # fmt: skip
def test_spec_errors_name_the_field(change, message):
    args = {**BASE, "constraints": [{"metric": "CI", "max": 0.3}], **change}
    with pytest.raises(SpecError) as info:
        DataBiasSpec(**args)
    assert str(info.value).startswith(message), str(info.value)


def test_differential_fairness_needs_no_facet():
    spec = DataBiasSpec(
        label="y",
        sensitive_features="sex",
        constraints=[{"metric": "smoothed_empirical_differential_fairness", "max": 1}],
    )
    result = evaluate(EIGHT, spec)
    assert result.assertions[0].observed == pytest.approx(
        bias_metrics.evaluate(
            bias_counts.from_frame(EIGHT, facets=["sex"], label="y", positive_labels=[1]),
            ["smoothed_empirical_differential_fairness"],
            stage="pre_training",
        )["smoothed_empirical_differential_fairness"].value,
        abs=1e-15,
    )


def test_a_policy_data_bias_check_is_validated_where_it_is_written():
    policy = {"name": "p", "version": "1", "checks": [{"name": "b", "kind": "data_bias", "data": "x", **BASE}]}
    with pytest.raises(SpecError, match=r"^checks\[0\]\.constraints: required"):
        load_policy(policy)
    policy["checks"][0]["constraints"] = [{"metric": "DI", "min": 0.8}]
    with pytest.raises(SpecError, match=r"^checks\[0\]\.constraints\[0\]\.metric: unknown pre_training metric 'DI'"):
        load_policy(policy)
    policy["checks"][0]["constraints"] = [{"metric": "disparate_impact", "min": 0.8}]
    policy["checks"][0]["pos_label"] = [1, 2]
    check = load_policy(policy).check("b")
    assert check.kind == "data_bias" and check.spec["pos_label"] == [1, 2]


# -- the operator, in real dag.test() runs ------------------------------------------------------
def _bias_args() -> dict:
    from tests.dags.data_bias_cases import BIAS

    return BIAS


@pytest.fixture()
def warehouse(tmp_path, monkeypatch):
    from airflow_alignment.io import sql

    frame = _training()
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as db:
        frame.to_sql("training", db, index=False)
    monkeypatch.setenv("AIRFLOW_CONN_BIAS_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    sql.dispose("bias_warehouse")
    yield frame
    sql.dispose("bias_warehouse")


@pytest.mark.airflow
def test_operator_counts_a_sql_partition_in_the_database(airflow_home, warehouse):
    day = datetime(2026, 11, 2, tzinfo=timezone.utc)
    run = load_dag(TEST_DAGS / "data_bias_cases.py", "data_bias_sql").test(logical_date=day)
    assert task_states(run) == {"bias": "success", "bias_strict": "failed"}
    rows = warehouse[warehouse["ds"] == "2026-11-02"]
    result = checked(xcom_value(run, "bias"))
    assert result["kind"] == "data_bias" and result["status"] == "passed"
    assert result["data"]["source"] == "sql://bias_warehouse/training WHERE ds = '2026-11-02'"
    assert result["data"]["fingerprint"].startswith("sha256:cells:")  # counts arrived, not rows
    expected = evaluate(rows, **_bias_args())
    assert {a["name"]: a["observed"] for a in result["assertions"]} == pytest.approx(
        {a.name: a.observed for a in expected.assertions}, abs=1e-12
    )
    strict = checked(xcom_value(run, "bias_strict"))  # a failed check still stores and pushes its result
    assert strict["status"] == "failed" and strict["assertions"][0]["details"]["ci"][0] > 0.01
    assert strict["summary"].startswith("DPL = ")
    page = Path(strict["report"].removeprefix("file://")).read_text()  # the stored report's bias section
    assert 'id="bias"' in page and "Facet d: sex = F, against the rest a" in page


@pytest.mark.airflow
def test_operator_on_a_file_read_in_batches_equals_the_in_memory_result(airflow_home, tmp_path):
    frame = _training()
    path = tmp_path / "training.parquet"
    frame.to_parquet(path, row_group_size=1000)
    run = load_dag(TEST_DAGS / "data_bias_cases.py", "data_bias_file").test(run_conf={"path": str(path)})
    assert task_states(run) == {"bias": "success"}
    result = checked(xcom_value(run, "bias"))
    assert result["data"]["rows"] == len(frame) and result["data"]["fingerprint"].startswith("sha256:cells:")
    expected = evaluate(frame, **_bias_args())
    assert [a["observed"] for a in result["assertions"]] == pytest.approx(
        [a.observed for a in expected.assertions], abs=1e-12
    )


@pytest.mark.airflow
def test_a_policy_data_bias_check_runs_in_alignment_checks_and_the_gate_reviews_it(airflow_home, tmp_path):
    frame = _training()
    path = tmp_path / "training.parquet"
    frame.to_parquet(path)
    run = load_dag(TEST_DAGS / "data_bias_cases.py", "data_bias_policy").test(run_conf={"path": str(path)})
    states = task_states(run)
    assert states["alignment.training_bias"] == "success"  # warn: the task succeeds
    result = checked(xcom_value(run, "alignment.training_bias"))
    assert result["status"] == "warned" and result["policy"]["name"] == "bias_policy"
    assert result["assertions"][0]["details"]["rationale"] == "no gap in repaid labels"
    gate = checked(xcom_value(run, "alignment.gate"))
    assert gate["kind"] == "gate" and "training_bias" in json.dumps(gate)


def test_operator_arguments_are_checked_when_the_dag_is_parsed():
    from airflow.sdk import DAG

    from airflow_alignment import DataBiasCheckOperator

    def build(**kwargs):
        args = {"task_id": "b", "data": "t.parquet", **BASE, "constraints": [{"metric": "CI", "max": 0.3}], **kwargs}
        with DAG(dag_id="bias_parse", schedule=None, start_date=datetime(2026, 1, 1)):
            return DataBiasCheckOperator(**args)

    assert build().build_spec().metrics == ["CI"]
    with pytest.raises(SpecError, match=r"^constraints\[0\]\.metric: unknown pre_training metric 'KLD'"):
        build(constraints=[{"metric": "KLD", "max": 0.3}])
    with pytest.raises(SpecError, match="DataBiasCheckOperator: label= is required"):
        build(label=None)
    with pytest.raises(SpecError, match=r"DataBiasCheckOperator\.data: no data source given"):
        build(data=None)
    build(constraints="{{ var.json.bias_constraints }}")  # templated: checked at run time


@pytest.mark.airflow
def test_templated_constraints_and_facet_are_checked_when_the_task_runs(airflow_home, tmp_path):
    frame = _training()
    path = tmp_path / "training.parquet"
    frame.to_parquet(path)
    dag = load_dag(TEST_DAGS / "data_bias_cases.py", "data_bias_templated")
    conf = {"path": str(path), "facet": "M", "constraints": [{"metric": "DPL", "min": -0.2, "max": 0.2}]}
    run = dag.test(run_conf=conf)
    assert task_states(run) == {"bias": "success"}
    result = checked(xcom_value(run, "bias"))
    expected = evaluate(
        frame, label="repaid", sensitive_features="sex", facet_values={"sex": "M"}, constraints=conf["constraints"]
    )
    assert result["assertions"][0]["observed"] == pytest.approx(expected.assertions[0].observed, abs=1e-15)
    assert result["assertions"][0]["details"]["facet_values"] == {"sex": "M"}
    bad = dag.test(run_conf={**conf, "constraints": [{"metric": "DI", "min": 0.8}]})
    assert task_states(bad) == {"bias": "failed"}
    error = checked(xcom_value(bad, "bias"))
    assert error["status"] == "error" and "unknown pre_training metric 'DI'" in error["summary"]
