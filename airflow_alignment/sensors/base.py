"""What the alignment sensors share: poke an evaluation, defer on a readiness condition, time
out with its story.

A sensor names an *evaluator*: a module-level function ``spec -> (done, CheckResult)`` that
takes plain values and says whether the wait is over. :func:`attempt` runs it once and sorts
the outcome:

- ``done``: the data is there; the result is the sensor's answer (it may still be ``failed``,
  e.g. a fairness constraint once the feedback is complete);
- ``waiting``: not yet (the file is missing, too few rows, too few labels);
- ``error``: the spec itself is wrong (``SpecError``): waiting would not help.

``poke()`` runs :func:`attempt` in the worker. With ``deferrable=True`` every evaluation
still runs on a worker: after one that says ``waiting``, the sensor defers to
:class:`~airflow_alignment.triggers.alignment.AlignmentSensorTrigger` with its *readiness
condition* (:meth:`AlignmentSensor.readiness`: the file or object, a SQL ``COUNT(*)``,
labelled rows per group) and the condition's fingerprint taken just before that evaluation.
The triggerer only looks at the condition; when it holds and the data changed, the task
resumes in :meth:`AlignmentSensor.execute_complete`, evaluates again, and either ends or
defers again with the new fingerprint. The deadline, the evaluations so far and the last
result travel with the trigger, which hands them back in its event (``carry``): Airflow
keeps a deferral's ``kwargs`` in production, but ``dag.test()`` keeps only the event.

Whichever way it ends, the last result is stored and audited (``publish_result``) before the
task state is decided; on timeout the error names the last result's summary, and
``soft_fail`` skips instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from airflow.sdk import BaseSensorOperator

from airflow_alignment.exceptions import AlignmentError, SourceUnavailableError, SpecError
from airflow_alignment.io import plain_data
from airflow_alignment.results import CheckResult, error_result
from airflow_alignment.tasks.base import AlignmentTask
from airflow_alignment.tasks.publish import raise_for_status
from airflow_alignment.triggers.alignment import AlignmentSensorTrigger
from airflow_alignment.triggers.readiness import file_condition, fingerprint_now

try:
    from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException
except ImportError:  # pragma: no cover - Airflow 3.1
    from airflow.exceptions import AirflowSensorTimeout, AirflowSkipException

if TYPE_CHECKING:
    from airflow.sdk import Context

Outcome = Literal["done", "waiting", "error"]
Evaluator = Callable[[dict[str, Any]], "tuple[bool, CheckResult]"]

# The triggerer's own timeout is a backstop: the trigger ends at its deadline and reports the
# last result, which the worker turns into a timeout that names it.
_BACKSTOP = timedelta(minutes=5)


def attempt(evaluator: str | Evaluator, spec: dict[str, Any], check: dict[str, str]) -> tuple[Outcome, CheckResult]:
    """Run the evaluator once; ``check`` names the result (``name``, ``kind``, ``severity``)."""
    func = _import(evaluator) if isinstance(evaluator, str) else evaluator
    t0 = time.perf_counter()
    try:
        done, result = func(spec)
    except AlignmentError as exc:
        result = error_result(check=check["name"], kind=check["kind"], severity=check["severity"], exc=exc)  # type: ignore[arg-type]
        result.duration_s = round(time.perf_counter() - t0, 6)
        return ("error" if isinstance(exc, SpecError) else "waiting"), result
    return ("done" if done else "waiting"), result


def default_deferrable() -> bool:
    """Airflow's ``[operators] default_deferrable`` (``False`` when unset)."""
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # pragma: no cover - Airflow 3.1
        from airflow.configuration import conf
    return conf.getboolean("operators", "default_deferrable", fallback=False)


def _import(path: str) -> Evaluator:
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)  # type: ignore[no-any-return]


