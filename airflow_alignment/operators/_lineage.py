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

Everything OpenLineage is imported inside the functions: without the provider installed,
:func:`operator_lineage` returns ``None`` and nothing else happens. Parsing a DAG never imports
this module's dependencies.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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

    from airflow_alignment.sources import SqlSource, as_source

    if isinstance(source, dict) and "conn_id" in source:
        source = as_source(source)
    if isinstance(source, SqlSource):
        named = sql_dataset_name(source)
        return None if named is None else Dataset(namespace=named[0], name=named[1])
    path = _source_path(source)
    if path is None:
        return None
    namespace, name = dataset_name(path)
    return Dataset(namespace=namespace, name=name)


def dataset_name(path: str) -> tuple[str, str]:
    """``(namespace, name)`` of a path or URI, following OpenLineage's naming conventions."""
    if "://" not in path or path.startswith("file://"):
        return "file", os.path.abspath(path.removeprefix("file://"))
    parts = urlsplit(path)
    bucket = parts.netloc.rpartition("@")[2]  # s3://aws_default@bucket/key: the conn id is not a name
    return f"{parts.scheme}://{bucket}", parts.path.lstrip("/")


def sql_dataset_name(source: Any) -> tuple[str, str] | None:
    """``(namespace, name)`` of a SQL table by OpenLineage's naming: ``postgres://host:port``
    and ``database.schema.table``; a SQLite file is ``sqlite://<path>`` and the table. A
    ``query=`` source names no single table: ``None``."""
    if source.query is not None:
        return None
    from airflow_alignment import sql

    try:
        url = sql.engine(source).url
    except Exception:  # noqa: BLE001 - lineage never fails the task
        return None
    schema, table = sql.table_name(source)
    if url.get_backend_name() == "sqlite":
        return f"sqlite://{os.path.abspath(url.database or '')}", table
    scheme = "postgres" if url.get_backend_name() == "postgresql" else url.get_backend_name()
    schema = schema or ("public" if scheme == "postgres" else None)
    name = ".".join(p for p in (url.database, schema, table) if p)
    return f"{scheme}://{url.host}:{url.port or ''}".rstrip(":"), name


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


def _source_path(source: Any) -> str | None:
    if source is None or isinstance(source, bool):
        return None
    namespace, key = getattr(source, "namespace", None), getattr(source, "key", None)
    if isinstance(namespace, str) and isinstance(key, str):  # an ObjectStoragePath
        return f"{namespace}/{key}"
    if isinstance(source, dict):  # the FileSource dict form
        source = source.get("path")
    elif hasattr(source, "read_options"):  # a FileSource
        source = source.path
    if isinstance(source, (str, os.PathLike)):
        text = str(source)
        return text if text.strip() else None
    return None  # a callable or a DataFrame: no dataset to name


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"
