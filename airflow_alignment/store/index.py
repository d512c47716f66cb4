"""The history index: what the history page shows of each result, in keys that sort newest first.

When a result is published, one small entry is written beside the results::

    index/<dag_id>/<run stamp>~<run_id>/<task_id>~<map_index>~try-<n>.json

``<run stamp>`` is the run's ``run_after`` (the time Airflow orders a DAG's runs by, set on every
run, ``dag.test()`` included) as microseconds counted down from 10^17, zero-padded: the keys of
a DAG's newest run sort first, so the history page lists the index in key order and stops after
the runs it shows (see :mod:`airflow_alignment.store.listing` for what that costs on each
store). Every task instance try writes its own object: tasks of one run running at the same time
never write the same key. Each segment is percent-encoded (:func:`safe_segment`).

An entry is the compact form of the result (:func:`compact_entry`) with ``schema``
(:data:`ENTRY_SCHEMA`), ``dag_id``, ``run_id`` and ``run_after``.

Stores written before the index existed have results and no entries: build them with::

    python -m airflow_alignment.store.index rebuild [--dag DAG_ID ...] [--store URI]

which reads every stored result once (the one operation here that costs the whole history).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from airflow_alignment.results import SCHEMA_ID
from airflow_alignment.store.artifacts import RESULTS, ArtifactStore, safe_segment
from airflow_alignment.store.listing import iter_keys, read_texts

INDEX = "index"
UNREADABLE = "unreadable"  # the status of an entry whose stored file cannot be shown
ENTRY_SCHEMA = "airflow-alignment/index-entry/v1"
RESULT_NAME = "result.json"
_STAMP_TOP = 10**17  # microseconds: 10^17 us after 1970 is the year 5138
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
RUN_FOLDER = re.compile(r"(\d{17})~([A-Za-z0-9%._~-]+)")
_ENTRY_NAME = re.compile(r"(.+)~(-1|\d+)~try-(\d+)\.json")

log = logging.getLogger(__name__)


# -- keys -----------------------------------------------------------------------------------
def run_folder(run_after: datetime | str, run_id: str) -> str:
    """The index folder of a run: its inverted ``run_after`` stamp, ``~``, its encoded id."""
    when = datetime.fromisoformat(run_after) if isinstance(run_after, str) else run_after
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    micros = (when - _EPOCH) // timedelta(microseconds=1)
    return f"{_STAMP_TOP - min(max(micros, 0), _STAMP_TOP - 1):017d}~{safe_segment(run_id)}"


def folder_run(folder: str) -> tuple[str, str] | None:
    """``(run_id, run_after ISO)`` of an index folder name, or ``None`` if it is not one."""
    match = RUN_FOLDER.fullmatch(folder)
    if match is None:
        return None
    when = _EPOCH + timedelta(microseconds=_STAMP_TOP - int(match[1]))
    return unquote(match[2]), when.isoformat()


def entry_key(dag_id: str, folder: str, task_id: str, map_index: int, try_number: int) -> str:
    return f"{INDEX}/{safe_segment(dag_id)}/{folder}/{safe_segment(task_id)}~{map_index}~try-{try_number}.json"


def parse_entry_key(key: str) -> tuple[str, str, int, int] | None:
    """``(run folder, task_id, map_index, try_number)`` of an index key, or ``None``."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != INDEX or RUN_FOLDER.fullmatch(parts[2]) is None:
        return None
    match = _ENTRY_NAME.fullmatch(parts[3])
    if match is None:
        return None
    return parts[2], unquote(match[1]), int(match[2]), int(match[3])


# -- entries --------------------------------------------------------------------------------
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


def unreadable_entry(
    key: str, error: BaseException | str, task_id: str | None = None, map_index: int = -1, try_number: int | None = None
) -> dict[str, Any]:
    """The entry of a stored file that could not be read or is not what it should be: the fields
    of a :func:`compact_entry` (``None`` where unknown), ``status: "unreadable"``, its key and why."""
    entry = compact_entry({"context": {"task_id": task_id, "map_index": map_index, "try_number": try_number}})
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return {**entry, "status": UNREADABLE, "key": key, "error": message}


