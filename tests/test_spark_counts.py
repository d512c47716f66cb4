"""Counts inside Spark: ``spark.counts.cell_table`` is the cell table of the rows.

The same rows (``tests.test_cells.make_data`` with missing group values added) are written to
Parquet and registered as a table of a real in-process ``local[2]`` session and of a real Spark
Connect server on loopback. For each configuration (intersectional groups, integer and float
weights, a thresholded score, bootstrap intervals) the fairness and performance engines give
the same ``to_dict()`` (bar ``data`` and timings) on the cells counted by Spark as on the
pandas rows, and the same cell fingerprint. A guard counts the rows Spark sends back to the
driver: only the cells.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines import fairness, performance
from airflow_alignment.engines.binary import cells
from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.io.spark_source import SparkSource
from airflow_alignment.spark import counts
from tests.conftest import checked
from tests.test_cells import DP, EO, assert_same, make_data, strip

N = 6_000
TABLE = "alignment_tests.predictions"
KINDS = ("local", "connect")


def rows() -> pd.DataFrame:
    """``make_data`` with a missing race for some rows (a group of its own) and a missing score."""
    df = make_data(N, seed=5)
    rng = np.random.default_rng(8)
    df["race"] = df["race"].astype(object).where(rng.random(N) > 0.03, None)
    df["score"] = df["score"].where(rng.random(N) > 0.01, np.nan)
    df["y_late"] = df["y"].astype(float).where(np.arange(N) % 3 != 0)  # a label that has not arrived
    return df


DATA = rows()


@pytest.fixture(scope="module")
def spark(spark_pair: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("spark-counts") / "predictions.parquet"
    DATA.to_parquet(path, index=False)
    spark_pair.register(TABLE, path)
    return spark_pair


@contextlib.contextmanager
def rows_to_driver() -> Iterator[list[int]]:
    """Record how many rows each ``collect`` brings back; fail any call that would bring the
    data itself (``toPandas``, ``toArrow``, ``toLocalIterator``, ``take``, ``head``)."""
    from pyspark.sql.classic.dataframe import DataFrame as Classic
    from pyspark.sql.connect.dataframe import DataFrame as Connect

    sizes: list[int] = []
    with pytest.MonkeyPatch.context() as mp:
        for cls in (Classic, Connect):
            collect = cls.collect

            def counted(self: Any, _collect: Any = collect) -> Any:
                out = _collect(self)
                sizes.append(len(out))
                return out

            mp.setattr(cls, "collect", counted)
            for name in ("toPandas", "toArrow", "toLocalIterator", "take", "head"):
                mp.setattr(cls, name, lambda self, *a, _n=name, **k: pytest.fail(f"{_n}() brings rows to the driver"))
        yield sizes


def spark_table(kind: str, spark: Any, kwargs: dict[str, Any], **source: Any) -> cells.CellTable:
    sf = kwargs.get("sensitive_features", [])
    features = [sf] if isinstance(sf, str) else list(sf)
    args = {k: kwargs.get(k) for k in ("y_true", "y_pred", "y_score", "threshold", "sample_weight")}
    with rows_to_driver() as sizes:
        table = counts.cell_table(SparkSource(spark.conn_ids[kind], table=TABLE, **source), features=features, **args)
    assert sizes == [len(table.frame)], f"rows back to the driver: {sizes}, cells: {len(table.frame)}"
    assert len(table.frame) < 200
    return table


def same(engine: Any, spark: Any, rel: float = 0.0, **kwargs: Any) -> dict[str, Any] | None:
    """The engine's result on the rows and on Spark's cells of both sessions: equal; or the
    same error message when the rows are refused."""
    try:
        expected = checked(engine(DATA, **kwargs)).to_dict()
    except DataError as exc:
        for kind in KINDS:
            with pytest.raises(DataError) as raised:
                engine(spark_table(kind, spark, kwargs), **kwargs)
            assert str(raised.value) == str(exc)
        return None
    pandas_cells = cells.from_frame(DATA, features=_features(kwargs), **_roles(kwargs))
    for kind in KINDS:
        table = spark_table(kind, spark, kwargs)
        assert table.rows == N
        assert table.fingerprint() == pandas_cells.fingerprint(), kind
        result = checked(engine(table, **kwargs)).to_dict()
        assert result["data"]["source"] == f"spark://{spark.conn_ids[kind]}/{TABLE}"
        assert_same(strip(expected), strip(result), rel, path=kind)
    return expected


def _features(kwargs: dict[str, Any]) -> list[str]:
    sf = kwargs.get("sensitive_features", [])
    return [sf] if isinstance(sf, str) else list(sf)


def _roles(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: kwargs.get(k) for k in ("y_true", "y_pred", "y_score", "threshold", "sample_weight")}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sensitive_features": ["sex", "race"], "y_pred": "pred"},
        {"sensitive_features": "race", "y_pred": "pred", "sample_weight": "w_int", "missing_groups": "as_group"},
        {
            "sensitive_features": ["sex", "race"],
            "y_score": "score",
            "threshold": 0.5,
            "sample_weight": "w_float",
            "missing_groups": "drop",
        },
        {"sensitive_features": "sex", "y_score": "score", "threshold": 0.5, "missing_groups": "error"},
        {"sensitive_features": "sex", "y_pred": "pred", "confidence": 0.9, "n_boot": 300, "decide_on": "conservative"},
    ],
    ids=["intersectional", "int-weights-missing-group", "threshold-float-weights", "missing-score-error", "bootstrap"],
)
def test_fairness_from_spark_counts_equals_the_rows(spark, kwargs):
    kwargs = {"y_true": "y", "missing_groups": "as_group", **kwargs}
    doc = same(fairness.evaluate, spark, rel=1e-12, constraints=[DP, EO], **kwargs)
    if kwargs["missing_groups"] == "error":
        assert doc is None  # the missing scores are refused, with the same message
        return
    groups = [g["group"] for g in doc["metrics"]["selection_rate"]["by_group"]]
    if "race" in _features(kwargs) and kwargs["missing_groups"] == "as_group":
        assert any(g["race"] is None for g in groups)  # the missing race is a group of its own


def test_performance_from_spark_counts_equals_the_rows(spark):
    constraints = [{"metric": "accuracy", "min": 0.7}, {"metric": "true_positive_rate", "min": 0.6}]
    doc = same(
        performance.evaluate,
        spark,
        rel=1e-12,
        constraints=constraints,
        y_true="y",
        y_pred="pred",
        sample_weight="w_float",
    )
    assert doc is not None and doc["metrics"]["accuracy"]["value"] > 0.5
    # a thresholded score with missing values: refused with the same message
    assert (
        same(performance.evaluate, spark, constraints=constraints, y_true="y", y_score="score", threshold=0.5) is None
    )


def test_where_and_parameters_are_bound_values(spark):
    expected = cells.from_frame(DATA[DATA["sex"] == "F"], features=["race"], y_true="y", y_pred="pred")
    for kind in KINDS:
        for source in ({"where": "sex = :sex", "parameters": {"sex": "F"}}, {"where": {"sex": "F"}}):
            table = spark_table(kind, spark, {"sensitive_features": "race", "y_true": "y", "y_pred": "pred"}, **source)
            assert table.fingerprint() == expected.fingerprint()
        hostile = "F' OR '1'='1"
        table = spark_table(
            kind,
            spark,
            {"sensitive_features": "race", "y_true": "y", "y_pred": "pred"},
            where="sex = :sex",
            parameters={"sex": hostile},
        )
        assert table.rows == 0  # the text is one value, compared as such: no row has it


def test_identifiers_are_quoted(spark, tmp_path):
    odd = pd.DataFrame({"group `x`": ["a", "b", "a", "b"], "y; DROP": [1, 0, 1, 1], "p.red": [1, 0, 0, 1]})
    path = tmp_path / "odd.parquet"
    odd.to_parquet(path, index=False)
    for kind in KINDS:
        session = spark.session(kind)
        session.sql("CREATE DATABASE IF NOT EXISTS alignment_tests")
        session.sql("DROP TABLE IF EXISTS alignment_tests.odd_table")
        session.sql(f"CREATE TABLE alignment_tests.odd_table USING parquet LOCATION '{path}'")
        source = SparkSource(spark.conn_ids[kind], table="`alignment_tests`.`odd_table`")
        table = counts.cell_table(source, features=["group `x`"], y_true="y; DROP", y_pred="p.red")
        expected = cells.from_frame(odd, features=["group `x`"], y_true="y; DROP", y_pred="p.red")
        assert table.fingerprint() == expected.fingerprint()
        # a table name that tries to close its quotes is one (missing) name: nothing else runs
        hostile = SparkSource(spark.conn_ids[kind], table="alignment_tests.predictions` WHERE 1=1; DROP TABLE x --")
        with pytest.raises(DataError, match=r"table 'predictions` WHERE 1=1; DROP TABLE x --' not found"):
            counts.cell_table(hostile, features=["sex"], y_true="y", y_pred="pred")
        assert session.catalog.tableExists(TABLE)


def test_errors_name_the_table_the_column_and_the_type(spark):
    for kind in KINDS:
        conn = spark.conn_ids[kind]
        with pytest.raises(DataError, match=r"table 'predictionz' not found .*Did you mean 'predictions'"):
            counts.cell_table(
                SparkSource(conn, table="alignment_tests.predictionz"), features=["sex"], y_true="y", y_pred="pred"
            )
        with pytest.raises(DataError, match=r"column 'sexx' not in spark://.*Did you mean 'sex'"):
            counts.cell_table(SparkSource(conn, table=TABLE), features=["sexx"], y_true="y", y_pred="pred")
        with pytest.raises(DataError, match=r"y_score column 'label' must be numeric, got Spark type string"):
            counts.cell_table(
                SparkSource(conn, table=TABLE), features=["sex"], y_true="y", y_score="label", threshold=0.5
            )
        with pytest.raises(SpecError, match=r"placeholder\(s\) :sex have no value"):
            counts.cell_table(
                SparkSource(conn, table=TABLE, where="sex = :sex"), features=["sex"], y_true="y", y_pred="pred"
            )


def test_group_counts_for_the_feedback_sensor(spark):
    grouped = DATA.groupby(["sex", "race"], dropna=False)["y_late"].agg(["size", "count"])
    expected = [
        (tuple(None if pd.isna(v) else v for v in k), int(r["size"]), int(r["count"])) for k, r in grouped.iterrows()
    ]
    for kind in KINDS:
        found = counts.group_counts(SparkSource(spark.conn_ids[kind], table=TABLE), ["sex", "race"], "y_late")
        assert found == expected


@pytest.mark.parametrize("zone", ["UTC", None], ids=["timestamp", "timestamp_ntz"])
def test_a_time_window_keeps_the_rows_pandas_keeps(spark, tmp_path, zone):
    from airflow_alignment.io.window import Window

    end = pd.Timestamp("2026-03-08T00:00:00", tz="UTC")
    stamps = end - pd.to_timedelta(np.arange(0, 10 * 86400, 3600), unit="s")  # hourly, back from the end exactly
    frame = pd.DataFrame(
        {
            "at": stamps if zone else stamps.tz_localize(None),
            "sex": np.resize(["F", "M", "M"], len(stamps)),
            "y": np.resize([1.0, np.nan, 0.0, 1.0], len(stamps)),
        }
    )
    frame.to_parquet(tmp_path / "w.parquet", index=False)
    spark.register(f"alignment_tests.windowed_{zone or 'ntz'}", tmp_path / "w.parquet")
    window = Window(column="at", seconds=7 * 86400, end="2026-03-08T00:00:00+00:00")
    inside = window.keep(frame)
    assert inside["at"].min() > frame["at"].min() and len(inside) == 7 * 24  # (end - 7 days, end]: the end kept
    expected = [((sex,), len(g), int(g["y"].notna().sum())) for sex, g in inside.groupby("sex")]
    for kind in KINDS:
        source = SparkSource(spark.conn_ids[kind], table=f"alignment_tests.windowed_{zone or 'ntz'}")
        types = dict(spark.session(kind).table(source.table).dtypes)
        assert types["at"] == ("timestamp" if zone else "timestamp_ntz")
        assert counts.group_counts(source, ["sex"], "y", window=window) == expected
    with pytest.raises(DataError, match=r"timestamp_column 'sex' of spark://.* holds string values, not timestamps"):
        counts.group_counts(source, ["y"], "y", window=Window(column="sex", seconds=60, end="2026-03-08"))


def test_read_frame_brings_the_needed_columns_with_nan_as_missing(spark):
    from airflow_alignment.spark.frames import read_frame, row_count

    expected = DATA.loc[DATA["score"].notna(), ["race", "score"]].reset_index(drop=True)
    for kind in KINDS:
        source = SparkSource(spark.conn_ids[kind], table=TABLE)
        frame = read_frame(source, ["race", "score"], not_null=["score"])
        assert list(frame.columns) == ["race", "score"] and len(frame) == len(expected)
        frame = frame.sort_values(["score", "race"], na_position="last", kind="stable").reset_index(drop=True)
        ordered = expected.sort_values(["score", "race"], na_position="last", kind="stable").reset_index(drop=True)
        assert frame["score"].tolist() == ordered["score"].tolist()
        assert frame["race"].isna().sum() == ordered["race"].isna().sum()
        assert row_count(source) == N and row_count(source, not_null=["score"]) == len(expected)


def test_spark_nan_counts_as_missing_like_pandas(spark):
    """Spark keeps NaN as a value of its own; a check reads it as missing, as pandas does."""
    rows = DATA.assign(s=np.where((DATA["y"] == 1) & (DATA["sex"] == "F"), np.nan, DATA["score"]))
    expected = cells.from_frame(rows, features=["sex"], y_true="y", y_score="s", threshold=0.5)
    query = f"SELECT sex, y, CASE WHEN y = 1 AND sex = 'F' THEN CAST('NaN' AS DOUBLE) ELSE score END AS s FROM {TABLE}"
    for kind in KINDS:
        source = SparkSource(spark.conn_ids[kind], query=query)
        assert spark.session(kind).sql(query).where("isnan(s)").count() > 0  # real NaN values in Spark
        table = counts.cell_table(source, features=["sex"], y_true="y", y_score="s", threshold=0.5)
        assert table.fingerprint() == expected.fingerprint()
        assert table.frame["s"].isna().sum() == expected.frame["s"].isna().sum() > 0


def test_table_location_for_lineage(spark):
    from airflow_alignment.spark.frames import table_location

    for kind in KINDS:
        found = table_location(SparkSource(spark.conn_ids[kind], table=TABLE))
        assert found is not None and found["name"] == "spark_catalog.alignment_tests.predictions"
        assert found["location"].startswith("file:/") and found["location"].endswith("/predictions.parquet")
        assert table_location(SparkSource(spark.conn_ids[kind], query=f"SELECT * FROM {TABLE}")) is None
