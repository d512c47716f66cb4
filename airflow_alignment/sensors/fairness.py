"""``FairnessFeedbackSensor``: wait for labelled production feedback, then judge fairness."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.fairness import validate_constraints
from airflow_alignment.exceptions import SpecError, preview
from airflow_alignment.operators.base import is_templated
from airflow_alignment.operators.fairness import FAIRNESS_DEFAULTS
from airflow_alignment.sensors.base import AlignmentSensor, plain_data
from airflow_alignment.sources import validate_data_arg

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import Context

    from airflow_alignment.results import CheckResult

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
    result is the task's: ``failed`` fails the task (``severity="warn"`` only warns).

    :param data: the outcome log: a path or URI, a ``FileSource``, or a callable returning a
        DataFrame (not with ``deferrable=True``) (templated).
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
    template_fields_renderers = {"constraints": "json"}

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
        if self.deferrable:
            plain_data(args["data"], f"{name}.data")
        for required in ("y_true", "sensitive_features", "constraints"):
            if args.get(required) is None:
                raise SpecError(f"{name}: {required}= is required")
        if (args.get("y_pred") is None) == (args.get("y_score") is None):
            raise SpecError(f"{name}: give exactly one of y_pred= (labels) or y_score= (with threshold=)")
        window = args.get("window")
        if window is not None and (not isinstance(window, timedelta) or window <= timedelta(0)):
            raise SpecError(f"{name}.window: expected a positive timedelta, e.g. timedelta(days=7); got {window!r}")
        if (window is None) != (args.get("timestamp_column") is None):
            raise SpecError(f"{name}: window= and timestamp_column= go together (the window is over that column)")
        self.min_group_size = args["min_group_size"]
        if not isinstance(args["constraints"], str) and not is_templated(args["constraints"]):
            validate_constraints(args["constraints"], decide_on=args["decide_on"], severity=self.severity,
                                 confidence=args["confidence"], n_boot=args["n_boot"],
                                 min_group_size=self.min_group_size, missing_groups=args["missing_groups"])
        self.data = args["data"]
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
        end = self.window_end or context.get("data_interval_end") or datetime.now(timezone.utc)
        return {
            "data": plain_data(self.data, "data") if self.deferrable else self.data,
            **self.columns,
            "sensitive_features": self.sensitive_features,
            "constraints": constraints,
            "min_group_size": self.min_group_size,
            "window_s": self.window.total_seconds() if self.window else None,
            "window_end": end if isinstance(end, str) else end.isoformat(),
            "baseline": self.baseline or self._approved_baseline(),
            "severity": self.severity,
            "check_name": self.check_name,
            **self.options,
        }

    def _approved_baseline(self) -> dict[str, Any] | None:
        if not (self.policy_ref and self.model):
            return None
        from airflow_alignment.reporting.baselines import last_approved
        from airflow_alignment.reporting.store import ArtifactStore

        return last_approved(ArtifactStore(self.artifact_store), self.policy_ref["name"], self.model, self.check_name)


def evaluate_feedback(spec: dict[str, Any]) -> tuple[bool, CheckResult]:
    """Count labelled rows per group in the window; when every group has enough, judge them."""
    from airflow_alignment.engines.fairness import evaluate
    from airflow_alignment.sources import describe_source, load_frame

    features, y_true = spec["sensitive_features"], spec["y_true"]
    used = [c for c in (y_true, spec["y_pred"], spec["y_score"], spec["timestamp_column"]) if c] + features
    frame = _in_window(load_frame(spec["data"], columns=used), spec)
    labelled = frame[frame[y_true].notna()].copy()
    counts = _labelled_per_group(frame, labelled, features)
    short = counts[counts < spec["min_group_size"]]
    if len(frame) == 0 or len(short):
        return False, _waiting(spec, frame, counts, short)
    if labelled[y_true].dtype.kind == "f" and (labelled[y_true] % 1 == 0).all():
        labelled[y_true] = labelled[y_true].astype("int64")  # nulls made the labels floats
    options = {k: spec[k] for k in _OPTIONS}
    result = evaluate(
        labelled, y_true=y_true, y_pred=spec["y_pred"], y_score=spec["y_score"], threshold=spec["threshold"],
        sensitive_features=features, constraints=spec["constraints"], min_group_size=spec["min_group_size"],
        baseline=spec["baseline"], severity=spec["severity"], check_name=spec["check_name"],
        source=describe_source(spec["data"]), **options,
    )  # fmt: skip
    result.metrics["feedback"] = _feedback_metrics(spec, frame, counts)
    return True, result


def _in_window(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    column = spec["timestamp_column"]
    if not column:
        return frame
    stamps = pd.to_datetime(frame[column], utc=True)
    end = pd.Timestamp(spec["window_end"])
    end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
    keep = (stamps > end - pd.Timedelta(seconds=spec["window_s"])) & (stamps <= end)
    return frame[keep.to_numpy()]


def _labelled_per_group(frame: pd.DataFrame, labelled: pd.DataFrame, features: list[str]) -> pd.Series:
    """Labelled rows of every group seen in the window (zero for a group with none yet)."""
    seen = frame.groupby(features, dropna=False, observed=True).size()
    return labelled.groupby(features, dropna=False, observed=True).size().reindex(seen.index, fill_value=0)


def _group_name(key: Any, features: list[str]) -> str:
    values = key if isinstance(key, tuple) else (key,)
    return ",".join(f"{f}={v}" for f, v in zip(features, values))


def _feedback_metrics(spec: dict[str, Any], frame: pd.DataFrame, counts: pd.Series) -> dict[str, Any]:
    return {
        "window_rows": len(frame),
        "labelled_rows": int(counts.sum()),
        "window_end": spec["window_end"] if spec["timestamp_column"] else None,
        "window_s": spec["window_s"],
        "labelled_per_group": {_group_name(k, spec["sensitive_features"]): int(v) for k, v in counts.items()},
    }


def _waiting(spec: dict[str, Any], frame: pd.DataFrame, counts: pd.Series, short: pd.Series) -> CheckResult:
    from airflow_alignment.engines.common import check_severity
    from airflow_alignment.results import Assertion, CheckResult, utcnow

    features, need = spec["sensitive_features"], spec["min_group_size"]
    severity = check_severity(spec["severity"], "severity")
    assertions = [
        Assertion(name=f"labelled_rows({_group_name(k, features)})", success=int(v) >= need, observed=int(v),
                  expected=f">= {need}", severity=severity)  # type: ignore[arg-type]
        for k, v in counts.items()
    ]
    if len(frame) == 0:
        summary = "waiting for feedback: no predictions in the window"
    else:
        lacking = preview(f"{_group_name(k, features)} ({int(v)})" for k, v in short.items())
        summary = (f"waiting for labelled feedback: {len(short)} of {len(counts)} groups have fewer than {need} "
                   f"labelled rows ({int(counts.sum())} of {len(frame)} rows labelled): {lacking}")
    return CheckResult(
        check=spec["check_name"], kind="fairness", status="failed", severity=severity,  # type: ignore[arg-type]
        summary=summary, assertions=assertions, metrics={"feedback": _feedback_metrics(spec, frame, counts)},
        data={"source": str(spec["data"]), "rows": len(frame)}, started_at=utcnow(),
    )
