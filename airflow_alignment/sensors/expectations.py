"""``ExpectationsSensor``: wait until a dataset exists and meets its expectations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import SpecError
from airflow_alignment.io import SqlSource, as_source, plain_data
from airflow_alignment.sensors.base import AlignmentSensor
from airflow_alignment.tasks.expectations import ExpectationsTask, run_expectations

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_alignment.results import CheckResult


class ExpectationsSensor(ExpectationsTask, AlignmentSensor):
    """Wait until a dataset exists and satisfies Great Expectations expectations: a partition
    arrived, it holds at least ``min_rows`` rows, its values are fresh and sane.

    Each poke loads the data and runs the expectations (on a ``SqlSource``, inside the
    database: a partition that has no row yet is "not yet"). A missing or unreadable source, an
    empty file or a failed block expectation means "not yet"; a ``passed`` or ``warned`` result
    ends the wait and is the task's XCom. On timeout the task fails with the last result's
    summary (``soft_fail=True`` skips instead); the last result is stored either way.

    :param data: the dataset: a path or URI (CSV, Parquet, JSON lines), a ``FileSource``, a
        ``SqlSource`` (or a mapping with ``conn_id``), a ``SparkSource`` (expectations run inside
        Spark; not with ``deferrable=True``), or a callable returning a DataFrame (not with
        ``deferrable=True``) (templated).
    :param expectations: a list of expectations in GX JSON form, or a JSON string of one
        (templated).
    :param suite: a GX expectation suite: path or URI of its JSON file, or a dict (templated).
    :param min_rows: shorthand for ``expect_table_row_count_to_be_between(min_value=min_rows)``.
    :param format: the data's format when its suffix does not tell.
    :param severity: default severity of an expectation that names none: ``block`` or ``warn``.
    :param check_name: the name recorded in the result; defaults to the task id.
    :param policy: an alignment policy; with ``check=`` the arguments above come from that
        check of the policy.
    :param deferrable: between evaluations, wait in the triggerer until the file or object
        changed (or, on a ``SqlSource``, its ``COUNT(*)`` changed and reaches ``min_rows``);
        each evaluation runs on a worker. Default: ``[operators] default_deferrable``.
    :param min_bytes: with ``deferrable``, the size a file must reach before it is evaluated.
    :param poke_interval: seconds between evaluations; ``timeout``, ``mode``, ``soft_fail``
        are ``BaseSensorOperator``'s.
    """

    kind = "expectations"
    evaluator = "airflow_alignment.sensors.expectations.evaluate_arrival"

    missing = None  # min_rows= is enough: checked below

    def __init__(self, *, min_rows: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        name = type(self).__name__
        self.can_defer(self.data, f"{name}.data")
        if min_rows is not None and (isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1):
            raise SpecError(f"{name}.min_rows: expected a positive integer, got {min_rows!r}")
        self.min_rows = min_rows
        if self.expectations is None and self.suite is None and min_rows is None:
            raise SpecError(f"{name}: give expectations= (a list), suite= (a GX suite JSON file) or min_rows=")

    def spec(self, context: Context) -> dict[str, Any]:
        expectations = list(self.rendered_expectations() or [])
        if self.min_rows is not None:
            expectations.append(
                {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": self.min_rows}}
            )
        data = plain_data(self.data, "data") if self.deferrable else self.data
        return {
            "data": data,
            "expectations": expectations,
            "suite": self.suite,
            "format": self.format,
            "severity": self.severity,
            "check_name": self.check_name,
        }

    def readiness(self, spec: dict[str, Any]) -> dict[str, Any]:
        """On a SQL source: ``COUNT(*)`` reaches ``min_rows`` (at least one row) and changed;
        on a file or object: it exists, holds ``min_bytes`` and changed."""
        if isinstance(as_source(spec["data"]), SqlSource):
            return {"kind": "rows", "source": spec["data"], "min_rows": self.min_rows}
        return super().readiness(spec)


def evaluate_arrival(spec: dict[str, Any]) -> tuple[bool, CheckResult]:
    """Load the data (a SQL source stays in its database) and run its expectations; the wait
    is over when nothing blocks."""
    result = run_expectations(
        spec["data"],  # the trigger carries a SqlSource as its mapping: as_source reads it back
        spec["expectations"] or None,
        spec["suite"],
        format=spec["format"],
        severity=spec["severity"],
        check_name=spec["check_name"],
    )
    return result.status in ("passed", "warned"), result
