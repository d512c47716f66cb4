"""``ExpectationsSpec``: Great Expectations expectations in their JSON form, checked when the DAG is parsed.

An expectation is ``{"type": "expect_...", "kwargs": {...}, "severity": "warning"}``: GX's own
form (a suite's ``expectations`` list), with a ``severity`` of ours or GX's. The checks here are
of shape (a ``type`` string, a ``kwargs`` object, a known severity, no unknown key); whether GX
knows the type is checked when the task runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from airflow_alignment.exceptions import SpecError, did_you_mean
from airflow_alignment.results import DEFAULT_SEVERITY, Severity

SPEC_KEYS = ("type", "kwargs", "severity", "meta", "notes", "description", "name", "id")
# GX's own severities map onto ours; "block"/"warn" are accepted as well.
SEVERITY_ALIASES: dict[str, Severity] = {
    "block": "block",
    "critical": "block",
    "warn": "warn",
    "warning": "warn",
    "info": "warn",
}
# kwargs that name columns of the data; checked before GX runs, for a clear message.
COLUMN_KWARGS = ("column", "column_A", "column_B")
COLUMN_LIST_KWARGS = ("column_list",)


@dataclass(frozen=True, kw_only=True)
class ExpectationsSpec:
    """Expectations to validate a dataset against.

    :param expectations: a list of expectations in GX JSON form (normalised here).
    :param suite: a GX expectation suite: path or URI of its JSON file, or the suite as a dict;
        read when the check runs, its expectations after ``expectations``.
    :param severity: the default severity of an expectation that names none (``block``/``critical``
        or ``warn``/``warning``/``info``), resolved to ``block`` or ``warn``.
    :raises SpecError: naming the expectation's position and key.
    """

    expectations: Sequence[Mapping[str, Any]] | None = None
    suite: Any = None
    severity: str = DEFAULT_SEVERITY

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", expectation_severity(self.severity, "severity"))
        if self.expectations is None and self.suite is None:
            raise SpecError("give expectations= (a list) or suite= (a GX suite JSON file), or both")
        if self.expectations is not None:
            object.__setattr__(self, "expectations", tuple(normalize_expectations(self.expectations)))


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
            if key not in SPEC_KEYS:
                raise SpecError(f"{here}: unknown key {key!r}.{did_you_mean(key, SPEC_KEYS)}")
        kind = spec.get("type")
        if not isinstance(kind, str) or not kind:
            raise SpecError(f"{here}: missing 'type' (e.g. 'expect_column_values_to_not_be_null')")
        if not kind.startswith("expect_"):
            raise SpecError(f"{here}.type: {kind!r} is not an expectation type (names start with 'expect_')")
        kwargs = spec.get("kwargs", {})
        if not isinstance(kwargs, Mapping):
            raise SpecError(f"{here}.kwargs: expected an object, got {type(kwargs).__name__}")
        if "severity" in spec:
            spec["severity"] = expectation_severity(spec["severity"], f"{here}.severity")
        for key in ("name", "description", "id"):
            if spec.get(key) is not None and not isinstance(spec[key], str):
                raise SpecError(f"{here}.{key}: expected a string, got {type(spec[key]).__name__}")
        if spec.get("meta") is not None and not isinstance(spec["meta"], Mapping):
            raise SpecError(f"{here}.meta: expected an object, got {type(spec['meta']).__name__}")
        notes = spec.get("notes")
        if notes is not None and not (
            isinstance(notes, str) or (isinstance(notes, list) and all(isinstance(n, str) for n in notes))
        ):
            raise SpecError(f"{here}.notes: expected a string or a list of strings, got {type(notes).__name__}")
        spec["kwargs"] = dict(kwargs)
        out.append(spec)
    if not out:
        raise SpecError(f"{where}: the list of expectations is empty")
    return out


def needed_columns(specs: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """The columns the expectations read, or ``None`` when they need every column."""
    columns: list[str] = []
    for spec in specs:
        kwargs = spec["kwargs"]
        if spec["type"].startswith("expect_table_column") or "column_set" in kwargs:
            return None
        for key in COLUMN_KWARGS:
            if isinstance(kwargs.get(key), str):
                columns.append(kwargs[key])
        for key in COLUMN_LIST_KWARGS:
            if isinstance(kwargs.get(key), (list, tuple)):
                columns.extend(str(c) for c in kwargs[key])
    return list(dict.fromkeys(columns)) or None


def expectation_severity(value: Any, where: str) -> Severity:
    if value not in SEVERITY_ALIASES:
        raise SpecError(
            f"{where}: unknown severity {value!r}; use 'block' (or GX's 'critical') or 'warn' (or 'warning')"
        )
    return SEVERITY_ALIASES[value]
