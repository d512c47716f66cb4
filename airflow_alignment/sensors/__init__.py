"""Airflow sensors of airflow-alignment. Importing this module is cheap: no pandas, numpy,
Great Expectations or fairlearn is imported until a sensor pokes."""

from __future__ import annotations

from airflow_alignment.sensors.base import AlignmentSensor
from airflow_alignment.sensors.expectations import ExpectationsSensor
from airflow_alignment.sensors.fairness import FairnessFeedbackSensor

__all__ = ["AlignmentSensor", "ExpectationsSensor", "FairnessFeedbackSensor"]
