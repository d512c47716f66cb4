"""``FairnessFeedbackSensor``: wait for labelled production feedback, then judge fairness."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_alignment.engines.fairness import validate_constraints
from airflow_alignment.exceptions import SpecError, preview
from airflow_alignment.operators.base import is_templated
from airflow_alignment.operators.fairness import FAIRNESS_DEFAULTS
from airflow_alignment.sensors.base import AlignmentSensor, plain_data
from airflow_alignment.sources import keep_callable, validate_data_arg
from airflow_alignment.triggers.readiness import group_name
from airflow_alignment.window import window_arguments, window_end

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import Context

    from airflow_alignment.results import CheckResult
    from airflow_alignment.sources import SqlSource
    from airflow_alignment.window import Window

_OPTIONS = ("pos_label", "confidence", "n_boot", "decide_on", "marginal", "missing_groups", "random_state")


class FairnessFeedbackSensor(AlignmentSensor):
    """Wait until a production outcome log holds enough labelled rows for every group, then
    judge the fairness constraints on them (absolute bounds and against the approved baseline).

    Predictions are logged when they are made; their labels (``y_true``) arrive later, and a
    row whose ``y_true`` is null is unlabelled. Each poke keeps the rows of the window (with
    ``timestamp_column``: the ``window`` before the data interval's end, or before now), counts
    labelled rows per group of ``sensitive_features``, and waits while any group seen in the
    window has fewer than ``min_group_size``. Once every group has enough, it evaluates the
    constraints on the labelled rows exactly as :class:`FairnessCheckOperator` does, and that
    result is the task's: ``failed`` fails the task (``severity="warn"`` only warns). On a
    ``SqlSource`` the window, the label filter and the counts run inside the database.

    With ``deferrable=True`` the triggerer waits, between evaluations on a worker, until the
    file or object changed, or (``SqlSource``) until a ``GROUP BY`` in the database shows
    enough labelled rows in every group.

    :param data: the outcome log: a path or URI, a ``FileSource``, a ``SqlSource``, or a
        callable returning a DataFrame (not with ``deferrable=True``) (templated).
    :param y_true: column of the labels that arrive later (null = not labelled yet).
    :param y_pred: column of predicted labels; or give ``y_score`` and ``threshold``.
    :param y_score: column of scores; ``threshold`` turns it into labels.
    :param sensitive_features: a column or a list of columns (intersectional groups).
    :param constraints: fairness constraints, as for ``FairnessCheckOperator`` (templated).
    :param min_group_size: labelled rows each group needs before the judgement (default 30).
    :param timestamp_column: column of prediction times; without it every row counts.
    :param window: how far back from the window's end rows count (a ``timedelta``).
    :param window_end: the end of the window, ISO text (templated); default the data
        interval's end, else now.
    :param baseline: a stored result (path or URI of its JSON) for baseline constraints
        (templated); default the last approved run of ``policy`` and ``model``.
    :param pos_label, confidence, n_boot, decide_on, marginal, missing_groups, random_state:
        as for ``FairnessCheckOperator``.
    """

    kind = "fairness"
    evaluator = "airflow_alignment.sensors.fairness.evaluate_feedback"
    template_fields = ("data", "constraints", "baseline", "window_end", "check_name")
    template_fields_renderers: ClassVar[dict[str, str]] = {"constraints": "json"}

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
        min_group_size: int | None = None,
        timestamp_column: str | None = None,
        window: timedelta | None = None,
        window_end: str | None = None,
        baseline: Any = None,
        severity: str | None = None,
        check_name: str | None = None,
        pos_label: Any = None,
        confidence: float | None = None,
        n_boot: int | None = None,
        decide_on: str | None = None,
        marginal: bool | None = None,
        missing_groups: str | None = None,
        random_state: int | None = None,
        policy: Any = None,
        check: str | None = None,
        **kwargs: Any,
    ) -> None:
        given = {k: v for k, v in locals().items() if k not in ("self", "kwargs", "policy", "check", "__class__")}
        args, ref = self.policy_arguments(policy, check, given, kwargs.get("task_id", ""))
        args = {**FAIRNESS_DEFAULTS, **{k: v for k, v in args.items() if v is not None}}
        super().__init__(severity=args.get("severity"), check_name=args.get("check_name"), policy_ref=ref, **kwargs)
        name = type(self).__name__
        validate_data_arg(args["data"], f"{name}.data")
        self.can_defer(args["data"], f"{name}.data")
        for required in ("y_true", "sensitive_features", "constraints"):
            if args.get(required) is None:
                raise SpecError(f"{name}: {required}= is required")
        if (args.get("y_pred") is None) == (args.get("y_score") is None):
            raise SpecError(f"{name}: give exactly one of y_pred= (labels) or y_score= (with threshold=)")
        window = args.get("window")
        window_arguments(name, window, args.get("timestamp_column"))
        self.min_group_size = args["min_group_size"]
        if not isinstance(args["constraints"], str) and not is_templated(args["constraints"]):
            validate_constraints(
                args["constraints"],
                decide_on=args["decide_on"],
                severity=self.severity,
                confidence=args["confidence"],
                n_boot=args["n_boot"],
                min_group_size=self.min_group_size,
                missing_groups=args["missing_groups"],
            )
        self.data = keep_callable(args["data"])
        self.constraints = args["constraints"]
        self.baseline = args.get("baseline")
        self.columns = {k: args.get(k) for k in ("y_true", "y_pred", "y_score", "threshold", "timestamp_column")}
        features = args["sensitive_features"]
        self.sensitive_features = [features] if isinstance(features, str) else list(features)
        self.window = window
        self.window_end = args.get("window_end")
        self.options = {k: args[k] for k in _OPTIONS}

    def spec(self, context: Context) -> dict[str, Any]:
        constraints = json.loads(self.constraints) if isinstance(self.constraints, str) else self.constraints
        return {
            "data": plain_data(self.data, "data") if self.deferrable else self.data,
            **self.columns,
            "sensitive_features": self.sensitive_features,
            "constraints": constraints,
            "min_group_size": self.min_group_size,
            "window_s": self.window.total_seconds() if self.window else None,
            "window_end": window_end(self.window_end, context),
            "baseline": self.baseline or self._approved_baseline(),
            "severity": self.severity,
            "check_name": self.check_name,
            **self.options,
        }

    def readiness(self, spec: dict[str, Any]) -> dict[str, Any]:
        """On a SQL source: every group seen in the window has ``min_group_size`` labelled rows
        (one ``GROUP BY`` in the database) and the counts changed; on a file or object: it
        exists and changed."""
        from airflow_alignment.sources import SqlSource, as_source

        if not isinstance(as_source(spec["data"]), SqlSource):
            return super().readiness(spec)
        window = _window(spec)
        return {
            "kind": "labelled",
            "source": spec["data"],
            "features": spec["sensitive_features"],
            "label": spec["y_true"],
            "min_per_group": spec["min_group_size"],
            "window": dataclasses.asdict(window) if window else None,
        }

    def _approved_baseline(self) -> dict[str, Any] | None:
        if not (self.policy_ref and self.model):
            return None
        from airflow_alignment.reporting.baselines import last_approved
        from airflow_alignment.reporting.store import ArtifactStore

        return last_approved(ArtifactStore(self.artifact_store), self.policy_ref["name"], self.model, self.check_name)


def evaluate_feedback(spec: dict[str, Any]) -> tuple[bool, CheckResult]:
    """Count labelled rows per group in the window; when every group has enough, judge them.

    On a ``SqlSource`` the window and the label filter are ``WHERE`` conditions and the counts a
    ``GROUP BY`` inside the database; the judgement reads the cell counts of the labelled rows
    in the window (or those rows, for score metrics). Rows outside the window never leave the
    database. On a file the rows are read and filtered here, with the same bounds.
    """
    from airflow_alignment.sources import SqlSource, as_source

    data = as_source(spec["data"])
    window = _window(spec)
    if isinstance(data, SqlSource):
        from airflow_alignment import sql

        tally = sql.group_counts(data, spec["sensitive_features"], spec["y_true"], window=window)
        if _short(tally, spec):
            return False, _waiting(spec, tally)
        return True, _judge(spec, _labelled_cells_or_rows(data, spec, window), tally)
    frame, tally = _file_tally(data, spec, window)
    if _short(tally, spec):
        return False, _waiting(spec, tally)
    labelled = frame[frame[spec["y_true"]].notna()].copy()
    y_true = spec["y_true"]
    if labelled[y_true].dtype.kind == "f" and (labelled[y_true] % 1 == 0).all():
        labelled[y_true] = labelled[y_true].astype("int64")  # nulls made the labels floats
    return True, _judge(spec, labelled, tally)


Tally = list  # [(group values, rows in the window, labelled rows), ...] in groupby order


def _window(spec: dict[str, Any]) -> Window | None:
    from airflow_alignment.window import Window

    if not spec["timestamp_column"]:
        return None
    return Window(column=spec["timestamp_column"], seconds=spec["window_s"], end=spec["window_end"])


def _file_tally(data: Any, spec: dict[str, Any], window: Window | None) -> tuple[pd.DataFrame, Tally]:
    """The window's rows of a file, and their rows and labelled rows per group."""
    from airflow_alignment.sources import describe_source, load_frame

    features, y_true = spec["sensitive_features"], spec["y_true"]
    used = [c for c in (y_true, spec["y_pred"], spec["y_score"], spec["timestamp_column"]) if c] + features
    frame = load_frame(data, columns=used)
    if window is not None:
        frame = window.keep(frame, describe_source(data))
    seen = frame.groupby(features, dropna=False, observed=True).size()
    labelled = frame[frame[y_true].notna()].groupby(features, dropna=False, observed=True).size()
    labelled = labelled.reindex(seen.index, fill_value=0)
    keys = [k if isinstance(k, tuple) else (k,) for k in seen.index]
    return frame, [(k, int(n), int(m)) for k, n, m in zip(keys, seen.to_numpy(), labelled.to_numpy(), strict=True)]


def _short(tally: Tally, spec: dict[str, Any]) -> bool:
    """No row in the window yet, or a group with fewer labelled rows than it needs."""
    return not tally or any(labelled < spec["min_group_size"] for _, _, labelled in tally)


def _labelled_cells_or_rows(data: SqlSource, spec: dict[str, Any], window: Window | None) -> Any:
    """The labelled rows of the window, as the judgement needs them: their cell counts (one
    ``GROUP BY``), or the rows themselves when a constraint reads scores."""
    from airflow_alignment import sql
    from airflow_alignment.operators._labelled import metrics_needing_rows

    rows = {"window": window, "not_null": [spec["y_true"]]}
    if metrics_needing_rows(spec["constraints"]):
        used = [c for c in (spec["y_true"], spec["y_pred"], spec["y_score"]) if c] + spec["sensitive_features"]
        return sql.read_frame(data, used, **rows)
    return sql.cell_table(
        data,
        features=spec["sensitive_features"],
        y_true=spec["y_true"],
        y_pred=spec["y_pred"],
        y_score=spec["y_score"],
        threshold=spec["threshold"],
        **rows,
    )


def _judge(spec: dict[str, Any], target: Any, tally: Tally) -> CheckResult:
    from airflow_alignment.engines.fairness import evaluate
    from airflow_alignment.sources import describe_source

    options = {k: spec[k] for k in _OPTIONS}
    result = evaluate(
        target,
        y_true=spec["y_true"],
        y_pred=spec["y_pred"],
        y_score=spec["y_score"],
        threshold=spec["threshold"],
        sensitive_features=spec["sensitive_features"],
        constraints=spec["constraints"],
        min_group_size=spec["min_group_size"],
        baseline=spec["baseline"],
        severity=spec["severity"],
        check_name=spec["check_name"],
        source=describe_source(spec["data"]),
        **options,
    )
    result.metrics["feedback"] = _feedback_metrics(spec, tally)
    return result


def _feedback_metrics(spec: dict[str, Any], tally: Tally) -> dict[str, Any]:
    return {
        "window_rows": sum(rows for _, rows, _ in tally),
        "labelled_rows": sum(labelled for _, _, labelled in tally),
        "window_end": spec["window_end"] if spec["timestamp_column"] else None,
        "window_s": spec["window_s"],
        "labelled_per_group": {group_name(k, spec["sensitive_features"]): n for k, _, n in tally},
    }


def _waiting(spec: dict[str, Any], tally: Tally) -> CheckResult:
    from airflow_alignment.engines.common import check_severity
    from airflow_alignment.results import Assertion, CheckResult, utcnow
    from airflow_alignment.sources import describe_source

    features, need = spec["sensitive_features"], spec["min_group_size"]
    severity = check_severity(spec["severity"], "severity")
    metrics = _feedback_metrics(spec, tally)
    assertions = [
        Assertion(
            name=f"labelled_rows({group_name(k, features)})",
            success=n >= need,
            observed=n,
            expected=f">= {need}",
            severity=severity,
        )  # type: ignore[arg-type]
        for k, _, n in tally
    ]
    short = [(k, n) for k, _, n in tally if n < need]
    if not tally:
        summary = "waiting for feedback: no predictions in the window"
    else:
        lacking = preview(f"{group_name(k, features)} ({n})" for k, n in short)
        summary = (
            f"waiting for labelled feedback: {len(short)} of {len(tally)} groups have fewer than {need} "
            f"labelled rows ({metrics['labelled_rows']} of {metrics['window_rows']} rows labelled): {lacking}"
        )
    return CheckResult(
        check=spec["check_name"],
        kind="fairness",
        status="failed",
        severity=severity,  # type: ignore[arg-type]
        summary=summary,
        assertions=assertions,
        metrics={"feedback": metrics},
        data={"source": describe_source(spec["data"]), "rows": metrics["window_rows"]},
        started_at=utcnow(),
    )