def parse_entry(key: str, text: str | Exception) -> dict[str, Any]:
    """The index entry stored at ``key`` (as read), or its :func:`unreadable_entry`."""
    parsed = parse_entry_key(key)
    task_id, map_index, try_number = parsed[1:] if parsed else (None, -1, None)
    problem: BaseException | str
    if isinstance(text, Exception):
        problem = text
    else:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            problem = exc
        else:
            problem = _entry_problem(doc, task_id, map_index, try_number)
            if not problem:
                return dict(doc)
    return unreadable_entry(key, problem, task_id, map_index, try_number)


def _entry_problem(doc: Any, task_id: str | None, map_index: int, try_number: int | None) -> str:
    if not isinstance(doc, dict) or doc.get("schema") != ENTRY_SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else type(doc).__name__
        return f"not an {ENTRY_SCHEMA} document (schema: {found!r})"
    expected = {"task_id": task_id, "map_index": map_index, "try_number": try_number}
    wrong = [f"{k}={doc.get(k)!r} (key says {v!r})" for k, v in expected.items() if doc.get(k) != v]
    if not isinstance(doc.get("assertions"), list) or not isinstance(doc.get("status"), str):
        wrong.append("status and assertions missing")
    return "; ".join(wrong)


def entry(doc: Mapping[str, Any], run_after: datetime | str) -> tuple[str, str]:
    """The key and the text of the index entry of a result (``doc``: its JSON form)."""
    ctx = doc.get("context") or {}
    folder = run_folder(run_after, ctx["run_id"])
    key = entry_key(
        ctx["dag_id"], folder, ctx["task_id"], int(ctx.get("map_index", -1)), int(ctx.get("try_number") or 0)
    )
    when = datetime.fromisoformat(run_after) if isinstance(run_after, str) else run_after
    body = {
        "schema": ENTRY_SCHEMA,
        "dag_id": ctx["dag_id"],
        "run_id": ctx["run_id"],
        "run_after": when.isoformat(),
        **compact_entry(doc),
    }
    return key, json.dumps(body, allow_nan=False)


def write_entry(store: ArtifactStore, doc: Mapping[str, Any], run_after: datetime | str) -> str:
    """Write the index entry of a published result (``doc``: its JSON form) and return its key."""
    key, text = entry(doc, run_after)
    store.write_text(key, text)
    return key


def run_after_of(context: Mapping[str, Any], started_at: str | None) -> datetime | str:
    """The run's ``run_after`` from an Airflow task context (its ``logical_date`` on runtimes
    without one); outside a DAG run, ``started_at`` (or now): the result is then a run of its own."""
    dag_run = context.get("dag_run")
    for name in ("run_after", "logical_date"):
        value = getattr(dag_run, name, None)
        if value is not None:
            return value  # type: ignore[no-any-return]
    return started_at or datetime.now(timezone.utc)


# -- rebuild --------------------------------------------------------------------------------
def rebuild(store: ArtifactStore, dag_id: str, run_after: Mapping[str, datetime] | None = None) -> dict[str, int]:
    """Write the index entries of every stored result of ``dag_id`` that has none.

    A run already in the index keeps its folder (entries missing from it are added there); a run
    that is not takes its ``run_after`` from ``run_after`` (e.g. the metadata DB's DagRuns) or,
    without one, the earliest ``started_at`` of its results. Unreadable results are skipped and
    counted. Returns ``{"runs", "entries", "unreadable"}`` (what was written or skipped).
    """
    indexed: dict[str, str] = {}  # run segment -> its folder
    present: set[str] = set()
    for key in iter_keys(store, f"{INDEX}/{safe_segment(dag_id)}"):
        parsed = parse_entry_key(key)
        if parsed:
            indexed.setdefault(parsed[0].split("~", 1)[1], parsed[0])
            present.add(key)
    by_run: dict[str, list[str]] = {}
    prefix = f"{RESULTS}/{safe_segment(dag_id)}"
    for key in iter_keys(store, prefix):
        if key.endswith("/" + RESULT_NAME):
            by_run.setdefault(key[len(prefix) + 1 :].split("/", 1)[0], []).append(key)
    counts = {"runs": 0, "entries": 0, "unreadable": 0}
    for segment, keys in by_run.items():
        folder = indexed.get(segment)
        if folder is not None:  # indexed at publish time: only what its folder lacks
            keys = [k for k in keys if _entry_of_result(dag_id, folder, k) not in present]
        docs = []
        for key, text in read_texts(store, keys).items():
            doc = _result_doc(text)
            if doc is None:
                log.warning("not indexed: %s is unreadable", key)
                counts["unreadable"] += 1
            else:
                docs.append(doc)
        folder = folder or _new_folder(unquote(segment), docs, run_after or {})
        run = folder_run(folder) if folder else None
        if run is None or not docs:
            continue
        for doc in docs:
            write_entry(store, doc, run[1])
        counts["entries"] += len(docs)
        counts["runs"] += 1
    return counts


