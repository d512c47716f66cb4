"""``AlignmentNotifier``: tell people that an alignment check degraded.

An Airflow notifier (``BaseNotifier``): give it as a task's or a DAG's ``on_success_callback``
/ ``on_failure_callback``. It logs the rendered message and, with ``path=``, appends it as one
JSON line (time, DAG, run, task, message) to a file, which a chat bridge or a test can read.
Subclass it, or use a provider's notifier (Slack, SMTP, ...) with the same message, to reach
people.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

if TYPE_CHECKING:
    from airflow.sdk import Context

log = logging.getLogger(__name__)


class AlignmentNotifier(BaseNotifier):
    """Log (and optionally append to a file) a message about an alignment run.

    :param message: the text (templated), e.g.
        ``"{{ dag.dag_id }}: {{ ti.xcom_pull(task_ids='decide')['reason'] }}"``.
    :param path: a JSON-lines file to append the notification to (templated).
    """

    template_fields: Sequence[str] = ("message", "path")

    def __init__(self, *, message: str, path: str | None = None) -> None:
        super().__init__()
        self.message = message
        self.path = path

    def notify(self, context: Context) -> None:
        ti: Any = context.get("ti")
        record = {
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "dag_id": getattr(ti, "dag_id", None),
            "run_id": getattr(ti, "run_id", None),
            "task_id": getattr(ti, "task_id", None),
            "message": self.message,
        }
        log.warning("alignment notification: %s", self.message)
        if self.path:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")


__all__: Sequence[str] = ["AlignmentNotifier"]
