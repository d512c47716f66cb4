"""Data expectations: Great Expectations run on a DataFrame or inside a SQL database, judged
into a ``CheckResult``.

Expectations come in GX's own JSON form::

    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "age"},
     "severity": "warning"}

inline (a list), or from a GX suite JSON file (``{"name": ..., "expectations": [...]}``).
Each expectation becomes one assertion: observed value, unexpected count and percent, and a
short sample of unexpected values.

Use it without Airflow::

    from airflow_alignment.engines.expectations import evaluate
    result = evaluate(df, expectations=[{"type": "expect_column_values_to_not_be_null",
                                         "kwargs": {"column": "age"}}])
    print(result.status, result.summary)

Given a :class:`~airflow_alignment.io.SqlSource` (or a policy mapping with ``conn_id``)
instead of a DataFrame, the expectations run inside the database: a Great Expectations SQL data
source is built from the Airflow connection's SQLAlchemy URL (``add_sqlite``, ``add_postgres``,
else ``add_sql``), with a table asset for a bare ``table=`` and a query asset (the source's
``SELECT``, values rendered as literals by the dialect) for ``where=``, ``query=`` or a schema.
No row is read into pandas; both paths share the judging (assertions, summary, metrics).

Great Expectations is imported when ``evaluate`` runs, never at module import. The spec
(:class:`~airflow_alignment.specs.ExpectationsSpec`) is checked when the DAG is parsed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.common import describe_in_background
from airflow_alignment.exceptions import DataError, SourceUnavailableError, SpecError, did_you_mean, preview
from airflow_alignment.io import SqlSource, as_source, sql
from airflow_alignment.io.frames import require_columns, require_rows
from airflow_alignment.results import Assertion, CheckResult, Severity, status_from_assertions, utcnow
from airflow_alignment.specs.expectations import (
    COLUMN_KWARGS,
    COLUMN_LIST_KWARGS,
    ExpectationsSpec,
    needed_columns,
    normalize_expectations,
)

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

SAMPLE_SIZE = 10
# The result format asked of GX: counts, percents and a sample of unexpected values.
_RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE}


# -- the expectations of a spec ---------------------------------------------------------------
def load_suite(suite: Any) -> list[dict[str, Any]]:
    """Expectations from a GX suite: a dict, a JSON string, or a path / URI of a JSON file."""
    if isinstance(suite, Mapping):
        return normalize_expectations(suite, where="suite.expectations")
    text = str(suite)
    if text.lstrip().startswith("{"):
        return normalize_expectations(json.loads(text), where="suite.expectations")
    try:
        import fsspec

        with fsspec.open(text, "r") as handle:
            payload = json.load(handle)
    except FileNotFoundError as exc:
        raise SourceUnavailableError(f"expectation suite file not found: {text}") from exc
    except json.JSONDecodeError as exc:
        raise SpecError(f"suite: {text} is not valid JSON: {exc}") from exc
    if not isinstance(payload, Mapping) or "expectations" not in payload:
        raise SpecError(f"suite: {text} is not a GX expectation suite (no 'expectations' list)")
    return normalize_expectations(payload, where=f"suite {text}: expectations")


def resolve(spec: ExpectationsSpec) -> list[dict[str, Any]]:
    """The spec's inline expectations plus those of its suite (read now), in that order."""
    specs = [dict(e) for e in spec.expectations or ()]
    if spec.suite is not None:
        specs += load_suite(spec.suite)
    return specs


def resolve_specs(expectations: Any = None, suite: Any = None) -> list[dict[str, Any]]:
    """Inline expectations plus those of ``suite``, in that order."""
    return resolve(ExpectationsSpec(expectations=expectations, suite=suite))


