"""``DataExpectationsOperator``: Great Expectations data expectations as a DAG task."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_alignment.engines.expectations import normalize_expectations
from airflow_alignment.exceptions import SpecError
from airflow_alignment.operators.base import AlignmentCheckOperator, is_templated
from airflow_alignment.sources import describe_source, keep_callable, validate_data_arg

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_alignment.results import CheckResult


class DataExpectationsOperator(AlignmentCheckOperator):
    """Validate a dataset against Great Expectations expectations.

    :param data: the dataset: a path or URI (CSV, Parquet, JSON lines), a ``FileSource``, a
        callable returning a DataFrame, or a ``SqlSource`` (or a mapping with ``conn_id``)
        (templated). On a ``SqlSource`` the expectations run inside the database through
        Great Expectations' SQL data sources; no row is loaded into the worker.
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
    template_fields = ("data", "expectations", "suite", "check_name")
    template_fields_renderers: ClassVar[dict[str, str]] = {"expectations": "json", "suite": "json"}

    def __init__(
        self,
        *,
        data: Any = None,
        expectations: Any = None,
        suite: Any = None,
        severity: str | None = None,
        check_name: str | None = None,
        format: str | None = None,
        policy: Any = None,
        check: str | None = None,
        **kwargs: Any,
    ) -> None:
        given = {
            "data": data,
            "expectations": expectations,
            "suite": suite,
            "severity": severity,
            "check_name": check_name,
            "format": format,
        }
        args, loaded = self.policy_arguments(policy, check, given, kwargs.get("task_id", ""))
        super().__init__(severity=args.get("severity"), check_name=args.get("check_name"), policy=loaded, **kwargs)
        name = type(self).__name__
        validate_data_arg(args["data"], f"{name}.data")
        self.data = keep_callable(args["data"])
        self.expectations = args.get("expectations")
        self.suite = args.get("suite")
        self.format = args.get("format")
        if self.expectations is None and self.suite is None:
            raise SpecError(f"{name}: give expectations= (a list) or suite= (a GX suite JSON file)")
        if not is_templated(self.expectations) and self.expectations is not None:
            spec = json.loads(self.expectations) if isinstance(self.expectations, str) else self.expectations
            normalize_expectations(spec)  # fail at parse time on a malformed spec

    def evaluate(self, context: Context) -> CheckResult:
        from airflow_alignment.engines.expectations import (
            evaluate,
            needed_columns,
            resolve_specs,
        )
        from airflow_alignment.sources import SqlSource, as_source, load_frame

        expectations = json.loads(self.expectations) if isinstance(self.expectations, str) else self.expectations
        specs = resolve_specs(expectations, self.suite)
        data = as_source(self.data)
        # A SQL source is validated where it lives; everything else is loaded (needed columns only).
        target = (
            data if isinstance(data, SqlSource) else load_frame(data, columns=needed_columns(specs), format=self.format)
        )
        return evaluate(target, specs, severity=self.severity, check_name=self.check_name, source=describe_source(data))
