"""OpenLineage facets of a check: its input datasets, the last one carrying the assertions.

The OpenLineage provider calls ``get_openlineage_facets_on_complete`` /
``get_openlineage_facets_on_failure`` on the operator that ran (the same object, so the result
it stored in ``publish()`` is still there). This module turns that result into an
``OperatorLineage``, the way common-sql's check operators do:

- every source argument of the operator that names data (``data``; for drift ``reference``
  and then ``current``) becomes an input dataset: a local path is ``file`` / its absolute
  path, a URI ``scheme://bucket`` / its key (an ``s3://conn_id@bucket/key`` drops the
  connection id, as Airflow's ``ObjectStoragePath.namespace`` does);
- the judged dataset (the last one: ``data`` or drift's ``current``) carries a
  ``DataQualityAssertionsDatasetFacet``, one assertion per expectation, constraint or drift
  test, and a ``DataQualityMetricsInputDatasetFacet`` with the row count;
- a callable or a DataFrame names no dataset: the event then has no input, and the assertions
  go in a run-level ``TestRunFacet`` instead, so they are not lost.

Every source names its dataset through its backend (:meth:`~airflow_alignment.io.SourceBackend.lineage_name`).
Everything OpenLineage is imported inside the functions: without the provider installed,
:func:`operator_lineage` returns ``None`` and nothing else happens. Parsing a DAG never imports
this module's dependencies.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import SpecError
from airflow_alignment.io import as_source, backend_for

if TYPE_CHECKING:
    from airflow_alignment.results import Assertion, CheckResult

# The operator attributes that name data, in order; the last one present is the judged one.
SOURCE_ATTRIBUTES = ("reference", "current", "data")
_TEXT_LIMIT = 1000  # expected / actual values beyond this are cut: events stay small


def operator_lineage(operator: Any, result: CheckResult | None) -> Any:
    """The ``OperatorLineage`` of ``operator`` after it stored ``result`` (``None`` when the
    OpenLineage provider is not installed)."""
    try:
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None
    inputs = [ds for ds in (source_dataset(getattr(operator, a, None)) for a in SOURCE_ATTRIBUTES) if ds is not None]
    lineage = OperatorLineage(inputs=inputs)
    if result is None:
        return lineage
    if inputs:
        judged = inputs[-1]
        judged.facets = {**(judged.facets or {}), **dataset_facets(result)}
    elif result.assertions:
        facet = test_run_facet(result.assertions)
        if facet is not None:
            lineage.run_facets = {"test": facet}
    return lineage


def source_dataset(source: Any) -> Any:
    """The OpenLineage ``Dataset`` a ``data=`` argument names, or ``None`` (callable, frame)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    try:
        data = as_source(source)
        named = backend_for(data).lineage_name(data)
    except SpecError:  # no source this package reads (None, a malformed mapping): no dataset
        return None
    return None if named is None else Dataset(namespace=named[0], name=named[1])


def dataset_facets(result: CheckResult) -> dict[str, Any]:
    """The facets of the judged dataset: the assertions, and the row count when known."""
    from openlineage.client.facet_v2 import (
        data_quality_assertions_dataset,
        data_quality_metrics_input_dataset,
    )

    facets: dict[str, Any] = {}
    if result.assertions:
        facets["dataQualityAssertions"] = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=[ol_assertion(a) for a in result.assertions]
        )
    rows = (result.data or {}).get("rows")
    if isinstance(rows, int):
        facets["dataQualityMetrics"] = data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
            columnMetrics={}, rowCount=rows
        )
    return facets


def ol_assertion(assertion: Assertion) -> Any:
    """One OpenLineage ``Assertion``; the fields of openlineage-python >= 1.47 when it has them."""
    import attrs
    from openlineage.client.facet_v2 import data_quality_assertions_dataset

    values: dict[str, Any] = {
        "assertion": assertion.name,
        "success": bool(assertion.success),
        "column": assertion_column(assertion),
    }
    extended = {
        "severity": assertion.severity,
        "expected": _text(assertion.expected),
        "actual": _text(assertion.observed),
    }
    ol_class = data_quality_assertions_dataset.Assertion
    fields = attrs.fields_dict(ol_class)
    values.update({k: v for k, v in extended.items() if k in fields})
    return ol_class(**values)


def assertion_column(assertion: Assertion) -> str | None:
    """The one column an assertion is about, when there is one.

    Expectations name it in their kwargs, drift tests in ``feature``, fairness constraints in
    ``features`` (only when a single sensitive feature: intersectional groups have no column).
    """
    details = assertion.details or {}
    column = (details.get("kwargs") or {}).get("column") or details.get("feature")
    if column is None and len(details.get("features") or ()) == 1:
        column = details["features"][0]
    return str(column) if column is not None else None


def test_run_facet(assertions: list[Assertion]) -> Any:
    """Assertions on no dataset (a callable or DataFrame source): a run-level ``TestRunFacet``
    (``None`` before openlineage-python 1.47, which has no such facet)."""
    try:
        from openlineage.client.facet_v2 import test_run
    except ImportError:
        return None

    return test_run.TestRunFacet(
        tests=[
            test_run.TestExecution(name=a.name, status="pass" if a.success else "fail", severity=a.severity)
            for a in assertions
        ]
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"
