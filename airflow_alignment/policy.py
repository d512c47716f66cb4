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
with the closest valid key, and every key's value is checked, so nothing sits in a policy
unread.

A policy is loaded while the dag-processor parses a DAG file, so loading is bounded whatever
the file holds (:mod:`airflow_alignment.limits`): at most ``MAX_POLICY_BYTES`` of UTF-8 text,
``MAX_POLICY_DEPTH`` levels of nesting and ``MAX_POLICY_VALUES`` values, where a YAML alias
counts as its anchor's value written out again (which is how a 1 KB file of nested aliases
would expand to gigabytes); duplicate keys are refused (YAML would keep the last one silently).
An unquoted ``version: 1.10`` stays ``"1.10"``, as written.

The policy's canonical sha256 (of its content as sorted, compact JSON, so formatting and
comments do not change it) is recorded in every result judged against it.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from airflow_alignment.exceptions import SpecError, did_you_mean
from airflow_alignment.io import FORMATS, as_source
from airflow_alignment.limits import MAX_POLICY_BYTES, MAX_POLICY_DEPTH, MAX_POLICY_VALUES
from airflow_alignment.results import DEFAULT_SEVERITY
from airflow_alignment.specs import DataBiasSpec, DriftSpec, ExpectationsSpec, FairnessSpec, PerformanceSpec
from airflow_alignment.specs.common import check_seed
from airflow_alignment.specs.labelled import check_options

TOP_KEYS = ("name", "version", "owner", "description", "defaults", "checks", "references")
COMMON_CHECK_KEYS = ("name", "kind", "data", "severity", "owner", "rationale", "references", "description")
# The spec of each kind: a check's keys are its fields (severity is common to every kind)...
SPECS: dict[str, type] = {
    "expectations": ExpectationsSpec,
    "fairness": FairnessSpec,
    "drift": DriftSpec,
    "performance": PerformanceSpec,
    "data_bias": DataBiasSpec,
}
KINDS = tuple(SPECS)
# ...and where its data comes from: the format of the data, the baseline result, the reference data.
DATA_KEYS: dict[str, tuple[str, ...]] = {
    "expectations": ("format",),
    "fairness": ("baseline",),
    "drift": ("reference",),
    "performance": ("baseline",),
    "data_bias": ("baseline",),
}


def spec_keys(kind: str) -> tuple[str, ...]:
    """The keys of a check of ``kind`` that its spec takes (a policy can write them)."""
    return tuple(
        f.name for f in fields(SPECS[kind]) if f.init and f.name != "severity" and f.metadata.get("policy", True)
    )


KIND_KEYS: dict[str, tuple[str, ...]] = {kind: spec_keys(kind) + DATA_KEYS[kind] for kind in SPECS}
# defaults apply to every check whose kind takes the key
_TASK_ID = re.compile(r"[A-Za-z0-9_.-]{1,200}")
_DOTS = re.compile(r"\.+")
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
    description: str | None = None

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
    references: tuple[str, ...] = ()
    # what the hash covers, and the YAML as written (None for a dict): kept with decisions
    content: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    text: str | None = field(default=None, compare=False, repr=False)

    def check(self, name: str) -> PolicyCheck:
        for check in self.checks:
            if check.name == name:
                return check
        names = [c.name for c in self.checks]
        raise SpecError(
            f"policy {self.name!r} has no check {name!r}.{did_you_mean(name, names)} Checks: {', '.join(names)}"
        )

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
    source, version = None, None
    if isinstance(policy, Mapping):
        raw: Any = policy
        _check_size(raw)
    elif isinstance(policy, (str, bytes, os.PathLike)):
        text = _decode(policy, "<bytes>") if isinstance(policy, bytes) else os.fspath(policy)
        if isinstance(policy, os.PathLike) or not ("\n" in text or text.lstrip().startswith("{")):
            source = _find(text)
            text = _read(source)
        raw, version = _parse_yaml(text, source or "<string>")
        return dataclasses.replace(_validate(raw, source, version), text=text)
    else:
        raise SpecError(
            f"policy: expected a YAML file path, YAML text, a mapping or a Policy, got {type(policy).__name__}"
        )
    return _validate(raw, source, version)


