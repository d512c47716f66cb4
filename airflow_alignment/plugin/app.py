"""The plugin's FastAPI app, mounted by Airflow's API server at ``/alignment``.

Pages (HTML; the Airflow UI shows them in its "Alignment" tabs) and the same data as JSON:

- ``/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/report`` the report of a task instance
  (``?map_index=`` default -1, ``?try_number=`` default the latest try);
- ``/dags/{dag_id}/runs/{run_id}`` every alignment result of a run, gate verdicts first;
- ``/overview`` every policy x model across the DAGs the user may read: its newest gate
  verdict, policy version and hash, owner, last approved run, a sparkline of recent verdicts,
  and the gate reviews waiting for a person (``?policy=``, ``?owner=``, ``?verdict=`` filter);
- ``/models/{policy}/{model}/dossier`` the compliance dossier of a gate decision about a model
  (``?run_id=`` default: the newest approved or rejected one), printable to PDF;
- ``/dags/{dag_id}/history`` verdicts and key numbers across runs, with trend charts
  (``?limit=`` runs, newest first; ``?before=`` the ``next_before`` of the previous page);
- ``/api/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/result``, ``/api/dags/{dag_id}/runs/{run_id}``
  ``/api/dags/{dag_id}/history``, ``/api/overview`` and ``/api/models/{policy}/{model}/dossier``:
  the same as JSON.

Airflow does not protect a plugin's app, so every route depends on Airflow's own auth: the
token comes from the ``Authorization: Bearer`` header (API clients) or from the ``_token``
cookie the UI sets at login (which is what the UI's iframe sends). No valid token: 401; a user
the auth manager does not let read the DAG's task instances: 403. The overview has no DAG in its
path: it shows only the models decided in DAGs the auth manager lets the user read; a dossier
is a 403 when its decision was made in a DAG the user may not read. Handlers only read the
artifact store, and each costs what it shows (see :mod:`airflow_alignment.plugin.reader`);
a stored file that cannot be read is shown as one "unreadable result" entry, never a 500.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from airflow.api_fastapi.auth.managers.models.base_user import BaseUser
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
from airflow.api_fastapi.core_api.security import (
    bearer_scheme,
    get_user,
    oauth2_scheme,
    requires_access_dag,
)
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from airflow_alignment.plugin import overview as overview_data
from airflow_alignment.plugin import reader
from airflow_alignment.plugin.dashboard import DASHBOARD_JS
from airflow_alignment.reporting import dossier, html
from airflow_alignment.store.artifacts import ArtifactStore
from airflow_alignment.store.index import RUN_FOLDER
from airflow_alignment.urls import app_path, report_path, root_path

# Airflow's KEY_REGEX for dag and task ids; run ids: printable, no separator (Airflow's column
# holds 250 characters). Ids made only of dots are refused outright.
_KEY = re.compile(r"[\w.-]{1,250}")
_RUN = re.compile(r"[^\x00-\x1f\x7f/\\]{1,250}")
_DOTS = re.compile(r"\.+")
# The UI fills {MAP_INDEX} only on mapped task instances; elsewhere the placeholder comes as is.
_MAP_PLACEHOLDER = "{MAP_INDEX}"
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-store",
}


async def authenticated_user(
    request: Request,
    oauth_token: Annotated[str | None, Depends(oauth2_scheme)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> BaseUser:
    """Airflow's ``get_user``, except that a token it cannot verify is a 401, not a 403.

    Airflow answers 403 to an invalid or tampered JWT; for these pages "no valid token" is an
    authentication failure (401, with ``WWW-Authenticate``), and 403 means "valid user, no
    access to this DAG".
    """
    try:
        return await get_user(request, oauth_token, bearer)
    except HTTPException as exc:
        if exc.status_code == status.HTTP_403_FORBIDDEN:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, exc.detail, {"WWW-Authenticate": "Bearer"}) from None
        if exc.status_code == status.HTTP_401_UNAUTHORIZED:
            raise HTTPException(exc.status_code, exc.detail, {"WWW-Authenticate": "Bearer"}) from None
        raise


# every route needs a user; routes of one DAG need read access to its task instances
_DAG_READ = [Depends(requires_access_dag(method="GET", access_entity=DagAccessEntity.TASK_INSTANCE))]

app = FastAPI(
    title="airflow-alignment",
    description="Alignment reports, run summaries and history (airflow-alignment plugin).",
    docs_url=None,
    redoc_url=None,
    openapi_url=None,
    dependencies=[Depends(authenticated_user)],
)


# -- identifiers ----------------------------------------------------------------------------
def _dag_id(dag_id: str) -> str:
    return _valid(dag_id, _KEY, "dag_id")


def _run_id(run_id: str) -> str:
    return _valid(run_id, _RUN, "run_id")


def _task_id(task_id: str) -> str:
    return _valid(task_id, _KEY, "task_id")


def _valid(value: str, pattern: re.Pattern[str], name: str) -> str:
    if not pattern.fullmatch(value) or _DOTS.fullmatch(value):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"invalid {name}")
    return value


def _policy(policy: str) -> str:
    return _valid(policy, _RUN, "policy")


def _model(model: str) -> str:
    return _valid(model, _RUN, "model")


def _map_index(map_index: Annotated[str | None, Query()] = None) -> int:
    if map_index in (None, "", _MAP_PLACEHOLDER):
        return -1
    if not re.fullmatch(r"-1|\d{1,7}", map_index):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid map_index: an integer >= -1")
    return int(map_index)


def _before(before: Annotated[str | None, Query(max_length=300)] = None) -> str | None:
    if before is not None and not RUN_FOLDER.fullmatch(before):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "invalid before: pass the next_before of a history page")
    return before


DagId = Annotated[str, Depends(_dag_id)]
RunId = Annotated[str, Depends(_run_id)]
TaskId = Annotated[str, Depends(_task_id)]
MapIndex = Annotated[int, Depends(_map_index)]
TryNumber = Annotated[int | None, Query(ge=0, le=100_000)]
Limit = Annotated[int, Query(ge=1, le=500)]
Before = Annotated[str | None, Depends(_before)]
PolicyName = Annotated[str, Depends(_policy)]
ModelName = Annotated[str, Depends(_model)]
OptionalRunId = Annotated[str | None, Query(max_length=250)]


def _store() -> ArtifactStore:
    return ArtifactStore()


Store = Annotated[ArtifactStore, Depends(_store)]
User = Annotated[BaseUser, Depends(authenticated_user)]
Filter = Annotated[str | None, Query(max_length=250)]


# -- pages ----------------------------------------------------------------------------------
@app.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/report", response_class=HTMLResponse, dependencies=_DAG_READ)
def task_report(
    dag_id: DagId, run_id: RunId, task_id: TaskId, map_index: MapIndex, store: Store, try_number: TryNumber = None
) -> HTMLResponse:
    found = reader.task_try(store, dag_id, run_id, task_id, map_index, try_number)
    if found is None:
        what = f"try {try_number} of " if try_number is not None else ""
        return _page(
            html.render_message(
                "No alignment result",
                f"{what}task {task_id} (map index {map_index}) in run {run_id} of "
                f"{dag_id} has no stored alignment result.",
            ),
            404,
        )
    context, names = found
    page = reader.read_report(store, context) if reader.REPORT in names else None
    if page is None:  # stored before reports existed, its rendering failed at run time, or unreadable
        doc = reader.read_result(store, context)
        if reader.is_unreadable(doc):
            message = f"The stored result {doc['key']} cannot be shown: {doc['error']}"
            return _page(html.render_message("Unreadable alignment result", message))
        page = html.render_report(doc, link=_report_link(dag_id, run_id))
    return _page(page)


@app.get("/dags/{dag_id}/runs/{run_id}", response_class=HTMLResponse, dependencies=_DAG_READ)
def run_page(dag_id: DagId, run_id: RunId, store: Store) -> HTMLResponse:
    return _page(html.render_run(_run_summary(store, dag_id, run_id)))


@app.get("/dags/{dag_id}/history", response_class=HTMLResponse, dependencies=_DAG_READ)
def history_page(dag_id: DagId, store: Store, before: Before, limit: Limit = 30) -> HTMLResponse:
    return _page(html.render_history(_history(store, dag_id, limit, before)))


@app.get("/overview", response_class=HTMLResponse)
def overview_page(
    store: Store,
    user: User,
    policy: Filter = None,
    owner: Filter = None,
    verdict: Filter = None,
    compact: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    data = _overview(store, user, policy, owner, verdict)
    if compact:  # the home dashboard's summary (plugin/dashboard.py)
        return _page(html.render_overview_summary(data, full_page=root_path() + "/plugin/alignment-overview"))
    return _page(html.render_overview(data))


@app.get("/static/dashboard.js")
def dashboard_js() -> Response:
    """The dashboard's React app plugin: an iframe of ``/overview?compact=1``."""
    return Response(
        DASHBOARD_JS,
        media_type="text/javascript",
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@app.get("/models/{policy}/{model}/dossier", response_class=HTMLResponse)
def dossier_page(
    policy: PolicyName, model: ModelName, store: Store, user: User, run_id: OptionalRunId = None
) -> HTMLResponse:
    return _page(html.render_dossier(_dossier(store, user, policy, model, run_id)))


# -- JSON -----------------------------------------------------------------------------------
@app.get("/api/models/{policy}/{model}/dossier")
def dossier_json(
    policy: PolicyName, model: ModelName, store: Store, user: User, run_id: OptionalRunId = None
) -> JSONResponse:
    return JSONResponse(_dossier(store, user, policy, model, run_id), headers=_SECURITY_HEADERS)


@app.get("/api/overview")
def overview_json(
    store: Store, user: User, policy: Filter = None, owner: Filter = None, verdict: Filter = None
) -> JSONResponse:
    return JSONResponse(_overview(store, user, policy, owner, verdict), headers=_SECURITY_HEADERS)


@app.get("/api/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/result", dependencies=_DAG_READ)
def task_result(
    dag_id: DagId, run_id: RunId, task_id: TaskId, map_index: MapIndex, store: Store, try_number: TryNumber = None
) -> JSONResponse:
    found = reader.task_try(store, dag_id, run_id, task_id, map_index, try_number)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no stored alignment result for this task instance")
    doc = html.public_result(reader.read_result(store, found[0]), store.base)
    return JSONResponse(doc, headers=_SECURITY_HEADERS)


@app.get("/api/dags/{dag_id}/runs/{run_id}", dependencies=_DAG_READ)
def run_json(dag_id: DagId, run_id: RunId, store: Store) -> JSONResponse:
    return JSONResponse(_run_summary(store, dag_id, run_id), headers=_SECURITY_HEADERS)


@app.get("/api/dags/{dag_id}/history", dependencies=_DAG_READ)
def history_json(dag_id: DagId, store: Store, before: Before, limit: Limit = 30) -> JSONResponse:
    return JSONResponse(_history(store, dag_id, limit, before), headers=_SECURITY_HEADERS)


# -- data of the pages ----------------------------------------------------------------------
def _dossier(store: ArtifactStore, user: BaseUser, policy: str, model: str, run_id: str | None) -> dict[str, Any]:
    """The dossier with its page links and no absolute server path; 403 when the decision was
    made in a DAG the user may not read, 404 when there is none."""
    if run_id is not None:
        _run_id(run_id)
    readable = overview_data.readable_dag_ids(user)
    try:
        data = dossier.build(store, policy, model, run_id, readable.__contains__)
    except dossier.DossierNotFound as exc:
        try:
            dossier.build(store, policy, model, run_id)
        except dossier.DossierNotFound:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the decision was made in a DAG you may not read") from None
    root, dag_id = root_path(), data["decision"]["dag_id"]
    data["run_url"] = app_path("dags", dag_id, "runs", data["decision"]["run_id"], root=root)
    data["json_url"] = app_path(
        "api", "models", policy, model, "dossier", query={"run_id": data["decision"]["run_id"]}, root=root
    )
    for check in data["checks"]:
        check["data"]["source"] = html.public_path(check["data"]["source"], store.base)
        dataset = check["data"]["dataset"]
        if dataset and dataset["namespace"] == "file":
            dataset["name"] = html.public_path(dataset["name"], store.base)
        check["summary"] = html.public_text(check["summary"], store.base)
        context = {"dag_id": dag_id, "run_id": data["decision"]["run_id"], "task_id": check["task_id"], "map_index": -1}
        check["report_url"] = report_path(context, try_number=check["try_number"], root=root)
    previous = data["previous_approved"]
    if previous:
        previous["run_url"] = app_path("dags", previous["dag_id"], "runs", previous["run_id"], root=root)
    data["decision"]["summary"] = html.public_text(data["decision"]["summary"], store.base)
    return data


def _overview(
    store: ArtifactStore, user: BaseUser, policy: str | None, owner: str | None, verdict: str | None
) -> dict[str, Any]:
    readable = overview_data.readable_dag_ids(user)
    data = overview_data.overview(store, readable, {"policy": policy, "owner": owner, "verdict": verdict})
    for row in data["models"]:
        for key in ("summary", "unreadable"):
            row[key] = html.public_text(row.get(key), store.base)
    return data


def _run_summary(store: ArtifactStore, dag_id: str, run_id: str) -> dict[str, Any]:
    root = root_path()
    entries = reader.run_results(store, dag_id, run_id)
    results = [_with_urls(entry, dag_id, run_id, root, store.base) for entry in entries]
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "verdict": next((r["verdict"] for r in results if r["kind"] == "gate"), None),
        "status": html.worst_status([r["status"] for r in results]),
        "results": results,
        "history_url": app_path("dags", dag_id, "history"),
        "json_url": app_path("api", "dags", dag_id, "runs", run_id),
    }


