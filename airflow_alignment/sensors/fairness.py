"""``FairnessFeedbackSensor``: wait for labelled production feedback, then judge fairness."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines import fairness
from airflow_alignment.exceptions import preview
from airflow_alignment.io import SqlSource, as_source, backend_for, describe_source, load_frame, plain_data
from airflow_alignment.io.window import Window, window_arguments, window_end
from airflow_alignment.results import Assertion, CheckResult, utcnow
from airflow_alignment.sensors.base import AlignmentSensor
from airflow_alignment.specs import FairnessSpec
from airflow_alignment.tasks.labelled import FairnessTask, counted
from airflow_alignment.triggers.readiness import group_name

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import Context


class FairnessFeedbackSensor(FairnessTask, AlignmentSensor):
    """Wait until a production outcome log holds enough labelled rows for every group, then
    judge the fairness constraints on them (absolute bounds and against the approved baseline).

    Predictions are logged when they are made; their labels (``y_true``) arrive later, and a
    row whose ``y_true`` is null is unlabelled. Each poke keeps the rows of the window (with
    ``timestamp_column``: the ``window`` before the data interval's end, or before now), counts
    labelled rows per group of ``sensitive_features``, and waits while any group seen in the
    window has fewer than ``min_group_size``. Once every group has enough, it evaluates the
    constraints on the labelled rows exactly as :class:`FairnessCheckOperator` does, and that
    result is the task's: ``failed`` fails the task (``severity="warn"`` only warns). On a
    ``SqlSource`` the window, the label filter and the counts run inside the database; on a
    ``SparkSource`` inside Spark.

    With ``deferrable=True`` the triggerer waits, between evaluations on a worker, until the
    file or object changed, or (``SqlSource``) until a ``GROUP BY`` in the database shows
    enough labelled rows in every group.

    :param data: the outcome log: a path or URI, a ``FileSource``, a ``SqlSource``, a
        ``SparkSource`` (not with ``deferrable=True``), or a callable returning a DataFrame (not
        with ``deferrable=True``) (templated).
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
    :param pos_label, confidence, n_boot, decide_on, marginal, sample_weight, missing_groups, facet_values,
        random_state: as for ``FairnessCheckOperator``.
    """

    kind = "fairness"
    evaluator = "airflow_alignment.sensors.fairness.evaluate_feedback"
    template_fields = ("data", "constraints", "baseline", "window_end", "check_name")

    def __init__(
        self,
        *,
        timestamp_column: str | None = None,
        window: timedelta | None = None,
        window_end: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        name = type(self).__name__
        self.can_defer(self.data, f"{name}.data")
        window_arguments(name, window, timestamp_column)
        self.timestamp_column = timestamp_column
        self.window = window
        self.window_end = window_end

    def spec(self, context: Context) -> dict[str, Any]:
        """The evaluator's input: the data, the rendered check and the window."""
        return {
            "data": plain_data(self.data, "data") if self.deferrable else self.data,
            "check": self.spec_arguments(),  # built into a FairnessSpec by the evaluator
            "check_name": self.check_name,
            "baseline": self.baseline or self.approved_baseline(),
            "timestamp_column": self.timestamp_column,
            "window_s": self.window.total_seconds() if self.window else None,
            "window_end": window_end(self.window_end, context),
        }

    def readiness(self, spec: dict[str, Any]) -> dict[str, Any]:
        """On a SQL source: every group seen in the window has ``min_group_size`` labelled rows
        (one ``GROUP BY`` in the database) and the counts changed; on a file or object: it
        exists and changed."""
        if not isinstance(as_source(spec["data"]), SqlSource):
            return super().readiness(spec)
        window, check = _window(spec), spec["check"]
        return {
            "kind": "labelled",
            "source": spec["data"],
            "features": check["sensitive_features"],
            "label": check["y_true"],
            "min_per_group": check["min_group_size"],
            "window": dataclasses.asdict(window) if window else None,
        }


def evaluate_feedback(spec: dict[str, Any]) -> tuple[bool, CheckResult]:
    """Count labelled rows per group in the window; when every group has enough, judge them.

    On a ``SqlSource`` (a ``SparkSource``) the window and the label filter are ``WHERE``
    conditions and the counts a ``GROUP BY`` inside the database (Spark); the judgement reads
    the cell counts of the labelled rows in the window (or those rows, for score metrics). Rows
    outside the window never leave the database. On a file the rows are read and filtered here, with the same bounds.
    """
    check = FairnessSpec(**spec["check"])
    data = as_source(spec["data"])
    window = _window(spec)
    if backend_for(data).in_place:
        tally = backend_for(data).group_counts(data, check.features, check.y_true, window=window)
        if _short(tally, check):
            return False, _waiting(spec, check, tally)
        return True, _judge(spec, check, _labelled_cells_or_rows(data, check, window), tally)
    frame, tally = _file_tally(data, spec, check, window)
    if _short(tally, check):
        return False, _waiting(spec, check, tally)
    labelled = frame[frame[check.y_true].notna()].copy()
    y_true = check.y_true
    if labelled[y_true].dtype.kind == "f" and (labelled[y_true] % 1 == 0).all():
        labelled[y_true] = labelled[y_true].astype("int64")  # nulls made the labels floats
    return True, _judge(spec, check, labelled, tally)


Tally = list  # [(group values, rows in the window, labelled rows), ...] in groupby order


def _window(spec: dict[str, Any]) -> Window | None:
    if not spec["timestamp_column"]:
        return None
    return Window(column=spec["timestamp_column"], seconds=spec["window_s"], end=spec["window_end"])


def _file_tally(
    data: Any, spec: dict[str, Any], check: FairnessSpec, window: Window | None
) -> tuple[pd.DataFrame, Tally]:
    """The window's rows of a file, and their rows and labelled rows per group."""
    features, y_true = check.features, check.y_true
    roles = (y_true, check.y_pred, check.y_score, check.sample_weight, spec["timestamp_column"])
    used = [c for c in roles if c] + features
    frame = load_frame(data, columns=used)
    if window is not None:
        frame = window.keep(frame, describe_source(data))
    seen = frame.groupby(features, dropna=False, observed=True).size()
    labelled = frame[frame[y_true].notna()].groupby(features, dropna=False, observed=True).size()
    labelled = labelled.reindex(seen.index, fill_value=0)
    keys = [k if isinstance(k, tuple) else (k,) for k in seen.index]
    return frame, [(k, int(n), int(m)) for k, n, m in zip(keys, seen.to_numpy(), labelled.to_numpy(), strict=True)]


def _short(tally: Tally, check: FairnessSpec) -> bool:
    """No row in the window yet, or a group with fewer labelled rows than it needs."""
    return not tally or any(labelled < check.min_group_size for _, _, labelled in tally)


def _labelled_cells_or_rows(data: Any, check: FairnessSpec, window: Window | None) -> Any:
    """The labelled rows of the window, as the judgement needs them: their cell counts (one
    ``GROUP BY``; on Spark, with the score metrics), or the rows themselves when a constraint
    reads scores (SQL) or is a callable."""
    rows = {"window": window, "not_null": [check.y_true]}
    table = counted(data, check, **rows)
    if table is not None:
        return table
    used = [c for c in (check.y_true, check.y_pred, check.y_score, check.sample_weight) if c] + check.features
    return backend_for(data).read(data, used, **rows)


def _judge(spec: dict[str, Any], check: FairnessSpec, target: Any, tally: Tally) -> CheckResult:
    result = fairness.evaluate(
        target,
        check,
        baseline=spec["baseline"],
        check_name=spec["check_name"],
        source=describe_source(spec["data"]),
    )
    result.metrics["feedback"] = _feedback_metrics(spec, check, tally)
    return result


def _feedback_metrics(spec: dict[str, Any], check: FairnessSpec, tally: Tally) -> dict[str, Any]:
    return {
        "window_rows": sum(rows for _, rows, _ in tally),
        "labelled_rows": sum(labelled for _, _, labelled in tally),
        "window_end": spec["window_end"] if spec["timestamp_column"] else None,
        "window_s": spec["window_s"],
        "labelled_per_group": {group_name(k, check.features): n for k, _, n in tally},
    }


def _waiting(spec: dict[str, Any], check: FairnessSpec, tally: Tally) -> CheckResult:
    features, need, severity = check.features, check.min_group_size, check.severity
    metrics = _feedback_metrics(spec, check, tally)
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
