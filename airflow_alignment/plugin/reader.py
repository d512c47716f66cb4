"""What the plugin's pages show, read from the artifact store. Nothing here computes a check.

Results sit at ``results/<dag>/<run>/<task>/<map_index>/try-<n>/result.json`` (see
:func:`airflow_alignment.store.artifacts.result_key`), the report beside them as
``report.html``; the history reads the index (:mod:`airflow_alignment.store.index`).
Identifiers are turned into keys only by ``result_key``, ``safe_segment`` and the index's key
functions, which percent-encode every segment: whatever a URL carries, a key stays inside its
folder.

Every page costs what it shows: a task's page lists its task folder, a run's page its run
folder, the history the newest ``limit`` runs of the index (:mod:`airflow_alignment.store.listing`).
A stored file that cannot be read, or is not what it should be, becomes one entry with
``status: "unreadable"``, its key and the error (:func:`~airflow_alignment.store.index.unreadable_entry`);
the rest of the page is shown.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from airflow_alignment.results import SCHEMA_ID, validate
from airflow_alignment.store.artifacts import RESULTS, ArtifactStore, result_key, safe_segment
from airflow_alignment.store.index import (
    INDEX,
    UNREADABLE,
    compact_entry,
    folder_run,
    parse_entry,
    parse_entry_key,
    unreadable_entry,
)
from airflow_alignment.store.listing import iter_keys, read_texts

RESULT = "result.json"
REPORT = "report.html"

log = logging.getLogger(__name__)


def _folder(*parts: Any) -> str:
    return "/".join([RESULTS, *(safe_segment(p) for p in parts)])


def _try_of(segment: str) -> int | None:
    number = segment.removeprefix("try-")
    return int(number) if segment.startswith("try-") and number.isdigit() else None


def is_unreadable(entry: Mapping[str, Any]) -> bool:
    return entry.get("status") == UNREADABLE


# -- one task instance ----------------------------------------------------------------------
def task_files(store: ArtifactStore, dag_id: str, run_id: str, task_id: str, map_index: int) -> dict[int, set[str]]:
    """The files (``result.json``, ``report.html``) stored for each try of a task instance."""
    folder = _folder(dag_id, run_id, task_id, map_index)
    found: dict[int, set[str]] = {}
    for key in iter_keys(store, folder):
        rest = key[len(folder) + 1 :].split("/")
        if len(rest) == 2 and (number := _try_of(rest[0])) is not None:
            found.setdefault(number, set()).add(rest[1])
    return found


def task_try(
    store: ArtifactStore, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int | None
) -> tuple[dict[str, Any], set[str]] | None:
    """The context of the asked try (the latest when ``try_number`` is None) that left a result,
    and the names of its stored files; ``None`` when it left none."""
    files = {n: names for n, names in task_files(store, dag_id, run_id, task_id, map_index).items() if RESULT in names}
    if not files or (try_number is not None and try_number not in files):
        return None
    number = max(files) if try_number is None else try_number
    context = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index, "try_number": number}
    return context, files[number]


def read_result(store: ArtifactStore, context: Mapping[str, Any]) -> dict[str, Any]:
    """The stored result of a task instance try, or its unreadable entry (:func:`is_unreadable`)."""
    key = result_key(context, RESULT)
    return _result(key, read_texts(store, [key])[key])


def read_report(store: ArtifactStore, context: Mapping[str, Any]) -> str | None:
    """The stored report, or ``None`` when it cannot be read (the page is then rendered from the result)."""
    key = result_key(context, REPORT)
    text = read_texts(store, [key])[key]
    if isinstance(text, Exception):
        log.warning("report %s could not be read (%s); rendering it from the result", key, text)
        return None
    return text


# -- one run --------------------------------------------------------------------------------
def run_results(store: ArtifactStore, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    """The latest try of every task instance of a run that left a result, as compact entries
    (:func:`~airflow_alignment.store.index.compact_entry`): gates first."""
    latest = _latest_tries(list(iter_keys(store, _folder(dag_id, run_id))))
    keys = {result_key(_context(dag_id, run_id, seg), RESULT): seg for seg in latest.values()}
    entries = []
    for key, text in read_texts(store, keys).items():
        doc = _result(key, text)
        if is_unreadable(doc):
            ctx = _context(dag_id, run_id, keys[key])
            entries.append(unreadable_entry(key, doc["error"], ctx["task_id"], ctx["map_index"], ctx["try_number"]))
        else:
            entries.append(compact_entry(doc))
    return sorted(entries, key=_gate_first)


# -- the history ----------------------------------------------------------------------------
def dag_history(store: ArtifactStore, dag_id: str, limit: int, before: str | None = None) -> dict[str, Any]:
    """The ``limit`` newest runs of a DAG in the index (older than the run folder ``before``),
    oldest first, each with the latest try of every task instance; and the folder to pass as
    ``before`` for older runs (``None`` when there are none).

    Returns ``{"runs": [{run_id, run_after, started_at, results}], "next_before",
    "unindexed_results"}``; ``unindexed_results`` is true when the index of the DAG is empty but
    results are stored (written before the index existed: see ``index rebuild``).
    """
    runs: dict[str, dict[tuple[str, int], tuple[int, str]]] = {}
    more = False
    for key in iter_keys(store, f"{INDEX}/{safe_segment(dag_id)}", after=before):
        parsed = parse_entry_key(key)
        if parsed is None:
            continue
        folder, task_id, map_index, try_number = parsed
        if folder not in runs and len(runs) == limit:
            more = True
            break
        latest = runs.setdefault(folder, {})
        if (task_id, map_index) not in latest or try_number > latest[(task_id, map_index)][0]:
            latest[(task_id, map_index)] = (try_number, key)
    texts = read_texts(store, [key for latest in runs.values() for _, key in latest.values()])
    shown = []
    for folder, latest in runs.items():
        run_id, run_after = folder_run(folder) or (folder, None)
        entries = sorted((parse_entry(key, texts[key]) for _, key in latest.values()), key=_gate_first)
        started = min((e["started_at"] for e in entries if isinstance(e.get("started_at"), str)), default=None)
        shown.append({"run_id": run_id, "run_after": run_after, "started_at": started, "results": entries})
    unindexed = not runs and before is None and next(iter_keys(store, _folder(dag_id)), None) is not None
    next_before = list(runs)[-1] if more else None
    return {"runs": shown[::-1], "next_before": next_before, "unindexed_results": unindexed}


# -- reading --------------------------------------------------------------------------------
def _result(key: str, text: str | Exception) -> dict[str, Any]:
    """The validated result document read at ``key``, or its unreadable entry."""
    from jsonschema import ValidationError

    if isinstance(text, Exception):
        return unreadable_entry(key, text)
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("schema") != SCHEMA_ID:
            found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
            return unreadable_entry(key, f"not a {SCHEMA_ID} document (schema: {found!r})")
        validate(doc)
    except ValueError as exc:
        return unreadable_entry(key, exc)
    except ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the document"
        return unreadable_entry(key, f"not a check result: {where}: {exc.message}")
    return doc


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
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": unquote(task),
        "map_index": int(unquote(map_index)),
        "try_number": _try_of(try_segment),
    }


def _gate_first(entry: Mapping[str, Any]) -> tuple[int, str, int]:
    map_index = entry.get("map_index")
    return (
        0 if entry.get("kind") == "gate" else 1,
        str(entry.get("task_id")),
        map_index if isinstance(map_index, int) else -1,
    )
