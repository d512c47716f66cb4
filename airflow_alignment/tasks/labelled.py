"""What the tasks of a binary classifier's predictions share (fairness, performance; operator
and sensor): their arguments, the spec they build, and the data they load.

A kind base (:class:`FairnessTask`, :class:`PerformanceTask`) declares the kind's arguments once
and goes before the operator or sensor base:
``class FairnessCheckOperator(FairnessTask, AlignmentCheckOperator)``. Defaults
are the spec's (:mod:`airflow_alignment.specs`): an argument left ``None`` takes the policy's
value, else the spec field's default. The spec is built when the DAG is parsed (unless the
constraints are templated) and again from the rendered fields when the task runs.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_alignment.engines import fairness, performance
from airflow_alignment.engines.binary import cells
from airflow_alignment.exceptions import SpecError
from airflow_alignment.io import as_source, backend_for, describe_source, load_frame
from airflow_alignment.specs import FairnessSpec, PerformanceSpec
from airflow_alignment.specs.metrics import SCORE_METRICS
from airflow_alignment.tasks.base import AlignmentTask, is_templated

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pandas as pd

    from airflow_alignment.engines.binary.cells import CellTable
    from airflow_alignment.results import CheckResult

LABEL_COLUMNS = ("y_true", "y_pred", "y_score", "sample_weight")
_NOT_ARGUMENTS = ("self", "kwargs", "policy", "check", "__class__")


def spec_defaults(spec_class: type) -> dict[str, Any]:
    """The default of every field of ``spec_class`` that has one: the defaults, written once."""
    return {
        f.name: f.default
        for f in dataclasses.fields(spec_class)
        if f.init and f.default is not dataclasses.MISSING and f.metadata.get("policy", True)
    }


class LabelledTask(AlignmentTask):
    """Base of the tasks that judge predictions against labels with ``constraints``.

    A kind's ``__init__`` (:class:`FairnessTask`, :class:`PerformanceTask`) calls
    :meth:`resolve` (policy merge and the spec's defaults) before ``super().__init__``, then
    :meth:`setup` (validation and the common attributes) after it.
    """

    template_fields: tuple[str, ...] = ("data", "constraints", "baseline", "check_name")
    template_fields_renderers: ClassVar[dict[str, str]] = {"constraints": "json"}
    spec_class: ClassVar[type[FairnessSpec] | type[PerformanceSpec]]
    engine: ClassVar[Callable[..., CheckResult]]
    required: ClassVar[tuple[str, ...]] = ("y_true", "constraints")
    option_keys: ClassVar[tuple[str, ...]]  # the judging options, recorded in ``self.options``
    own_keys: ClassVar[tuple[str, ...]] = ()  # the kind's other spec fields

    @classmethod
    def resolve(cls, given: dict[str, Any], policy: Any, check: str | None, task_id: str) -> tuple[dict[str, Any], Any]:
        """The arguments given (``locals()`` of ``__init__``) over the policy check's, over the spec's defaults."""
        given = {k: v for k, v in given.items() if k not in _NOT_ARGUMENTS}
        args, loaded = cls.policy_arguments(policy, check, given, task_id)
        return {**spec_defaults(cls.spec_class), **{k: v for k, v in args.items() if v is not None}}, loaded

    def setup(self, args: dict[str, Any]) -> None:
        """Check the arguments and keep them; build the spec now unless the constraints are templated."""
        name = type(self).__name__
        self.data = self.data_argument(args.get("data"))
        for required in self.required:
            if args.get(required) is None:
                raise SpecError(f"{name}: {required}= is required")
        if (args.get("y_pred") is None) == (args.get("y_score") is None):
            raise SpecError(f"{name}: give exactly one of y_pred= (labels) or y_score= (scores, with threshold=)")
        self.options = {k: args[k] for k in self.option_keys}
        self.options["severity"] = self.severity
        self.constraints = args["constraints"]
        self.baseline = args.get("baseline")
        self.columns = {k: args.get(k) for k in LABEL_COLUMNS}
        self.threshold = args.get("threshold")
        self.pos_label = args["pos_label"]
        self.random_state = args["random_state"]
        self.kind_options = {k: args[k] for k in self.own_keys}
        if not isinstance(self.constraints, str) and not is_templated(self.constraints):
            self.build_spec()  # fail at parse time on a bad spec

    def spec_arguments(self) -> dict[str, Any]:
        """The spec's fields, from the (rendered) arguments."""
        constraints = json.loads(self.constraints) if isinstance(self.constraints, str) else self.constraints
        return {
            **self.columns,
            "threshold": self.threshold,
            "pos_label": self.pos_label,
            "random_state": self.random_state,
            "constraints": constraints,
            **self.options,
            **self.kind_options,
        }

    def build_spec(self) -> FairnessSpec | PerformanceSpec:
        """The spec of the (rendered) arguments, checked."""
        return self.spec_class(**self.spec_arguments())

    def evaluate(self, context: Any) -> CheckResult:
        """Load the data the constraints need and judge it."""
        spec = self.build_spec()
        return self.judge(self.load(spec), spec)

    def judge(self, target: pd.DataFrame | CellTable, spec: Any, baseline: Any = None) -> CheckResult:
        """Run the kind's engine on ``target`` (rows or their cell table)."""
        return type(self).engine(
            target,
            spec,
            baseline=baseline or self.baseline or self.approved_baseline(),
            check_name=self.check_name,
            source=describe_source(self.data),
        )

    def load(self, spec: FairnessSpec | PerformanceSpec) -> pd.DataFrame | CellTable:
        """The data the engine judges: the rows, or their cell counts where counts suffice.

        Counts suffice when every metric the constraints read is count-based. Then a
        ``SqlSource`` becomes one ``GROUP BY`` inside the database and a large file (or a
        ``FileSource`` with ``batch_rows``) is read in batches; only the cell table reaches
        this process. Score metrics (``roc_auc``, ``log_loss``, ``brier_score``) are computed
        inside Spark on a ``SparkSource`` (one row per group comes back); elsewhere they need
        the rows, and so do callables: the needed columns are read (from SQL, ``chunk_rows`` at
        a time).
        """
        source = as_source(self.data)
        table = counted(source, spec)
        if table is not None:
            return table
        features = list(getattr(spec, "sensitive_features", ()))
        columns = [c for c in self.columns.values() if c] + features
        needs_rows = metrics_needing_rows(spec)
        if needs_rows and backend_for(source).in_place:
            self.log.info("%s need the rows: reading columns %s of %s", ", ".join(needs_rows), columns, source)
        return load_frame(source, columns=columns)


class FairnessTask(LabelledTask):
    """Fairness: the arguments of ``FairnessCheckOperator`` and ``FairnessFeedbackSensor``
    (documented there), the sensitive features and the fairness options."""

    spec_class = FairnessSpec
    engine = staticmethod(fairness.evaluate)
    required = ("y_true", "sensitive_features", "constraints")
    option_keys = ("decide_on", "confidence", "n_boot", "min_group_size", "missing_groups")
    own_keys = ("sensitive_features", "marginal", "facet_values")

    def __init__(
        self,
        *,
        data: Any = None,
        y_true: str | None = None,
        sensitive_features: str | Sequence[str] | None = None,
        constraints: Any = None,
        y_pred: str | None = None,
        y_score: str | None = None,
        threshold: float | None = None,
        pos_label: Any = None,
        min_group_size: int | None = None,
        confidence: float | None = None,
        n_boot: int | None = None,
        decide_on: str | None = None,
        baseline: Any = None,
        severity: str | None = None,
        check_name: str | None = None,
        marginal: bool | None = None,
        sample_weight: str | None = None,
        missing_groups: str | None = None,
        random_state: int | None = None,
        facet_values: Any = None,
        policy: Any = None,
        check: str | None = None,
        **kwargs: Any,
    ) -> None:
        args, loaded = self.resolve(locals(), policy, check, kwargs.get("task_id", ""))
        super().__init__(severity=args.get("severity"), check_name=args.get("check_name"), policy=loaded, **kwargs)
        self.setup(args)

    def setup(self, args: dict[str, Any]) -> None:
        features = args.get("sensitive_features")
        if features is not None:
            args = {**args, "sensitive_features": [features] if isinstance(features, str) else list(features)}
        super().setup(args)
        self.sensitive_features: list[str] = args["sensitive_features"]
        self.marginal = args["marginal"]
        self.min_group_size = args["min_group_size"]


class PerformanceTask(LabelledTask):
    """Performance: the arguments of ``PerformanceCheckOperator`` (documented there)."""

    spec_class = PerformanceSpec
    engine = staticmethod(performance.evaluate)
    option_keys = ("decide_on", "confidence", "n_boot")

    def __init__(
        self,
        *,
        data: Any = None,
        y_true: str | None = None,
        constraints: Any = None,
        y_pred: str | None = None,
        y_score: str | None = None,
        threshold: float | None = None,
        pos_label: Any = None,
        sample_weight: str | None = None,
        confidence: float | None = None,
        n_boot: int | None = None,
        decide_on: str | None = None,
        baseline: Any = None,
        severity: str | None = None,
        check_name: str | None = None,
        random_state: int | None = None,
        policy: Any = None,
        check: str | None = None,
        **kwargs: Any,
    ) -> None:
        args, loaded = self.resolve(locals(), policy, check, kwargs.get("task_id", ""))
        super().__init__(severity=args.get("severity"), check_name=args.get("check_name"), policy=loaded, **kwargs)
        self.setup(args)


def metrics_needing_rows(spec: FairnessSpec | PerformanceSpec) -> list[str]:
    """The metrics of ``spec``'s constraints that need rows, not cell counts (scores, callables)."""
    needed = []
    for constraint in spec.constraints:
        if callable(constraint.metric):
            needed.append(getattr(constraint.metric, "__name__", "a callable metric"))
        elif constraint.metric_name in SCORE_METRICS:
            needed.append(constraint.metric_name)
    return list(dict.fromkeys(needed))


def counted(data: Any, spec: FairnessSpec | PerformanceSpec, **rows: Any) -> CellTable | None:
    """The cell table that judges ``spec`` where ``data`` lives, or ``None`` when the rows are
    needed: counts alone for count metrics (a database, Spark, a large file); with score
    metrics, the counts and the score metrics computed inside Spark (other sources: ``None``);
    with a callable, ``None``. ``rows``: ``window`` and ``not_null``, as a backend's ``read``."""
    roles = {
        "features": list(getattr(spec, "sensitive_features", ())),
        "y_true": spec.y_true,
        "y_pred": spec.y_pred,
        "y_score": spec.y_score,
        "threshold": spec.threshold,
        "sample_weight": spec.sample_weight,
    }
    if not metrics_needing_rows(spec):
        return cells.count(data, **roles, **rows)
    if any(callable(c.metric) for c in spec.constraints):
        return None
    return cells.count_scored(data, pos_label=spec.pos_label, **roles, **rows)
