"""Data expectations: Great Expectations run on a DataFrame, judged into a ``CheckResult``.

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

Great Expectations is imported when ``evaluate`` runs, never at module import: the spec
helpers here run at DAG parse time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.common import describe_in_background, require_columns, require_rows
from airflow_alignment.exceptions import DataError, SourceUnavailableError, SpecError, did_you_mean, preview
from airflow_alignment.results import Assertion, CheckResult, Severity, status_from_assertions, utcnow

if TYPE_CHECKING:
    import pandas as pd

SAMPLE_SIZE = 10
_SPEC_KEYS = ("type", "kwargs", "severity", "meta", "notes", "description", "name", "id")
# GX's own severities map onto ours; "block"/"warn" are accepted as well.
_SEVERITY_ALIASES: dict[str, Severity] = {
    "block": "block",
    "critical": "block",
    "warn": "warn",
    "warning": "warn",
    "info": "warn",
}
# kwargs that name columns of the data; checked before GX runs, for a clear message.
_COLUMN_KWARGS = ("column", "column_A", "column_B")
_COLUMN_LIST_KWARGS = ("column_list",)


# -- spec handling (no heavy import) --------------------------------------------------------
def normalize_expectations(expectations: Any, where: str = "expectations") -> list[dict[str, Any]]:
    """Validate inline expectations and return them in one canonical form.

    Cheap enough for DAG parse time: it checks the shape (a list of objects with a ``type``
    string and a ``kwargs`` object, a known ``severity``, no unknown keys), not whether GX
    knows the type; that is checked when the task runs.
    """
    if isinstance(expectations, Mapping) and "expectations" in expectations:
        expectations = expectations["expectations"]
    if isinstance(expectations, (str, bytes)) or not isinstance(expectations, Sequence):
        raise SpecError(
            f"{where}: expected a list of expectations like "
            f"[{{'type': 'expect_column_values_to_not_be_null', 'kwargs': {{'column': 'age'}}}}], "
            f"got {type(expectations).__name__}"
        )
    out = []
    for i, spec in enumerate(expectations):
        here = f"{where}[{i}]"
        if not isinstance(spec, Mapping):
            raise SpecError(f"{here}: expected an object with 'type' and 'kwargs', got {type(spec).__name__}")
        spec = dict(spec)
        if "type" not in spec and "expectation_type" in spec:  # GX 0.x suites
            spec["type"] = spec.pop("expectation_type")
        for key in spec:
            if key not in _SPEC_KEYS:
                raise SpecError(f"{here}: unknown key {key!r}.{did_you_mean(key, _SPEC_KEYS)}")
        kind = spec.get("type")
        if not isinstance(kind, str) or not kind:
            raise SpecError(f"{here}: missing 'type' (e.g. 'expect_column_values_to_not_be_null')")
        if not kind.startswith("expect_"):
            raise SpecError(f"{here}.type: {kind!r} is not an expectation type (names start with 'expect_')")
        kwargs = spec.get("kwargs", {})
        if not isinstance(kwargs, Mapping):
            raise SpecError(f"{here}.kwargs: expected an object, got {type(kwargs).__name__}")
        if "severity" in spec:
            spec["severity"] = _severity(spec["severity"], f"{here}.severity")
        spec["kwargs"] = dict(kwargs)
        out.append(spec)
    if not out:
        raise SpecError(f"{where}: the list of expectations is empty")
    return out


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


def needed_columns(specs: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """The columns the expectations read, or ``None`` when they need every column."""
    columns: list[str] = []
    for spec in specs:
        kwargs = spec["kwargs"]
        if spec["type"].startswith("expect_table_column") or "column_set" in kwargs:
            return None
        for key in _COLUMN_KWARGS:
            if isinstance(kwargs.get(key), str):
                columns.append(kwargs[key])
        for key in _COLUMN_LIST_KWARGS:
            if isinstance(kwargs.get(key), (list, tuple)):
                columns.extend(str(c) for c in kwargs[key])
    return list(dict.fromkeys(columns)) or None


def resolve_specs(expectations: Any = None, suite: Any = None) -> list[dict[str, Any]]:
    """Inline expectations plus those of ``suite``, in that order."""
    if expectations is None and suite is None:
        raise SpecError("give expectations= (a list) or suite= (a GX suite JSON file), or both")
    specs = normalize_expectations(expectations) if expectations is not None else []
    if suite is not None:
        specs += load_suite(suite)
    return specs


# -- evaluation -----------------------------------------------------------------------------
def evaluate(
    df: pd.DataFrame,
    expectations: Any = None,
    suite: Any = None,
    severity: str = "block",
    check_name: str | None = None,
    *,
    source: str | None = None,
) -> CheckResult:
    """Run the expectations on ``df`` with Great Expectations and judge the result.

    :param df: the data.
    :param expectations: a list of expectations in GX JSON form; each may carry
        ``severity`` (``block``/``critical`` or ``warn``/``warning``/``info``).
    :param suite: a GX suite (dict, or path / URI of its JSON file), added after ``expectations``.
    :param severity: the default severity of an expectation that names none.
    :param check_name: the result's ``check`` (default ``"expectations"``).
    :param source: text naming where ``df`` came from, recorded in ``result.data``.
    :raises SpecError: an unknown expectation type or invalid kwargs (names the position).
    :raises DataError: an empty dataset or a column that does not exist.
    """
    started, t0 = utcnow(), time.perf_counter()
    default_severity = _severity(severity, "severity")
    specs = resolve_specs(expectations, suite)
    require_rows(df, source)
    _check_columns(df, specs)
    data = describe_in_background(df, source, needed_columns(specs))
    outcomes = _run_gx(df, specs)
    assertions = [
        _assertion(i, spec, outcome, default_severity) for i, (spec, outcome) in enumerate(zip(specs, outcomes))
    ]
    status = status_from_assertions(assertions)
    return CheckResult(
        check=check_name or "expectations",
        kind="expectations",
        status=status,
        severity=default_severity,
        summary=_summary(assertions, len(df)),
        assertions=assertions,
        metrics={
            "evaluated": len(assertions),
            "failed": sum(a.success is False and a.severity == "block" for a in assertions),
            "warned": sum(a.success is False and a.severity == "warn" for a in assertions),
        },
        data=data(),
        started_at=started,
        duration_s=round(time.perf_counter() - t0, 6),
    )


def _check_columns(df: pd.DataFrame, specs: Sequence[Mapping[str, Any]]) -> None:
    for i, spec in enumerate(specs):
        kwargs = spec["kwargs"]
        names = [kwargs[k] for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str)]
        for key in _COLUMN_LIST_KWARGS:
            if isinstance(kwargs.get(key), (list, tuple)):
                names.extend(kwargs[key])
        try:
            require_columns(df, names)
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
        except Exception as exc:  # pydantic validation of kwargs
            problems = _pydantic_problems(exc)
            raise SpecError(f"expectations[{i}] ({spec['type']}).kwargs: {problems}") from None
    return built


def _run_gx(df: pd.DataFrame, specs: Sequence[Mapping[str, Any]]) -> list[Any]:
    import great_expectations as gx

    expectations = build_gx_expectations(specs)
    context = _gx_context()
    batch = (
        context.data_sources.add_pandas("airflow_alignment")
        .add_dataframe_asset("data")
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = context.suites.add(gx.ExpectationSuite(name="airflow_alignment", expectations=expectations))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=suite, name="airflow_alignment")
    )
    run = definition.run(
        batch_parameters={"dataframe": df},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
    )
    by_index = {r.expectation_config.meta.get("airflow_alignment_index"): r for r in run.results}
    outcomes = []
    for i, spec in enumerate(specs):
        outcome = by_index[i]
        info = outcome.exception_info or {}
        if info.get("raised_exception"):
            message = (info.get("exception_message") or "unknown error").strip().splitlines()[0]
            raise DataError(f"expectations[{i}] ({spec['type']}) could not be evaluated: {message}")
        outcomes.append(outcome)
    return outcomes


def _assertion(index: int, spec: Mapping[str, Any], outcome: Any, default: Severity) -> Assertion:
    kwargs = spec["kwargs"]
    raw = dict(outcome.result or {})
    sample = _distinct(raw.get("partial_unexpected_list") or [])
    details: dict[str, Any] = {"index": index, "type": spec["type"], "kwargs": kwargs}
    for key in ("element_count", "unexpected_count", "unexpected_percent", "missing_count"):
        if key in raw:
            details[key] = raw[key]
    if "unexpected_count" in raw:
        details["unexpected_sample"] = sample
    observed = raw.get("observed_value")
    if observed is None and "unexpected_count" in raw:
        observed = {"unexpected_count": raw["unexpected_count"], "unexpected_percent": raw.get("unexpected_percent")}
    expected = {k: v for k, v in kwargs.items() if k not in _COLUMN_KWARGS and k not in _COLUMN_LIST_KWARGS}
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
    cols = [str(kwargs[k]) for k in _COLUMN_KWARGS if isinstance(kwargs.get(k), str)]
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


def _distinct(values: Sequence[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v != v:  # NaN
            v = None
        if v not in seen:
            seen.append(v)
    return seen[:SAMPLE_SIZE]


def _severity(value: Any, where: str) -> Severity:
    if value not in _SEVERITY_ALIASES:
        raise SpecError(
            f"{where}: unknown severity {value!r}; use 'block' (or GX's 'critical') or 'warn' (or 'warning')"
        )
    return _SEVERITY_ALIASES[value]


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
