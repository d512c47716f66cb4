"""Great Expectations inside Spark: ``spark.expectations.evaluate`` on a Spark table gives the
result the engine gives on the same rows in pandas (bar ``data`` and timings), on a real
``local[2]`` session and a real Spark Connect server; GX computes its metrics in Spark (no
``toPandas``, only metric rows and the bounded sample of unexpected values come back).
"""

from __future__ import annotations

import pytest

from airflow_alignment.engines import expectations as engine
from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.io.spark_source import SparkSource
from airflow_alignment.spark import expectations
from tests.conftest import checked
from tests.test_cells import assert_same, strip
from tests.test_spark_counts import DATA, KINDS, TABLE, N, rows_to_driver, spark  # noqa: F401 - the fixture

EXPECTATIONS = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "race"}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "sex", "value_set": ["F", "M"]}},
    {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "race", "value_set": ["A", "B", "C"]},
        "severity": "warn",
    },
    {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "score", "min_value": 0, "max_value": 0.9, "mostly": 0.95},
    },
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1000}},
    {"type": "expect_column_to_exist", "kwargs": {"column": "w_int"}},
]


def test_expectations_in_spark_equal_the_rows(spark):  # noqa: F811 - the fixture
    expected = checked(engine.evaluate(DATA, EXPECTATIONS)).to_dict()
    assert expected["status"] == "failed"  # race has missing values
    for kind in KINDS:
        with rows_to_driver() as sizes:
            result = checked(expectations.evaluate(SparkSource(spark.conn_ids[kind], table=TABLE), EXPECTATIONS))
        doc = result.to_dict()
        assert_same(strip(expected), strip(doc), rel=1e-12, path=kind)
        assert doc["data"] == {
            "source": f"spark://{spark.conn_ids[kind]}/{TABLE}",
            "rows": N,
            "columns": ["race", "sex", "score", "w_int"],
            "fingerprint": None,
        }
        assert sum(sizes) < 100, sizes  # metrics and samples, not 6,000 rows


def test_expectation_errors_name_the_column_and_the_position(spark):  # noqa: F811 - the fixture
    source = SparkSource(spark.conn_ids["connect"], table=TABLE)
    with pytest.raises(
        DataError,
        match=r"expectations\[1\] \(expect_column_values_to_not_be_null\): column 'rac' "
        r"not in spark://.*Did you mean 'race'",
    ):
        expectations.evaluate(
            source, [EXPECTATIONS[0], {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "rac"}}]
        )
    with pytest.raises(SpecError, match=r"expectations\[0\].type: unknown expectation type"):
        expectations.evaluate(source, [{"type": "expect_column_values_to_be_nul", "kwargs": {"column": "race"}}])
    with pytest.raises(DataError, match=r"WHERE sex = 'X' is empty \(0 rows\)"):
        expectations.evaluate(SparkSource(source.conn_id, table=TABLE, where={"sex": "X"}), EXPECTATIONS[:1])