def _entry_of_result(dag_id: str, folder: str, result: str) -> str | None:
    """The index key of the result stored at ``result`` (``results/<dag>/<run>/<task>/<map>/try-<n>/result.json``)."""
    parts = result.split("/")
    if len(parts) != 7 or not parts[5].startswith("try-") or not parts[5][4:].isdigit():
        return None
    try:
        return entry_key(dag_id, folder, unquote(parts[3]), int(unquote(parts[4])), int(parts[5][4:]))
    except ValueError:
        return None


def _result_doc(text: str | Exception) -> dict[str, Any] | None:

    if isinstance(text, Exception):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    ok = isinstance(doc, dict) and doc.get("schema") == SCHEMA_ID and isinstance(doc.get("context"), dict)
    return doc if ok and doc["context"].get("run_id") and doc["context"].get("task_id") else None


def _new_folder(run_id: str, docs: list[dict[str, Any]], run_after: Mapping[str, datetime]) -> str | None:
    when: datetime | str | None = run_after.get(run_id)
    if when is None:
        when = min((d["started_at"] for d in docs if isinstance(d.get("started_at"), str)), default=None)
    if when is None:
        log.warning("not indexed: run %s has no readable result with a start time", run_id)
        return None
    return run_folder(when, run_id)


def stored_dags(store: ArtifactStore) -> list[str]:
    """The DAG ids that have results in ``store``."""
    dags = {unquote(key[len(RESULTS) + 1 :].split("/", 1)[0]) for key in _first_keys(store)}
    return sorted(dags)


def _first_keys(store: ArtifactStore) -> Iterable[str]:
    """One key per DAG folder of ``results/`` (the walk skips to the next folder after one)."""
    previous = None
    while True:
        found = next(iter_keys(store, RESULTS, after=previous), None)
        if found is None:
            return
        yield found
        previous = found[len(RESULTS) + 1 :].split("/", 1)[0]


def dag_runs_after(dag_id: str) -> dict[str, datetime]:
    """``run_id -> run_after`` of a DAG's runs in Airflow's metadata DB (empty without one)."""
    try:
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session

        with create_session() as session:
            rows = session.query(DagRun.run_id, DagRun.run_after).filter(DagRun.dag_id == dag_id).all()
    except Exception as exc:  # noqa: BLE001 - no DB here: the results' start times are used
        log.warning("no run_after from Airflow's metadata DB (%s); runs are ordered by their results' start", exc)
        return {}
    return {run_id: when for run_id, when in rows if when is not None}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m airflow_alignment.store.index",
        description="Build the history index of results stored before it existed.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("rebuild", help="index every stored result that has no index entry")
    build.add_argument("--dag", action="append", help="a DAG id (repeat for several; default: every DAG)")
    build.add_argument("--store", help="artifact store base (default: [alignment] artifact_store)")
    build.add_argument("--no-db", action="store_true", help="order new runs by their results' start, not the DB")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    store = ArtifactStore(args.store)
    for dag_id in args.dag or stored_dags(store):
        counts = rebuild(store, dag_id, {} if args.no_db else dag_runs_after(dag_id))
        print(
            f"{dag_id}: {counts['entries']} entries written for {counts['runs']} runs, "
            f"{counts['unreadable']} unreadable results skipped ({store.base})"
        )
    return 0


def _bounds(expected: Any) -> dict[str, Any] | None:
    if isinstance(expected, Mapping) and set(expected) <= {"min", "max"}:
        return {k: v for k, v in expected.items() if _is_number(v)} or None
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


if __name__ == "__main__":
    sys.exit(main())
