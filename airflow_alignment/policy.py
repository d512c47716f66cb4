"""Alignment policies as code: a YAML file (or dict) that states each check, its thresholds,
severity, owner and rationale.

::

    name: lending
    version: "3"
    owner: model-risk@bank.example
    description: Credit decisions must be fair and built on sound data.
    defaults: {severity: block, min_group_size: 30}
    checks:
      - name: fairness
        kind: fairness
        data: predictions            # a key of alignment_checks(data=...), a path / URI, or a
                                     # mapping: {conn_id: warehouse, table: predictions, where: ...}
        owner: fairness-board
        rationale: Four-fifths rule.
        references: ["29 CFR 1607.4(D)"]
        y_true: repaid
        y_pred: approved
        sensitive_features: [sex]
        constraints: [{metric: demographic_parity_ratio, min: 0.8}]

Loading parses YAML and validates the structure; it imports nothing heavy, so a DAG file can
load a policy at parse time. Every message gives the path and the problem
(``checks[2].constraints[0].max: expected a number, got 'ten'``); unknown keys are refused
with the closest valid key.

The policy's canonical sha256 (of its content as sorted, compact JSON, so formatting and
comments do not change it) is recorded in every result judged against it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_alignment.exceptions import SpecError, did_you_mean

TOP_KEYS = ("name", "version", "owner", "description", "defaults", "checks", "references")
KINDS = ("expectations", "fairness", "drift", "performance")
COMMON_CHECK_KEYS = ("name", "kind", "data", "severity", "owner", "rationale", "references", "description")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "expectations": ("expectations", "suite", "format"),
    "fairness": (
        "y_true", "y_pred", "y_score", "threshold", "pos_label", "sensitive_features", "constraints",
        "min_group_size", "confidence", "n_boot", "decide_on", "baseline", "marginal", "sample_weight",
        "missing_groups", "random_state",
    ),
    "drift": (
        "reference", "features", "categorical", "exclude", "bins", "psi_warn", "psi_block", "ks_alpha",
        "chi2_alpha", "bounds", "prediction", "sensitive_features", "pos_label", "threshold",
        "selection_rate_max_change", "min_group_size",
    ),
    "performance": (
        "y_true", "y_pred", "y_score", "threshold", "pos_label", "constraints", "confidence", "n_boot",
        "decide_on", "baseline", "sample_weight", "random_state",
    ),
}  # fmt: skip
# defaults apply to every check whose kind takes the key
_TASK_ID = re.compile(r"[A-Za-z0-9_.-]{1,200}")
DEFAULT_KEYS = ("severity", "min_group_size", "confidence", "n_boot", "decide_on", "missing_groups", "pos_label")


@dataclass(frozen=True)
class PolicyCheck:
    """One check of a policy: who owns it, why, and the operator arguments it stands for."""

    name: str
    kind: str
    data: Any
    severity: str
    owner: str | None
    rationale: str | None
    references: list[str]
    spec: dict[str, Any] = field(default_factory=dict)

    def operator_kwargs(self) -> dict[str, Any]:
        """Arguments for the kind's operator (``data`` and ``check_name`` included)."""
        return {"data": self.data, "severity": self.severity, "check_name": self.name, **copy.deepcopy(self.spec)}


