from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines.expectations import evaluate, needed_columns, normalize_expectations
from airflow_alignment.exceptions import DataError, SpecError
from tests.conftest import checked

# Ten rows a person can check: ages 18..27 with two impossible ones, one missing income.
FRAME = pd.DataFrame(
    {
        "age": [18, 19, 20, 21, 22, 23, 24, 25, 150, -1],
        "income": [10.0, 20.0, np.nan, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0],
        "sex": ["F", "M"] * 5,
    }
)
AGE = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}}
INCOME = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}}
SEX = {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "sex", "value_set": ["F", "M"]}}


def test_passed():
    result = checked(evaluate(FRAME, [SEX], check_name="sex_codes", source="mem"))
    assert result.status == "passed"
    assert result.summary == "all 1 expectations passed on 10 rows"
    assert result.check == "sex_codes"
    assert result.data["rows"] == 10 and result.data["columns"] == ["sex"] and result.data["source"] == "mem"
    assert result.data["fingerprint"].startswith("sha256:")


def test_failed_names_the_expectation_and_its_numbers():
    result = checked(evaluate(FRAME, [SEX, AGE]))
    assert result.status == "failed"
    age = result.assertions[1]
    assert age.name == "expect_column_values_to_be_between(age)"
    assert age.success is False
    assert age.details["unexpected_count"] == 2
    assert age.details["unexpected_percent"] == pytest.approx(20.0)
    assert sorted(age.details["unexpected_sample"]) == [-1, 150]
    assert age.observed == {"unexpected_count": 2, "unexpected_percent": 20.0}
    assert age.expected == {"min_value": 18, "max_value": 100}
    assert result.summary.startswith(
        "1 of 2 expectations failed; worst: expect_column_values_to_be_between(age): 2 unexpected of 10 rows (20.00%)"
    )
    assert result.metrics == {"evaluated": 2, "failed": 1, "warned": 0}


def test_warned_when_only_warning_expectations_fail():
    result = checked(evaluate(FRAME, [SEX, {**INCOME, "severity": "warning"}]))
    assert result.status == "warned"
    assert result.assertions[1].severity == "warn"
    assert result.assertions[1].details["unexpected_count"] == 1
    assert result.metrics["warned"] == 1


def test_default_severity_warn_applies_to_every_expectation_without_one():
    result = checked(evaluate(FRAME, [AGE, {**INCOME, "severity": "critical"}], severity="warn"))
    assert [a.severity for a in result.assertions] == ["warn", "block"]
    assert result.status == "failed"


def test_aggregate_expectation_reports_the_observed_value():
    spec = {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "age", "min_value": 0, "max_value": 30}}
    result = checked(evaluate(FRAME, [spec]))
    assert result.status == "failed"
    assert result.assertions[0].observed == pytest.approx(np.mean(FRAME["age"]))
    assert 'observed 32.1, expected {"min_value": 0, "max_value": 30}' in result.summary


def test_suite_file_in_gx_form(tmp_path):
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps({"name": "applicants", "expectations": [AGE, INCOME], "meta": {}}))
    result = checked(evaluate(FRAME, suite=str(suite)))
    assert [a.success for a in result.assertions] == [False, False]
    both = checked(evaluate(FRAME, expectations=[SEX], suite=str(suite)))
    assert len(both.assertions) == 3


def test_needed_columns():
    assert needed_columns(normalize_expectations([AGE, INCOME, AGE])) == ["age", "income"]
    table = {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["a"]}}
    assert needed_columns(normalize_expectations([AGE, table])) is None


# -- bad input: each message is part of the contract ----------------------------------------
def test_missing_column_names_it_and_lists_the_available_ones():
    spec = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "incme"}}
    with pytest.raises(DataError) as info:
        evaluate(FRAME, [SEX, spec])
    assert str(info.value) == (
        "expectations[1] (expect_column_values_to_not_be_null): column 'incme' not in the data. "
        "Did you mean 'income'? Columns in the data: ['age', 'income', 'sex']"
    )


def test_unknown_expectation_type_lists_the_closest_names():
    spec = {"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "age"}}
    with pytest.raises(
        SpecError,
        match=r"expectations\[0\]\.type: unknown expectation type "
        r"'expect_column_values_to_be_betwen'\. Did you mean 'expect_column_values_to_be_between'",
    ):
        evaluate(FRAME, [spec])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("not a list", r"expectations: expected a list of expectations"),
        ({"type": "x"}, r"expectations: expected a list of expectations"),
        ([], r"expectations: the list of expectations is empty"),
        ([AGE, {"kwargs": {}}], r"expectations\[1\]: missing 'type'"),
        ([AGE, "expect_x"], r"expectations\[1\]: expected an object with 'type' and 'kwargs', got str"),
        ([{"type": "column_not_null"}], r"expectations\[0\]\.type: 'column_not_null' is not an expectation type"),
        ([{**AGE, "kwarg": {}}], r"expectations\[0\]: unknown key 'kwarg'\. Did you mean 'kwargs'\?"),
        ([{**AGE, "kwargs": [1]}], r"expectations\[0\]\.kwargs: expected an object, got list"),
        ([{**AGE, "severity": "fatal"}], r"expectations\[0\]\.severity: unknown severity 'fatal'"),
    ],
)
def test_malformed_spec_is_caught_without_great_expectations(spec, message):
    with pytest.raises(SpecError, match=message):
        normalize_expectations(spec)


def test_wrong_kwargs_name_the_position_and_the_field():
    spec = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 1, "maxx": 3}}
    with pytest.raises(
        SpecError,
        match=r"expectations\[0\] \(expect_column_values_to_be_between\)\.kwargs: "
        r"maxx: extra fields not permitted",
    ):
        evaluate(FRAME, [spec])


def test_empty_dataset():
    with pytest.raises(DataError, match=r"the dataset from batch\.csv is empty \(0 rows\)"):
        evaluate(FRAME.iloc[:0], [AGE], source="batch.csv")


def test_no_expectations_at_all():
    with pytest.raises(SpecError, match=r"give expectations= .* or suite="):
        evaluate(FRAME)


def test_suite_file_errors(tmp_path):
    from airflow_alignment.exceptions import SourceUnavailableError

    with pytest.raises(SourceUnavailableError, match="expectation suite file not found"):
        evaluate(FRAME, suite=str(tmp_path / "none.json"))
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x"}')
    with pytest.raises(SpecError, match="is not a GX expectation suite"):
        evaluate(FRAME, suite=str(bad))
