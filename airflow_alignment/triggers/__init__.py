"""Triggers of airflow-alignment: the deferrable half of the sensors. Importing this module is
cheap: the evaluation (pandas, Great Expectations, fairlearn) is imported when a trigger runs."""

from __future__ import annotations

from airflow_alignment.triggers.alignment import AlignmentSensorTrigger

__all__ = ["AlignmentSensorTrigger"]
