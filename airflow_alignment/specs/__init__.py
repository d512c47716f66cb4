"""Typed specs: what each kind of check judges, with every default and bound written once, here.

One frozen dataclass per kind, validated when it is made (``SpecError`` names the field):

- :class:`ExpectationsSpec`: Great Expectations expectations (and a suite);
- :class:`FairnessSpec`: per-group metrics and fairness constraints;
- :class:`PerformanceSpec`: model-quality constraints on the whole data;
- :class:`DriftSpec`: reference against current data, with PSI bands per feature;
- :class:`DataBiasSpec`: pre-training bias of labelled data (Clarify's metrics of a facet);

with the parts fairness and performance share: :class:`LabelColumns` (which column plays which
role), :class:`JudgingOptions` (severity, ``decide_on``, the bootstrap) and :class:`Constraint`.
Policies, operators, sensors and the engines' ``evaluate`` functions all build or take these.
Nothing here imports anything heavy: specs are checked when a DAG file is parsed.
"""

from __future__ import annotations

from airflow_alignment.specs.bias import DataBiasSpec
from airflow_alignment.specs.constraints import Constraint
from airflow_alignment.specs.drift import DriftSpec, FeatureBound
from airflow_alignment.specs.expectations import ExpectationsSpec
from airflow_alignment.specs.fairness import FairnessSpec
from airflow_alignment.specs.labelled import JudgingOptions, LabelColumns
from airflow_alignment.specs.performance import PerformanceSpec

__all__ = [
    "Constraint",
    "DataBiasSpec",
    "DriftSpec",
    "ExpectationsSpec",
    "FairnessSpec",
    "FeatureBound",
    "JudgingOptions",
    "LabelColumns",
    "PerformanceSpec",
]
