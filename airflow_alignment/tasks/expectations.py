"""What the expectations operator and sensor share: their arguments, checked when the DAG is
parsed, and one evaluation (load the data, or validate a SQL source where it lives)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_alignment.engines.expectations import evaluate, resolve_specs
from airflow_alignment.io import as_source, backend_for, describe_source, load_frame
from airflow_alignment.specs.expectations import needed_columns, normalize_expectations
from airflow_alignment.tasks.base import is_templated

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_alignment.results import CheckResult


class ExpectationsTask:
    """Mixin of ``ExpectationsCheckOperator`` and ``ExpectationsSensor``: ``data``,
    ``expectations``, ``suite`` and ``format``."""

    template_fields: tuple[str, ...] = ("data", "expectations", "suite", "check_name")
    template_fields_renderers: ClassVar[dict[str, str]] = {"expectations": "json", "suite": "json"}

    severity: str
    check_name: str
    data_argument: Callable[..., Any]

    def setup(self, args: dict[str, Any]) -> None:
        """Keep the arguments; check inline expectations now unless they are templated."""
        self.data = self.data_argument(args.get("data"))
        self.expectations = args.get("expectations")
        self.suite = args.get("suite")
        self.format = args.get("format")
        if self.expectations is not None and not is_templated(self.expectations):
            normalize_expectations(self.rendered_expectations())  # fail at parse time on a malformed spec

    def rendered_expectations(self) -> Any:
        """The (rendered) ``expectations``: a JSON string becomes its list."""
        return json.loads(self.expectations) if isinstance(self.expectations, str) else self.expectations


def run_expectations(
    data: Any, expectations: Any, suite: Any, *, format: str | None, severity: str, check_name: str
) -> CheckResult:
    """Inline expectations plus the suite's, on ``data``: a source validated where it lives (a
    database) stays there; anything else is loaded, the needed columns only."""
    specs = resolve_specs(expectations, suite)
    source = as_source(data)
    in_place = backend_for(source).in_place
    target = source if in_place else load_frame(source, columns=needed_columns(specs), format=format)
    return evaluate(target, specs, severity=severity, check_name=check_name, source=describe_source(source))