# -- evaluation -----------------------------------------------------------------------------
def evaluate(
    df: pd.DataFrame | SqlSource | Mapping[str, Any],
    expectations: ExpectationsSpec | Any = None,
    suite: Any = None,
    severity: str = ExpectationsSpec.severity,
    check_name: str | None = None,
    *,
    source: str | None = None,
) -> CheckResult:
    """Run the expectations with Great Expectations and judge the result.

    :param df: the data: a ``pandas.DataFrame``, or a
        :class:`~airflow_alignment.io.SqlSource` (or a mapping with ``conn_id``, as
        policies write it), whose expectations run inside the database (see the module
        docstring).
    :param expectations: an :class:`~airflow_alignment.specs.ExpectationsSpec`; or a list of
        expectations in GX JSON form, each of which may carry ``severity``
        (``block``/``critical`` or ``warn``/``warning``/``info``), with ``suite`` and
        ``severity`` making the spec.
    :param suite: a GX suite (dict, or path / URI of its JSON file), added after ``expectations``.
    :param severity: the default severity of an expectation that names none.
    :param check_name: the result's ``check`` (default ``"expectations"``).
    :param source: text naming where the data came from, recorded in ``result.data``
        (default for a SqlSource: ``str(source)``, e.g. ``sql://warehouse/t WHERE ds = '...'``).
    :raises SpecError: an unknown expectation type or invalid kwargs (names the position).
    :raises DataError: an empty dataset, a column or table that does not exist, or an
        expectation the data (or the database's GX dialect) cannot evaluate.
    :raises SourceUnavailableError: the database cannot be reached (retryable).
    """
    started, t0 = utcnow(), time.perf_counter()
    if isinstance(expectations, ExpectationsSpec):
        spec = expectations
    else:
        spec = ExpectationsSpec(expectations=expectations, suite=suite, severity=severity)
    specs = resolve(spec)
    data = as_source(dict(df)) if isinstance(df, Mapping) else df
    if not isinstance(data, SqlSource) and not hasattr(data, "columns"):
        raise SpecError(
            f"expectations: evaluate() takes a pandas.DataFrame or a SqlSource, got "
            f"{type(data).__name__}; read files with airflow_alignment.io.load_frame"
        )
    if isinstance(data, SqlSource):
        outcomes, described, rows = _evaluate_sql(data, specs, source)
    else:
        require_rows(data, source)
        _check_columns(data, specs)
        describing = describe_in_background(data, source, needed_columns(specs))
        outcomes = _run_gx(data, specs)
        described, rows = describing(), len(data)
    return _judge(
        specs, outcomes, spec.severity, rows=rows, data=described, check_name=check_name, started=started, t0=t0
    )


def _judge(
    specs: Sequence[Mapping[str, Any]],
    outcomes: Sequence[Any],
    default_severity: Severity,
    *,
    rows: int,
    data: dict[str, Any],
    check_name: str | None,
    started: str,
    t0: float,
) -> CheckResult:
    """The ``CheckResult`` of GX's outcomes, one assertion per expectation (both paths)."""
    assertions = [
        _assertion(i, spec, outcome, default_severity)
        for i, (spec, outcome) in enumerate(zip(specs, outcomes, strict=True))
    ]
    return CheckResult(
        check=check_name or "expectations",
        kind="expectations",
        status=status_from_assertions(assertions),
        severity=default_severity,
        summary=_summary(assertions, rows),
        assertions=assertions,
        metrics={
            "evaluated": len(assertions),
            "failed": sum(a.success is False and a.severity == "block" for a in assertions),
            "warned": sum(a.success is False and a.severity == "warn" for a in assertions),
        },
        data=data,
        started_at=started,
        duration_s=round(time.perf_counter() - t0, 6),
    )


def _spec_columns(spec: Mapping[str, Any]) -> list[Any]:
    """The columns one expectation names."""
    kwargs = spec["kwargs"]
    names = [kwargs[k] for k in COLUMN_KWARGS if isinstance(kwargs.get(k), str)]
    for key in COLUMN_LIST_KWARGS:
        if isinstance(kwargs.get(key), (list, tuple)):
            names.extend(kwargs[key])
    return names


def _check_columns(df: pd.DataFrame, specs: Sequence[Mapping[str, Any]]) -> None:
    for i, spec in enumerate(specs):
        try:
            require_columns(df, _spec_columns(spec))
        except DataError as exc:
            raise DataError(f"expectations[{i}] ({spec['type']}): {exc}") from None


def _gx_context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def build_gx_expectations(specs: Sequence[Mapping[str, Any]]) -> list[Any]:
    """GX expectation objects for ``specs``; unknown types and bad kwargs name the position."""
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    from great_expectations.expectations.registry import list_registered_expectation_implementations

    built = []
    for i, spec in enumerate(specs):
        config = ExpectationConfiguration(
            type=spec["type"], kwargs=dict(spec["kwargs"]), meta={"airflow_alignment_index": i}
        )
        try:
            built.append(config.to_domain_obj())
        except ExpectationNotFoundError:
            known = list_registered_expectation_implementations()
            hint = did_you_mean(spec["type"], known) or f" Known types include: {preview(sorted(known), 8)}."
            raise SpecError(f"expectations[{i}].type: unknown expectation type {spec['type']!r}.{hint}") from None
        except Exception as exc:  # noqa: BLE001 - pydantic validation of kwargs
            problems = _pydantic_problems(exc)
            raise SpecError(f"expectations[{i}] ({spec['type']}).kwargs: {problems}") from None
    return built


