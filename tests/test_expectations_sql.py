"""Expectations on a SQL source run inside the database (GX SQL data sources), on SQLite and a
real PostgreSQL server, and give the same results as on the same rows in pandas."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines import expectations as engine
from airflow_alignment.engines.expectations import evaluate
from airflow_alignment.exceptions import DataError, SourceUnavailableError, SpecError
from airflow_alignment.io import SqlSource, sql
from tests.conftest import TEST_DAGS, checked, load_dag, task_states, xcom_value
from tests.sqlservers import free_port, write_table

# Ten people over two days: a missing and two impossible ages, a bad and a missing sex code,
# a duplicated id, two malformed e-mails.
FRAME = pd.DataFrame(
    {
        "id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 9],
        "age": [18.0, 19.0, np.nan, 21.0, 150.0, 23.0, -1.0, 25.0, 26.0, 27.0],
        "sex": ["F", "M", "F", "U", "M", "F", "M", None, "F", "M"],
        "email": ["a@x.org", "b@x.org", "bad", "c@x.org", "d@x.org", "e@x.org", "f@x.org", "g@x.org", "h@x.org", "zz"],
        "ds": ["2026-01-01"] * 5 + ["2026-01-02"] * 5,
    }
)
SUITE = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "age"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "sex", "value_set": ["F", "M"]}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
    {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 5, "max_value": 10}},
    {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 40}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "email", "regex": "^[a-z]+@x\\.org$"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "email"}, "severity": "warning"},
]
AGE = SUITE[1]
DAY1 = "2026-01-01"


def _forget(conn_id: str) -> None:
    """Drop the cached engine of ``conn_id``: the same id names another database next test."""
    sql.dispose(conn_id)


@pytest.fixture()
def sqlite_wh(sqlite_conn_id):
    _forget(sqlite_conn_id.conn_id)
    write_table(sqlite_conn_id.url, "people", FRAME)
    yield sqlite_conn_id
    _forget(sqlite_conn_id.conn_id)


@pytest.fixture()
def pg_wh(pg_conn_id, postgres_server):
    _forget(pg_conn_id)
    write_table(postgres_server.url, "people", FRAME)
    yield SimpleNamespace(conn_id=pg_conn_id, url=postgres_server.url)
    _forget(pg_conn_id)


@pytest.fixture(params=["sqlite", "postgres"])
def wh(request):
    """The warehouse holding FRAME as table ``people``: SQLite, then PostgreSQL."""
    return request.getfixturevalue("sqlite_wh" if request.param == "sqlite" else "pg_wh")


def _essentials(result) -> list[dict]:
    """What must agree between backends: success, observed values, counts and samples."""
    out = []
    for a in result.assertions:
        d = a.details
        observed = a.observed
        if isinstance(observed, float):
            observed = pytest.approx(observed)
        elif isinstance(observed, dict):
            observed = {k: pytest.approx(v) if isinstance(v, float) else v for k, v in observed.items()}
        out.append(
            {
                "name": a.name,
                "success": a.success,
                "severity": a.severity,
                "observed": observed,
                "element_count": d.get("element_count"),
                "unexpected_count": d.get("unexpected_count"),
                "missing_count": d.get("missing_count"),
                "unexpected_sample": sorted(map(repr, d.get("unexpected_sample") or [])),
            }
        )
    return out


def _no_rows_read(monkeypatch) -> None:
    """Fail the test if anything reads the source's rows into pandas."""

    def refuse(*args, **kwargs):
        raise AssertionError("rows of a SQL source were read into pandas")

    monkeypatch.setattr(sql, "read_frame", refuse)
    monkeypatch.setattr("airflow_alignment.io.load_frame", refuse)


