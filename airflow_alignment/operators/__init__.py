"""Airflow operators of airflow-alignment. Importing this module is cheap: no pandas, numpy,
Great Expectations or fairlearn is imported until a task runs."""

from __future__ import annotations

from airflow_alignment.operators.base import AlignmentCheckFailed, AlignmentCheckOperator
from airflow_alignment.operators.drift import DriftCheckOperator
from airflow_alignment.operators.expectations import DataExpectationsOperator
from airflow_alignment.operators.fairness import FairnessCheckOperator
from airflow_alignment.operators.gate import AlignmentGateOperator
from airflow_alignment.operators.performance import PerformanceCheckOperator

__all__ = [
    "AlignmentCheckFailed",
    "AlignmentCheckOperator",
    "AlignmentGateOperator",
    "DataExpectationsOperator",
    "DriftCheckOperator",
    "FairnessCheckOperator",
    "PerformanceCheckOperator",
]