def _run_gx(df: pd.DataFrame, specs: Sequence[Mapping[str, Any]]) -> list[Any]:
    """GX's outcome of each spec on the DataFrame, in the order of ``specs``."""
    expectations = build_gx_expectations(specs)
    context = _gx_context()
    batch = (
        context.data_sources.add_pandas("airflow_alignment")
        .add_dataframe_asset("data")
        .add_batch_definition_whole_dataframe("whole")
    )
    try:
        return _validate(
            context, batch, specs, expectations, {"dataframe": df}, hint=lambda spec: _mixed_types(df, spec)
        )
    except (TypeError, ValueError) as exc:  # GX hashes the frame for its batch id first
        columns = _unhashable(df)
        if not columns:
            raise
        raise DataError(
            f"Great Expectations cannot read the data: pandas cannot hash column(s) "
            f"{preview(columns)} ({type(exc).__name__}: {exc}); cast them to one type, e.g. "
            f"df[{columns[0]!r}].astype(str)"
        ) from exc


def _unhashable(df: pd.DataFrame) -> list[Any]:
    """The columns pandas' ``hash_pandas_object`` refuses (tuples, or numbers among strings)."""
    import pandas as pd

    found = []
    for i in range(df.shape[1]):
        try:
            pd.util.hash_pandas_object(df.iloc[:, i], index=False)
        except (TypeError, ValueError):
            found.append(df.columns[i])
    return found


def _mixed_types(df: pd.DataFrame, spec: Mapping[str, Any]) -> str:
    """A hint naming the column of a failed expectation when its values are of several types."""
    import pandas as pd

    for column in _spec_columns(spec):
        values = df[column]
        if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True).startswith("mixed"):
            kinds = values.dropna().map(lambda v: type(v).__name__).value_counts()
            found = ", ".join(f"{kind} ({count:,} rows)" for kind, count in kinds.items())
            return f" (column {column!r} holds values of several types: {found}; cast it to one type)"
    return ""


def _validate(
    context: Any,
    batch: Any,
    specs: Sequence[Mapping[str, Any]],
    expectations: list[Any],
    batch_parameters: dict[str, Any] | None,
    hint: Callable[[Mapping[str, Any]], str] = lambda spec: "",
) -> list[Any]:
    """Run ``expectations`` on ``batch`` (a GX batch definition); outcomes in spec order.

    An expectation GX could not evaluate raises :class:`DataError` naming its position, with
    GX's own message and ``hint(spec)`` after it.
    """
    import great_expectations as gx

    suite = context.suites.add(gx.ExpectationSuite(name="airflow_alignment", expectations=expectations))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=suite, name="airflow_alignment")
    )
    run = definition.run(batch_parameters=batch_parameters, result_format=dict(_RESULT_FORMAT))
    by_index = {r.expectation_config.meta.get("airflow_alignment_index"): r for r in run.results}
    outcomes = []
    for i, spec in enumerate(specs):
        outcome = by_index[i]
        message = _gx_error(outcome.exception_info)
        if message is not None:
            raise DataError(f"expectations[{i}] ({spec['type']}) could not be evaluated: {message}{hint(spec)}")
        outcomes.append(outcome)
    return outcomes


def _gx_error(info: Any) -> str | None:
    """GX's own message when it could not evaluate an expectation, else ``None``.

    GX reports the exception flat (``{"raised_exception": True, "exception_message": ...}``)
    or, when a metric failed, keyed by the metric (``{"MetricConfigurationID(...)": {...}}``);
    the messages of every failed metric are kept, first lines only.
    """
    if not isinstance(info, Mapping):
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, Mapping)]
    messages = [
        (str(e.get("exception_message") or "") or "unknown error").strip().splitlines()[0]
        for e in entries
        if e.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) or None