# -- same results as pandas ------------------------------------------------------------------
def test_same_results_as_pandas_on_the_whole_table(wh, monkeypatch):
    expected = checked(evaluate(FRAME, SUITE, check_name="people"))
    _no_rows_read(monkeypatch)
    source = SqlSource(conn_id=wh.conn_id, table="people")
    result = checked(evaluate(source, SUITE, check_name="people"))
    assert _essentials(result) == _essentials(expected)
    assert result.status == expected.status == "failed"
    assert result.summary == expected.summary
    assert result.metrics == expected.metrics == {"evaluated": 8, "failed": 5, "warned": 0}
    by_type = {a.details["type"] + "/" + a.details["kwargs"].get("column", ""): a for a in result.assertions}
    between = by_type["expect_column_values_to_be_between/age"]
    assert between.details["unexpected_count"] == 2 and between.details["missing_count"] == 1
    assert between.details["unexpected_percent"] == pytest.approx(200 / 9)
    assert sorted(between.details["unexpected_sample"]) == [-1.0, 150.0]
    assert by_type["expect_column_values_to_be_in_set/sex"].details["unexpected_sample"] == ["U"]
    assert by_type["expect_column_values_to_be_unique/id"].details["unexpected_sample"] == [9]
    assert by_type["expect_column_values_to_be_unique/id"].details["unexpected_count"] == 2
    assert sorted(by_type["expect_column_values_to_match_regex/email"].details["unexpected_sample"]) == ["bad", "zz"]
    assert by_type["expect_column_mean_to_be_between/age"].observed == pytest.approx(FRAME["age"].mean())
    assert by_type["expect_table_row_count_to_be_between/"].observed == 10
    # the data block: the source as text, the database's row count, the checked columns, and
    # no fingerprint (no content hash without reading every row)
    assert result.data == {
        "source": f"sql://{wh.conn_id}/people",
        "rows": 10,
        "columns": ["age", "sex", "id", "email"],
        "fingerprint": None,
    }


@pytest.mark.parametrize(
    "where",
    [f"ds = '{DAY1}'", {"ds": DAY1}],
    ids=["sql-text", "mapping"],
)
def test_where_partition_gives_the_results_of_the_filtered_rows(wh, where, monkeypatch):
    expected = evaluate(FRAME[FRAME["ds"] == DAY1].reset_index(drop=True), SUITE)
    _no_rows_read(monkeypatch)
    source = SqlSource(conn_id=wh.conn_id, table="people", where=where)
    result = checked(evaluate(source, SUITE))
    assert _essentials(result) == _essentials(expected)
    assert result.data["rows"] == 5 and result.data["source"] == str(source)
    unique = result.assertions[3]
    assert unique.success is True  # the duplicated id is on the other day


def test_query_gives_the_results_of_its_rows(wh, monkeypatch):
    day2 = FRAME[FRAME["ds"] == "2026-01-02"].reset_index(drop=True)
    expected = evaluate(day2[["id", "age", "sex", "email"]], SUITE)
    _no_rows_read(monkeypatch)
    source = SqlSource(
        conn_id=wh.conn_id,
        query="SELECT id, age, sex, email FROM people WHERE ds = :ds",
        parameters={"ds": "2026-01-02"},
    )
    result = checked(evaluate(source, SUITE))
    assert _essentials(result) == _essentials(expected)
    assert result.data["rows"] == 5


def test_policy_mapping_is_a_sql_source(sqlite_wh):
    result = evaluate({"conn_id": sqlite_wh.conn_id, "table": "people", "where": {"ds": DAY1}}, [AGE])
    assert result.data["source"] == f"sql://{sqlite_wh.conn_id}/people WHERE ds = '{DAY1}'"
    assert result.assertions[0].details["unexpected_count"] == 1
    with pytest.raises(SpecError, match=r"takes a pandas.DataFrame or a SqlSource, got FileSource"):
        evaluate({"path": "batch.csv"}, [AGE])