def canonical_sha256(raw: Mapping[str, Any]) -> str:
    text = json.dumps(_text_keys(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text_keys(value: Any) -> Any:
    """``value`` with every mapping key as JSON writes it (``1`` -> ``"1"``, ``True`` -> ``"true"``),
    so keys of mixed types sort; keys JSON cannot write (dates) become their text."""
    if isinstance(value, Mapping):
        return {
            (
                k if isinstance(k, str) else json.dumps(k) if isinstance(k, (int, float, bool)) or k is None else str(k)
            ): _text_keys(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_text_keys(v) for v in value]
    return value


def _read(path: str) -> str:
    """The text of a policy file: at most :data:`MAX_POLICY_BYTES`, UTF-8 (a BOM is allowed)."""
    size = os.path.getsize(path)
    if size > MAX_POLICY_BYTES:
        raise SpecError(
            f"policy file {path} is {size:,} bytes, more than {MAX_POLICY_BYTES:,}: a policy is a "
            "short YAML file of checks; is this the right file?"
        )
    with open(path, "rb") as handle:
        data = handle.read(MAX_POLICY_BYTES + 1)
    return _decode(data, path)


def _decode(data: bytes, where: str) -> str:
    if len(data) > MAX_POLICY_BYTES:
        raise SpecError(f"policy {where} is more than {MAX_POLICY_BYTES:,} bytes: a policy is a short YAML file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"policy file {where} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start:,} is not valid UTF-8); save it as UTF-8"
        ) from None


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


def _parse_yaml(text: str, where: str) -> tuple[Any, str | None]:
    """The document of ``text`` and its top-level ``version`` as written (``None`` when it is
    quoted or not a plain scalar), parsed within the bounds of the module docstring."""
    import yaml

    if len(text) > MAX_POLICY_BYTES:
        raise SpecError(f"policy {where} is more than {MAX_POLICY_BYTES:,} characters: a policy is a short YAML file")
    loader = None
    try:
        loader = _loader_class()(text)  # the reader refuses non-printable characters here
        loader.where = where
        node = loader.get_single_node()
        if node is None:
            return None, None
        return loader.construct_document(node), _plain_version(node)
    except yaml.YAMLError as exc:
        raise SpecError(f"policy {where}: not valid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


@functools.cache
def _loader_class() -> Any:
    """PyYAML's pure-Python safe loader with the policy's bounds.

    Its composer is the only recursive step, so depth and size are counted there, before
    recursing. An alias counts as its anchor's value written out again (values and depth), so
    a file of nested aliases ("billion laughs") stops at the bound instead of expanding; an
    alias inside the value it names (a cycle) is refused.
    """
    import yaml

    class PolicyLoader(yaml.SafeLoader):
        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self.where = "<string>"
            self.depth = self.values = 0
            self.memo: dict[int, tuple[int, int]] = {}
            self.open: set[str] = set()  # anchors whose value is being composed

        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            line = f"policy {self.where}: line {event.start_mark.line + 1}"
            if isinstance(event, yaml.AliasEvent) and event.anchor in self.anchors:
                if event.anchor in self.open:
                    raise SpecError(
                        f"{line}: the alias *{event.anchor} is inside the value it names (a cycle); write the value out"
                    )
                values, depth = self.expanded(self.anchors[event.anchor])
                self.count(values, self.depth + depth, f"{line}: the alias *{event.anchor}", alias=True)
                return super().compose_node(parent, index)
            self.count(1, self.depth + 1, line)
            anchor = getattr(event, "anchor", None)
            self.depth += 1
            if anchor is not None:
                self.open.add(anchor)
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1
                self.open.discard(anchor)

        def count(self, values: int, depth: int, where: str, alias: bool = False) -> None:
            """Add ``values`` reaching ``depth``; ``where`` names the line (and the alias)."""
            self.values += values
            written_out = " (an alias counts as its anchor's value written out)" if alias else ""
            if depth > MAX_POLICY_DEPTH:
                raise SpecError(f"{where}: nested more than {MAX_POLICY_DEPTH} levels deep{written_out}")
            if self.values > MAX_POLICY_VALUES:
                raise SpecError(f"{where}: more than {MAX_POLICY_VALUES:,} values in one policy{written_out}")

        def expanded(self, node: Any) -> tuple[int, int]:
            """Values and depth of a composed ``node`` with its aliases written out (memoised:
            a node reached again through an alias is not walked again)."""
            if id(node) not in self.memo:
                children = (
                    [c for pair in node.value for c in pair]
                    if isinstance(node, yaml.MappingNode)
                    else (node.value if isinstance(node, yaml.SequenceNode) else [])
                )
                sizes = [self.expanded(child) for child in children]
                self.memo[id(node)] = (1 + sum(v for v, _ in sizes), 1 + max((d for _, d in sizes), default=0))
            return self.memo[id(node)]

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            first: dict[Any, int] = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    earlier = first.get(key)
                    first[key] = line
                except TypeError:  # an unhashable key: SafeConstructor reports it
                    continue
                if earlier is not None:
                    raise SpecError(
                        f"policy {self.where}: line {line}: duplicate key {key!r} (first at line "
                        f"{earlier}); YAML would keep only the last value: write the key once"
                    )
            return super().construct_mapping(node, deep=deep)

    return PolicyLoader


def _plain_version(node: Any) -> str | None:
    """The text of an unquoted top-level ``version`` (YAML reads ``1.10`` as the float 1.1)."""
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "version" and isinstance(value, yaml.ScalarNode):
            return value.value if value.style is None else None
    return None


def _check_size(raw: Any) -> None:
    """A policy given as a mapping is bounded as a file is: depth and number of values (shared
    or cyclic references count every time they are reached, as JSON would write them)."""
    stack: list[tuple[Any, int, str]] = [(raw, 1, "")]
    values = 0
    while stack:
        value, depth, here = stack.pop()
        values += 1
        if depth > MAX_POLICY_DEPTH:
            raise SpecError(f"policy{' ' + here if here else ''}: nested more than {MAX_POLICY_DEPTH} levels deep")
        if values > MAX_POLICY_VALUES:
            raise SpecError(f"policy: more than {MAX_POLICY_VALUES:,} values (are values shared or cyclic?)")
        if isinstance(value, Mapping):
            stack += [(v, depth + 1, f"{here}.{k}" if here else str(k)) for k, v in value.items()]
        elif isinstance(value, (list, tuple)):
            stack += [(v, depth + 1, f"{here}[{i}]") for i, v in enumerate(value)]


def _validate(raw: Any, source: str | None, version_text: str | None = None) -> Policy:
    if not isinstance(raw, Mapping):
        raise SpecError(f"policy: expected a mapping with name, version and checks, got {type(raw).__name__}")
    _known(raw, TOP_KEYS, "")
    for key in ("name", "version"):
        if raw.get(key) in (None, ""):
            raise SpecError(f"{key}: required")
    name = _string(raw["name"], "name")
    if len(name) > 200 or any(ord(c) < 32 for c in name):
        raise SpecError(
            f"name: {name[:50]!r} names the approval asset and the baselines: use at most 200 printable characters"
        )
    version = _version(raw["version"], version_text)
    defaults = raw.get("defaults") or {}
    if not isinstance(defaults, Mapping):
        raise SpecError(f"defaults: expected a mapping, got {type(defaults).__name__}")
    _known(defaults, DEFAULT_KEYS, "defaults")
    _check_defaults(defaults)
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
    hashed = dict(raw) if version == str(raw["version"]) else {**raw, "version": version}
    return Policy(
        name=name,
        version=version,
        owner=_optional_string(raw.get("owner"), "owner"),
        description=_optional_string(raw.get("description"), "description"),
        checks=tuple(built),
        sha256=canonical_sha256(hashed),
        source=source,
        content=hashed,
        references=tuple(_references(raw.get("references"), "references")),
    )


def _version(value: Any, written: str | None) -> str:
    """The version label as written: YAML reads an unquoted ``1.10`` as the number 1.1."""
    if isinstance(value, (bool, Mapping, list)):
        raise SpecError(f"version: expected a version label such as '1.0', got {value!r}")
    return written if written is not None and not isinstance(value, str) else str(value)


def _check_defaults(defaults: Mapping[str, Any]) -> None:
    """Every default is checked here, whether or not a check of the policy takes it."""
    options = {
        f.name: f.default
        for f in fields(FairnessSpec)
        if f.name in ("decide_on", "severity", "confidence", "n_boot", "min_group_size", "missing_groups")
        and f.default is not MISSING
    }
    options.update({k: v for k, v in defaults.items() if k in options})
    try:
        check_options(**options)
        if "pos_label" in defaults:
            _label(defaults["pos_label"], "pos_label")
    except SpecError as exc:
        raise SpecError(f"defaults.{exc}") from None


def _check(raw: Any, here: str, defaults: Mapping[str, Any]) -> PolicyCheck:
    if not isinstance(raw, Mapping):
        raise SpecError(f"{here}: expected a mapping, got {type(raw).__name__}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise SpecError(
            f"{here}.kind: expected one of {', '.join(KINDS)}, got {kind!r}.{did_you_mean(str(kind), KINDS)}"
        )
    _known(raw, COMMON_CHECK_KEYS + KIND_KEYS[kind], here)
    name = _string(raw.get("name"), f"{here}.name")
    if not _TASK_ID.fullmatch(name):
        raise SpecError(f"{here}.name: {name!r} becomes a task id: use letters, digits, '_', '-' and '.' only")
    if _DOTS.fullmatch(name):
        raise SpecError(
            f"{here}.name: {name!r} is only dots: as a task id it cannot name a folder or a report "
            "page; use letters or digits"
        )
    _data(raw.get("data"), f"{here}.data", required=True)
    spec = {k: raw[k] for k in KIND_KEYS[kind] if k in raw}
    for key, value in defaults.items():
        if key in KIND_KEYS[kind] and key not in spec:
            spec[key] = value
    severity = raw.get("severity", defaults.get("severity", DEFAULT_SEVERITY))
    if severity not in ("block", "warn"):
        raise SpecError(f"{here}.severity: expected 'block' or 'warn', got {severity!r}")
    _validate_kind(kind, spec, severity, here)
    return PolicyCheck(
        name=name,
        kind=kind,
        data=raw["data"],
        severity=severity,
        owner=_optional_string(raw.get("owner"), f"{here}.owner"),
        rationale=_optional_string(raw.get("rationale"), f"{here}.rationale"),
        references=_references(raw.get("references"), f"{here}.references"),
        spec=dict(spec),
        description=_optional_string(raw.get("description"), f"{here}.description"),
    )


def _references(value: Any, where: str) -> list[str]:
    references = [value] if isinstance(value, str) else value if value is not None else []
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise SpecError(f"{where}: expected a string or a list of strings, got {value!r}")
    return list(references)


def _data(value: Any, where: str, *, required: bool = False) -> None:
    """A ``data``-like value: a key of ``alignment_checks(data=...)``, a path or URI, or a
    mapping describing a SQL or file source (checked by the source itself)."""
    if value is None or value == "":
        if required:
            raise SpecError(
                f"{where}: required (a key of alignment_checks(data=...), a path, a URI, or a "
                "mapping such as {conn_id: warehouse, table: predictions})"
            )
        return
    if isinstance(value, Mapping):
        try:
            as_source(dict(value))
        except SpecError as exc:
            text = str(exc)
            placed = f"{where}{text[len('data') :]}" if text.startswith(("data:", "data.")) else f"{where}: {text}"
            raise SpecError(placed) from None
    elif not isinstance(value, str):
        raise SpecError(
            f"{where}: expected a key of alignment_checks(data=...), a path, a URI or a mapping, "
            f"got {type(value).__name__} {value!r}"
        )


def _label(value: Any, where: str) -> None:
    if not isinstance(value, (str, int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise SpecError(f"{where}: expected a label (a string, a number or true/false), got {value!r}")


def _column(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise SpecError(
            f"{where}: expected a column name (a string), got {type(value).__name__} {value!r}"
            + ("; quote it in YAML" if isinstance(value, (int, float)) else "")
        )


def _kind_values(kind: str, spec: dict[str, Any], here: str) -> None:
    """The values of the kind's keys that no engine validator looks at when the DAG is parsed."""
    for key in ("y_true", "y_pred", "y_score", "sample_weight", "prediction"):
        if spec.get(key) is not None:
            _column(spec[key], f"{here}.{key}")
    if kind == "fairness" and "sensitive_features" in spec:
        features = spec["sensitive_features"]
        if isinstance(features, str):
            _column(features, f"{here}.sensitive_features")
        elif not isinstance(features, list) or not features:
            raise SpecError(
                f"{here}.sensitive_features: expected a column or a non-empty list of columns, got {features!r}"
            )
        for i, feature in enumerate(features if isinstance(features, list) else []):
            _column(feature, f"{here}.sensitive_features[{i}]")
    if "pos_label" in spec:
        several = kind == "data_bias" and isinstance(spec["pos_label"], list)  # Clarify's positive label values
        for label in spec["pos_label"] if several else [spec["pos_label"]]:
            _label(label, f"{here}.pos_label")
    threshold = spec.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold)
    ):
        raise SpecError(f"{here}.threshold: expected a number, got {threshold!r}")
    if not isinstance(spec.get("marginal", False), bool):
        raise SpecError(f"{here}.marginal: expected true or false, got {spec['marginal']!r}")
    check_seed(spec.get("random_state"), f"{here}.random_state")
    for key in ("baseline", "suite"):
        if spec.get(key) is not None and not isinstance(spec[key], (str, Mapping)):
            raise SpecError(
                f"{here}.{key}: expected a path or URI (or the document as a mapping), got {type(spec[key]).__name__}"
            )
    if "reference" in spec:
        _data(spec["reference"], f"{here}.reference")
    if spec.get("format") is not None and spec["format"] not in FORMATS:
        raise SpecError(f"{here}.format: expected one of {', '.join(FORMATS)}, got {spec['format']!r}")


def _validate_kind(kind: str, spec: dict[str, Any], severity: str, here: str) -> None:
    """The kind's spec, built as its operator builds it when the DAG is parsed."""
    _kind_values(kind, spec, here)
    options = {k: v for k, v in spec.items() if k not in DATA_KEYS[kind]}
    try:
        if kind == "expectations":
            if "expectations" not in spec and "suite" not in spec:
                raise SpecError("give expectations (a list) or suite (a GX suite JSON file)")
            ExpectationsSpec(**options, severity=severity)
            return
        if kind == "drift":
            if "reference" not in spec:
                raise SpecError("reference: required (the training data or the approved baseline's data)")
            DriftSpec.build(**options, severity=severity)
            return
        if kind == "data_bias":
            for key in ("label", "sensitive_features", "constraints"):
                if key not in spec:
                    raise SpecError(f"{key}: required")
            DataBiasSpec(**options, severity=severity)
            return
        for column in ("y_true",) + (("sensitive_features",) if kind == "fairness" else ()):
            if column not in spec:
                raise SpecError(f"{column}: required")
        if ("y_pred" in spec) == ("y_score" in spec):
            raise SpecError("give exactly one of y_pred (labels) or y_score (with threshold)")
        if "constraints" not in spec:
            raise SpecError("constraints: required")
        SPECS[kind](**options, severity=severity)
    except SpecError as exc:
        raise SpecError(_at(here, str(exc))) from None


def _at(here: str, message: str) -> str:
    """``message`` of a part of the policy, placed at ``here``: ``checks[0].n_boot: ...`` for a
    message that starts with its key, ``checks[0]: ...`` for one that does not."""
    joined = re.match(r"[\w\[\].]+:", message)
    return f"{here}.{message}" if joined else f"{here}: {message}"


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
