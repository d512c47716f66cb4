"""DAGs used by tests/test_expectations_sql.py: expectations on a SQL source, run in the database.

The connection ``alignment_sqlite`` is the ``sqlite_conn_id`` fixture's (``AIRFLOW_CONN_*``
set by the test before ``dag.test()``); the partition is the run's ``{{ ds }}``.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_alignment.io import SqlSource
from airflow_alignment.operators import ExpectationsCheckOperator
from airflow_alignment.sensors import ExpectationsSensor

CONN = "alignment_sqlite"
AGE = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}}
SEX = {
    "type": "expect_column_values_to_be_in_set",
    "kwargs": {"column": "sex", "value_set": ["F", "M"]},
    "severity": "warning",
}
ROWS = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 3}}

with DAG(dag_id="sql_expectations_partition", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    ExpectationsCheckOperator(
        task_id="check",
        data=SqlSource(conn_id=CONN, table="people", where="ds = '{{ ds }}'"),
        expectations=[AGE, SEX, ROWS],
    )
    # The same partition as a policy would write it: a mapping with conn_id (templated too).
    ExpectationsCheckOperator(
        task_id="check_mapping",
        data={"conn_id": CONN, "table": "people", "where": {"ds": "{{ ds }}"}},
        expectations=[AGE],
    )

with DAG(dag_id="sql_expectations_missing_table", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    ExpectationsCheckOperator(
        task_id="check", retries=2, data=SqlSource(conn_id=CONN, table="peeple"), expectations=[AGE]
    )

for dag_id, kwargs in {
    "sql_expectations_sensor_poke": {"mode": "poke"},
    "sql_expectations_sensor_deferrable": {"deferrable": True},
}.items():
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
        ExpectationsSensor(
            task_id="wait",
            data=SqlSource(conn_id=CONN, table="people", where="ds = :ds", parameters={"ds": "{{ ds }}"}),
            expectations=[AGE],
            min_rows=3,
            poke_interval=0.2,
            timeout=20,
            **kwargs,
        )