# -- how GX is driven ----------------------------------------------------------------------
def test_table_asset_for_a_bare_table_and_a_query_asset_otherwise(sqlite_wh, monkeypatch):
    assets = []
    real = engine._sql_asset

    def spy(datasource, src):
        asset = real(datasource, src)
        assets.append((type(asset).__name__, getattr(asset, "query", None)))
        return asset

    monkeypatch.setattr(engine, "_sql_asset", spy)
    conn = sqlite_wh.conn_id
    evaluate(SqlSource(conn_id=conn, table="people"), [AGE])
    with pytest.raises(DataError, match="is empty"):  # no such day; the asset was built all the same
        evaluate(SqlSource(conn_id=conn, table="people", where={"ds": "it's"}), [SUITE[4]])
    assert assets[0] == ("SqliteTableAsset", None)
    kind, query = assets[1]
    assert kind == "SqliteQueryAsset"
    assert "WHERE ds = 'it''s'" in " ".join(query.split())  # a value, quoted by the dialect


def test_mixed_case_table_name_is_quoted_by_the_dialect(wh):
    write_table(wh.url, "People Table", FRAME)
    result = checked(evaluate(SqlSource(conn_id=wh.conn_id, table="People Table"), [AGE]))
    assert result.assertions[0].details["unexpected_count"] == 2 and result.data["rows"] == 10


def test_schema_qualified_table_on_postgres(pg_wh):
    import sqlalchemy as sa

    eng = sa.create_engine(pg_wh.url)
    with eng.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS analytics"))
    eng.dispose()
    write_table(pg_wh.url, "people", FRAME.iloc[:5], schema="analytics")
    for source in (
        SqlSource(conn_id=pg_wh.conn_id, table="analytics.people"),
        SqlSource(conn_id=pg_wh.conn_id, table="people", schema="analytics"),
    ):
        result = checked(evaluate(source, [AGE]))
        assert result.data["rows"] == 5 and result.assertions[0].details["unexpected_count"] == 1


def test_postgres_url_that_gx_postgres_source_refuses_falls_back_to_add_sql(pg_wh, postgres_server, monkeypatch):
    """A host in the URL's query string (how Unix sockets are written) is valid SQLAlchemy but
    not a GX ``PostgresDsn``: the generic SQL data source validates it instead."""
    kinds = []
    real = engine._sql_datasource
    monkeypatch.setattr(engine, "_sql_datasource", lambda ctx, src: kinds.append(real(ctx, src)) or kinds[-1])
    source = SqlSource(conn_id=pg_wh.conn_id, table="people")
    evaluate(source, [AGE])  # the connection's own URL: GX's postgres data source
    srv = postgres_server
    url = f"postgresql+psycopg2://{srv.user}:{srv.password}@/{srv.database}?host={srv.host}&port={srv.port}"
    monkeypatch.setattr(sql, "sqlalchemy_url", lambda source: url)
    result = checked(evaluate(source, [AGE]))
    assert [type(k).__name__ for k in kinds] == ["PostgresDatasource", "SQLDatasource"]
    assert result.assertions[0].details["unexpected_count"] == 2


def test_postgres_numeric_values_come_back_as_numbers(pg_wh):
    import sqlalchemy as sa

    eng = sa.create_engine(pg_wh.url)
    with eng.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS prices"))
        conn.execute(sa.text("CREATE TABLE prices (price numeric(10, 2), qty numeric)"))
        conn.execute(sa.text("INSERT INTO prices VALUES (1.50, 1), (250.00, 7), (3.25, 2)"))
    eng.dispose()
    specs = [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "price", "min_value": 0, "max_value": 100}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "qty", "min_value": 0, "max_value": 5}},
        {"type": "expect_column_max_to_be_between", "kwargs": {"column": "price", "max_value": 100}},
    ]
    result = checked(evaluate(SqlSource(conn_id=pg_wh.conn_id, table="prices"), specs))
    assert result.assertions[0].details["unexpected_sample"] == [250.0]
    assert result.assertions[1].details["unexpected_sample"] == [7]
    assert result.assertions[2].observed == pytest.approx(250.0)
    assert "250" in result.summary and "Decimal" not in json.dumps(result.to_dict())


# -- errors --------------------------------------------------------------------------------
def test_missing_column_names_the_expectation_and_the_closest_column(wh):
    source = SqlSource(conn_id=wh.conn_id, table="people")
    spec = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "emial"}}
    with pytest.raises(DataError) as info:
        evaluate(source, [AGE, spec])
    assert str(info.value) == (
        "expectations[1] (expect_column_values_to_not_be_null): column 'emial' not in "
        f"sql://{wh.conn_id}/people. Did you mean 'email'? Columns: ['id', 'age', 'sex', 'email', 'ds']"
    )


