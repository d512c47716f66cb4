"""The model index: every gate decision, filed by policy and model, newest first.

When a gate that names a ``model`` publishes its decision, one small entry is written::

    models/<policy>~<model>/<run stamp>~<verdict>~<dag_id>~<run_id>~<task_id>~<map_index>~try-<n>.json

``<run stamp>`` is the run's inverted ``run_after`` (as in :mod:`airflow_alignment.store.index`):
a model's newest decision is the first key of its folder. The verdict, DAG and run are in the
key itself, so the overview of a model reads its folder's listing (one ``ListObjectsV2`` page on
S3: the last :data:`SCAN` decisions) for the sparkline and the last approved run, and GETs one
object, the newest decision. The overview of M models costs M listings and M reads, whatever
the length of their history. Each segment is percent-encoded, ``~`` included, so ``~``
separates fields unambiguously.

The entry repeats what the overview shows of the decision (verdict, reviewer, policy version
and hash, owner, the checks' statuses); the gate's full result stays where it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from airflow_alignment.store.artifacts import ArtifactStore, safe_segment
from airflow_alignment.store.index import folder_run, run_folder
from airflow_alignment.store.listing import iter_keys, read_texts

MODELS = "models"
MODEL_ENTRY_SCHEMA = "airflow-alignment/model-entry/v1"
NO_POLICY = "-"
SCAN = 1000  # decisions listed per model (one S3 listing page): sparkline and last approval
SPARKLINE = 20  # decisions shown in a model's sparkline


def _segment(value: object) -> str:
    return safe_segment(value).replace("~", "%7E")


def model_folder(policy: str | None, model: str) -> str:
    return f"{MODELS}/{_segment(policy or NO_POLICY)}~{_segment(model)}"


@dataclass(frozen=True)
class Decision:
    """What a model entry's key says: enough for a sparkline without reading the object."""

    key: str
    stamp: str
    verdict: str
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int

    @property
    def run_after(self) -> str | None:
        found = folder_run(f"{self.stamp}~x")
        return found[1] if found else None


def parse_key(key: str) -> Decision | None:
    name = key.rsplit("/", 1)[-1]
    if not name.endswith(".json"):
        return None
    parts = name[: -len(".json")].split("~")
    if len(parts) != 7 or not parts[6].startswith("try-") or not parts[6][4:].isdigit():
        return None
    stamp, verdict, dag_id, run_id, task_id, map_index, _ = parts
    try:
        number = int(map_index)
    except ValueError:
        return None
    return Decision(
        key, stamp, unquote(verdict), unquote(dag_id), unquote(run_id), unquote(task_id), number, int(parts[6][4:])
    )


def entry(doc: Mapping[str, Any], run_after: datetime | str, owner: str | None = None) -> tuple[str, str] | None:
    """The key and text of the model entry of a gate's result (``doc``: its JSON form), or
    ``None`` for a result that is not a gate decision about a named model."""
    metrics = doc.get("metrics") if isinstance(doc.get("metrics"), Mapping) else {}
    model = metrics.get("model")
    if doc.get("kind") != "gate" or not model:
        return None
    ctx = doc.get("context") or {}
    policy = doc.get("policy") if isinstance(doc.get("policy"), Mapping) else {}
    verdict = str(metrics.get("verdict") or "unknown")
    stamp = run_folder(run_after, ctx["run_id"]).split("~", 1)[0]
    map_index, try_number = int(ctx.get("map_index", -1)), int(ctx.get("try_number") or 0)
    name = "~".join(
        [
            stamp,
            _segment(verdict),
            _segment(ctx["dag_id"]),
            _segment(ctx["run_id"]),
            _segment(ctx["task_id"]),
            str(map_index),
            f"try-{try_number}",
        ]
    )
    when = datetime.fromisoformat(run_after) if isinstance(run_after, str) else run_after
    body = {
        "schema": MODEL_ENTRY_SCHEMA,
        "policy_name": policy.get("name"),
        "model": model,
        "owner": owner,
        "verdict": verdict,
        "reviewed": bool(metrics.get("reviewed")),
        "reviewer": metrics.get("reviewer"),
        "responded_at": metrics.get("responded_at"),
        "dag_id": ctx["dag_id"],
        "run_id": ctx["run_id"],
        "run_after": when.isoformat(),
        "task_id": ctx["task_id"],
        "map_index": map_index,
        "try_number": try_number,
        "status": doc.get("status"),
        "summary": doc.get("summary"),
        "started_at": doc.get("started_at"),
        "policy": dict(policy) or None,
        "checks": [
            {k: c.get(k) for k in ("task_id", "check", "status", "summary")}
            for c in metrics.get("checks") or []
            if isinstance(c, Mapping)
        ],
    }
    return f"{model_folder(policy.get('name'), model)}/{name}.json", json.dumps(body, allow_nan=False, default=str)


