"""The compliance dossier of one model version: everything behind one gate decision, in one record.

For a decision (an approved, rejected or reviewed gate decision about a policy's model, found in
the model index, :mod:`airflow_alignment.store.models`) it gathers:

- the **policy as it was**: its snapshot (:mod:`airflow_alignment.store.policies`): full
  text, version, sha256 (re-computed), owner, each check's severity, thresholds, owner,
  rationale and references;
- each **check's result** in that run (status, summary, assertions with observed values and
  bounds) and the **data it read** (source, rows, fingerprint, OpenLineage dataset name);
- the **gate's verdict**, the reviewer and their decision with its time;
- the **previous approved version** of the model and what changed: each assertion's observed
  value then and now, side by side;
- the **audit records** of the run, each checksum verified;
- a **coverage table**: each requirement named in the policy's ``references`` -> the checks
  that evidence it -> their status.

:func:`build` returns it as a JSON-able dict (the ``/api/`` route and ``airflow-alignment
dossier --json``); :func:`airflow_alignment.reporting.html.render_dossier` as a self-contained
page that prints to PDF from the browser.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_alignment.io.backends import file_dataset_name
from airflow_alignment.store import audit, models, policies
from airflow_alignment.store.artifacts import RESULT_NAME, ArtifactStore, result_key

DOSSIER_SCHEMA = "airflow-alignment/dossier/v1"
DECIDED = ("approved", "rejected")
ALL_DECISIONS = 1_000_000  # a dossier may go back to any decision: keys only are listed
_AUDIT_MARGIN = timedelta(hours=1)


class DossierNotFound(LookupError):
    """No decision of this policy and model (in the DAGs the reader may read), or not that run."""


def build(
    store: ArtifactStore,
    policy_name: str,
    model: str,
    run_id: str | None = None,
    readable: Callable[[str], bool] = lambda dag_id: True,
) -> dict[str, Any]:
    """The dossier of the decision of ``run_id`` (default: the newest approved or rejected one)."""
    folder = models.model_folder(policy_name, model)
    found = models.decisions(store, folder, readable, scan=ALL_DECISIONS)
    if not found:
        raise DossierNotFound(f"no gate decision about model {model!r} under policy {policy_name!r}")
    if run_id is None:
        chosen = next((d for d in found if d.verdict in DECIDED), found[0])
    else:
        chosen = next((d for d in found if d.run_id == run_id), None)
        if chosen is None:
            raise DossierNotFound(
                f"no gate decision about model {model!r} under policy {policy_name!r} in run {run_id!r}"
            )
    gate = _result(store, chosen.dag_id, chosen.run_id, chosen.task_id, chosen.map_index, chosen.try_number)
    checks = _checks(store, chosen.dag_id, chosen.run_id, gate)
    metrics = gate.get("metrics") or {}
    policy_ref = gate.get("policy") or {}
    snapshot = policy_ref.get("sha256") and policies.read_snapshot(store, policy_name, policy_ref["sha256"])
    previous = next((d for d in found if d.stamp > chosen.stamp and d.verdict == "approved"), None)
    return {
        "schema": DOSSIER_SCHEMA,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "policy_name": policy_name,
        "model": model,
        "decision": {
            "verdict": metrics.get("verdict", chosen.verdict),
            "status": gate.get("status"),
            "summary": gate.get("summary"),
            "reviewed": bool(metrics.get("reviewed")),
            "reviewer": metrics.get("reviewer"),
            "responded_at": metrics.get("responded_at"),
            "dag_id": chosen.dag_id,
            "run_id": chosen.run_id,
            "run_after": chosen.run_after,
            "task_id": chosen.task_id,
            "map_index": chosen.map_index,
            "try_number": chosen.try_number,
            "decided_at": _ended(gate),
            "result_key": result_key(_context(chosen)),
        },
        "policy": _policy(policy_ref, snapshot),
        "checks": checks,
        "previous_approved": previous and _previous(store, previous, checks),
        "audit": _audit(store, chosen, checks),
        "coverage": _coverage(snapshot, checks),
    }


# -- parts ----------------------------------------------------------------------------------
def _context(d: models.Decision) -> dict[str, Any]:
    return {
        "dag_id": d.dag_id,
        "run_id": d.run_id,
        "task_id": d.task_id,
        "map_index": d.map_index,
        "try_number": d.try_number,
    }


def _result(
    store: ArtifactStore, dag_id: str, run_id: str, task_id: str, map_index: int = -1, try_number: int | None = None
) -> dict[str, Any]:
    """A stored result (``try_number``: that try; ``None``: the latest try that left one), or
    ``{"status": "unreadable", "error": ...}`` / ``{"status": "missing"}``."""
    context = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index, "try_number": 0}
    if try_number is None:
        folder = result_key(context).rsplit("/", 2)[0]
        tries = [k.rsplit("/", 2)[-2] for k in store.list(folder) if k.endswith("/" + RESULT_NAME)]
        numbers = [int(t[4:]) for t in tries if t.startswith("try-") and t[4:].isdigit()]
        if not numbers:
            return {"status": "missing", "key": folder}
        try_number = max(numbers)
    key = result_key({**context, "try_number": try_number})
    try:
        doc = json.loads(store.read_text(key))
    except FileNotFoundError:
        return {"status": "missing", "key": key}
    except (ValueError, UnicodeDecodeError) as exc:
        return {"status": "unreadable", "key": key, "error": f"{type(exc).__name__}: {exc}"}
    if not isinstance(doc, dict):
        return {"status": "unreadable", "key": key, "error": "not a result object"}
    return {**doc, "key": key}


def _checks(store: ArtifactStore, dag_id: str, run_id: str, gate: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The results the gate judged: the task ids in its assertions, each read (latest try)."""
    out = []
    for assertion in gate.get("assertions") or []:
        details = assertion.get("details") or {}
        task_id = details.get("task_id") or assertion.get("name")
        doc = _result(store, dag_id, run_id, task_id)
        data = doc.get("data") if isinstance(doc.get("data"), Mapping) else {}
        out.append(
            {
                "check": assertion.get("name"),
                "task_id": task_id,
                "kind": doc.get("kind"),
                "status": doc.get("status"),
                "severity": doc.get("severity", assertion.get("severity")),
                "summary": doc.get("summary"),
                "error": doc.get("error"),
                "try_number": (doc.get("context") or {}).get("try_number"),
                "key": doc.get("key"),
                "data": {
                    "source": data.get("source"),
                    "rows": data.get("rows"),
                    "fingerprint": data.get("fingerprint"),
                    "dataset": _dataset(data.get("source")),
                },
                "assertions": [
                    {
                        "name": a.get("name"),
                        "success": a.get("success"),
                        "severity": a.get("severity"),
                        "observed": a.get("observed"),
                        "expected": a.get("expected"),
                    }
                    for a in doc.get("assertions") or []
                    if isinstance(a, Mapping)
                ],
            }
        )
    return out


