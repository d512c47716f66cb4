"""``python -m airflow_alignment`` and the ``airflow-alignment`` command (see :mod:`airflow_alignment.cli`)."""

from __future__ import annotations

import os
import sys


def run() -> int:
    """Quiet Airflow's logging to warnings before Airflow is imported (the command's own output is
    the point; ``AIRFLOW__LOGGING__LOGGING_LEVEL`` set by the caller wins), then run the command."""
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    from airflow_alignment.cli import main  # after the setting above: importing it imports Airflow

    return main()


if __name__ == "__main__":
    sys.exit(run())
