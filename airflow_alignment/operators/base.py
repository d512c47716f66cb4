"""What every alignment operator shares: run one engine, store the result, decide the state.

Subclasses implement :meth:`AlignmentCheckOperator.evaluate` (load the data, call one engine,
return a ``CheckResult``). Everything else is here, once:

- the result gets the task instance's context and is written to the artifact store *before*
  the task state is decided, so a failing check never loses its result;
- the bounded (<= 64 KB) form goes to XCom under ``return_value``;
- :func:`raise_for_status` maps the status to the task state: ``passed`` and ``warned``
  succeed; ``failed`` and ``error`` raise ``AirflowFailException`` (no retry: the same data
  and spec give the same answer). A source that could not be reached re-raises its
  ``SourceUnavailableError`` after storing the error result, so Airflow's retries apply.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_alignment.engines.common import check_severity
from airflow_alignment.exceptions import AlignmentError, SourceUnavailableError
from airflow_alignment.reporting.store import ArtifactStore, result_key
from airflow_alignment.results import CheckResult, Kind, error_result

if TYPE_CHECKING:
    from airflow.sdk import Context

try:
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # pragma: no cover - Airflow 3.1 keeps it in airflow.exceptions
    from airflow.exceptions import AirflowFailException

log = logging.getLogger(__name__)


class AlignmentCheckFailed(AirflowFailException):
    """A block-severity check failed, or the check could not be evaluated."""


class AlignmentCheckOperator(BaseOperator):
    """Base class of the package's check operators.

    :param severity: ``block`` (a failure fails the task) or ``warn`` (the task succeeds
        and the gate sends the run to review).
    :param check_name: the name recorded in the result; defaults to the task id.
    :param artifact_store: base folder or URI of the artifact store; defaults to the
        ``[alignment] artifact_store`` option, then ``$AIRFLOW_HOME/alignment``.
    """

    kind: ClassVar[Kind]
    ui_color = "#e8f4ea"

    def __init__(
        self,
        *,
        severity: str = "block",
        check_name: str | None = None,
        artifact_store: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.severity = check_severity(severity, f"{type(self).__name__}.severity")
        self.check_name = check_name or self.task_id
        self.artifact_store = artifact_store

    def evaluate(self, context: Context) -> CheckResult:
        """Load the data, run the engine, return its result (subclasses)."""
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any]:
        t0 = time.perf_counter()
        try:
            result = self.evaluate(context)
        except AlignmentError as exc:
            result = error_result(check=self.check_name, kind=self.kind, severity=self.severity, exc=exc)
            result.duration_s = round(time.perf_counter() - t0, 6)
            self.publish(result, context)
            if isinstance(exc, SourceUnavailableError):
                raise  # I/O: keep Airflow's retries
            raise_for_status(result)
        compact = self.publish(result, context)
        raise_for_status(result)
        return compact

    def publish(self, result: CheckResult, context: Context) -> dict[str, Any]:
        """Store the full result, push the bounded one to XCom, log the story; return it."""
        ti = context["ti"]
        result.context = task_context(ti)
        store = ArtifactStore(self.artifact_store)
        key = result_key(result.context)
        uri = store.write_text(key, result.to_json())
        compact = result.compact(full_result_uri=uri)
        if result.status in ("failed", "error"):
            # execute() raises next, so Airflow would not push the return value itself
            ti.xcom_push(key="return_value", value=compact)
        self.log.info("%s %s: %s", self.kind, result.status.upper(), result.summary)
        for assertion in result.failed_assertions:
            self.log.info(
                "  %s [%s]: observed %s, expected %s",
                assertion.name,
                assertion.severity,
                assertion.observed,
                assertion.expected,
            )
        if result.data:
            self.log.info(
                "data: %s (%s rows, %s)",
                result.data.get("source"),
                result.data.get("rows"),
                result.data.get("fingerprint"),
            )
        self.log.info("result stored at %s", uri)
        return compact


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


def is_templated(value: Any) -> bool:
    """True when ``value`` holds a Jinja expression, so it can only be checked after rendering."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(is_templated(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_templated(v) for v in value)
    return False


__all__: Sequence[str] = ["AlignmentCheckOperator", "AlignmentCheckFailed", "raise_for_status"]