def _dataset(source: Any) -> dict[str, str] | None:
    """The OpenLineage dataset (namespace and name) of a file or object source, as the
    operators' lineage events name it; ``None`` for sources that name no file."""
    if not isinstance(source, str) or not source:
        return None
    namespace, name = file_dataset_name(source)
    return {"namespace": namespace, "name": name}


def _ended(doc: Mapping[str, Any]) -> str | None:
    started, duration = doc.get("started_at"), doc.get("duration_s")
    if not isinstance(started, str):
        return None
    try:
        return (datetime.fromisoformat(started) + timedelta(seconds=float(duration or 0))).isoformat(timespec="seconds")
    except (TypeError, ValueError):
        return started


def _policy(ref: Mapping[str, Any], snapshot: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": ref.get("name"),
        "version": ref.get("version"),
        "sha256": ref.get("sha256"),
        "snapshot": None,
    }
    if not snapshot:
        return {**out, "note": "no snapshot of this policy version is stored (decided before snapshots were kept)"}
    if "content" not in snapshot:
        return {**out, "snapshot": {"key": snapshot["key"], "verified": False, "error": snapshot.get("error")}}
    content = snapshot["content"]
    checks = []
    for check in content.get("checks") or []:
        if not isinstance(check, Mapping):
            continue
        thresholds = {
            k: check[k]
            for k in ("constraints", "expectations", "features", "psi_max", "p_value_min", "max_share_drifted")
            if k in check
        }
        checks.append(
            {
                "name": check.get("name"),
                "kind": check.get("kind"),
                "severity": check.get("severity", (content.get("defaults") or {}).get("severity", "block")),
                "owner": check.get("owner"),
                "rationale": check.get("rationale"),
                "references": _refs(check.get("references")),
                "thresholds": thresholds,
            }
        )
    return {
        **out,
        "owner": content.get("owner"),
        "description": content.get("description"),
        "references": _refs(content.get("references")),
        "checks": checks,
        "text": snapshot.get("text"),
        "content": content,
        "snapshot": {"key": snapshot["key"], "verified": snapshot["verified"]},
    }


