"""airflow-alignment: AI alignment checks as first-class Apache Airflow tasks.

Everything a DAG needs is importable from here::

    from airflow_alignment import alignment_checks, FairnessCheckOperator, FileSource, load_policy

The names load lazily (PEP 562): importing the package imports nothing but this file, and a
name's module is imported when the name is first used, so parsing a DAG stays cheap. The
layers below (each importing only from those before it) are documented in
``docs/architecture.md``: :mod:`.specs`, :mod:`.io`, :mod:`.engines` (plain-Python
``evaluate`` functions), :mod:`.results`, :mod:`.store`, :mod:`.reporting`, :mod:`.tasks`,
:mod:`.operators`, :mod:`.sensors`, :mod:`.triggers`, :mod:`.plugin`.
"""

from __future__ import annotations

import warnings
from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY: dict[str, str] = {
    "alignment_checks": "airflow_alignment.taskgroup",
    "AlignmentGateOperator": "airflow_alignment.operators.gate",
    "DataBiasCheckOperator": "airflow_alignment.operators.bias",
    "DriftCheckOperator": "airflow_alignment.operators.drift",
    "EstimatedFairnessOperator": "airflow_alignment.operators.estimated",
    "ExpectationsCheckOperator": "airflow_alignment.operators.expectations",
    "FairnessCheckOperator": "airflow_alignment.operators.fairness",
    "PerformanceCheckOperator": "airflow_alignment.operators.performance",
    "ExpectationsSensor": "airflow_alignment.sensors.expectations",
    "FairnessFeedbackSensor": "airflow_alignment.sensors.fairness",
    "AlignmentNotifier": "airflow_alignment.notifications",
    "FileSource": "airflow_alignment.io.sources",
    "SqlSource": "airflow_alignment.io.sources",
    "SparkSource": "airflow_alignment.io.spark_source",
    "CheckResult": "airflow_alignment.results",
    "load_policy": "airflow_alignment.policy",
    "Policy": "airflow_alignment.policy",
    "DriftSpec": "airflow_alignment.specs",
    "ExpectationsSpec": "airflow_alignment.specs",
    "FairnessSpec": "airflow_alignment.specs",
    "PerformanceSpec": "airflow_alignment.specs",
    "DataBiasSpec": "airflow_alignment.specs",
}
# old name -> the name it became (still importable, with a DeprecationWarning)
_DEPRECATED: dict[str, str] = {"DataExpectationsOperator": "ExpectationsCheckOperator"}

__all__ = [
    "AlignmentGateOperator",
    "AlignmentNotifier",
    "CheckResult",
    "DataBiasCheckOperator",
    "DataBiasSpec",
    "DataExpectationsOperator",
    "DriftCheckOperator",
    "DriftSpec",
    "EstimatedFairnessOperator",
    "ExpectationsCheckOperator",
    "ExpectationsSensor",
    "ExpectationsSpec",
    "FairnessCheckOperator",
    "FairnessFeedbackSensor",
    "FairnessSpec",
    "FileSource",
    "PerformanceCheckOperator",
    "PerformanceSpec",
    "Policy",
    "SparkSource",
    "SqlSource",
    "__version__",
    "alignment_checks",
    "load_policy",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load in __getattr__
    from airflow_alignment.io.sources import FileSource, SqlSource
    from airflow_alignment.io.spark_source import SparkSource
    from airflow_alignment.notifications import AlignmentNotifier
    from airflow_alignment.operators.bias import DataBiasCheckOperator
    from airflow_alignment.operators.drift import DriftCheckOperator
    from airflow_alignment.operators.estimated import EstimatedFairnessOperator
    from airflow_alignment.operators.expectations import DataExpectationsOperator, ExpectationsCheckOperator
    from airflow_alignment.operators.fairness import FairnessCheckOperator
    from airflow_alignment.operators.gate import AlignmentGateOperator
    from airflow_alignment.operators.performance import PerformanceCheckOperator
    from airflow_alignment.policy import Policy, load_policy
    from airflow_alignment.results import CheckResult
    from airflow_alignment.sensors.expectations import ExpectationsSensor
    from airflow_alignment.sensors.fairness import FairnessFeedbackSensor
    from airflow_alignment.specs import DriftSpec, ExpectationsSpec, FairnessSpec, PerformanceSpec
    from airflow_alignment.taskgroup import alignment_checks


def deprecated_alias(module: str, old: str, new: str) -> Any:
    """``new`` of ``module``, for code that still says ``old`` (with a ``DeprecationWarning``)."""
    warnings.warn(
        f"{old} is deprecated; use {new} (from airflow_alignment import {new})", DeprecationWarning, stacklevel=3
    )
    return getattr(import_module(module), new)


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        new = _DEPRECATED[name]
        return deprecated_alias(_LAZY[new], name, new)
    if name not in _LAZY:
        raise AttributeError(f"module 'airflow_alignment' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
