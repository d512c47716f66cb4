"""``alignment_checks``: adopt a policy in an existing DAG with one line.

::

    train >> alignment_checks(policy="policies/lending.yaml", data={...}, model="credit-risk",
                              review=True) >> deploy

returns a ``TaskGroup`` holding one task per check of the policy and the gate. Nothing else in
the DAG changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import TaskGroup

from airflow_alignment.exceptions import SpecError
from airflow_alignment.operators.base import AlignmentCheckOperator
from airflow_alignment.operators.bias import DataBiasCheckOperator
from airflow_alignment.operators.drift import DriftCheckOperator
from airflow_alignment.operators.expectations import ExpectationsCheckOperator
from airflow_alignment.operators.fairness import FairnessCheckOperator
from airflow_alignment.operators.gate import AlignmentGateOperator
from airflow_alignment.operators.performance import PerformanceCheckOperator
from airflow_alignment.policy import load_policy

_OPERATORS: dict[str, type[AlignmentCheckOperator]] = {
    "expectations": ExpectationsCheckOperator,
    "fairness": FairnessCheckOperator,
    "drift": DriftCheckOperator,
    "performance": PerformanceCheckOperator,
    "data_bias": DataBiasCheckOperator,
}


def alignment_checks(
    policy: Any,
    data: Mapping[str, Any] | None = None,
    model: str | None = None,
    *,
    review: bool = False,
    on_reject: str = "skip",
    group_id: str = "alignment",
    asset: Any = None,
    artifact_store: str | None = None,
    gate_kwargs: Mapping[str, Any] | None = None,
    **check_kwargs: Any,
) -> TaskGroup:
    """One task per policy check, then ``AlignmentGateOperator``, in a ``TaskGroup``.

    :param policy: the policy (YAML path, relative paths also against the DAGs folder; YAML
        text; or a dict).
    :param data: sources by name: a check whose ``data`` is a key of this mapping reads that
        source (templated like any ``data=``); other ``data`` values are used as given.
    :param model: the model judged: names the approval asset ``alignment/<policy>/<model>`` and
        the "last approved" baseline.
    :param review: send warnings to a person in Airflow's human-in-the-loop UI.
    :param on_reject: ``skip`` (deploy is skipped) or ``fail`` (the gate fails).
    :param group_id: the task group's id.
    :param asset: override the approval asset (an ``Asset`` or its name; ``False`` for none).
    :param gate_kwargs: extra ``BaseOperator`` arguments for the gate.
    :param check_kwargs: extra ``BaseOperator`` arguments for every check task
        (``retries``, ``pool``, ...).
    """
    loaded = load_policy(policy)
    sources = dict(data or {})
    with TaskGroup(group_id=group_id) as group:
        checks = []
        for check in loaded.checks:
            source = check.data
            if isinstance(source, str) and source in sources:
                source = sources[source]
            elif isinstance(source, str) and sources and "/" not in source and "{{" not in source:
                raise SpecError(
                    f"policy {loaded.name!r}, check {check.name!r}: data {source!r} is not a key of data= "
                    f"({', '.join(sources)}) nor a path"
                )
            operator = check_operator(check.kind)
            checks.append(
                operator(
                    task_id=check.name,
                    policy=loaded,
                    check=check.name,
                    data=source,
                    model=model,
                    artifact_store=artifact_store,
                    **check_kwargs,
                )
            )
        gate = AlignmentGateOperator(
            task_id="gate",
            policy=loaded,
            model=model,
            review=review,
            on_reject=on_reject,
            asset=asset,
            artifact_store=artifact_store,
            **dict(gate_kwargs or {}),
        )
        checks >> gate
    return group


def check_operator(kind: str) -> type[AlignmentCheckOperator]:
    """The operator class of a policy check kind."""
    return _OPERATORS[kind]
