"""Airflow operators of airflow-alignment. Importing this module is cheap: no pandas, numpy,
Great Expectations or fairlearn is imported until a task runs."""

from __future__ import annotations

from typing import Any

from airflow_alignment import deprecated_alias
from airflow_alignment.operators.base import AlignmentCheckFailed, AlignmentCheckOperator
from airflow_alignment.operators.bias import DataBiasCheckOperator
from airflow_alignment.operators.drift import DriftCheckOperator
from airflow_alignment.operators.estimated import EstimatedFairnessOperator
from airflow_alignment.operators.expectations import ExpectationsCheckOperator
from airflow_alignment.operators.fairness import FairnessCheckOperator
from airflow_alignment.operators.gate import AlignmentGateOperator
from airflow_alignment.operators.performance import PerformanceCheckOperator

__all__ = [
    "AlignmentCheckFailed",
    "AlignmentCheckOperator",
    "AlignmentGateOperator",
    "DataBiasCheckOperator",
    "DriftCheckOperator",
    "EstimatedFairnessOperator",
    "ExpectationsCheckOperator",
    "FairnessCheckOperator",
    "PerformanceCheckOperator",
]


def __getattr__(name: str) -> Any:
    if name == "DataExpectationsOperator":  # the old name
        return deprecated_alias(ExpectationsCheckOperator.__module__, name, "ExpectationsCheckOperator")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