def test_missing_table_is_a_data_error(wh):
    with pytest.raises(DataError, match=r"table 'peeple' not found in connection '\w+'\. Did you mean 'people'\?"):
        evaluate(SqlSource(conn_id=wh.conn_id, table="peeple"), [AGE])


def test_empty_partition_is_a_data_error(wh):
    source = SqlSource(conn_id=wh.conn_id, table="people", where="ds = '1999-01-01'")
    with pytest.raises(DataError, match=r"the dataset from .* is empty \(0 rows\): there is nothing to check"):
        evaluate(source, [AGE, SUITE[4]])


def test_unreachable_database_is_retryable(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_ALIGNMENT_DOWN",
        json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": free_port(),
                "login": "u",
                "password": "p",
                "schema": "db",
            }
        ),
    )
    _forget("alignment_down")
    try:
        with pytest.raises(SourceUnavailableError, match="could not query sql://alignment_down/people"):
            evaluate(SqlSource(conn_id="alignment_down", table="people"), [AGE])
    finally:
        _forget("alignment_down")


def test_gx_failing_to_connect_is_retryable(pg_wh, monkeypatch):
    """The database answers the column check, then GX cannot connect: I/O, not a data error."""
    closed = f"postgresql+psycopg2://u:p@127.0.0.1:{free_port()}/db"
    monkeypatch.setattr(sql, "sqlalchemy_url", lambda source: closed)
    with pytest.raises(SourceUnavailableError, match=f"could not connect to sql://{pg_wh.conn_id}/people"):
        evaluate(SqlSource(conn_id=pg_wh.conn_id, table="people"), [AGE])


def test_regex_works_on_sqlite_and_an_unsupported_expectation_says_so(sqlite_wh):
    # GX's SQLite engine registers a REGEXP function: regex expectations run in SQLite too
    # (covered with the other backends above). An expectation GX has no SQL implementation
    # for is a clear DataError naming it, not a silent pass.
    spec = {
        "type": "expect_column_values_to_match_strftime_format",
        "kwargs": {"column": "ds", "strftime_format": "%Y-%m-%d"},
    }
    with pytest.raises(
        DataError,
        match=r"^expectations\[1\] \(expect_column_values_to_match_strftime_format\) "
        r"could not be evaluated: No provider found for .*SqliteExecutionEngine",
    ):
        evaluate(SqlSource(conn_id=sqlite_wh.conn_id, table="people"), [AGE, spec])
    assert evaluate(FRAME, [spec]).status == "passed"  # pandas has it


def test_gx_connections_are_closed(pg_wh, postgres_server):
    import sqlalchemy as sa

    def backends() -> int:
        eng = sa.create_engine(postgres_server.url, poolclass=sa.pool.NullPool)
        with eng.connect() as conn:
            n = conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"))
            return int(n.scalar_one())

    before = backends()
    for _ in range(3):
        evaluate(SqlSource(conn_id=pg_wh.conn_id, table="people"), [AGE, SUITE[3]])
    assert backends() <= before + 1  # at most our own pooled engine, never GX's


# -- operator and sensor -------------------------------------------------------------------
@pytest.mark.airflow
def test_operator_validates_the_templated_partition_in_the_database(airflow_home, sqlite_wh, monkeypatch):
    _no_rows_read(monkeypatch)
    dag = load_dag(TEST_DAGS / "sql_expectations_cases.py", "sql_expectations_partition")
    run = dag.test(logical_date=datetime(2026, 1, 1, tzinfo=timezone.utc))
    assert task_states(run) == {"check": "failed", "check_mapping": "failed"}
    result = checked(xcom_value(run, "check"))
    assert result["data"] == {
        "source": f"sql://{sqlite_wh.conn_id}/people WHERE ds = '{DAY1}'",
        "rows": 5,
        "columns": ["age", "sex"],
        "fingerprint": None,
    }
    assert result["status"] == "failed"
    assert result["summary"].startswith(
        "2 of 3 expectations failed (1 blocking, 1 warning); worst: "
        "expect_column_values_to_be_between(age): 1 unexpected of 5 rows (25.00%)"
    )
    mapping = checked(xcom_value(run, "check_mapping"))
    assert mapping["data"]["source"] == f"sql://{sqlite_wh.conn_id}/people WHERE ds = '{DAY1}'"
    assert mapping["assertions"][0]["details"]["unexpected_sample"] == [150.0]


