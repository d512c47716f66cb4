"""Triggers of airflow-alignment: the deferrable half of the sensors. The triggerer only looks at
cheap readiness conditions (a file changed, a count grew); it never imports pandas, Great
Expectations or fairlearn: the evaluation runs on a worker when the task resumes."""

from __future__ import annotations

from airflow_alignment.triggers.alignment import AlignmentSensorTrigger

__all__ = ["AlignmentSensorTrigger"]
