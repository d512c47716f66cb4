"""What every alignment operator adds to the shared task base: run one engine, decide the state.

Subclasses implement :meth:`AlignmentCheckOperator.evaluate` (load the data, call one engine,
return a ``CheckResult``). The arguments, the policy merge, publishing, baselines, the extra
link and lineage are :class:`~airflow_alignment.tasks.base.AlignmentTask`'s; here is only:

- the result is written to the artifact store *before* the task state is decided, so a
  failing check never loses its result; the bounded (<= 64 KB) form goes to XCom;
- :func:`~airflow_alignment.tasks.publish.raise_for_status` maps the status to the task
  state: ``passed`` and ``warned`` succeed; ``failed`` and ``error`` raise
  ``AirflowFailException`` (no retry: the same data and spec give the same answer). A source
  that could not be reached re-raises its ``SourceUnavailableError`` after storing the error
  result, so Airflow's retries apply; so does an artifact store that cannot be reached
  (``StoreUnavailableError``). An exception that is not ours (a bug) also leaves an ``error``
  result and an audit record, then propagates unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import AlignmentError, SourceUnavailableError
from airflow_alignment.tasks.base import AlignmentTask
from airflow_alignment.tasks.publish import AlignmentCheckFailed, raise_for_status

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_alignment.results import CheckResult


class AlignmentCheckOperator(AlignmentTask):
    """Base class of the package's check operators (arguments: see :class:`AlignmentTask`)."""

    def evaluate(self, context: Context) -> CheckResult:
        """Load the data, run the engine, return its result (subclasses)."""
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any]:
        t0 = time.perf_counter()
        try:
            result = self.evaluate(context)
        except AlignmentError as exc:
            result = self.error_of(exc)
            result.duration_s = round(time.perf_counter() - t0, 6)
            self.publish(result, context)
            if isinstance(exc, SourceUnavailableError):
                raise  # I/O: keep Airflow's retries
            raise_for_status(result)
        except Exception as exc:  # not ours: a bug. Keep the record, then let Airflow see it as it is.
            result = self.error_of(exc)
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


__all__: Sequence[str] = ["AlignmentCheckFailed", "AlignmentCheckOperator", "raise_for_status"]