def _refs(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [r for r in value or [] if isinstance(r, str)]


def _previous(store: ArtifactStore, previous: models.Decision, checks: list[dict[str, Any]]) -> dict[str, Any]:
    gate = _result(store, previous.dag_id, previous.run_id, previous.task_id, previous.map_index, previous.try_number)
    then = {c["check"]: c for c in _checks(store, previous.dag_id, previous.run_id, gate)}
    changes = []
    for check in checks:
        before = {a["name"]: a for a in (then.get(check["check"]) or {}).get("assertions", [])}
        for a in check["assertions"]:
            b = before.get(a["name"], {})
            changes.append(
                {
                    "check": check["check"],
                    "assertion": a["name"],
                    "before": b.get("observed"),
                    "after": a["observed"],
                    "expected": a["expected"],
                    "passed_before": b.get("success"),
                    "passed_after": a["success"],
                }
            )
    return {
        "dag_id": previous.dag_id,
        "run_id": previous.run_id,
        "run_after": previous.run_after,
        "policy": gate.get("policy"),
        "summary": gate.get("summary"),
        "changes": changes,
    }


def _audit(store: ArtifactStore, chosen: models.Decision, checks: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's audit records, each checksum verified by :func:`audit.read_audit` (a record that
    fails is counted damaged). On object storage only records written after the run's
    ``run_after`` (less a margin for clock skew) are read: every task of the run publishes after it."""
    since = datetime.fromisoformat(chosen.run_after) - _AUDIT_MARGIN if chosen.run_after else None
    log = audit.read_audit(store, since=since, dag_id=chosen.dag_id, run_id=chosen.run_id)
    records = [
        {
            k: r.get(k)
            for k in (
                "time",
                "task_id",
                "try_number",
                "kind",
                "check",
                "status",
                "verdict",
                "reviewer",
                "data_fingerprint",
                "sha256",
            )
        }
        for r in log.records
    ]
    gate_recorded = any(r["kind"] == "gate" and r["task_id"] == chosen.task_id for r in records)
    unrecorded = [c["check"] for c in checks if not any(r["task_id"] == c["task_id"] for r in records)]
    return {
        "records": records,
        "verified": len(records),
        "damaged_in_window": log.damaged,
        "gate_recorded": gate_recorded,
        "checks_without_record": unrecorded,
        "complete": gate_recorded and not unrecorded and not log.damaged,
    }


def _coverage(snapshot: Mapping[str, Any] | None, checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Requirement -> the checks that evidence it -> their status. A reference of the policy
    itself is evidenced by every check; a check's reference by that check."""
    if not snapshot or "content" not in snapshot:
        return []
    content = snapshot["content"]
    status = {c["check"]: c["status"] for c in checks}
    evidence: dict[str, list[str]] = {}
    for ref in _refs(content.get("references")):
        evidence.setdefault(ref, []).extend(c["check"] for c in checks)
    for check in content.get("checks") or []:
        if isinstance(check, Mapping):
            for ref in _refs(check.get("references")):
                evidence.setdefault(ref, []).append(check.get("name"))
    rows = []
    for ref, names in evidence.items():
        names = list(dict.fromkeys(names))
        statuses = [status.get(n, "missing") for n in names]
        worst = next((s for s in ("error", "missing", "unreadable", "failed", "warned") if s in statuses), "passed")
        rows.append(
            {
                "requirement": ref,
                "checks": [{"check": n, "status": s} for n, s in zip(names, statuses, strict=True)],
                "status": worst,
            }
        )
    return rows
