"""What the checks of a model's predictions share (fairness, performance): label columns,
constraints validated at parse time, defaults, the engine call's common arguments."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_alignment.exceptions import SpecError
from airflow_alignment.operators.base import AlignmentCheckOperator, is_templated
from airflow_alignment.sources import describe_source, validate_data_arg

if TYPE_CHECKING:
    import pandas as pd

LABEL_COLUMNS = ("y_true", "y_pred", "y_score", "sample_weight")


class LabelledCheckOperator(AlignmentCheckOperator):
    """Base of the operators that judge predictions against labels with ``constraints``.

    Subclasses call :meth:`resolve` (policy merge and defaults) before ``super().__init__``,
    then :meth:`setup` (validation and the common attributes) after it.
    """

    template_fields = ("data", "constraints", "baseline", "check_name")
    template_fields_renderers = {"constraints": "json"}
    defaults: ClassVar[dict[str, Any]]
    required: ClassVar[tuple[str, ...]] = ("y_true", "constraints")
    option_keys: ClassVar[tuple[str, ...]]

    @classmethod
    def resolve(cls, given: dict[str, Any], policy: Any, check: str | None, task_id: str) -> tuple[dict[str, Any], Any]:
        given = {k: v for k, v in given.items() if k not in ("self", "kwargs", "policy", "check", "__class__")}
        args, loaded = cls.policy_arguments(policy, check, given, task_id)
        return {**cls.defaults, **{k: v for k, v in args.items() if v is not None}}, loaded

    def setup(self, args: dict[str, Any], validate: Callable[..., Any]) -> None:
        name = type(self).__name__
        validate_data_arg(args.get("data"), f"{name}.data")
        for required in self.required:
            if args.get(required) is None:
                raise SpecError(f"{name}: {required}= is required")
        if (args.get("y_pred") is None) == (args.get("y_score") is None):
            raise SpecError(f"{name}: give exactly one of y_pred= (labels) or y_score= (scores, with threshold=)")
        self.options = {k: args[k] for k in self.option_keys}
        self.options["severity"] = self.severity
        if not isinstance(args["constraints"], str) and not is_templated(args["constraints"]):
            validate(args["constraints"], **self.options)  # fail at parse time on a bad spec
        self.data = args.get("data")
        self.constraints = args["constraints"]
        self.baseline = args.get("baseline")
        self.columns = {k: args.get(k) for k in LABEL_COLUMNS}
        self.threshold = args.get("threshold")
        self.pos_label = args["pos_label"]
        self.random_state = args["random_state"]

    def load(self, extra_columns: list[str] | None = None) -> pd.DataFrame:
        from airflow_alignment.sources import load_frame

        return load_frame(self.data, columns=[c for c in self.columns.values() if c] + (extra_columns or []))

    def engine_arguments(self) -> dict[str, Any]:
        """The keyword arguments every label engine's ``evaluate`` takes, rendered."""
        constraints = json.loads(self.constraints) if isinstance(self.constraints, str) else self.constraints
        return {
            **self.columns,
            **self.options,
            "constraints": constraints,
            "threshold": self.threshold,
            "pos_label": self.pos_label,
            "baseline": self.baseline or self.last_approved_baseline(),
            "check_name": self.check_name,
            "random_state": self.random_state,
            "source": describe_source(self.data),
        }
