"""``AlignmentSensorTrigger``: an alignment sensor's wait, run in the triggerer.

It runs the sensor's evaluator (``spec -> (done, CheckResult)``, see
:mod:`airflow_alignment.sensors.base`) every ``poke_interval`` seconds in a worker thread, so
loading data and running Great Expectations or fairlearn never blocks the triggerer's event
loop, and yields one ``TriggerEvent``: ``{"status": "done" | "error" | "timeout", "result":
<the last CheckResult, bounded>, "pokes": n}``. At ``deadline`` (epoch seconds) it reports
``timeout`` with the last result, so the task's timeout error can name it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from airflow.triggers.base import BaseTrigger, TriggerEvent


class AlignmentSensorTrigger(BaseTrigger):
    """Fire once when an alignment sensor's evaluation is done, failed for good, or timed out.

    :param evaluator: dotted path of the sensor's module-level evaluator.
    :param spec: its input: plain values (paths, expectations, column names, numbers).
    :param check: ``{"name", "kind", "severity"}`` of the result.
    :param poke_interval: seconds between evaluations.
    :param deadline: epoch seconds after which the trigger reports ``timeout``; ``None`` waits
        for ever.
    """

    def __init__(
        self,
        evaluator: str,
        spec: dict[str, Any],
        check: dict[str, str],
        poke_interval: float = 60.0,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.evaluator = evaluator
        self.spec = spec
        self.check = check
        self.poke_interval = poke_interval
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "airflow_alignment.triggers.alignment.AlignmentSensorTrigger",
            {
                "evaluator": self.evaluator,
                "spec": self.spec,
                "check": self.check,
                "poke_interval": self.poke_interval,
                "deadline": self.deadline,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_alignment.sensors.base import attempt

        pokes = 0
        while True:
            outcome, result = await anyio.to_thread.run_sync(attempt, self.evaluator, self.spec, self.check)
            pokes += 1
            self.log.info("evaluation %d: %s (%s)", pokes, outcome, result.summary)
            if outcome != "waiting":
                yield TriggerEvent({"status": outcome, "result": result.compact(), "pokes": pokes})
                return
            left = None if self.deadline is None else self.deadline - time.time()
            if left is not None and left <= 0:
                yield TriggerEvent({"status": "timeout", "result": result.compact(), "pokes": pokes})
                return
            await asyncio.sleep(self.poke_interval if left is None else min(self.poke_interval, left))
