"""``DataExpectationsOperator``: Great Expectations data expectations as a DAG task."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.expectations import normalize_expectations
from airflow_alignment.operators.base import AlignmentCheckOperator, is_templated
from airflow_alignment.sources import describe_source, validate_data_arg

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_alignment.results import CheckResult


class DataExpectationsOperator(AlignmentCheckOperator):
    """Validate a dataset against Great Expectations expectations.

    :param data: the dataset: a path or URI (CSV, Parquet, JSON lines), a ``FileSource``, or a
        callable returning a DataFrame (templated).
    :param expectations: a list of expectations in GX JSON form,
        ``{"type": "expect_...", "kwargs": {...}, "severity": "warning"}``, or a JSON string of
        one (templated).
    :param suite: a GX expectation suite: path or URI of its JSON file, or the suite as a dict
        (templated). Its expectations run after ``expectations``.
    :param severity: default severity of an expectation that names none: ``block`` or ``warn``.
    :param check_name: the name recorded in the result; defaults to the task id.
    :param format: the data's format when its suffix does not tell (``csv``, ``parquet``,
        ``jsonl``).
    """

    kind = "expectations"
    template_fields = ("data", "expectations", "suite", "check_name")
    template_fields_renderers = {"expectations": "json", "suite": "json"}

    def __init__(
        self,
        *,
        data: Any,
        expectations: Any = None,
        suite: Any = None,
        severity: str = "block",
        check_name: str | None = None,
        format: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(severity=severity, check_name=check_name, **kwargs)
        validate_data_arg(data, f"{type(self).__name__}.data")
        if expectations is None and suite is None:
            from airflow_alignment.exceptions import SpecError

            raise SpecError(f"{type(self).__name__}: give expectations= (a list) or suite= (a GX suite JSON file)")
        if expectations is not None and not isinstance(expectations, str) and not is_templated(expectations):
            normalize_expectations(expectations)  # fail at parse time on a malformed spec
        self.data = data
        self.expectations = expectations
        self.suite = suite
        self.format = format

    def evaluate(self, context: Context) -> CheckResult:
        from airflow_alignment.engines.expectations import evaluate, needed_columns, resolve_specs
        from airflow_alignment.sources import load_frame

        expectations = json.loads(self.expectations) if isinstance(self.expectations, str) else self.expectations
        specs = resolve_specs(expectations, self.suite)
        frame = load_frame(self.data, columns=needed_columns(specs), format=self.format)
        return evaluate(
            frame, specs, severity=self.severity, check_name=self.check_name, source=describe_source(self.data)
        )
