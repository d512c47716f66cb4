from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from airflow_alignment.exceptions import SpecError
from airflow_alignment.policy import canonical_sha256, load_policy
from tests.conftest import DAGS

LENDING = DAGS / "policies" / "lending.yaml"


def _raw():
    import yaml

    return yaml.safe_load(LENDING.read_text())


def test_the_lending_policy_loads_with_owners_rationale_and_a_hash():
    policy = load_policy(str(LENDING))
    assert (policy.name, policy.version) == ("lending", "1.0")
    assert [c.name for c in policy.checks] == ["applications_quality", "training_data_bias", "fairness", "performance"]
    fairness = policy.check("fairness")
    assert fairness.owner == "fairness-board@bank.example"
    assert any("1607.4(D)" in r for r in fairness.references)
    assert fairness.spec["min_group_size"] == 30  # from defaults
    assert fairness.operator_kwargs()["check_name"] == "fairness"
    assert len(policy.sha256) == 64 and policy.ref == {"name": "lending", "version": "1.0", "sha256": policy.sha256}


def test_hash_ignores_formatting_and_follows_content():
    text = LENDING.read_text()
    reformatted = "# a comment\n" + text.replace('version: "1.0"', "version:    '1.0'")
    assert load_policy(reformatted).sha256 == load_policy(str(LENDING)).sha256
    changed = _raw()
    changed["checks"][2]["constraints"][0]["min"] = 0.85
    assert load_policy(changed).sha256 != load_policy(str(LENDING)).sha256
    assert load_policy(_raw()).sha256 == canonical_sha256(_raw())


def _with(path, value):
    raw = _raw()
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            _with(["checks", 2, "constraints", 0, "min"], "ten"),
            "checks[2].constraints[0].min: expected a number, got 'ten'",
        ),
        (
            _with(["checks", 2, "constraints", 0, "min"], "ten"),
            "checks[2].constraints[0].min: expected a number, got 'ten'",
        ),
        (_with(["checks", 0, "expectatons"], []), "checks[0].expectatons: unknown key. Did you mean 'expectations'?"),
        (_with(["ownr"], "x"), "ownr: unknown key. Did you mean 'owner'?"),
        (
            _with(["checks", 2, "kind"], "fairnes"),
            "checks[2].kind: expected one of expectations, fairness, drift, "
            "performance, data_bias, got 'fairnes'. Did you mean 'fairness'?",
        ),
        (_with(["checks", 2, "severity"], "fatal"), "checks[2].severity: expected 'block' or 'warn', got 'fatal'"),
        (
            _with(["checks", 2, "name"], "applications_quality"),
            "checks[2].name: 'applications_quality' is already the name of checks[0]",
        ),
        (_with(["checks", 2, "name"], "fair ness"), "checks[2].name: 'fair ness' becomes a task id"),
        (_with(["checks", 0, "expectations"], [{"kwargs": {}}]), "checks[0].expectations[0]: missing 'type'"),
        (
            _with(["checks", 2, "constraints", 0, "metric"], "demographic_parity_rato"),
            "checks[2].constraints[0].metric: unknown metric 'demographic_parity_rato'. "
            "Did you mean 'demographic_parity_ratio'",
        ),
        (_with(["checks"], []), "checks: expected a non-empty list of checks"),
        (_with(["defaults", "min_grup_size"], 5), "defaults.min_grup_size: unknown key. Did you mean 'min_group_size'"),
        (_with(["version"], None), "version: required"),
        (_with(["checks", 2, "data"], None), "checks[2].data: required"),
    ],
)
def test_validation_messages_give_the_path_and_the_problem(raw, message):
    with pytest.raises(SpecError) as info:
        load_policy(raw)
    assert str(info.value).startswith(message), str(info.value)


def test_a_missing_policy_file_and_bad_yaml():
    with pytest.raises(SpecError, match=r"policy file not found: nope.yaml"):
        load_policy("nope.yaml")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_policy("name: x\nchecks: [\n")


def test_loading_a_policy_imports_nothing_heavy():
    code = (
        "import sys; from airflow_alignment.policy import load_policy; "
        f"p = load_policy({str(LENDING)!r}); "
        "heavy = [m for m in ('great_expectations','fairlearn','sklearn','scipy','pandas','numpy','pyarrow') "
        "if m in sys.modules]; print(heavy); assert not heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_operators_take_policy_and_check():
    from datetime import datetime

    from airflow.sdk import DAG

    from airflow_alignment.operators import ExpectationsCheckOperator, FairnessCheckOperator

    with DAG(dag_id="policy_ops", schedule=None, start_date=datetime(2026, 1, 1)):
        quality = ExpectationsCheckOperator(
            task_id="q", policy=str(LENDING), check="applications_quality", data="x.parquet"
        )
        fairness = FairnessCheckOperator(task_id="fairness", policy=str(LENDING), data="p.parquet", severity="warn")
    assert quality.check_name == "applications_quality" and len(quality.expectations) == 5
    assert quality.policy_ref["name"] == "lending"
    assert fairness.sensitive_features == ["sex"] and fairness.severity == "warn"  # explicit wins
    assert fairness.options["confidence"] == 0.95
    with (
        pytest.raises(SpecError, match="policy check 'fairness' is of kind 'fairness'"),
        DAG(dag_id="policy_ops2", schedule=None, start_date=datetime(2026, 1, 1)),
    ):
        ExpectationsCheckOperator(task_id="x", policy=str(LENDING), check="fairness", data="x.csv")
    with (
        pytest.raises(SpecError, match=r"has no check 'fairnes'. Did you mean 'fairness'"),
        DAG(dag_id="policy_ops3", schedule=None, start_date=datetime(2026, 1, 1)),
    ):
        FairnessCheckOperator(task_id="x", policy=str(LENDING), check="fairnes", data="x.csv")
    assert copy.deepcopy(_raw()) == _raw()  # loading never mutates the spec


def test_a_drift_check_in_a_policy():
    raw = {
        "name": "monitoring",
        "version": 1,
        "checks": [
            {
                "name": "drift",
                "kind": "drift",
                "data": "current.parquet",
                "reference": "train.parquet",
                "psi_block": 0.3,
                "bounds": {"income": {"psi_max": 0.2, "rationale": "income drives the score"}},
            }
        ],
    }
    check = load_policy(raw).check("drift")
    assert check.kind == "drift" and check.operator_kwargs()["reference"] == "train.parquet"
    raw["checks"][0]["bounds"]["income"]["psi_max"] = "x"
    with pytest.raises(SpecError, match=r"^checks\[0\]\.bounds\.income\.psi_max: expected a number, got 'x'"):
        load_policy(raw)
    del raw["checks"][0]["reference"]
    with pytest.raises(SpecError, match=r"^checks\[0\]\.reference: required"):
        load_policy(raw)