def write_entry(
    store: ArtifactStore, doc: Mapping[str, Any], run_after: datetime | str, owner: str | None = None
) -> str | None:
    """Write the model entry of a published gate result; its key, or ``None`` if not a model's."""
    made = entry(doc, run_after, owner)
    if made is None:
        return None
    store.write_text(*made)
    return made[0]


# -- reading --------------------------------------------------------------------------------
def model_folders(store: ArtifactStore) -> Iterator[tuple[str, str, str]]:
    """``(folder, policy name, model)`` of every model with a decision, one listing step each
    (the walk skips to the next model after the first key of one)."""
    previous = None
    while True:
        found = next(iter_keys(store, MODELS, after=previous), None)
        if found is None:
            return
        previous = found[len(MODELS) + 1 :].split("/", 1)[0]
        policy, _, model = previous.partition("~")
        yield f"{MODELS}/{previous}", unquote(policy), unquote(model)


def decisions(store: ArtifactStore, folder: str, readable: Callable[[str], bool], scan: int = SCAN) -> list[Decision]:
    """The newest decisions of a model (at most ``scan`` keys listed), newest first, one per
    gate task instance (its latest try; within a try, a person's decision supersedes the
    ``needs_review`` the gate recorded when it asked), only of DAGs ``readable`` lets the user read."""
    latest: dict[tuple[str, str, str, int], Decision] = {}
    for n, key in enumerate(iter_keys(store, folder)):
        if n >= scan:
            break
        found = parse_key(key)
        if found is None or not readable(found.dag_id):
            continue
        instance = (found.dag_id, found.run_id, found.task_id, found.map_index)
        if instance not in latest or _rank(found) > _rank(latest[instance]):
            latest[instance] = found
    return sorted(latest.values(), key=lambda d: (d.stamp, d.dag_id, d.run_id, d.task_id))


def _rank(decision: Decision) -> tuple[int, bool]:
    return decision.try_number, decision.verdict != "needs_review"


def overview(
    store: ArtifactStore,
    readable: Callable[[str], bool],
    *,
    policy: str | None = None,
    owner: str | None = None,
    verdict: str | None = None,
) -> list[dict[str, Any]]:
    """One row per policy x model the user may see: its newest decision (read), the last
    approved one and a sparkline of the newest :data:`SPARKLINE` verdicts (from the listing).
    Filters: ``policy`` (name), ``owner`` (the policy's owner), ``verdict`` (of the newest)."""
    rows = []
    for folder, policy_name, model in model_folders(store):
        if policy is not None and policy_name != policy:
            continue
        found = decisions(store, folder, readable)
        if not found:
            continue
        newest = found[0]
        if verdict is not None and newest.verdict != verdict:
            continue
        text = read_texts(store, [newest.key])[newest.key]
        body = _body(text)
        if owner is not None and body.get("owner") != owner:
            continue
        approved = next((d for d in found if d.verdict == "approved"), None)
        rows.append(
            {
                "policy_name": None if policy_name == NO_POLICY else policy_name,
                "model": model,
                "verdict": newest.verdict,
                "dag_id": newest.dag_id,
                "run_id": newest.run_id,
                "task_id": newest.task_id,
                "map_index": newest.map_index,
                "run_after": newest.run_after,
                "owner": body.get("owner"),
                "policy": body.get("policy"),
                "summary": body.get("summary"),
                "reviewer": body.get("reviewer"),
                "checks": body.get("checks") or [],
                "unreadable": body.get("error"),
                "last_approved": approved
                and {"dag_id": approved.dag_id, "run_id": approved.run_id, "run_after": approved.run_after},
                "sparkline": [d.verdict for d in found[:SPARKLINE]][::-1],
            }
        )
    return rows


def _body(text: str | Exception) -> dict[str, Any]:
    if isinstance(text, Exception):
        return {"error": f"{type(text).__name__}: {text}"}
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return {"error": f"invalid JSON: {exc}"}
    if not isinstance(doc, dict) or doc.get("schema") != MODEL_ENTRY_SCHEMA:
        return {"error": "not a model entry"}
    return doc
