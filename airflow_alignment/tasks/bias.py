"""What a data bias task holds: its arguments (a :class:`~airflow_alignment.specs.bias.DataBiasSpec`'s
fields), the spec built from them when the DAG is parsed, and the labelled data it counts."""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_alignment.engines import data_bias
from airflow_alignment.engines.binary import cells
from airflow_alignment.exceptions import SpecError
from airflow_alignment.io import as_source, describe_source, load_frame
from airflow_alignment.specs.bias import DataBiasSpec
from airflow_alignment.tasks.base import AlignmentTask, is_templated
from airflow_alignment.tasks.labelled import spec_defaults

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_alignment.results import CheckResult

#: the spec's fields a task takes (the judging ``severity`` is the task's own)
SPEC_FIELDS = tuple(f.name for f in dataclasses.fields(DataBiasSpec) if f.init and f.name != "severity")


class DataBiasTask(AlignmentTask):
    """Data bias: the arguments of ``DataBiasCheckOperator`` (documented there)."""

    kind = "data_bias"
    template_fields: tuple[str, ...] = ("data", "constraints", "facet_values", "baseline", "check_name")
    template_fields_renderers: ClassVar[dict[str, str]] = {"constraints": "json", "facet_values": "json"}

    def __init__(
        self,
        *,
        data: Any = None,
        label: str | None = None,
        sensitive_features: str | Sequence[str] | None = None,
        constraints: Any = None,
        facet_values: Any = None,
        group_variable: str | None = None,
        pos_label: Any = None,
        label_threshold: float | None = None,
        sample_weight: str | None = None,
        p: float | None = None,
        label_distribution: str | None = None,
        concentration: float | None = None,
        confidence: float | None = None,
        n_boot: int | None = None,
        decide_on: str | None = None,
        random_state: int | None = None,
        baseline: Any = None,
        severity: str | None = None,
        check_name: str | None = None,
        policy: Any = None,
        check: str | None = None,
        **kwargs: Any,
    ) -> None:
        given = {k: v for k, v in locals().items() if k not in ("self", "kwargs", "policy", "check", "__class__")}
        args, loaded = self.policy_arguments(policy, check, given, kwargs.get("task_id", ""))
        super().__init__(severity=args.get("severity"), check_name=args.get("check_name"), policy=loaded, **kwargs)
        self.data = self.data_argument(args.get("data"))
        self.baseline = args.get("baseline")
        fields = {**spec_defaults(DataBiasSpec), **{k: v for k, v in args.items() if v is not None}}
        for required in ("label", "sensitive_features", "constraints"):
            if fields.get(required) is None:
                raise SpecError(f"{type(self).__name__}: {required}= is required")
        self.spec_fields = {k: fields[k] for k in SPEC_FIELDS if k in fields}
        self.constraints = self.spec_fields.pop("constraints", None)
        self.facet_values = self.spec_fields.pop("facet_values", None)
        if not is_templated(self.constraints) and not is_templated(self.facet_values):
            self.build_spec()  # fail at parse time on a bad spec

    def build_spec(self) -> DataBiasSpec:
        """The spec of the (rendered) arguments, checked (a missing argument is named by the spec)."""
        return DataBiasSpec(
            **self.spec_fields,
            severity=self.severity,
            constraints=_json(self.constraints),
            facet_values=_json(self.facet_values),
        )

    def evaluate(self, context: Any) -> CheckResult:
        """Count the labelled data (where it lives when its backend can) and judge it."""
        spec = self.build_spec()
        source = as_source(self.data)
        keys = data_bias.cell_keys(spec)
        table = cells.count(source, **keys)
        target = table if table is not None else load_frame(source, columns=spec.columns)
        return data_bias.evaluate(
            target,
            spec,
            baseline=self.baseline or self.approved_baseline(),
            check_name=self.check_name,
            source=describe_source(self.data),
        )


def _json(value: Any) -> Any:
    """A rendered template is a string: its JSON."""
    return json.loads(value) if isinstance(value, str) and value.lstrip()[:1] in "[{" else value