# -- SQL sources ----------------------------------------------------------------------------
def _evaluate_sql(
    src: SqlSource, specs: Sequence[Mapping[str, Any]], source: str | None
) -> tuple[list[Any], dict[str, Any], int]:
    """GX's outcomes inside the database, the ``data`` block and the row count.

    The columns (and the table) are checked first, from the database's catalogue, so a typo
    gets the same kind of message as on a DataFrame; the row count runs beside GX.

    ``data.fingerprint`` is ``None``: a content hash would read every row, which is what
    running in the database avoids, and a hash of the query text would not tell two versions
    of the data apart (see docs/operators/data-expectations.md, "SQL sources").
    """

    text = source or str(src)
    available = sql.available_columns(src)  # DataError: no such table; SourceUnavailableError
    _check_sql_columns(src, specs, available)
    counting = _in_background(lambda: sql.row_count(src), "alignment-row-count")
    try:
        outcomes = _run_gx_sql(src, specs)
    except DataError:
        rows = counting()
        if rows == 0:  # the outcomes of an empty batch are not the question
            raise DataError(f"the dataset from {text} is empty (0 rows): there is nothing to check") from None
        raise
    rows = counting()
    if rows == 0:
        raise DataError(f"the dataset from {text} is empty (0 rows): there is nothing to check")
    data = {"source": text, "rows": rows, "columns": needed_columns(specs) or list(available), "fingerprint": None}
    return outcomes, data, rows


def _check_sql_columns(src: SqlSource, specs: Sequence[Mapping[str, Any]], available: Sequence[str]) -> None:
    """As :func:`_check_columns`, against the columns the database reports for the source."""

    for i, spec in enumerate(specs):
        names = _spec_columns(spec)
        missing = [n for n in names if n not in available]
        if not missing:
            continue
        try:
            sql.require_columns(src, names)  # the message of every SQL check
        except DataError as exc:
            raise DataError(f"expectations[{i}] ({spec['type']}): {exc}") from None
        raise DataError(
            f"expectations[{i}] ({spec['type']}): column {missing[0]!r} not in {src}. "
            f"Columns: [{preview(list(available), limit=30)}]"
        )


def _run_gx_sql(src: SqlSource, specs: Sequence[Mapping[str, Any]]) -> list[Any]:
    """GX's outcome of each spec, computed by GX's SQL execution engine in the database."""
    import sqlalchemy as sa

    expectations = build_gx_expectations(specs)  # a bad spec fails before any connection
    context = _gx_context()
    datasource = None
    try:
        datasource = _sql_datasource(context, src)
        batch = _sql_asset(datasource, src).add_batch_definition_whole_table("whole")
        return _validate(context, batch, specs, expectations, None)
    except DataError:
        _probe(src)  # an expectation that failed because the database went away is I/O
        raise
    except sa.exc.OperationalError as exc:
        raise sql.database_error(src, exc) from exc
    except sa.exc.SQLAlchemyError as exc:
        raise DataError(f"{src}: the database refused the query: {sql.first_line(exc)}") from exc
    finally:
        if datasource is not None:
            _dispose(datasource)


def _sql_datasource(context: Any, src: SqlSource) -> Any:
    """A GX SQL data source on the connection's URL: ``add_sqlite`` / ``add_postgres`` where
    they fit (SQLite's engine registers the ``REGEXP`` function GX's regex expectations use),
    else the generic ``add_sql``. GX connects once to test the URL; its ``TestConnectionError``
    (a ``ConnectionError``) becomes :class:`SourceUnavailableError`."""
    import warnings

    url = sql.sqlalchemy_url(src)
    dialect = sql.dialect(src)
    sources = context.data_sources
    try:
        if dialect == "sqlite":
            return sources.add_sqlite("airflow_alignment", connection_string=url)
        if dialect == "postgresql":
            try:
                return sources.add_postgres("airflow_alignment", connection_string=url)
            except ValueError as exc:  # pydantic: GX's PostgresDsn is narrower than SQLAlchemy's URLs
                # e.g. a Unix-socket host in the query string: the generic data source takes it
                log.debug("GX's postgres data source refused the URL of %s (%s); using add_sql", src, exc)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "a more specific data source may be more appropriate"
            return sources.add_sql("airflow_alignment", connection_string=url)
    except ConnectionError as exc:  # GX's TestConnectionError
        cause = exc.__cause__ or exc
        raise SourceUnavailableError(f"could not connect to {src}: {sql.first_line(cause)}") from exc


def _sql_asset(datasource: Any, src: SqlSource) -> Any:
    """A table asset for a bare table; a query asset (the source's ``SELECT``) otherwise."""
    import sqlalchemy as sa

    where = src.where
    unfiltered = where is None or where == {} or (isinstance(where, str) and not where.strip())
    if src.table is not None and unfiltered:
        schema, name = sql.table_name(src)
        if schema is None:  # GX deprecated schema_name on table assets: a schema goes through a query
            # quote=None: the dialect quotes the name when it must (mixed case, reserved words),
            # as airflow_alignment.io.sql does; GX would otherwise lower-case it and never quote it.
            return datasource.add_table_asset("data", table_name=sa.sql.quoted_name(name, None))
    return datasource.add_query_asset("data", query=sql.select_sql(src))