@pytest.mark.airflow
def test_operator_missing_table_fails_without_retry(airflow_home, sqlite_wh):
    run = load_dag(TEST_DAGS / "sql_expectations_cases.py", "sql_expectations_missing_table").test()
    assert task_states(run) == {"check": "failed"}
    assert run.get_task_instances()[0].try_number == 1  # a data error: retries=2 not used
    result = checked(xcom_value(run, "check"))
    assert result["error"]["type"] == "DataError"
    assert "table 'peeple' not found" in result["error"]["message"]


def test_sensor_pokes_until_the_partition_arrives(sqlite_wh):
    from airflow.sdk import DAG

    from airflow_alignment.sensors import ExpectationsSensor

    with DAG(dag_id="sql_sensor_unit", schedule=None, start_date=datetime(2026, 1, 1)):
        sensor = ExpectationsSensor(
            task_id="wait",
            data=SqlSource(conn_id=sqlite_wh.conn_id, table="people", where={"ds": "2026-01-03"}),
            expectations=[AGE],
            min_rows=3,
        )
    assert sensor.poke({}) is False  # no row for the day yet: waiting
    assert "is empty (0 rows)" in sensor._last.summary
    day3 = pd.DataFrame(
        {
            "id": [11, 12, 13],
            "age": [30.0, 31.0, 32.0],
            "sex": ["F", "M", "F"],
            "email": ["x@x.org"] * 3,
            "ds": ["2026-01-03"] * 3,
        }
    )
    write_table(sqlite_wh.url, "people", pd.concat([FRAME, day3], ignore_index=True))
    assert sensor.poke({}) is True
    assert sensor._last.status == "passed" and sensor._last.data["rows"] == 3
    assert sensor._last.data["source"] == f"sql://{sqlite_wh.conn_id}/people WHERE ds = '2026-01-03'"


@pytest.mark.airflow
@pytest.mark.parametrize("dag_id", ["sql_expectations_sensor_poke", "sql_expectations_sensor_deferrable"])
def test_sensor_dag_waits_for_the_partition(dag_id, airflow_home, sqlite_wh, monkeypatch):
    from tests.test_sensors import arrivals

    day3 = pd.DataFrame(
        {
            "id": [11, 12, 13],
            "age": [30.0, 31.0, 32.0],
            "sex": ["F", "M", "F"],
            "email": ["x@x.org"] * 3,
            "ds": ["2026-01-03"] * 3,
        }
    )
    # polling: the partition lands before evaluation 3; deferred: while the trigger counts its
    # rows after evaluation 1, and the worker evaluates once more when the count reaches min_rows
    deferred = dag_id.endswith("deferrable")
    land = lambda: write_table(sqlite_wh.url, "people", pd.concat([FRAME, day3], ignore_index=True))  # noqa: E731
    calls = arrivals(monkeypatch, "expectations.evaluate_arrival", {2 if deferred else 3: land}, deferred=deferred)
    run = load_dag(TEST_DAGS / "sql_expectations_cases.py", dag_id).test(
        logical_date=datetime(2026, 1, 3, tzinfo=timezone.utc)
    )
    assert task_states(run) == {"wait": "success"}
    assert len(calls) == (2 if deferred else 3)
    result = checked(xcom_value(run, "wait"))
    assert result["status"] == "passed" and result["data"]["rows"] == 3
    assert result["data"]["source"] == f"sql://{sqlite_wh.conn_id}/people WHERE ds = :ds [ds='2026-01-03']"