@dataclass(frozen=True)
class Policy:
    name: str
    version: str
    owner: str | None
    description: str | None
    checks: tuple[PolicyCheck, ...]
    sha256: str
    source: str | None = None

    def check(self, name: str) -> PolicyCheck:
        for check in self.checks:
            if check.name == name:
                return check
        names = [c.name for c in self.checks]
        raise SpecError(f"policy {self.name!r} has no check {name!r}.{did_you_mean(name, names)} Checks: {', '.join(names)}")

    @property
    def ref(self) -> dict[str, str]:
        """The ``policy`` block of a ``CheckResult``."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256}


def load_policy(policy: str | os.PathLike[str] | Mapping[str, Any] | Policy) -> Policy:
    """Load and validate a policy from a YAML file path, a YAML string, or a dict.

    Relative paths are tried as given, then against the DAGs folder, so a DAG file can name
    ``"policies/lending.yaml"`` whatever the working directory.
    """
    if isinstance(policy, Policy):
        return policy
    source = None
    if isinstance(policy, Mapping):
        raw: Any = policy
    else:
        text = str(policy)
        if "\n" in text or text.lstrip().startswith("{"):
            raw = _parse_yaml(text, "<string>")
        else:
            source = _find(text)
            with open(source, encoding="utf-8") as handle:
                raw = _parse_yaml(handle.read(), source)
    return _validate(raw, source)


def canonical_sha256(raw: Mapping[str, Any]) -> str:
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _find(path: str) -> str:
    candidates = [path]
    if not os.path.isabs(path):
        folder = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
        if not folder:
            try:
                from airflow.configuration import conf

                folder = conf.get("core", "dags_folder", fallback=None)
            except ImportError:
                folder = None
        if folder:
            candidates.append(os.path.join(folder, path))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise SpecError(f"policy file not found: {path} (looked in: {', '.join(candidates)})")


def _parse_yaml(text: str, where: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"policy {where}: not valid YAML: {exc}") from None


def _validate(raw: Any, source: str | None) -> Policy:
    if not isinstance(raw, Mapping):
        raise SpecError(f"policy: expected a mapping with name, version and checks, got {type(raw).__name__}")
    _known(raw, TOP_KEYS, "")
    for key in ("name", "version"):
        if raw.get(key) in (None, ""):
            raise SpecError(f"{key}: required")
    name = _string(raw["name"], "name")
    version = str(raw["version"])
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise SpecError(f"defaults: expected a mapping, got {type(defaults).__name__}")
    _known(defaults, DEFAULT_KEYS, "defaults")
    checks = raw.get("checks")
    if not isinstance(checks, list) or not checks:
        raise SpecError("checks: expected a non-empty list of checks")
    built = []
    seen: dict[str, int] = {}
    for i, check in enumerate(checks):
        item = _check(check, f"checks[{i}]", defaults)
        if item.name in seen:
            raise SpecError(f"checks[{i}].name: {item.name!r} is already the name of checks[{seen[item.name]}]")
        seen[item.name] = i
        built.append(item)
    return Policy(
        name=name,
        version=version,
        owner=_optional_string(raw.get("owner"), "owner"),
        description=_optional_string(raw.get("description"), "description"),
        checks=tuple(built),
        sha256=canonical_sha256(raw),
        source=source,
    )


def _check(raw: Any, here: str, defaults: Mapping[str, Any]) -> PolicyCheck:
    if not isinstance(raw, Mapping):
        raise SpecError(f"{here}: expected a mapping, got {type(raw).__name__}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise SpecError(f"{here}.kind: expected one of {', '.join(KINDS)}, got {kind!r}.{did_you_mean(str(kind), KINDS)}")
    _known(raw, COMMON_CHECK_KEYS + KIND_KEYS[kind], here)
    name = _string(raw.get("name"), f"{here}.name")
    if not _TASK_ID.fullmatch(name):
        raise SpecError(f"{here}.name: {name!r} becomes a task id: use letters, digits, '_', '-' and '.' only")
    if raw.get("data") in (None, ""):
        raise SpecError(f"{here}.data: required (a key of alignment_checks(data=...), a path, a URI, or a "
                        "mapping such as {conn_id: warehouse, table: predictions})")
    if isinstance(raw["data"], dict):
        from airflow_alignment.sources import as_source

        try:
            as_source(raw["data"])
        except SpecError as exc:
            text = str(exc)
            raise SpecError(f"{here}.{text}" if text.startswith("data:") else f"{here}.data: {text}") from None
    spec = {k: raw[k] for k in KIND_KEYS[kind] if k in raw}
    for key, value in defaults.items():
        if key in KIND_KEYS[kind] and key not in spec:
            spec[key] = value
    severity = raw.get("severity", defaults.get("severity", "block"))
    if severity not in ("block", "warn"):
        raise SpecError(f"{here}.severity: expected 'block' or 'warn', got {severity!r}")
    references = raw.get("references") or []
    if isinstance(references, str):
        references = [references]
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise SpecError(f"{here}.references: expected a list of strings")
    _validate_kind(kind, spec, severity, here)
    return PolicyCheck(
        name=name,
        kind=kind,
        data=raw["data"],
        severity=severity,
        owner=_optional_string(raw.get("owner"), f"{here}.owner"),
        rationale=_optional_string(raw.get("rationale"), f"{here}.rationale"),
        references=list(references),
        spec=dict(spec),
    )


def _validate_kind(kind: str, spec: dict[str, Any], severity: str, here: str) -> None:
    """The kind's own checks, the same ones its operator runs at parse time."""
    try:
        if kind == "expectations":
            from airflow_alignment.engines.expectations import normalize_expectations

            if "expectations" not in spec and "suite" not in spec:
                raise SpecError("give expectations (a list) or suite (a GX suite JSON file)")
            if "expectations" in spec:
                normalize_expectations(spec["expectations"])
            return
        if kind == "drift":
            from airflow_alignment.engines.drift import validate_spec

            if "reference" not in spec:
                raise SpecError("reference: required (the training data or the approved baseline's data)")
            validate_spec(**{k: v for k, v in spec.items() if k != "reference"}, severity=severity)
            return
        for column in ("y_true",) + (("sensitive_features",) if kind == "fairness" else ()):
            if column not in spec:
                raise SpecError(f"{column}: required")
        if ("y_pred" in spec) == ("y_score" in spec):
            raise SpecError("give exactly one of y_pred (labels) or y_score (with threshold)")
        if "constraints" not in spec:
            raise SpecError("constraints: required")
        if kind == "fairness":
            from airflow_alignment.engines.fairness import validate_constraints

            options = {k: spec[k] for k in ("decide_on", "confidence", "n_boot", "min_group_size", "missing_groups")
                       if k in spec}
            validate_constraints(spec["constraints"], severity=severity, **options)
        else:
            from airflow_alignment.engines.performance import (
                validate_constraints as validate_performance,
            )

            options = {k: spec[k] for k in ("decide_on", "confidence", "n_boot") if k in spec}
            validate_performance(spec["constraints"], severity=severity, **options)
    except SpecError as exc:
        raise SpecError(f"{here}.{exc}") from None


def _known(raw: Mapping[str, Any], valid: tuple[str, ...], here: str) -> None:
    for key in raw:
        if key not in valid:
            where = f"{here}." if here else ""
            raise SpecError(f"{where}{key}: unknown key.{did_you_mean(str(key), valid)} Valid keys: {', '.join(valid)}")


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _optional_string(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SpecError(f"{where}: expected a string, got {type(value).__name__}")
    return value
