"""Where the plugin serves things: the paths of its pages, built once here.

Pure Python (Airflow's configuration is read when a path is built): reports, the gate's review
text, the plugin's pages and the "Alignment report" extra link all link through these.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

URL_PREFIX = "/alignment"


def root_path() -> str:
    """The path Airflow is served under (from ``[api] base_url``), without a trailing slash."""
    from airflow.configuration import conf  # Airflow's settings: loaded when a path is built

    return urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


def app_path(*segments: Any, query: Mapping[str, Any] | None = None, root: str | None = None) -> str:
    """An absolute path into the plugin's app; every segment is percent-encoded. ``root``: the
    :func:`root_path`, when the caller builds many paths (reading the option costs 25 us)."""
    root = root_path() if root is None else root
    path = root + URL_PREFIX + "".join(map(_segment, segments))
    wanted = {k: v for k, v in (query or {}).items() if v is not None}
    return f"{path}?{urlencode(wanted)}" if wanted else path


@lru_cache(maxsize=4096)
def _segment(value: Any) -> str:
    """``/`` and the percent-encoded ``value`` (a history page builds 600 paths of a few ids)."""
    return "/" + quote(str(value), safe="")


def report_path(context: Mapping[str, Any], *, try_number: int | None = None, root: str | None = None) -> str:
    """The report page of a task instance (``context``: dag_id, run_id, task_id, map_index)."""
    map_index = context.get("map_index")
    return app_path(
        "dags",
        context["dag_id"],
        "runs",
        context["run_id"],
        "tasks",
        context["task_id"],
        "report",
        query={"map_index": -1 if map_index is None else int(map_index), "try_number": try_number},
        root=root,
    )
