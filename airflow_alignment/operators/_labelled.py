"""What the checks of a model's predictions share (fairness, performance): label columns,
constraints validated at parse time, defaults, the engine call's common arguments."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_alignment.exceptions import SpecError
from airflow_alignment.operators.base import AlignmentCheckOperator, is_templated
from airflow_alignment.sources import describe_source, keep_callable, validate_data_arg

if TYPE_CHECKING:
    import pandas as pd

    from airflow_alignment.engines.cells import CellTable

LABEL_COLUMNS = ("y_true", "y_pred", "y_score", "sample_weight")


class LabelledCheckOperator(AlignmentCheckOperator):
    """Base of the operators that judge predictions against labels with ``constraints``.

    Subclasses call :meth:`resolve` (policy merge and defaults) before ``super().__init__``,
    then :meth:`setup` (validation and the common attributes) after it.
    """

    template_fields = ("data", "constraints", "baseline", "check_name")
    template_fields_renderers: ClassVar[dict[str, str]] = {"constraints": "json"}
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
        self.data = keep_callable(args.get("data"))
        self.constraints = args["constraints"]
        self.baseline = args.get("baseline")
        self.columns = {k: args.get(k) for k in LABEL_COLUMNS}
        self.threshold = args.get("threshold")
        self.pos_label = args["pos_label"]
        self.random_state = args["random_state"]

    def load(self, features: list[str] | None = None) -> pd.DataFrame | CellTable:
        """The data the engine judges: the rows, or their cell counts where counts suffice.

        Counts suffice when every metric the constraints read is count-based. Then a
        ``SqlSource`` becomes one ``GROUP BY`` inside the database and a large file (or a
        ``FileSource`` with ``batch_rows``) is read in batches; only the cell table reaches
        this process. Score metrics (``roc_auc``, ``log_loss``, ``brier_score``) need the rows:
        the needed columns are read (from SQL, ``chunk_rows`` at a time).
        """
        from airflow_alignment.sources import (
            SqlSource,
            as_source,
            batch_rows,
            iter_batches,
            load_frame,
        )

        source = as_source(self.data)
        columns = [c for c in self.columns.values() if c] + (features or [])
        needs_rows = self.rows_needed()
        if isinstance(source, SqlSource) and not needs_rows:
            from airflow_alignment import sql

            self.log.info("counting cells inside the database of %s", source)
            return sql.cell_table(source, features=features or [], **self.cell_arguments())
        rows = None if needs_rows else batch_rows(source)
        if rows is not None:
            from airflow_alignment.engines import cells

            self.log.info("reading %s in batches of %s rows and counting cells", source, f"{rows:,}")
            return cells.from_batches(
                iter_batches(source, columns, rows),
                features=features or [],
                source=describe_source(source),
                **self.cell_arguments(),
            )
        if isinstance(source, SqlSource) and needs_rows:
            self.log.info("%s need the rows: reading columns %s of %s", ", ".join(needs_rows), columns, source)
        return load_frame(source, columns=columns)

    def cell_arguments(self) -> dict[str, Any]:
        return {
            "y_true": self.columns["y_true"],
            "y_pred": self.columns["y_pred"],
            "y_score": self.columns["y_score"],
            "threshold": self.threshold,
            "sample_weight": self.columns["sample_weight"],
        }

    def rows_needed(self) -> list[str]:
        """The metrics of the (rendered) constraints that need rows, not counts."""
        constraints = json.loads(self.constraints) if isinstance(self.constraints, str) else self.constraints
        return metrics_needing_rows(constraints)

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


def metrics_needing_rows(constraints: Any) -> list[str]:
    """The metrics of ``constraints`` that need rows, not cell counts (scores, callables)."""
    from airflow_alignment.engines.fairness import SCORE_METRICS

    needed = []
    for raw in constraints or []:
        metric = raw.get("metric") if isinstance(raw, dict) else None
        if callable(metric):
            needed.append(getattr(metric, "__name__", "a callable metric"))
        elif metric in SCORE_METRICS:
            needed.append(str(metric))
    return list(dict.fromkeys(needed))
