"""``AlignmentSensorTrigger``: a deferred alignment sensor's wait, in the shape of Airflow's
``FileTrigger``.

It looks at a cheap readiness condition (see :mod:`airflow_alignment.triggers.readiness`:
the file or object exists and changed, a SQL source's ``COUNT(*)``, labelled rows per group)
every ``poke_interval`` seconds, the blocking look in a worker thread
(``anyio.to_thread.run_sync``), and yields one ``TriggerEvent``:

- ``{"status": "changed", "fingerprint": ..., "polls": n, "note": ...}``: the condition holds
  and the data differs from what the sensor last evaluated; the task resumes on a worker,
  which runs the evaluation (and defers again with the new fingerprint if the data is still
  not enough);
- ``{"status": "timeout", "polls": n}`` at ``deadline`` (epoch seconds);
- ``{"status": "error", "message": ..., "polls": n}`` when the condition itself is wrong
  (an unknown connection, say): waiting would not help.

Every event also hands back ``carry``, the sensor's own state, untouched.

The evaluation (pandas, Great Expectations, fairlearn) never runs here: the triggerer serves
every deferred task of the deployment. Everything this module imports at run time is light.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_alignment.exceptions import AlignmentError, SpecError
from airflow_alignment.triggers.readiness import observe


class AlignmentSensorTrigger(BaseTrigger):
    """Fire once when the data an alignment sensor waits on is ready and changed, or at the deadline.

    :param condition: the readiness condition (plain values, see
        :mod:`airflow_alignment.triggers.readiness`).
    :param previous: the condition's fingerprint before the sensor's last evaluation; the
        trigger fires only for a different one. ``None``: any data that is there counts.
    :param poke_interval: seconds between looks.
    :param deadline: epoch seconds after which the trigger reports ``timeout``; ``None`` waits
        for ever.
    :param carry: plain values handed back untouched in every event (the sensor's deadline,
        evaluations so far and last result, so that a timeout can name it).
    """

    def __init__(
        self,
        condition: dict[str, Any],
        previous: Any = None,
        poke_interval: float = 60.0,
        deadline: float | None = None,
        carry: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.condition = condition
        self.previous = previous
        self.poke_interval = poke_interval
        self.deadline = deadline
        self.carry = carry

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_alignment.triggers.alignment.AlignmentSensorTrigger",
            {
                "condition": self.condition,
                "previous": self.previous,
                "poke_interval": self.poke_interval,
                "deadline": self.deadline,
                "carry": self.carry,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        polls, last_note = 0, None
        while True:
            polls += 1
            try:
                seen = await anyio.to_thread.run_sync(observe, self.condition)
            except SpecError as exc:
                yield self._event("error", polls, message=str(exc))
                return
            except AlignmentError as exc:  # unreachable, no table yet: look again later
                note = f"not yet: {exc}"
            else:
                if seen.ready_after(self.previous):
                    self.log.info("poll %d: %s: resuming the task to evaluate", polls, seen.note)
                    yield self._event("changed", polls, fingerprint=seen.fingerprint, note=seen.note)
                    return
                unchanged = seen.enough and seen.fingerprint == self.previous
                note = f"{seen.note}; unchanged since the last evaluation" if unchanged else seen.note
            if note != last_note:  # one line per change, not one per poll
                self.log.info("poll %d: %s", polls, note)
                last_note = note
            left = None if self.deadline is None else self.deadline - time.time()
            if left is not None and left <= 0:
                yield self._event("timeout", polls)
                return
            await asyncio.sleep(self.poke_interval if left is None else min(self.poke_interval, left))

    def _event(self, status: str, polls: int, **detail: Any) -> TriggerEvent:
        return TriggerEvent({"status": status, "polls": polls, **detail, "carry": self.carry})
