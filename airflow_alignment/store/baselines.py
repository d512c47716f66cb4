"""Baselines: the results of the last approved run, per policy and model.

The gate writes them when it approves; fairness and performance checks with
``baseline: {max_increase: ...}`` constraints read them ("no worse than the model in
production"). Keys: ``baselines/<policy>/<model>/latest.json`` (the current baseline) and
``baselines/<policy>/<model>/history/<run_id>.json`` (every approval, kept).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from airflow_alignment.store.artifacts import ArtifactStore, safe_segment


def baseline_key(policy: str, model: str, name: str = "latest.json") -> str:
    return f"baselines/{safe_segment(policy)}/{safe_segment(model)}/{name}"


def write_approved(store: ArtifactStore, policy: str, model: str, record: Mapping[str, Any]) -> str:
    """Make ``record`` (the gate's verdict plus the full results it approved) the baseline."""
    text = json.dumps(record, allow_nan=False)
    run = safe_segment((record.get("context") or {}).get("run_id") or "run")
    store.write_text(baseline_key(policy, model, f"history/{run}.json"), text)
    return store.write_text(baseline_key(policy, model), text)


def read_latest(store: ArtifactStore, policy: str, model: str) -> dict[str, Any] | None:
    key = baseline_key(policy, model)
    if not store.exists(key):
        return None
    return json.loads(store.read_text(key))


def last_approved(store: ArtifactStore, policy: str, model: str, check: str) -> dict[str, Any] | None:
    """The full result of ``check`` in the last approved run, or ``None`` when there is none."""
    latest = read_latest(store, policy, model)
    if not latest:
        return None
    result = (latest.get("results") or {}).get(check)
    return dict(result) if result else None
