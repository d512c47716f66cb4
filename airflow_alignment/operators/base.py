"""What every alignment operator shares: run one engine, store the result, decide the state.

Subclasses implement :meth:`AlignmentCheckOperator.evaluate` (load the data, call one engine,
return a ``CheckResult``). Everything else is here, once:

- the result gets the task instance's context and is written to the artifact store *before*
  the task state is decided, so a failing check never loses its result;
- the bounded (<= 64 KB) form goes to XCom under ``return_value``;
- :func:`raise_for_status` maps the status to the task state: ``passed`` and ``warned``
  succeed; ``failed`` and ``error`` raise ``AirflowFailException`` (no retry: the same data
  and spec give the same answer). A source that could not be reached re-raises its
  ``SourceUnavailableError`` after storing the error result, so Airflow's retries apply; so
  does an artifact store that cannot be reached (``StoreUnavailableError``, see
  :func:`publish_result`). An exception that is not ours (a bug) also leaves an ``error``
  result and an audit record, then propagates unchanged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_alignment.engines.common import check_severity
from airflow_alignment.exceptions import AlignmentError, SourceUnavailableError, SpecError, StoreUnavailableError
from airflow_alignment.plugin.links import AlignmentReportLink
from airflow_alignment.reporting.store import ArtifactStore, remove_unfinished_tries, result_key
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
        and the gate sends the run to review). Default ``block``, or the policy's.
    :param check_name: the name recorded in the result; defaults to the task id.
    :param policy: an alignment policy (YAML path, YAML text or dict); with ``check=`` the
        operator takes that check's spec from it, and every result records the policy's name,
        version and sha256. Arguments given to the operator override the policy's.
    :param check: the name of the policy's check (default: ``check_name`` or the task id).
    :param model: the model the check is about; names the "last approved" baseline and is
        recorded in the audit trail.
    :param artifact_store: base folder or URI of the artifact store; defaults to the
        ``[alignment] artifact_store`` option, then ``$AIRFLOW_HOME/alignment``.
    """

    kind: ClassVar[Kind]
    ui_color = "#e8f4ea"
    operator_extra_links = (AlignmentReportLink(),)

    def __init__(
        self,
        *,
        severity: str | None = None,
        check_name: str | None = None,
        policy: Any = None,
        check: str | None = None,
        model: str | None = None,
        artifact_store: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.severity = check_severity(severity or "block", f"{type(self).__name__}.severity")
        self.check_name = check_name or self.task_id
        self.policy_ref: dict[str, str] | None = None
        if policy is not None:
            from airflow_alignment.policy import load_policy

            self.policy_ref = load_policy(policy).ref
        self.model = model
        self.artifact_store = artifact_store

    @classmethod
    def policy_arguments(
        cls, policy: Any, check: str | None, given: dict[str, Any], task_id: str
    ) -> tuple[dict[str, Any], Any]:
        """Merge a policy check's spec under the arguments given to the operator."""
        return merge_policy(cls.__name__, cls.kind, policy, check, given, task_id)

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
        except Exception as exc:  # not ours: a bug. Keep the record, then let Airflow see it as it is.
            result = error_result(check=self.check_name, kind=self.kind, severity=self.severity, exc=exc)
            result.summary = f"{self.check_name} could not be evaluated: unexpected {type(exc).__name__}: {exc}"
            result.duration_s = round(time.perf_counter() - t0, 6)
            try:
                self.publish(result, context)
            except Exception:  # the original error is the one to see
                self.log.exception("could not store the error result of %s", self.check_name)
            raise
        compact = self.publish(result, context)
        raise_for_status(result)
        return compact

    def publish(self, result: CheckResult, context: Context) -> dict[str, Any]:
        """Store the full result, audit it, push the bounded one to XCom, log the story."""
        result.policy = result.policy or self.policy_ref
        self._last_result = result  # for the OpenLineage facets, read after execute()
        return publish_result(
            result,
            context,
            store=ArtifactStore(self.artifact_store),
            model=self.model,
            log=self.log,
            push=result.status in ("failed", "error"),  # execute() raises: Airflow would not push it
        )

    def last_approved_baseline(self) -> dict[str, Any] | None:
        """This check's result in the last approved run of its policy and model, if any."""
        if not (self.policy_ref and self.model):
            return None
        from airflow_alignment.reporting.baselines import last_approved

        return last_approved(ArtifactStore(self.artifact_store), self.policy_ref["name"], self.model, self.check_name)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The input dataset(s), the judged one with a ``DataQualityAssertionsDatasetFacet``
        (see :mod:`airflow_alignment.operators._lineage`); ``None`` without the provider."""
        from airflow_alignment.operators._lineage import operator_lineage

        return operator_lineage(self, getattr(self, "_last_result", None))

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """As :meth:`get_openlineage_facets_on_complete`: a failed check stored its result too."""
        return self.get_openlineage_facets_on_complete(task_instance)


def merge_policy(
    owner: str, kind: str, policy: Any, check: str | None, given: dict[str, Any], task_id: str
) -> tuple[dict[str, Any], Any]:
    """The arguments of a check task: a policy check's spec with the given arguments over it.

    Returns the merged arguments and the loaded ``Policy`` (``None`` without one). ``owner``
    names the operator or sensor in messages.
    """
    if policy is None:
        if check is not None:
            raise SpecError(f"{owner}: check={check!r} names a policy check, but no policy= is given")
        return given, None
    from airflow_alignment.policy import load_policy

    loaded = load_policy(policy)
    spec = loaded.check(check or given.get("check_name") or task_id)
    if spec.kind != kind:
        raise SpecError(f"{owner}: policy check {spec.name!r} is of kind {spec.kind!r}; use the operator for that kind")
    merged = spec.operator_kwargs()
    merged.update({k: v for k, v in given.items() if v is not None})
    return merged, loaded


def publish_result(
    result: CheckResult,
    context: Context,
    *,
    store: ArtifactStore,
    model: str | None,
    log: Any,
    push: bool,
    reviewer: Any = None,
) -> dict[str, Any]:
    """Store ``result`` (before any state is decided), append it to the audit trail, push its
    bounded form to XCom when ``push``, and log what a reader of the task log needs.

    The story is logged first. Report, result and audit record are written in that order and
    stand together (``all_or_nothing``): the result is the record that a try finished. When
    the store cannot be reached, what this try wrote is removed, the bounded result (without
    the store's URIs) goes to XCom and the log, and ``StoreUnavailableError`` (naming the store
    and the key) keeps Airflow's retries."""
    from airflow_alignment.reporting import audit, index
    from airflow_alignment.reporting.html import write_report

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
            index.write_entry(store, result.to_dict(), index.run_after_of(context, result.started_at))
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


def is_templated(value: Any) -> bool:
    """True when ``value`` holds a Jinja expression, so it can only be checked after rendering."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(is_templated(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_templated(v) for v in value)
    return False


__all__: Sequence[str] = ["AlignmentCheckFailed", "AlignmentCheckOperator", "raise_for_status"]
