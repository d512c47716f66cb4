"""``AlignmentPlugin``: the FastAPI app, the Airflow UI's "Alignment" views and the extra link."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from airflow_alignment.links import URL_PREFIX, AlignmentReportLink, root_path
from airflow_alignment.plugin.app import app

_BASE = root_path() + URL_PREFIX

# The UI replaces {DAG_ID}, {RUN_ID} and {TASK_ID} (URL-encoded) and, on mapped task instances
# only, {MAP_INDEX}; the app reads a {MAP_INDEX} left as is as "not mapped".
EXTERNAL_VIEWS = [
    {
        "name": "Alignment",
        "href": _BASE + "/overview",
        "destination": "nav",
        "url_route": "alignment-overview",
    },
    {
        "name": "Alignment",
        "href": _BASE + "/dags/{DAG_ID}/runs/{RUN_ID}/tasks/{TASK_ID}/report?map_index={MAP_INDEX}",
        "destination": "task_instance",
        "url_route": "alignment",
    },
    {
        "name": "Alignment",
        "href": _BASE + "/dags/{DAG_ID}/runs/{RUN_ID}",
        "destination": "dag_run",
        "url_route": "alignment-run",
    },
    {
        "name": "Alignment history",
        "href": _BASE + "/dags/{DAG_ID}/history",
        "destination": "dag",
        "url_route": "alignment-history",
    },
]


# Airflow's home dashboard shows React app plugins only: ours renders the compact overview
REACT_APPS = [
    {
        "name": "Alignment summary",
        "bundle_url": _BASE + "/static/dashboard.js",
        "destination": "dashboard",
        "url_route": "alignment-summary",
    },
]


class AlignmentPlugin(AirflowPlugin):
    name = "airflow_alignment"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [{"app": app, "url_prefix": URL_PREFIX, "name": "Alignment"}]
    external_views = EXTERNAL_VIEWS
    react_apps = REACT_APPS
    operator_extra_links: ClassVar[list[Any]] = [AlignmentReportLink()]