def _history(store: ArtifactStore, dag_id: str, limit: int, before: str | None) -> dict[str, Any]:
    history = reader.dag_history(store, dag_id, limit, before)
    runs, root = [], root_path()
    for run in history["runs"]:
        results = [_with_urls(entry, dag_id, run["run_id"], root, store.base) for entry in run["results"]]
        runs.append(
            {
                "run_id": run["run_id"],
                "run_after": run["run_after"],
                "started_at": run["started_at"],
                "label": (run["run_after"] or run["run_id"])[:19].replace("T", " "),
                "verdict": next((r["verdict"] for r in results if r["kind"] == "gate"), None),
                "status": html.worst_status([r["status"] for r in results]),
                "run_url": app_path("dags", dag_id, "runs", run["run_id"], root=root),
                "results": results,
            }
        )
    older = history["next_before"]
    return {
        "dag_id": dag_id,
        "runs": runs,
        "json_url": app_path("api", "dags", dag_id, "history", query={"limit": limit, "before": before}),
        "next_before": older,
        "older_url": older and app_path("dags", dag_id, "history", query={"limit": limit, "before": older}),
        "older_json_url": older and app_path("api", "dags", dag_id, "history", query={"limit": limit, "before": older}),
        "newest_url": before and app_path("dags", dag_id, "history", query={"limit": limit}),
        "unindexed_results": history["unindexed_results"],
    }


def _with_urls(entry: dict[str, Any], dag_id: str, run_id: str, root: str, store_base: str) -> dict[str, Any]:
    """The entry as a reader gets it: with its page links, and no absolute server path in its
    summary or error (see :func:`html.public_text`)."""
    for key in ("summary", "error"):
        if isinstance(entry.get(key), str):
            entry[key] = html.public_text(entry[key], store_base)
    context = {"dag_id": dag_id, "run_id": run_id, "task_id": entry["task_id"], "map_index": entry["map_index"]}
    entry["report_url"] = report_path(context, try_number=entry["try_number"], root=root)
    entry["result_url"] = app_path(
        "api",
        "dags",
        dag_id,
        "runs",
        run_id,
        "tasks",
        entry["task_id"],
        "result",
        query={"map_index": entry["map_index"], "try_number": entry["try_number"]},
        root=root,
    )
    return entry


def _report_link(dag_id: str, run_id: str) -> html.LinkFor:
    return lambda task_id, map_index: report_path(
        {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": map_index}
    )


def _page(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers=_SECURITY_HEADERS)