def _probe(src: SqlSource) -> None:
    """Raise :class:`SourceUnavailableError` when the database no longer answers."""
    import sqlalchemy as sa

    try:
        with sql.engine(src).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure to answer SELECT 1 is I/O
        raise SourceUnavailableError(f"could not query {src}: {sql.first_line(exc)}") from exc


def _dispose(datasource: Any) -> None:
    """Close the connections of the engines GX opened (one to test the URL, one to validate)."""
    for get in (lambda: datasource._engine, lambda: datasource._execution_engine.engine):
        try:
            engine = get()
        except Exception:  # noqa: BLE001 - never built
            continue
        if engine is not None:
            engine.dispose()


def _in_background(fn: Any, name: str) -> Any:
    """Start ``fn()`` in a thread; the returned function joins it and returns (or raises) its value."""
    import threading

    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()

    def result() -> Any:
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    return result


def _assertion(index: int, spec: Mapping[str, Any], outcome: Any, default: Severity) -> Assertion:
    kwargs = spec["kwargs"]
    raw = {k: _plain(v) for k, v in (outcome.result or {}).items()}
    sample = _distinct([_plain(v) for v in raw.get("partial_unexpected_list") or []])
    details: dict[str, Any] = {"index": index, "type": spec["type"], "kwargs": kwargs}
    for key in ("element_count", "unexpected_count", "unexpected_percent", "missing_count"):
        if key in raw:
            details[key] = raw[key]
    if "unexpected_count" in raw:
        details["unexpected_sample"] = sample
    observed = raw.get("observed_value")
    if observed is None and "unexpected_count" in raw:
        observed = {"unexpected_count": raw["unexpected_count"], "unexpected_percent": raw.get("unexpected_percent")}
    expected = {k: v for k, v in kwargs.items() if k not in COLUMN_KWARGS and k not in COLUMN_LIST_KWARGS}
    return Assertion(
        name=spec.get("name") or _label(spec),
        success=bool(outcome.success),
        observed=observed,
        expected=expected,
        severity=spec.get("severity", default),
        details=details,
    )


def _label(spec: Mapping[str, Any]) -> str:
    kwargs = spec["kwargs"]
    cols = [str(kwargs[k]) for k in COLUMN_KWARGS if isinstance(kwargs.get(k), str)]
    if isinstance(kwargs.get("column_list"), (list, tuple)):
        cols.append(", ".join(str(c) for c in kwargs["column_list"]))
    return f"{spec['type']}({', '.join(cols)})" if cols else str(spec["type"])


def _summary(assertions: Sequence[Assertion], rows: int) -> str:
    failed = [a for a in assertions if a.success is False]
    if not failed:
        return f"all {len(assertions)} expectations passed on {rows:,} rows"
    failed.sort(key=lambda a: (a.severity != "block", -(a.details.get("unexpected_percent") or 0)))
    worst = failed[0]
    blocking = sum(a.severity == "block" for a in failed)
    counts = f"{len(failed)} of {len(assertions)} expectations failed"
    if blocking != len(failed):
        counts += f" ({blocking} blocking, {len(failed) - blocking} warning)"
    return f"{counts}; worst: {worst.name}: {_describe_failure(worst, rows)}"


def _describe_failure(a: Assertion, rows: int) -> str:
    d = a.details
    if "unexpected_count" in d:
        pct = d.get("unexpected_percent") or 0.0
        text = f"{d['unexpected_count']:,} unexpected of {d.get('element_count', rows):,} rows ({pct:.2f}%)"
        sample = [v for v in d.get("unexpected_sample") or [] if v is not None]
        if sample:
            text += f", e.g. {preview(sample, limit=5)}"
        return text
    return f"observed {_short(a.observed)}, expected {_short(a.expected)}"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _plain(value: Any) -> Any:
    """A database ``Decimal`` as the float pandas would hold; anything else as given."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent == 0 else float(value)
    return value


def _distinct(values: Sequence[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v != v:  # NaN
            v = None
        if v not in seen:
            seen.append(v)
    return seen[:SAMPLE_SIZE]


def _pydantic_problems(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for err in errors():
            loc = ".".join(str(p) for p in err.get("loc", ())) or "kwargs"
            msg = err.get("msg", "")
            if loc == "__root__":
                parts.append(msg)
            else:
                parts.append(f"{loc}: {msg}")
        if parts:
            return "; ".join(parts)
    return str(exc)
