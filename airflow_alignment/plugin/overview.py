"""What the Alignment overview needs from Airflow itself: the DAGs a user may read and the gate
reviews waiting in Airflow's human-in-the-loop UI. The models and their decisions come from the
artifact store's model index (:mod:`airflow_alignment.store.models`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow_alignment.store import models
from airflow_alignment.store.artifacts import ArtifactStore
from airflow_alignment.urls import app_path, root_path

REVIEWS_SHOWN = 100
GATE_OPERATOR = "AlignmentGateOperator"

log = logging.getLogger(__name__)


def readable_dag_ids(user: Any) -> set[str]:
    """The DAG ids Airflow's auth manager lets ``user`` read (one query of the metadata DB)."""
    from airflow.api_fastapi.app import get_auth_manager

    return set(get_auth_manager().get_authorized_dag_ids(user=user, method="GET"))


def waiting_reviews(readable: set[str], limit: int = REVIEWS_SHOWN) -> list[dict[str, Any]]:
    """Gate reviews no one has answered yet, oldest first, in the DAGs of ``readable``: each with
    its subject and the link to it in Airflow's UI ("Required actions" of the task instance)."""
    if not readable:
        return []
    try:
        from airflow.models.hitl import HITLDetail
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select
    except ImportError:  # an Airflow without human-in-the-loop
        return []
    query = (
        select(
            HITLDetail.subject,
            HITLDetail.created_at,
            TaskInstance.dag_id,
            TaskInstance.run_id,
            TaskInstance.task_id,
            TaskInstance.map_index,
        )
        .join(TaskInstance, HITLDetail.ti_id == TaskInstance.id)
        .where(
            HITLDetail.responded_at.is_(None),
            TaskInstance.operator == GATE_OPERATOR,
            TaskInstance.dag_id.in_(sorted(readable)),
        )
        .order_by(HITLDetail.created_at)
        .limit(limit)
    )
    root = root_path()
    with create_session() as session:
        rows = session.execute(query).all()
    return [
        {
            "subject": row.subject,
            "created_at": row.created_at.isoformat(timespec="seconds") if row.created_at else None,
            "dag_id": row.dag_id,
            "run_id": row.run_id,
            "task_id": row.task_id,
            "map_index": row.map_index,
            "url": _required_actions(root, row.dag_id, row.run_id, row.task_id, row.map_index),
        }
        for row in rows
    ]


def _required_actions(root: str, dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    from urllib.parse import quote

    parts = [quote(p, safe="") for p in (dag_id, run_id, task_id)]
    mapped = f"/mapped/{map_index}" if map_index >= 0 else ""
    return f"{root}/dags/{parts[0]}/runs/{parts[1]}/tasks/{parts[2]}{mapped}/required_actions"


def overview(store: ArtifactStore, readable: set[str], filters: Mapping[str, str | None]) -> dict[str, Any]:
    """The overview's data (the HTML page and its JSON twin): models, waiting reviews, counts."""
    given = {k: v for k, v in filters.items() if v}
    rows = models.overview(store, readable.__contains__, **given)
    root = root_path()
    for row in rows:
        row["run_url"] = app_path("dags", row["dag_id"], "runs", row["run_id"], root=root)
        row["dossier_url"] = app_path(
            "models",
            row["policy_name"] or models.NO_POLICY,
            row["model"],
            "dossier",
            query={"run_id": row["run_id"]},
            root=root,
        )
        row["history_url"] = app_path("dags", row["dag_id"], "history", root=root)
        row["policy_url"] = row["policy_name"] and _filtered(given, policy=row["policy_name"])
        row["owner_url"] = row["owner"] and _filtered(given, owner=row["owner"])
        approved = row["last_approved"]
        if approved:
            approved["run_url"] = app_path("dags", approved["dag_id"], "runs", approved["run_id"], root=root)
    counts: dict[str, dict[str, Any]] = {}
    for row in rows:
        counts.setdefault(row["verdict"], {"count": 0, "url": _filtered(given, verdict=row["verdict"])})
        counts[row["verdict"]]["count"] += 1
    return {
        "models": rows,
        "reviews": waiting_reviews(readable),
        "counts": counts,
        "filters": given,
        "all_url": app_path("overview"),
        "json_url": app_path("api", "overview", query=given or None),
    }


def _filtered(given: Mapping[str, str], **more: str) -> str:
    return app_path("overview", query={**given, **more})
