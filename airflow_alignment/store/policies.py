"""Policies as they were: each policy a gate decided against, kept once per hash.

A gate decision records the policy's name, version and sha256; the dossier of that decision must
show the policy itself, even after the YAML file changed. So the gate keeps a snapshot beside
the results, written once per policy version (content-addressed, never rewritten)::

    policies/<name>/<sha256>.json   {"schema", "name", "version", "sha256", "content", "text"}

``content`` is what the hash covers (the policy as a mapping); ``text`` the YAML as written, when
the policy came from a file or a string. :func:`read_snapshot` recomputes the hash of
``content``: a snapshot edited after the fact says ``verified: false``.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_alignment.policy import Policy, canonical_sha256
from airflow_alignment.store.artifacts import ArtifactStore, safe_segment

POLICIES = "policies"
SNAPSHOT_SCHEMA = "airflow-alignment/policy-snapshot/v1"


def snapshot_key(name: str, sha256: str) -> str:
    return f"{POLICIES}/{safe_segment(name)}/{safe_segment(sha256)}.json"


def write_snapshot(store: ArtifactStore, policy: Policy) -> str | None:
    """Keep ``policy`` in ``store`` unless that version is already there; its key."""
    if policy.content is None:
        return None
    key = snapshot_key(policy.name, policy.sha256)
    if not store.exists(key):  # written once: a failed publish must never remove an older decision's policy
        body = {
            "schema": SNAPSHOT_SCHEMA,
            "name": policy.name,
            "version": policy.version,
            "sha256": policy.sha256,
            "content": policy.content,
            "text": policy.text,
        }
        store.write_text(key, json.dumps(body, allow_nan=False, default=str))
    return key


def read_snapshot(store: ArtifactStore, name: str, sha256: str) -> dict[str, Any] | None:
    """The snapshot of a policy version with ``verified`` (its content still has its hash), or
    ``None`` when none was kept (decisions recorded before snapshots existed)."""
    key = snapshot_key(name, sha256)
    if not store.exists(key):
        return None
    try:
        doc = json.loads(store.read_text(key))
        content = doc["content"]
        verified = canonical_sha256(content) == sha256 == doc.get("sha256")
    except (ValueError, KeyError, TypeError) as exc:
        return {"key": key, "verified": False, "error": f"{type(exc).__name__}: {exc}"}
    return {**doc, "key": key, "verified": verified}