class AlignmentSensor(AlignmentTask, BaseSensorOperator):
    """Base class of the package's sensors: :class:`~airflow_alignment.tasks.base.AlignmentTask`
    (``severity``, ``check_name``, ``policy``, ``model``, ``artifact_store``, publishing) that
    pokes, defers and times out.

    :param deferrable: between evaluations, wait in the triggerer on a readiness condition
        instead of holding a worker slot. Default: Airflow's ``[operators] default_deferrable``
        (for a ``data=`` that cannot travel to the triggerer, a callable, that default is
        ignored; ``deferrable=True`` given explicitly is an error then).
    :param min_bytes: with ``deferrable=True`` on a file or object, the triggerer waits until it
        holds at least this many bytes (default 1: an empty file is not data yet).
    """

    evaluator: ClassVar[str]  # dotted path of the module-level evaluator
    ui_color = "#d6ecdc"

    def __init__(self, *, deferrable: bool | None = None, min_bytes: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if min_bytes is not None and (isinstance(min_bytes, bool) or not isinstance(min_bytes, int) or min_bytes < 1):
            raise SpecError(
                f"{type(self).__name__}.min_bytes: expected a whole number of bytes of at least 1, got {min_bytes!r}"
            )
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self._deferrable_given = deferrable is not None
        self.min_bytes = min_bytes
        self._last: CheckResult | None = None
        self._published = False
        self._pokes = 0

    def can_defer(self, data: Any, where: str) -> bool:
        """Whether ``data`` can travel to the triggerer. A callable cannot: explicit
        ``deferrable=True`` is a ``SpecError`` then; the configured default gives way."""
        if not self.deferrable:
            return False
        try:
            plain_data(data, where)
        except SpecError:
            if self._deferrable_given:
                raise
            self.deferrable = False
        return self.deferrable

    # -- what subclasses give -----------------------------------------------------------
    def spec(self, context: Context) -> dict[str, Any]:
        """The evaluator's input, from rendered fields: plain values only."""
        raise NotImplementedError

    def readiness(self, spec: dict[str, Any]) -> dict[str, Any]:
        """What the triggerer waits on between evaluations (see
        :mod:`airflow_alignment.triggers.readiness`); the default: the file or object exists."""
        return file_condition(spec["data"], self.min_bytes)

    # -- the sensor ---------------------------------------------------------------------
    @property
    def _check(self) -> dict[str, str]:
        return {"name": self.check_name, "kind": self.kind, "severity": self.severity}

    def poke(self, context: Context) -> bool:
        return self._evaluate(self.spec(context), context)

    def _evaluate(self, spec: dict[str, Any], context: Context) -> bool:
        outcome, result = attempt(self.evaluator, spec, self._check)
        self._last, self._pokes = result, self._pokes + 1
        if outcome == "error":
            self._conclude(result, context)  # raises: a wrong spec does not get better by waiting
        self.log.info("evaluation %d: %s (%s)", self._pokes, outcome, result.summary)
        return outcome == "done"

    def execute(self, context: Context) -> dict[str, Any]:
        if not self.deferrable:
            try:
                super().execute(context)
            except (AirflowSensorTimeout, AirflowSkipException) as exc:
                raise self._timed_out(exc, context) from exc
            return self._conclude(cast("CheckResult", self._last), context)  # poke() set it
        return self._evaluate_or_defer(context, deadline=time.time() + self.timeout)

    def _evaluate_or_defer(self, context: Context, deadline: float) -> dict[str, Any]:
        """Evaluate on this worker; if the data is not enough yet, defer on the readiness
        condition with the fingerprint taken before the evaluation (a change during it wakes
        the trigger at once)."""
        spec = self.spec(context)
        condition = self.readiness(spec)
        before = fingerprint_now(condition)
        if self._evaluate(spec, context):
            return self._conclude(cast("CheckResult", self._last), context)
        left = deadline - time.time()
        if left <= 0:
            raise self._timed_out(AirflowSensorTimeout(f"no success within {self.timeout:g} s"), context)
        last = cast("CheckResult", self._last)
        if (last.error or {}).get("type") == SourceUnavailableError.__name__:
            before = None  # the data could not be read (I/O): any data that is there is worth a new try
        carry = {"deadline": deadline, "evaluations": self._pokes, "last": last.compact()}
        self.defer(
            trigger=AlignmentSensorTrigger(
                condition=condition, previous=before, poke_interval=self.poke_interval, deadline=deadline, carry=carry
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=left) + _BACKSTOP,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume from the trigger: the data changed (evaluate it here), the deadline passed,
        or the readiness condition is wrong. The event carries the sensor's deadline, its
        evaluations so far and the last result back."""
        carry = event.get("carry") or {}
        self._pokes = int(carry.get("evaluations", 0))
        self._last = CheckResult.from_dict(carry["last"]) if carry.get("last") else None
        deadline = carry.get("deadline")
        self.log.info(
            "trigger: %s after %s poll(s)%s",
            event["status"],
            event.get("polls"),
            f" ({event['note']})" if event.get("note") else "",
        )
        if event["status"] == "timeout":
            raise self._timed_out(AirflowSensorTimeout(f"no success within {self.timeout:g} s"), context)
        if event["status"] == "error":
            exc = SpecError(f"the triggerer could not watch the data: {event['message']}")
            return self._conclude(self.error_of(exc), context)
        return self._evaluate_or_defer(context, deadline if deadline is not None else time.time() + self.timeout)

    # -- ending -------------------------------------------------------------------------
    def _conclude(self, result: CheckResult, context: Context) -> dict[str, Any]:
        compact = self.publish(result, context)
        raise_for_status(result)
        return compact

    def _timed_out(self, exc: Exception, context: Context) -> Exception:
        """Store the last result and return the timeout (or soft_fail skip) that names it."""
        if self._last is None or self._published:
            return exc
        self.publish(self._last, context)
        message = (
            f"{self.task_id} timed out after {self.timeout:g} s and {self._pokes} evaluation(s); "
            f"last evaluation: {self._last.summary}"
        )
        return AirflowSkipException(message) if self.soft_fail else AirflowSensorTimeout(message)

    def publish(self, result: CheckResult, context: Context) -> dict[str, Any]:
        self._published = True
        return super().publish(result, context)


__all__: Sequence[str] = ["AlignmentSensor", "attempt"]
