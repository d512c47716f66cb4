"""SqlSource: statements, quoting, bound values, errors, chunked reads and cell counts in SQL."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines.binary import cells
from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.io import (
    SqlSource,
    as_source,
    describe_source,
    load_frame,
    sql,
    validate_data_arg,
)


def _frame(n: int = 5000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "ds": rng.choice(["2026-11-01", "2026-11-02"], n),
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "repaid": rng.integers(0, 2, n),
            "approved": rng.integers(0, 2, n),
            "score": rng.random(n).round(6),
            "weight": rng.integers(1, 4, n).astype(float),
        }
    )
    frame.loc[frame.index % 97 == 0, "score"] = np.nan
    return frame


@pytest.fixture()
def warehouse(tmp_path, monkeypatch):
    """A SQLite file with a ``predictions`` table, behind the connection ``wh``."""
    path = tmp_path / "warehouse.db"
    frame = _frame()
    with sqlite3.connect(path) as db:
        frame.to_sql("predictions", db, index=False)
        # a table whose names need quoting: a space, a capital, a reserved word
        frame.rename(columns={"sex": "Sex Group", "repaid": "select"}).to_sql("Loan Book", db, index=False)
    monkeypatch.setenv("AIRFLOW_CONN_WH", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    sql.dispose("wh")
    yield frame
    sql.dispose("wh")


def test_source_validation_at_construction():
    with pytest.raises(SpecError, match=r"exactly one of table= .* or query="):
        SqlSource("wh")
    with pytest.raises(SpecError, match="exactly one of table="):
        SqlSource("wh", table="t", query="select 1")
    with pytest.raises(SpecError, match="where: applies to table="):
        SqlSource("wh", query="select 1", where="a = 1")
    with pytest.raises(SpecError, match="conn_id: expected the id of an Airflow connection"):
        SqlSource("", table="t")
    with pytest.raises(SpecError, match="chunk_rows"):
        SqlSource("wh", table="t", chunk_rows=0)


def test_policy_mapping_becomes_a_source_and_bad_keys_are_named():
    source = as_source({"conn_id": "wh", "table": "predictions", "where": "ds = '2026-11-01'"})
    assert isinstance(source, SqlSource) and source.where == "ds = '2026-11-01'"
    assert describe_source({"conn_id": "wh", "table": "predictions"}) == "sql://wh/predictions"
    with pytest.raises(SpecError, match=r"unknown SqlSource key 'tabel'. Did you mean 'table'"):
        validate_data_arg({"conn_id": "wh", "tabel": "predictions"})


def test_reads_the_needed_columns_in_chunks(warehouse):
    source = SqlSource("wh", table="predictions", chunk_rows=700)
    frame = load_frame(source, columns=["sex", "score"])
    assert frame.columns.tolist() == ["sex", "score"] and len(frame) == len(warehouse)
    pd.testing.assert_frame_equal(frame, warehouse[["sex", "score"]])


def test_where_text_with_bound_parameters_filters_the_partition(warehouse):
    source = SqlSource("wh", table="predictions", where="ds = :ds", parameters={"ds": "2026-11-02"})
    frame = load_frame(source, columns=["ds", "sex"])
    assert set(frame["ds"]) == {"2026-11-02"}
    assert len(frame) == int((warehouse["ds"] == "2026-11-02").sum()) == sql.row_count(source)


def test_where_mapping_and_query_give_the_same_rows(warehouse):
    expected = int((warehouse["ds"] == "2026-11-01").sum())
    by_mapping = SqlSource("wh", table="predictions", where={"ds": "2026-11-01"})
    by_query = SqlSource("wh", query="SELECT * FROM predictions WHERE ds = :ds", parameters={"ds": "2026-11-01"})
    assert sql.row_count(by_mapping) == sql.row_count(by_query) == expected
    assert len(load_frame(by_query, columns=["sex"])) == expected


def test_values_are_bound_never_sql_text(warehouse):
    hostile = "2026-11-01' OR '1'='1"
    for source in (
        SqlSource("wh", table="predictions", where="ds = :ds", parameters={"ds": hostile}),
        SqlSource("wh", table="predictions", where={"ds": hostile}),
    ):
        assert sql.row_count(source) == 0  # the quote is part of the value, not SQL
    drop = "x'); DROP TABLE predictions; --"
    assert sql.row_count(SqlSource("wh", table="predictions", where={"ds": drop})) == 0
    assert sql.row_count(SqlSource("wh", table="predictions")) == len(warehouse)  # still there
    rendered = sql.select_sql(SqlSource("wh", table="predictions", where={"ds": hostile}), ["sex"])
    assert "ds = '2026-11-01'' OR ''1''=''1'" in rendered  # the dialect escaped the literal


def test_identifiers_are_quoted_by_the_dialect(warehouse):
    source = SqlSource("wh", table="Loan Book")
    frame = load_frame(source, columns=["Sex Group", "select"])
    assert frame["Sex Group"].tolist() == warehouse["sex"].tolist()
    table = cells.count(source, features=["Sex Group"], y_true="select", y_pred="approved")
    assert table.rows == len(warehouse)
    rendered = sql.select_sql(source, ["Sex Group", "select"])
    assert '"Loan Book"' in rendered and '"Sex Group"' in rendered and '"select"' in rendered


def test_placeholders_and_parameters_must_match(warehouse):
    with pytest.raises(SpecError, match=r"placeholder\(s\) :ds have no value; pass parameters=\{'ds': ...\}"):
        sql.row_count(SqlSource("wh", table="predictions", where="ds = :ds"))
    with pytest.raises(SpecError, match="'day' not used by any :name placeholder"):
        sql.row_count(SqlSource("wh", table="predictions", where="ds = :ds", parameters={"ds": "x", "day": "y"}))


def test_missing_table_column_and_connection_are_named(warehouse):
    missing = r"table 'predictionz' not found in connection 'wh'. Did you mean 'predictions'"
    with pytest.raises(DataError, match=missing):
        load_frame(SqlSource("wh", table="predictionz"), columns=["sex"])
    with pytest.raises(DataError, match=r"column 'sexx' not in sql://wh/predictions. Did you mean 'sex'"):
        load_frame(SqlSource("wh", table="predictions"), columns=["sexx"])
    with pytest.raises(SpecError, match=r"no Airflow connection 'nowhere'.*AIRFLOW_CONN_NOWHERE"):
        load_frame(SqlSource("nowhere", table="predictions"), columns=["sex"])
    with pytest.raises(DataError, match="refused the query"):
        load_frame(SqlSource("wh", query="SELECT * FROM predictions WHERE nonsense("), columns=["sex"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"features": ["sex"], "y_true": "repaid", "y_pred": "approved"},
        {"features": ["sex", "race"], "y_true": "repaid", "y_score": "score", "threshold": 0.5},
        {"features": ["race"], "y_true": "repaid", "y_pred": "approved", "sample_weight": "weight"},
    ],
    ids=["labels", "thresholded-score-with-nulls", "weighted"],
)
def test_group_by_in_the_database_equals_the_counts_of_the_rows(warehouse, kwargs):
    source = SqlSource("wh", table="predictions", where="ds = :ds", parameters={"ds": "2026-11-01"})
    in_db = cells.count(source, **kwargs)
    rows = warehouse[warehouse["ds"] == "2026-11-01"]
    in_memory = cells.from_frame(rows, **kwargs)
    assert in_db.rows == len(rows)
    assert in_db.fingerprint() == in_memory.fingerprint()
    assert in_db.describe()["source"] == "sql://wh/predictions WHERE ds = :ds [ds='2026-11-01']"
    # no row of the table travels: one row per cell
    assert len(in_db.frame) == len(in_memory.frame) <= 2 * 3 * 2 * 3 * 2


def test_lineage_names_sql_tables_by_openlineage_conventions(warehouse, pg_conn_id, postgres_server):
    from airflow_alignment.tasks.lineage import source_dataset

    local = source_dataset(SqlSource("wh", table="predictions", where={"ds": "2026-11-01"}))
    assert local.namespace.startswith("sqlite:///") and local.namespace.endswith("warehouse.db")
    assert local.name == "predictions"
    remote = source_dataset({"conn_id": pg_conn_id, "table": "scores.predictions"})
    assert (remote.namespace, remote.name) == (
        f"postgres://127.0.0.1:{postgres_server.port}",
        "alignment.scores.predictions",
    )
    assert source_dataset(SqlSource("wh", query="SELECT 1 AS a")) is None  # a query names no table


def test_postgres_reads_and_counts_like_sqlite(warehouse, pg_conn_id, postgres_server):
    from tests.sqlservers import write_table

    write_table(postgres_server.url, "predictions_src", warehouse)
    source = SqlSource(pg_conn_id, table="predictions_src", where="ds = :ds", parameters={"ds": "2026-11-02"})
    rows = warehouse[warehouse["ds"] == "2026-11-02"]
    frame = load_frame(source, columns=["sex", "score"])
    assert len(frame) == len(rows) == sql.row_count(source)
    assert sorted(frame["score"].dropna()) == sorted(rows["score"].dropna())
    kwargs = {"features": ["race"], "y_true": "repaid", "y_score": "score", "threshold": 0.5, "sample_weight": "weight"}
    assert cells.count(source, **kwargs).fingerprint() == cells.from_frame(rows, **kwargs).fingerprint()
    assert sql.dialect(source) == "postgresql"
