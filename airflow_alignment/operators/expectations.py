"""``ExpectationsCheckOperator``: Great Expectations data expectations as a DAG task."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_alignment import deprecated_alias
from airflow_alignment.operators.base import AlignmentCheckOperator
from airflow_alignment.tasks.expectations import ExpectationsTask, run_expectations

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_alignment.results import CheckResult


class ExpectationsCheckOperator(ExpectationsTask, AlignmentCheckOperator):
    """Validate a dataset against Great Expectations expectations.

    :param data: the dataset: a path or URI (CSV, Parquet, JSON lines), a ``FileSource``, a
        callable returning a DataFrame, a ``SqlSource`` (or a mapping with ``conn_id``) or a
        ``SparkSource`` (or a mapping with ``engine: spark``) (templated). On a ``SqlSource``
        the expectations run inside the database through Great Expectations' SQL data sources,
        on a ``SparkSource`` inside Spark through GX's Spark execution engine; no row is loaded
        into the worker.
    :param expectations: a list of expectations in GX JSON form,
        ``{"type": "expect_...", "kwargs": {...}, "severity": "warning"}``, or a JSON string of
        one (templated).
    :param suite: a GX expectation suite: path or URI of its JSON file, or the suite as a dict
        (templated). Its expectations run after ``expectations``.
    :param severity: default severity of an expectation that names none: ``block`` or ``warn``.
    :param check_name: the name recorded in the result; defaults to the task id.
    :param format: the data's format when its suffix does not tell (``csv``, ``parquet``,
        ``jsonl``).
    :param policy: an alignment policy; with ``check=`` the arguments above come from that
        check of the policy (see :class:`AlignmentCheckOperator`).
    """

    kind = "expectations"

    def evaluate(self, context: Context) -> CheckResult:
        return run_expectations(
            self.data,
            self.rendered_expectations(),
            self.suite,
            format=self.format,
            severity=self.severity,
            check_name=self.check_name,
        )


def __getattr__(name: str) -> Any:
    if name == "DataExpectationsOperator":  # the old name
        return deprecated_alias(__name__, name, "ExpectationsCheckOperator")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
