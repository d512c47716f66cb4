"""The Airflow plugin of airflow-alignment, registered through the ``airflow.plugins``
entry point (no file is copied into ``plugins/``)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class AlignmentPlugin(AirflowPlugin):
    name = "airflow_alignment"
