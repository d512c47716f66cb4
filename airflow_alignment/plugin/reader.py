"""What the plugin's pages show, read from the artifact store. Nothing here computes a check.

Results sit at ``results/<dag>/<run>/<task>/<map_index>/try-<n>/result.json`` (see
:func:`airflow_alignment.reporting.store.result_key`), the report beside them as
``report.html``. Identifiers are turned into keys only by ``result_key`` and ``safe_segment``,
which percent-encode every segment: whatever a URL carries, a key stays inside its folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from airflow_alignment.reporting.store import (
    RESULTS,
    ArtifactStore,
    result_key,
    safe_segment,
)

RESULT = "result.json"
REPORT = "report.html"


def _folder(*parts: Any) -> str:
    return "/".join([RESULTS, *(safe_segment(p) for p in parts)])


def _try_of(segment: str) -> int | None:
    number = segment.removeprefix("try-")
    return int(number) if segment.startswith("try-") and number.isdigit() else None


def tries(store: ArtifactStore, dag_id: str, run_id: str, task_id: str, map_index: int) -> list[int]:
    """The try numbers of a task instance that left a result, in order."""
    folder = _folder(dag_id, run_id, task_id, map_index)
    found = set()
    for key in store.list(folder):
        rest = key[len(folder) + 1 :].split("/")
        if len(rest) == 2 and rest[1] == RESULT and (number := _try_of(rest[0])) is not None:
            found.add(number)
    return sorted(found)


def task_key(
    store: ArtifactStore, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int | None
) -> dict[str, Any] | None:
    """The context of the asked try (the latest when ``try_number`` is None), if it has a result."""
    if try_number is None:
        found = tries(store, dag_id, run_id, task_id, map_index)
        if not found:
            return None
        try_number = found[-1]
    context = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index,
               "try_number": try_number}  # fmt: skip
    return context if store.exists(result_key(context, RESULT)) else None


def read_result(store: ArtifactStore, context: Mapping[str, Any]) -> dict[str, Any]:
    return dict(json.loads(store.read_text(result_key(context, RESULT))))


def read_report(store: ArtifactStore, context: Mapping[str, Any]) -> str | None:
    key = result_key(context, REPORT)
    return store.read_text(key) if store.exists(key) else None


def run_results(store: ArtifactStore, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The latest try of every task instance of a run that left a result: gates first."""
    latest = _latest_tries(store.list(_folder(dag_id, run_id)))
    docs = [read_result(store, _context(dag_id, run_id, seg)) for seg in latest.values()]
    return sorted(docs, key=_gate_first)


def dag_history(store: ArtifactStore, dag_id: str, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recent runs of a DAG that left results, oldest first, each with the
    latest try of every task instance (as :func:`run_results`)."""
    by_run: dict[str, list[str]] = {}
    folder = _folder(dag_id)
    for key in store.list(folder):
        by_run.setdefault(key[len(folder) + 1 :].split("/", 1)[0], []).append(key)
    runs = []
    for run_segment, keys in by_run.items():
        latest = _latest_tries(keys)
        run_id = unquote(run_segment)
        docs = sorted((read_result(store, _context(dag_id, run_id, seg)) for seg in latest.values()), key=_gate_first)
        if docs:
            started = min((d.get("started_at") or "" for d in docs), default="")
            runs.append({"run_id": run_id, "started_at": started or None, "results": docs})
    runs.sort(key=lambda r: (r["started_at"] or "", r["run_id"]))
    return runs[-limit:]


def compact_entry(doc: Mapping[str, Any]) -> dict[str, Any]:
    """What the run summary and the history keep of a result."""
    ctx = doc.get("context") or {}
    metrics = doc.get("metrics") if isinstance(doc.get("metrics"), Mapping) else {}
    return {
        "task_id": ctx.get("task_id"),
        "map_index": ctx.get("map_index", -1),
        "try_number": ctx.get("try_number"),
        "check": doc.get("check"),
        "kind": doc.get("kind"),
        "status": doc.get("status"),
        "severity": doc.get("severity"),
        "verdict": metrics.get("verdict") if doc.get("kind") == "gate" else None,
        "summary": doc.get("summary"),
        "started_at": doc.get("started_at"),
        "policy": doc.get("policy"),
        "data_fingerprint": (doc.get("data") or {}).get("fingerprint"),
        "assertions": [
            {
                "name": a.get("name"),
                "success": a.get("success"),
                "severity": a.get("severity"),
                "observed": a.get("observed") if _is_number(a.get("observed")) else None,
                "expected": _bounds(a.get("expected")),
            }
            for a in doc.get("assertions") or []
        ],
    }


def _latest_tries(keys: list[str]) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(task, map_index) segments -> (task, map_index, try) segments of the latest try."""
    latest: dict[tuple[str, str], tuple[int, tuple[str, str, str]]] = {}
    for key in keys:
        parts = key.split("/")
        if len(parts) != 7 or parts[6] != RESULT or (number := _try_of(parts[5])) is None:
            continue
        if not parts[4].removeprefix("-").isdigit():  # not a folder we wrote
            continue
        ident = (parts[3], parts[4])
        if ident not in latest or number > latest[ident][0]:
            latest[ident] = (number, (parts[3], parts[4], parts[5]))
    return {k: v[1] for k, v in latest.items()}


def _context(dag_id: str, run_id: str, segments: tuple[str, str, str]) -> dict[str, Any]:
    task, map_index, try_segment = segments
    return {"dag_id": dag_id, "run_id": run_id, "task_id": unquote(task), "map_index": int(unquote(map_index)),
            "try_number": _try_of(try_segment)}  # fmt: skip


def _gate_first(doc: Mapping[str, Any]) -> tuple[int, str, int]:
    ctx = doc.get("context") or {}
    return (0 if doc.get("kind") == "gate" else 1, str(ctx.get("task_id")), int(ctx.get("map_index", -1)))


def _bounds(expected: Any) -> dict[str, Any] | None:
    if isinstance(expected, Mapping) and set(expected) <= {"min", "max"}:
        return {k: v for k, v in expected.items() if _is_number(v)} or None
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
