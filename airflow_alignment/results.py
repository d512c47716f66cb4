"""The one contract between engines, operators, the gate and the UI: ``CheckResult`` v1.

A ``CheckResult`` is plain data. Engines build it, operators store it (XCom and the artifact
store), the gate reads it, the plugin renders it. Its JSON form is described by the JSON
Schema shipped in ``airflow_alignment/schemas/check-result-v1.json``.

This module imports nothing heavy: it is safe at DAG parse time.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from typing import Any, Literal, get_args

SCHEMA_ID = "airflow-alignment/check-result/v1"
XCOM_MAX_BYTES = 64 * 1024

Status = Literal["passed", "warned", "failed", "error"]
Severity = Literal["block", "warn"]
#: the severity of a check, constraint or expectation that names none
DEFAULT_SEVERITY: Severity = "block"
Kind = Literal["expectations", "fairness", "drift", "performance", "data_bias", "gate"]

STATUSES: tuple[str, ...] = get_args(Status)
SEVERITIES: tuple[str, ...] = get_args(Severity)


@dataclass
class Assertion:
    """One judged statement: ``observed`` compared with ``expected``."""

    name: str
    success: bool | None
    observed: Any = None
    expected: Any = None
    severity: Severity = DEFAULT_SEVERITY
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckResult:
    """The outcome of one check, sensor evaluation or gate decision."""

    check: str
    kind: Kind
    status: Status
    severity: Severity
    summary: str
    assertions: list[Assertion] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    policy: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    started_at: str | None = None
    duration_s: float | None = None
    report: str | None = None
    full_result: str | None = None
    error: dict[str, Any] | None = None
    schema: str = SCHEMA_ID

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (plain dicts, lists, str, numbers, bool, None)."""
        out = asdict(self)
        out = {"schema": out.pop("schema"), **out}
        return _json_safe(out)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> CheckResult:
        """Rebuild a result from :meth:`to_dict` output (or a stored JSON document)."""
        if payload.get("schema") != SCHEMA_ID:
            raise ValueError(f"not a {SCHEMA_ID} document: schema is {payload.get('schema')!r}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ValueError(f"unknown CheckResult field(s): {', '.join(unknown)}")
        values = dict(payload)
        values["assertions"] = [Assertion(**a) for a in payload.get("assertions", [])]
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False, allow_nan=False)

    def compact(self, full_result_uri: str | None = None, limit: int = XCOM_MAX_BYTES) -> dict[str, Any]:
        """The XCom form: :meth:`to_dict` bounded to ``limit`` bytes of JSON.

        Detail is shed in a fixed order (assertion details, then metrics, then assertions
        beyond the first twenty) until the document fits; ``full_result`` then names where the
        whole result is stored.
        """
        doc = self.to_dict()
        if full_result_uri:
            doc["full_result"] = full_result_uri
        if _size(doc) <= limit:
            return doc
        for a in doc["assertions"]:
            a["details"] = {"truncated": True}
        if _size(doc) > limit:
            doc["metrics"] = {"truncated": True}
        if _size(doc) > limit:
            dropped = len(doc["assertions"]) - 20
            doc["assertions"] = doc["assertions"][:20]
            if dropped > 0:
                doc["metrics"]["assertions_not_shown"] = dropped
        if _size(doc) > limit:
            doc["assertions"] = []
        if _size(doc) > limit:  # pathological: a huge summary or context
            doc["summary"] = doc["summary"][:2000]
        return doc

    # -- convenience ---------------------------------------------------------------------
    @property
    def failed_assertions(self) -> list[Assertion]:
        return [a for a in self.assertions if a.success is False]


def status_from_assertions(assertions: list[Assertion]) -> Status:
    """``failed`` if a block assertion failed, ``warned`` if only warn ones did, else ``passed``."""
    failed = [a for a in assertions if a.success is False]
    if any(a.severity == "block" for a in failed):
        return "failed"
    if failed:
        return "warned"
    return "passed"


def error_result(
    *, check: str, kind: Kind, severity: Severity, exc: BaseException, data: dict[str, Any] | None = None
) -> CheckResult:
    """A result for a check that could not be evaluated (bad spec, missing column, no data)."""
    return CheckResult(
        check=check,
        kind=kind,
        status="error",
        severity=severity,
        summary=f"{check} could not be evaluated: {exc}",
        data=data,
        error={"type": type(exc).__name__, "message": str(exc)},
        started_at=utcnow(),
    )


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def load_schema() -> dict[str, Any]:
    """The JSON Schema of ``CheckResult`` v1, as shipped in the package."""
    text = resources.files("airflow_alignment").joinpath("schemas/check-result-v1.json").read_text()
    return json.loads(text)


def validate(payload: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when ``payload`` breaks the v1 schema (the best
    match, as ``jsonschema.validate``; the validator is built once: the plugin's pages check
    every result they read)."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(payload))
    if error is not None:
        raise error


@cache
def _validator() -> Any:
    from jsonschema.validators import validator_for

    schema = load_schema()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _size(doc: dict[str, Any]) -> int:
    return len(json.dumps(doc, allow_nan=False).encode())


def _json_safe(value: Any) -> Any:
    """Convert numpy scalars, tuples and non-finite floats into plain JSON values.

    Non-finite floats become ``None``: the contract never carries NaN or infinity.
    """
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):  # float(): numpy.float64 is a float subclass
        return float(value) if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return _json_safe(tolist())
    return str(value)
