"""The audit trail: every check result and every gate decision, appended, never rewritten.

Each record is one JSON object on one line, with ``time``, ``dag_id``, ``run_id``,
``task_id``, ``map_index``, ``try_number``, ``kind``, ``check``, ``policy`` (name, version,
sha256), ``model``, ``data_fingerprint``, ``status``, ``verdict`` (gates), ``reviewer`` (when a
person decided), ``summary`` and ``result`` (where the full result is stored), plus
``sha256``, a checksum of the record itself.

Where it lives:

- local artifact store: ``audit/audit.jsonl``. A record is appended with one ``write()`` on a
  file opened ``O_APPEND`` under an exclusive ``flock``, then fsynced. A writer that finds the
  file not ending in a newline (a crash cut the previous append short) starts a fresh line,
  so a torn fragment never merges with a good record;
- object storage (no append there): one object per record under
  ``audit/records/<time>-<nanoseconds>-<uuid>.json``, each written in a single PUT.

:func:`read_audit` reads either back, skips (and counts) torn lines whose checksum does not
match, and filters by policy, model and time; :func:`export_csv` writes what an auditor asks
for.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_alignment.store.artifacts import RESULT_NAME, RESULTS, ArtifactStore, result_key

AUDIT_FILE = "audit/audit.jsonl"
AUDIT_RECORDS = "audit/records"
CSV_COLUMNS = (
    "time",
    "dag_id",
    "run_id",
    "task_id",
    "map_index",
    "try_number",
    "kind",
    "check",
    "policy_name",
    "policy_version",
    "policy_sha256",
    "model",
    "data_fingerprint",
    "status",
    "verdict",
    "reviewer",
    "summary",
    "result",
)


def audit_record(result: Any, *, model: str | None = None, reviewer: Any = None) -> dict[str, Any]:
    """The audit record of a ``CheckResult`` (a check or a gate decision)."""
    ctx = result.context or {}
    metrics = result.metrics or {}
    record: dict[str, Any] = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "dag_id": ctx.get("dag_id"),
        "run_id": ctx.get("run_id"),
        "task_id": ctx.get("task_id"),
        "map_index": ctx.get("map_index"),
        "try_number": ctx.get("try_number"),
        "kind": result.kind,
        "check": result.check,
        "policy": result.policy,
        "model": model or metrics.get("model"),
        "data_fingerprint": (result.data or {}).get("fingerprint"),
        "status": result.status,
        "verdict": metrics.get("verdict"),
        "reviewer": reviewer if reviewer is not None else metrics.get("reviewer"),
        "summary": result.summary,
        "result": result.full_result,
    }
    return record


def append(record: Mapping[str, Any], store: ArtifactStore | None = None) -> None:
    """Append one record to the audit trail, atomically."""
    store = store or ArtifactStore()
    body = dict(record)
    body.pop("sha256", None)
    body["sha256"] = _checksum(body)
    line = json.dumps(body, sort_keys=True, allow_nan=False, default=str)
    if "\n" in line:  # json.dumps escapes newlines in strings; this guards the invariant
        raise ValueError("an audit record must serialise to a single line")
    if store.is_local:
        _append_local(store.uri(AUDIT_FILE), line)
    else:
        # The nanosecond clock orders two records of one millisecond as they were appended
        # (listing order breaks ties of ``time`` in read_audit); the uuid keeps writers apart.
        stamp = body["time"].replace(":", "").replace("-", "")
        store.write_text(f"{AUDIT_RECORDS}/{stamp}-{time.time_ns():020d}-{uuid.uuid4().hex}.json", line)


def _append_local(path: str, line: str) -> None:
    import fcntl

    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)  # the umask decides
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        prefix = b""
        if size:
            with open(path, "rb") as handle:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    prefix = b"\n"  # a previous append was cut short: isolate the fragment
        data = prefix + line.encode("utf-8") + b"\n"
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write to the audit log {path}: {written} of {len(data)} bytes")
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock


@dataclass
class AuditLog:
    records: list[dict[str, Any]]
    damaged: int  # lines that were not a whole record (a crash cut an append short)


def read_audit(
    store: ArtifactStore | str | None = None,
    *,
    policy: str | None = None,
    model: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    dag_id: str | None = None,
    run_id: str | None = None,
) -> AuditLog:
    """Read the audit trail back, oldest first, filtered by policy name, model, time, DAG and
    run. On object storage only the records of the time window are read (their keys start with
    their time); ``damaged`` then counts damaged records of that window."""
    store = store if isinstance(store, ArtifactStore) else ArtifactStore(store)
    lines = _lines(store, _time(since), _time(until))
    records, damaged = [], 0
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            damaged += 1
            continue
        if not isinstance(record, dict) or record.get("sha256") != _checksum(
            {k: v for k, v in record.items() if k != "sha256"}
        ):
            damaged += 1
            continue
        records.append(record)
    low, high = _time(since), _time(until)
    out = [
        r
        for r in records
        if (policy is None or (r.get("policy") or {}).get("name") == policy)
        and (model is None or r.get("model") == model)
        and (low is None or _time(r["time"]) >= low)
        and (high is None or _time(r["time"]) <= high)
        and (dag_id is None or r.get("dag_id") == dag_id)
        and (run_id is None or r.get("run_id") == run_id)
    ]
    out.sort(key=lambda r: r["time"])
    return AuditLog(records=out, damaged=damaged)


@dataclass
class Verification:
    """What :func:`verify` found; ``ok`` when every line is a record whose checksum matches and
    stored results and records match one to one."""

    records: int
    torn: list[str]  # where: "audit/audit.jsonl line N" or an object key
    mismatched: list[str]  # a whole JSON record whose checksum does not match: edited after the fact
    results_without_record: list[str]  # result keys
    records_without_result: list[str]  # "dag/run/task/map/try" of records whose result is gone

    @property
    def ok(self) -> bool:
        return not (self.torn or self.mismatched or self.results_without_record or self.records_without_result)


def verify(store: ArtifactStore | str | None = None) -> Verification:
    """Check the whole audit trail: every line a whole record with its checksum, and a record for
    every stored result (and a stored result for every record). Reads everything: a command for
    an auditor, not a page."""
    store = store if isinstance(store, ArtifactStore) else ArtifactStore(store)
    torn, mismatched, records = [], [], []
    for where, line in _located_lines(store):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            torn.append(where)
            continue
        if not isinstance(record, dict) or record.get("sha256") != _checksum(
            {k: v for k, v in record.items() if k != "sha256"}
        ):
            mismatched.append(where)
            continue
        records.append(record)
    recorded = {result_key({**r, "try_number": r.get("try_number") or 0}) for r in records if r.get("dag_id")}
    stored = {k for k in store.list(RESULTS) if k.endswith("/" + RESULT_NAME)}
    return Verification(
        records=len(records),
        torn=torn,
        mismatched=mismatched,
        results_without_record=sorted(stored - recorded),
        records_without_result=sorted(recorded - stored),
    )


def _located_lines(store: ArtifactStore) -> list[tuple[str, str]]:
    if store.is_local:
        return [(f"{AUDIT_FILE} line {n}", line) for n, line in enumerate(_lines(store), 1)]
    out = []
    for key in store.list(AUDIT_RECORDS):
        try:
            out.append((key, store.read_text(key)))
        except UnicodeDecodeError:
            out.append((key, "\x00"))  # not text: counted torn
    return out


def export_csv(records: Iterable[Mapping[str, Any]], path: str | None = None) -> str:
    """The records as CSV (one row each, policy flattened); written to ``path`` when given."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        policy = record.get("policy") or {}
        reviewer = record.get("reviewer")
        row = {
            **record,
            "policy_name": policy.get("name"),
            "policy_version": policy.get("version"),
            "policy_sha256": policy.get("sha256"),
            "reviewer": reviewer.get("name") if isinstance(reviewer, Mapping) else reviewer,
        }
        writer.writerow(row)
    text = buffer.getvalue()
    if path:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    return text


def _lines(store: ArtifactStore, low: datetime | None = None, high: datetime | None = None) -> list[str]:
    if store.is_local:
        path = store.uri(AUDIT_FILE)
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().split("\n")
    keys = [k for k in store.list(AUDIT_RECORDS) if _in_window(k.rsplit("/", 1)[-1], low, high)]
    return [store.read_text(key) for key in keys]


def _key_stamp(when: datetime) -> str:
    """The leading stamp of a record key written at ``when`` (UTC), as :func:`append` makes it."""
    text = when.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return text.replace(":", "").replace("-", "")


def _in_window(name: str, low: datetime | None, high: datetime | None) -> bool:
    """Whether a record key may hold a record of [low, high]: its name starts with the record's
    time; compared to the second, so the records of a boundary second are read and then filtered
    exactly by :func:`read_audit`."""
    stamp = name[:15]  # YYYYMMDDTHHMMSS
    return (low is None or stamp >= _key_stamp(low)[:15]) and (high is None or stamp <= _key_stamp(high)[:15])


def _checksum(body: Mapping[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, allow_nan=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _time(value: datetime | str | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
