"""``AlignmentTask``: what every alignment operator and sensor shares, once.

- the arguments every check takes: ``severity``, ``check_name``, ``policy`` (with ``check=``:
  a policy check's arguments merged under the given ones, :func:`merge_policy`), ``model``
  and ``artifact_store``;
- the ``data=`` argument, checked when the DAG is parsed and held as Airflow can template it;
- publishing a result (:func:`~airflow_alignment.tasks.publish.publish_result`: stored before
  the task state is decided), the "last approved" baseline of the policy and model, the
  "Alignment report" extra link and the OpenLineage facets.

:class:`~airflow_alignment.operators.AlignmentCheckOperator` adds running one engine and
deciding the state; :class:`~airflow_alignment.sensors.AlignmentSensor` adds poking, deferring
and timing out. The kind bases of :mod:`airflow_alignment.tasks` hold what an operator and a
sensor of the same kind share (their arguments and the spec they build).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator

from airflow_alignment.exceptions import SpecError
from airflow_alignment.io import keep_callable, validate_data_arg
from airflow_alignment.links import AlignmentReportLink
from airflow_alignment.policy import Policy, load_policy
from airflow_alignment.results import DEFAULT_SEVERITY, CheckResult, Kind, error_result
from airflow_alignment.specs.common import check_severity
from airflow_alignment.store.artifacts import ArtifactStore
from airflow_alignment.store.baselines import last_approved
from airflow_alignment.tasks.lineage import operator_lineage
from airflow_alignment.tasks.publish import publish_result

if TYPE_CHECKING:
    from airflow.sdk import Context


class AlignmentTask(BaseOperator):
    """Base of the package's check operators and sensors.

    :param severity: ``block`` (a failure fails the task) or ``warn`` (the task succeeds
        and the gate sends the run to review). Default ``block``, or the policy's.
    :param check_name: the name recorded in the result; defaults to the task id.
    :param policy: an alignment policy (YAML path, YAML text, dict or loaded ``Policy``); every
        result records its name, version and sha256. With ``check=`` (see
        :meth:`policy_arguments`) the task takes that check's arguments from it; arguments
        given to the task override the policy's.
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
        model: str | None = None,
        artifact_store: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.severity = check_severity(severity or DEFAULT_SEVERITY, f"{type(self).__name__}.severity")
        self.check_name = check_name or self.task_id
        self.policy_ref: dict[str, str] | None = load_policy(policy).ref if policy is not None else None
        self.model = model
        self.artifact_store = artifact_store
        self._last_result: CheckResult | None = None  # for the OpenLineage facets, read after execute()

    @classmethod
    def policy_arguments(
        cls, policy: Any, check: str | None, given: dict[str, Any], task_id: str
    ) -> tuple[dict[str, Any], Policy | None]:
        """The task's arguments: the policy check's under the ``given`` ones (see :func:`merge_policy`)."""
        return merge_policy(cls.__name__, cls.kind, policy, check, given, task_id)

    def data_argument(self, data: Any, name: str = "data") -> Any:
        """A ``data=`` argument checked when the DAG is parsed, held as a templated field holds it."""
        validate_data_arg(data, f"{type(self).__name__}.{name}")
        return keep_callable(data)

    def error_of(self, exc: BaseException) -> CheckResult:
        """The ``error`` result of this check: it could not be evaluated because of ``exc``."""
        return error_result(check=self.check_name, kind=self.kind, severity=self.severity, exc=exc)  # type: ignore[arg-type]

    def publish(self, result: CheckResult, context: Context) -> dict[str, Any]:
        """Store the full result, audit it, push the bounded one to XCom, log the story."""
        result.policy = result.policy or self.policy_ref
        self._last_result = result
        return publish_result(
            result,
            context,
            store=ArtifactStore(self.artifact_store),
            model=self.model,
            log=self.log,
            push=result.status in ("failed", "error"),  # the task raises: Airflow would not push it
        )

    def approved_baseline(self) -> dict[str, Any] | None:
        """This check's result in the last approved run of its policy and model, if any."""
        if not (self.policy_ref and self.model):
            return None
        return last_approved(ArtifactStore(self.artifact_store), self.policy_ref["name"], self.model, self.check_name)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The input dataset(s), the judged one with a ``DataQualityAssertionsDatasetFacet``
        (see :mod:`airflow_alignment.tasks.lineage`); ``None`` without the provider."""
        return operator_lineage(self, self._last_result)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """As :meth:`get_openlineage_facets_on_complete`: a failed check stored its result too."""
        return self.get_openlineage_facets_on_complete(task_instance)


def merge_policy(
    owner: str, kind: str, policy: Any, check: str | None, given: dict[str, Any], task_id: str
) -> tuple[dict[str, Any], Policy | None]:
    """The arguments of a check task: a policy check's spec with the given arguments over it.

    Returns the merged arguments and the loaded ``Policy`` (``None`` without one). ``owner``
    names the operator or sensor in messages.
    """
    if policy is None:
        if check is not None:
            raise SpecError(f"{owner}: check={check!r} names a policy check, but no policy= is given")
        return given, None
    loaded = load_policy(policy)
    spec = loaded.check(check or given.get("check_name") or task_id)
    if spec.kind != kind:
        raise SpecError(f"{owner}: policy check {spec.name!r} is of kind {spec.kind!r}; use the operator for that kind")
    merged = spec.operator_kwargs()
    merged.update({k: v for k, v in given.items() if v is not None})
    return merged, loaded


def is_templated(value: Any) -> bool:
    """True when ``value`` holds a Jinja expression, so it can only be checked after rendering."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(is_templated(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_templated(v) for v in value)
    return False


__all__: Sequence[str] = ["AlignmentTask", "is_templated", "merge_policy"]
