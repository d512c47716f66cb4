"""The operator extra link "Alignment report" (the paths are :mod:`airflow_alignment.urls`').

Light on purpose: operators import this module when a DAG file is parsed, so it imports neither
FastAPI nor the plugin's app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from airflow.sdk import BaseOperatorLink

from airflow_alignment.urls import URL_PREFIX, app_path, report_path, root_path

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey
    from airflow.sdk import BaseOperator

__all__ = ["URL_PREFIX", "AlignmentReportLink", "app_path", "report_path", "root_path"]


class AlignmentReportLink(BaseOperatorLink):
    """The "Alignment report" button of a task instance: the plugin's page of its report."""

    name = "Alignment report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.configuration import conf

        base = ""
        configured = conf.get("api", "base_url", fallback="") or ""
        if configured.startswith(("http://", "https://")):
            parts = urlsplit(configured)
            base = f"{parts.scheme}://{parts.netloc}"
        context = {
            "dag_id": ti_key.dag_id,
            "run_id": ti_key.run_id,
            "task_id": ti_key.task_id,
            "map_index": ti_key.map_index,
        }
        return base + report_path(context, try_number=getattr(ti_key, "try_number", None))
