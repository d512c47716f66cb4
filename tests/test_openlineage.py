"""OpenLineage facets of the check operators (issue 7).

Unit tests build an operator, run its engine, keep the result as ``publish()`` does and read
``get_openlineage_facets_on_complete``. The integration test runs a real ``dag.test()`` in a
child interpreter with the OpenLineage provider's listener and a file transport, and reads
the emitted events: the listener and its configuration are decided once per process, when
Airflow loads its plugins, so the transport cannot be switched on inside this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT

pytest.importorskip("airflow.providers.openlineage")

APPLICANTS = pd.DataFrame({"age": [20, 30, 40, 50], "income": [1.0, 2.0, 3.0, 4.0]})
# group a selects 4 of 5, group b 1 of 5: demographic parity ratio 0.25, group minimum 0.2
PREDICTIONS = pd.DataFrame(
    {"sex": ["a"] * 5 + ["b"] * 5, "y": [1, 1, 1, 0, 0, 1, 1, 0, 0, 0], "p": [1, 1, 1, 1, 0, 1, 0, 0, 0, 0]}
)
EXPECTATIONS = [
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}},
]
CONSTRAINTS = [
    {"metric": "demographic_parity_ratio", "min": 0.8},
    {"metric": "selection_rate", "aggregate": "group_min", "min": 0.1},
]


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, str]:
    APPLICANTS.to_csv(tmp_path / "applicants.csv", index=False)
    PREDICTIONS.to_csv(tmp_path / "predictions.csv", index=False)
    return {"applicants": str(tmp_path / "applicants.csv"), "predictions": str(tmp_path / "predictions.csv")}


def _ran(operator_class, **kwargs):
    """An operator in a DAG whose engine ran and whose result is kept as ``publish()`` keeps it."""
    from airflow.sdk import DAG

    with DAG(dag_id="lineage_unit", schedule=None, start_date=datetime(2026, 1, 1)):
        operator = operator_class(task_id="check", **kwargs)
    operator._last_result = operator.evaluate({})
    return operator


def _assertions(dataset) -> list[tuple[str, bool, str | None]]:
    return [(a.assertion, a.success, a.column) for a in dataset.facets["dataQualityAssertions"].assertions]


def test_expectations_facet_has_one_assertion_per_expectation(files):
    from airflow_alignment.operators import ExpectationsCheckOperator

    operator = _ran(ExpectationsCheckOperator, data=files["applicants"], expectations=EXPECTATIONS)
    result = operator._last_result
    lineage = operator.get_openlineage_facets_on_complete(None)
    (dataset,) = lineage.inputs
    assert (dataset.namespace, dataset.name) == ("file", files["applicants"])
    assert [(n, s) for n, s, _ in _assertions(dataset)] == [(a.name, a.success) for a in result.assertions]
    assert _assertions(dataset) == [
        ("expect_column_values_to_be_between(age)", True, "age"),
        ("expect_column_values_to_not_be_null(income)", True, "income"),
    ]
    assert dataset.facets["dataQualityMetrics"].rowCount == 4
    assert operator.get_openlineage_facets_on_failure(None).inputs[0].facets.keys() == dataset.facets.keys()


def test_fairness_facet_has_one_assertion_per_constraint(files):
    from airflow_alignment.operators import FairnessCheckOperator

    operator = _ran(
        FairnessCheckOperator,
        data=files["predictions"],
        y_true="y",
        y_pred="p",
        sensitive_features="sex",
        min_group_size=1,
        constraints=CONSTRAINTS,
    )
    result = operator._last_result
    assert result.status == "failed"
    (dataset,) = operator.get_openlineage_facets_on_failure(None).inputs
    assert [(n, s) for n, s, _ in _assertions(dataset)] == [(a.name, a.success) for a in result.assertions]
    assert _assertions(dataset) == [
        ("demographic_parity_ratio", False, "sex"),
        ("selection_rate.group_min", True, "sex"),
    ]
    first = dataset.facets["dataQualityAssertions"].assertions[0]
    assert (first.actual, json.loads(first.expected), first.severity) == ("0.25", {"min": 0.8, "max": None}, "block")


def test_drift_has_both_inputs_and_the_facet_on_current(tmp_path):
    from airflow_alignment.operators import DriftCheckOperator

    pd.DataFrame({"income": range(200)}).to_csv(tmp_path / "reference.csv", index=False)
    pd.DataFrame({"income": range(100, 300)}).to_csv(tmp_path / "current.csv", index=False)
    operator = _ran(
        DriftCheckOperator,
        reference=str(tmp_path / "reference.csv"),
        current=str(tmp_path / "current.csv"),
        features=["income"],
    )
    reference, current = operator.get_openlineage_facets_on_complete(None).inputs
    assert (reference.name, current.name) == (str(tmp_path / "reference.csv"), str(tmp_path / "current.csv"))
    assert not reference.facets
    assert _assertions(current) == [(a.name, bool(a.success), "income") for a in operator._last_result.assertions]
    assert _assertions(current)[0][:2] == ("psi(income)", False)


def test_a_callable_source_names_no_dataset_and_the_assertions_become_a_test_run_facet():
    from airflow_alignment.operators import ExpectationsCheckOperator

    operator = _ran(ExpectationsCheckOperator, data=lambda: APPLICANTS, expectations=EXPECTATIONS[:1])
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert lineage.inputs == []
    assert [(t.name, t.status) for t in lineage.run_facets["test"].tests] == [
        ("expect_column_values_to_be_between(age)", "pass")
    ]


def test_before_execute_the_lineage_is_the_inputs_alone():
    from airflow.sdk import DAG

    from airflow_alignment.operators import ExpectationsCheckOperator

    with DAG(dag_id="lineage_unrun", schedule=None, start_date=datetime(2026, 1, 1)):
        operator = ExpectationsCheckOperator(
            task_id="check", data="s3://aws_default@bucket/batches/x.csv", expectations=EXPECTATIONS
        )
    (dataset,) = operator.get_openlineage_facets_on_complete(None).inputs
    assert (dataset.namespace, dataset.name, dataset.facets) == ("s3://bucket", "batches/x.csv", {})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("s3://aws_default@bucket/a/b.parquet", ("s3://bucket", "a/b.parquet")),
        ("gs://bucket/b.csv", ("gs://bucket", "b.csv")),
        ("file:///data/b.csv", ("file", "/data/b.csv")),
        ("data/b.csv", ("file", os.path.abspath("data/b.csv"))),
        (Path("/data/b.csv"), ("file", "/data/b.csv")),
        ({"path": "s3://bucket/k.jsonl", "format": "jsonl"}, ("s3://bucket", "k.jsonl")),
    ],
)
def test_source_datasets_follow_openlineage_naming(source, expected):
    from airflow_alignment.tasks.lineage import source_dataset

    dataset = source_dataset(source)
    assert (dataset.namespace, dataset.name) == expected


def test_file_source_and_object_storage_path():
    from airflow.sdk import ObjectStoragePath

    from airflow_alignment.io import FileSource
    from airflow_alignment.tasks.lineage import source_dataset

    ds = source_dataset(FileSource("s3://bucket/k.csv", format="csv"))
    assert (ds.namespace, ds.name) == ("s3://bucket", "k.csv")
    ds = source_dataset(ObjectStoragePath("s3://aws_default@bucket/dir/k.parquet"))
    assert (ds.namespace, ds.name) == ("s3://bucket", "dir/k.parquet")
    assert source_dataset(lambda: None) is None and source_dataset(APPLICANTS) is None


def test_without_the_provider_the_methods_return_none(monkeypatch, files):
    from airflow_alignment.operators import ExpectationsCheckOperator

    operator = _ran(ExpectationsCheckOperator, data=files["applicants"], expectations=EXPECTATIONS[:1])
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)  # import fails
    assert operator.get_openlineage_facets_on_complete(None) is None
    assert operator.get_openlineage_facets_on_failure(None) is None


_RUN = """
import json, sys
import tests.conftest as harness
dag = harness.load_dag(harness.TEST_DAGS / "lineage_cases.py", "lineage_checks")
run = dag.test(run_conf=json.loads(sys.argv[1]))
print("STATES " + json.dumps(harness.task_states(run)))
"""


@pytest.mark.airflow
def test_dag_test_emits_complete_and_fail_events_with_assertions(airflow_home, files, tmp_path):
    events_file = tmp_path / "events.jsonl"
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        # emit from a thread of the task process instead of a fork of it (safe under dag.test)
        "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
    }
    env.pop("AIRFLOW__OPENLINEAGE__DISABLED", None)
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(files)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    states = [line for line in proc.stdout.splitlines() if line.startswith("STATES ")]
    assert proc.returncode == 0 and states, proc.stderr[-4000:]
    assert json.loads(states[-1].removeprefix("STATES ")) == {
        "applicants_quality": "success",
        "approval_fairness": "failed",
    }
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    by_task = {(e["job"]["name"], e["eventType"]): e for e in events}

    def assertions(event):
        (dataset,) = event["inputs"]
        return dataset, [
            (a["assertion"], a["success"]) for a in dataset["facets"]["dataQualityAssertions"]["assertions"]
        ]

    dataset, passed = assertions(by_task[("lineage_checks.applicants_quality", "COMPLETE")])
    assert (dataset["namespace"], dataset["name"]) == ("file", files["applicants"])
    assert passed == [
        ("expect_column_values_to_be_between(age)", True),
        ("expect_column_values_to_not_be_null(income)", True),
    ]
    assert dataset["facets"]["dataQualityMetrics"]["rowCount"] == 4
    dataset, failed = assertions(by_task[("lineage_checks.approval_fairness", "FAIL")])
    assert (dataset["namespace"], dataset["name"]) == ("file", files["predictions"])
    assert failed == [("demographic_parity_ratio", False), ("selection_rate.group_min", True)]
    assert ("lineage_checks.approval_fairness", "COMPLETE") not in by_task
