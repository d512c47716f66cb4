"""``SparkSource`` and Spark sessions from Airflow connections, without data.

The value object: validation at construction (names the argument and the fix), Airflow
rendering of its templated fields (``parameters`` values included), quoting of table names,
the ``:name`` placeholders against ``parameters``; importing it loads no heavy library. The
sessions: a connection of the wrong type, a ``spark`` connection whose master is a cluster, a
missing connection and bad extras are spec errors; a Spark Connect server that does not
answer is a retryable ``SourceUnavailableError``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from airflow_alignment.exceptions import SourceUnavailableError, SpecError
from airflow_alignment.io.spark_source import SparkSource, name_parts, quote_name
from airflow_alignment.spark import session as sessions
from tests.sqlservers import free_port


def test_construction_names_the_argument_and_the_fix():
    with pytest.raises(SpecError, match=r"give exactly one of table= \(optionally with where=\) or query="):
        SparkSource("lake")
    with pytest.raises(SpecError, match=r"give exactly one of table="):
        SparkSource("lake", table="t", query="SELECT 1")
    with pytest.raises(SpecError, match=r"SparkSource.conn_id: expected the id of an Airflow connection, got ''"):
        SparkSource("", table="t")
    with pytest.raises(SpecError, match=r"SparkSource.where: applies to table=; put the condition in the query"):
        SparkSource("lake", query="SELECT 1", where="a = 1")
    with pytest.raises(SpecError, match=r"SparkSource.parameters: expected a mapping"):
        SparkSource("lake", table="t", parameters=["x"])  # type: ignore[arg-type]


def test_placeholders_and_parameters_must_match():
    assert SparkSource(
        "lake", table="t", where="ds = :ds AND x::int > 0", parameters={"ds": "x"}
    ).bound_parameters() == {"ds": "x"}
    with pytest.raises(SpecError, match=r"placeholder\(s\) :ds have no value; pass parameters=\{'ds': ...\}"):
        SparkSource("lake", table="t", where="ds = :ds").bound_parameters()
    with pytest.raises(SpecError, match=r"SparkSource.parameters: 'dss' not used by any :name placeholder of where="):
        SparkSource("lake", table="t", where="ds = :ds", parameters={"ds": 1, "dss": 2}).bound_parameters()


def test_table_names_are_quoted_part_by_part():
    assert quote_name("cat.db.t") == "`cat`.`db`.`t`"
    assert name_parts("`db`.`my.t`") == ["db", "my.t"]
    assert name_parts("db.`a``b`") == ["db", "a`b"]
    assert quote_name("t` WHERE 1=1 --") == "`t`` WHERE 1=1 --`"
    with pytest.raises(SpecError, match=r"SparkSource.table: unbalanced backtick"):
        name_parts("db.`t")
    with pytest.raises(SpecError, match=r"SparkSource.table: empty name part in 'db..t'"):
        name_parts("db..t")


def test_templated_fields_render_in_airflow():
    from airflow.sdk import BaseOperator

    class Probe(BaseOperator):
        template_fields = ("data",)

        def __init__(self, data: SparkSource, **kwargs):
            super().__init__(**kwargs)
            self.data = data

    op = Probe(
        task_id="probe",
        data=SparkSource("lake", table="ml.{{ params.table }}", where="ds = :ds", parameters={"ds": "{{ ds }}"}),
    )
    op.render_template_fields({"ds": "2026-11-29", "params": {"table": "predictions"}})
    assert (op.data.table, op.data.parameters) == ("ml.predictions", {"ds": "2026-11-29"})
    assert str(op.data) == "spark://lake/ml.predictions WHERE ds = :ds [ds='2026-11-29']"


def test_importing_the_source_loads_no_heavy_library():
    code = (
        "import sys, json; import airflow_alignment.io.spark_source; "
        "print(json.dumps(sorted(m for m in ('pyspark', 'pandas', 'numpy', 'grpc', 'pyarrow') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_connections_that_cannot_make_a_session_are_spec_errors(monkeypatch):
    cases = {
        "AIRFLOW_CONN_SPARK_PG": ({"conn_type": "postgres", "host": "db"}, r"has type 'postgres'; a SparkSource needs"),
        "AIRFLOW_CONN_SPARK_YARN": (
            {"conn_type": "spark", "host": "yarn"},
            r"host must be a local master \(local, local\[4\], local\[\*\]\), not 'yarn'",
        ),
        "AIRFLOW_CONN_SPARK_CONF": (
            {"conn_type": "spark", "host": "local[2]", "extra": {"conf": ["x"]}},
            r"extra 'conf' must be a mapping of Spark settings, got list",
        ),
        "AIRFLOW_CONN_SPARK_RETRY": (
            {"conn_type": "spark_connect", "host": "127.0.0.1", "port": 1, "extra": {"max_retries": "many"}},
            r"'max_retries' must be a whole number",
        ),
    }
    for env, (conn, message) in cases.items():
        monkeypatch.setenv(env, json.dumps(conn))
        with pytest.raises(SpecError, match=message):
            sessions.session(env.removeprefix("AIRFLOW_CONN_").lower())
    with pytest.raises(SpecError, match=r"no Airflow connection 'nowhere'.*AIRFLOW_CONN_NOWHERE"):
        sessions.session("nowhere")


def test_a_connect_server_that_does_not_answer_is_retryable(monkeypatch):
    from airflow_alignment.spark.frames import row_count

    port = free_port()  # nothing listens there
    conn = {"conn_type": "spark_connect", "host": "127.0.0.1", "port": port, "extra": {"max_retries": 0}}
    monkeypatch.setenv("AIRFLOW_CONN_SPARK_GONE", json.dumps(conn))
    try:
        with pytest.raises(SourceUnavailableError, match=r"could not reach the Spark server for spark://spark_gone/t"):
            row_count(SparkSource("spark_gone", table="t"))
    finally:
        sessions.stop("spark_gone")
