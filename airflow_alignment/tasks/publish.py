"""Publishing a result: stored before the task state is decided, then the state itself.

:func:`publish_result` is the one way a check, a sensor or the gate records a result: the HTML
report, the full result, the history index entry and the audit record go to the artifact store
together (all or nothing), the bounded result to XCom, the story to the task log.
:func:`raise_for_status` is the one place where a status becomes a task state.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import StoreUnavailableError
from airflow_alignment.reporting.html import write_report
from airflow_alignment.results import CheckResult
from airflow_alignment.store import audit, index, models, policies
from airflow_alignment.store.artifacts import ArtifactStore, remove_unfinished_tries, result_key

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_alignment.policy import Policy

try:
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # pragma: no cover - Airflow 3.1 keeps it in airflow.exceptions
    from airflow.exceptions import AirflowFailException


class AlignmentCheckFailed(AirflowFailException):
    """A block-severity check failed, or the check could not be evaluated."""


def publish_result(
    result: CheckResult,
    context: Context,
    *,
    store: ArtifactStore,
    model: str | None,
    log: Any,
    push: bool,
    reviewer: Any = None,
    policy: Policy | None = None,
) -> dict[str, Any]:
    """Store ``result`` (before any state is decided), append it to the audit trail, push its
    bounded form to XCom when ``push``, and log what a reader of the task log needs.

    A gate passes its ``policy``: the policy's snapshot is kept (once per hash) and the decision
    is filed in the model index (:mod:`airflow_alignment.store.models`).

    The story is logged first. Report, result and audit record are written in that order and
    stand together (``all_or_nothing``): the result is the record that a try finished. When
    the store cannot be reached, what this try wrote is removed, the bounded result (without
    the store's URIs) goes to XCom and the log, and ``StoreUnavailableError`` (naming the store
    and the key) keeps Airflow's retries."""
    ti = context["ti"]
    result.context = task_context(ti)
    key = result_key(result.context)
    _log_story(result, log)
    try:
        with store.all_or_nothing():
            remove_unfinished_tries(store, result.context)
            result.full_result = store.uri(key)
            result.report = write_report(result, store)  # before the result, so that it names its report
            store.write_text(key, result.to_json())
            run_after = index.run_after_of(context, result.started_at)
            index.write_entry(store, result.to_dict(), run_after)
            if policy is not None:  # a gate: the policy as it was, and the model's decision
                policies.write_snapshot(store, policy)
            models.write_entry(store, result.to_dict(), run_after, policy.owner if policy else None)
            audit.append(audit.audit_record(result, model=model, reviewer=reviewer), store)
    except StoreUnavailableError as exc:
        result.full_result = result.report = None
        unstored = result.compact()
        ti.xcom_push(key="return_value", value=unstored)
        log.error(
            "%s; the result is not stored. Its bounded form is in XCom (return_value) and here: %s",
            exc,
            json.dumps(unstored, allow_nan=False, default=str),
        )
        raise
    compact = result.compact()
    if push:
        ti.xcom_push(key="return_value", value=compact)
    log.info("result stored at %s", result.full_result)
    return compact


def _log_story(result: CheckResult, log: Any) -> None:
    log.info("%s %s: %s", result.kind, result.status.upper(), result.summary)
    for assertion in result.failed_assertions:
        log.info(
            "  %s [%s]: observed %s, expected %s",
            assertion.name,
            assertion.severity,
            assertion.observed,
            assertion.expected,
        )
    if result.data:
        log.info(
            "data: %s (%s rows, %s)",
            result.data.get("source"),
            result.data.get("rows"),
            result.data.get("fingerprint"),
        )


def raise_for_status(result: CheckResult) -> None:
    """The one place where a result's status becomes a task state."""
    if result.status == "failed":
        raise AlignmentCheckFailed(f"{result.check} failed: {result.summary}")
    if result.status == "error":
        raise AlignmentCheckFailed(result.summary)


def task_context(ti: Any) -> dict[str, Any]:
    map_index = getattr(ti, "map_index", -1)
    return {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": -1 if map_index is None else int(map_index),
        "try_number": int(getattr(ti, "try_number", 0) or 0),
    }
