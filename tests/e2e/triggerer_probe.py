"""A test-only trigger that reports from inside the triggerer process that runs it: its pid,
its resident memory and CPU time (and its parent's, the triggerer's supervisor), and which
heavy libraries and which of our modules it has imported.

``tests/dags/triggerer_cases.py`` defers to it (``TriggererProbe``); the REST API returns the
report as the task's XCom. Importable by every Airflow component because the test starts
``airflow standalone`` with the repository root on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.sdk import BaseOperator
from airflow.triggers.base import BaseTrigger, TriggerEvent

HEAVY = ("pandas", "numpy", "pyarrow", "great_expectations", "fairlearn", "sklearn", "scipy")
OURS = ("airflow_alignment.triggers.alignment", "airflow_alignment.triggers.readiness", "airflow_alignment.io.sql")


def rss_kb(pid: int | str = "self") -> int:
    """Resident memory of a process (``VmRSS`` of ``/proc/<pid>/status``), in kB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process so far (``/proc/<pid>/stat``), in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ModulesProbeTrigger(BaseTrigger):
    """Fires at once with a report on the process that runs it."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return ("tests.e2e.triggerer_probe.ModulesProbeTrigger", {})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        parent = os.getppid()  # the triggerer's supervisor, which talks to the database for it
        yield TriggerEvent(
            {
                "pid": os.getpid(),
                "at": time.time(),
                "rss_kb": rss_kb(),
                "cpu_s": cpu_seconds(),
                "parent_rss_kb": rss_kb(parent),
                "parent_cpu_s": cpu_seconds(parent),
                "heavy": [m for m in HEAVY if m in sys.modules],
                "ours": [m for m in OURS if m in sys.modules],
            }
        )


class TriggererProbe(BaseOperator):
    """Defers to :class:`ModulesProbeTrigger`; its XCom is the trigger's report."""

    def execute(self, context: Any) -> None:
        self.defer(trigger=ModulesProbeTrigger(), method_name="report")

    def report(self, context: Any, event: dict[str, Any]) -> dict[str, Any]:
        return event
