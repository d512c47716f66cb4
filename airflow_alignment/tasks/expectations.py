"""What the expectations operator and sensor share: their arguments, checked when the DAG is
parsed, and one evaluation (load the data, or validate a SQL source where it lives)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_alignment.engines.expectations import evaluate, resolve_specs
from airflow_alignment.exceptions import SpecError
from airflow_alignment.io import as_source, backend_for, describe_source, load_frame
from airflow_alignment.specs.expectations import needed_columns, normalize_expectations
from airflow_alignment.tasks.base import AlignmentTask, is_templated

if TYPE_CHECKING:
    from airflow_alignment.results import CheckResult


class ExpectationsTask(AlignmentTask):
    """The arguments of ``ExpectationsCheckOperator`` and ``ExpectationsSensor`` (documented
    there): ``data``, ``expectations``, ``suite`` and ``format``, checked when the DAG is parsed."""

    template_fields: tuple[str, ...] = ("data", "expectations", "suite", "check_name")
    template_fields_renderers: ClassVar[dict[str, str]] = {"expectations": "json", "suite": "json"}
    #: what to give when neither ``expectations`` nor ``suite`` is (``None``: a subclass checks)
    missing: ClassVar[str | None] = "give expectations= (a list) or suite= (a GX suite JSON file)"

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
        self.data = self.data_argument(args.get("data"))
        self.expectations = args.get("expectations")
        self.suite = args.get("suite")
        self.format = args.get("format")
        if self.expectations is None and self.suite is None and self.missing:
            raise SpecError(f"{type(self).__name__}: {self.missing}")
        if self.expectations is not None and not is_templated(self.expectations):
            normalize_expectations(self.rendered_expectations())  # fail at parse time on a malformed spec

    def rendered_expectations(self) -> Any:
        """The (rendered) ``expectations``: a JSON string becomes its list."""
        return json.loads(self.expectations) if isinstance(self.expectations, str) else self.expectations


def run_expectations(
    data: Any, expectations: Any, suite: Any, *, format: str | None, severity: str, check_name: str
) -> CheckResult:
    """Inline expectations plus the suite's, on ``data``: a source validated where it lives (a
    database, Spark) stays there; anything else is loaded, the needed columns only."""
    specs = resolve_specs(expectations, suite)
    source = as_source(data)
    backend = backend_for(source)
    result = backend.run_expectations(source, specs, severity=severity, check_name=check_name)
    if result is not None:  # the backend's own engine (GX's Spark engine for a SparkSource)
        return result
    target = source if backend.in_place else load_frame(source, columns=needed_columns(specs), format=format)
    return evaluate(target, specs, severity=severity, check_name=check_name, source=describe_source(source))
