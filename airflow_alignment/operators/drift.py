"""``DriftCheckOperator``: current data against reference data (PSI, KS, chi-square) as a DAG task."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.drift import evaluate
from airflow_alignment.exceptions import SpecError
from airflow_alignment.io import as_source, backend_for, describe_source
from airflow_alignment.io.window import Window, window_arguments, window_end
from airflow_alignment.operators.base import AlignmentCheckOperator
from airflow_alignment.specs import DriftSpec

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import Context

    from airflow_alignment.results import CheckResult


class DriftCheckOperator(AlignmentCheckOperator):
    """Judge how far the current data has moved from the reference data, feature by feature.

    Population Stability Index per feature (numeric features on the reference's quantile bins,
    categorical ones by category), the two-sample Kolmogorov-Smirnov test for numeric features
    and chi-square for categorical ones; optionally the prediction's distribution and each
    group's selection rate. See :func:`airflow_alignment.engines.drift.evaluate`.

    :param reference: the training set or the approved baseline's data: a path or URI, a
        ``FileSource``, a ``SqlSource``, a ``SparkSource``, or a callable returning a DataFrame
        (templated).
    :param current: the data to judge, in the same forms, a ``SqlSource`` or a ``SparkSource``
        (templated). On a ``SqlSource`` the window is a ``WHERE`` inside the database and only
        the needed columns are read (with ``features`` given): rows outside the window never
        leave it. When both sides are ``SparkSource`` objects of one connection, the drift
        statistics are computed from counts made inside Spark (only counts come back).
    :param data: another name for ``current``, the one policies and ``alignment_checks`` use.
    :param features: columns to compare; default every shared column except ``prediction``,
        ``sensitive_features`` and ``exclude``.
    :param categorical: columns compared as categories; default the non-numeric ones.
    :param exclude: columns left out of the default ``features`` (labels, ids).
    :param bins: quantile bins of a numeric feature (default 10).
    :param psi_warn: PSI above it warns (default 0.1).
    :param psi_block: PSI above it fails at ``severity`` (default 0.25).
    :param ks_alpha: fail a numeric feature whose KS p-value is below it (default off).
    :param chi2_alpha: the same for the chi-square test of categorical features (default off).
    :param bounds: per-feature overrides ``{feature: {psi_max, psi_warn, severity, rationale}}``.
    :param prediction: column of predictions: its drift, and the selection rates.
    :param sensitive_features: with ``prediction``, compare each group's selection rate.
    :param pos_label: the prediction value that counts as selected (default 1).
    :param threshold: ``prediction >= threshold`` counts as selected (for scores).
    :param selection_rate_max_change: the largest allowed change of a group's rate (default 0.05).
    :param min_group_size: groups smaller on either side are reported, not judged (default 30).
    :param method: how each feature is judged: ``psi`` (default: the PSI bands), ``auto`` (a
        method per feature by type and sample size), or a method name or list of them (``ks``,
        ``wasserstein``, ``jensenshannon``, ``chi2``, ``z``, ``psi``); see docs/drift-methods.md.
    :param thresholds: per-method bounds, e.g. ``{"wasserstein": 0.2}`` (PSI's is ``psi_block``).
    :param ks_method: scipy's KS ``method``: ``auto`` (default), ``exact`` or ``asymp``.
    :param drift_share: fail when the share of drifted features reaches it (default: reported only).
    :param missing_share_max: fail a feature whose current share of missing values is above it.
    :param infinite_share_max: the same for infinite values.
    :param timestamp_column: with ``window``, judge only the current rows whose timestamp lies in
        the ``window`` before ``window_end``; the column is left out of the default features.
    :param window: how far back from ``window_end`` current rows count (a ``timedelta``).
    :param window_end: the end of the window, ISO text (templated); default the data interval's
        end, else now.
    :param severity: ``block`` or ``warn``: of the blocking band and of the tests.
    :param check_name: the name recorded in the result; defaults to the task id (templated).
    :param policy: an alignment policy; with ``check=`` the arguments above come from that
        check of the policy (see :class:`AlignmentCheckOperator`).
    """

    kind = "drift"
    template_fields = ("reference", "current", "window_end", "check_name")

    def __init__(
        self,
        *,
        reference: Any = None,
        current: Any = None,
        data: Any = None,
        features: str | Sequence[str] | None = None,
        categorical: str | Sequence[str] | None = None,
        exclude: str | Sequence[str] | None = None,
        bins: int | None = None,
        psi_warn: float | None = None,
        psi_block: float | None = None,
        ks_alpha: float | None = None,
        chi2_alpha: float | None = None,
        bounds: dict[str, dict[str, Any]] | None = None,
        prediction: str | None = None,
        sensitive_features: str | Sequence[str] | None = None,
        pos_label: Any = None,
        threshold: float | None = None,
        selection_rate_max_change: float | None = None,
        min_group_size: int | None = None,
        method: str | Sequence[str] | None = None,
        thresholds: dict[str, float] | None = None,
        ks_method: str | None = None,
        drift_share: float | None = None,
        missing_share_max: float | None = None,
        infinite_share_max: float | None = None,
        timestamp_column: str | None = None,
        window: timedelta | None = None,
        window_end: str | None = None,
        severity: str | None = None,
        check_name: str | None = None,
        policy: Any = None,
        check: str | None = None,
        **kwargs: Any,
    ) -> None:
        given = {k: v for k, v in locals().items() if k not in ("self", "kwargs", "policy", "check", "__class__")}
        args, loaded = self.policy_arguments(policy, check, given, kwargs.get("task_id", ""))
        super().__init__(severity=args.get("severity"), check_name=args.get("check_name"), policy=loaded, **kwargs)
        name = type(self).__name__
        if given["current"] is not None and given["data"] is not None:
            raise SpecError(f"{name}: give current= or data= (the same thing), not both")
        current = args.get("current") if args.get("current") is not None else args.get("data")
        self.reference = self.data_argument(args.get("reference"), "reference")
        self.current = self.data_argument(current, "current")
        window_arguments(name, args.get("window"), args.get("timestamp_column"))
        self.timestamp_column = args.get("timestamp_column")
        self.window = args.get("window")
        self.window_end = args.get("window_end")
        options = {f.name: args.get(f.name) for f in dataclasses.fields(DriftSpec)}
        options["severity"] = self.severity
        try:
            spec = DriftSpec.build(**options)  # fail at parse time on a bad spec
            if self.timestamp_column:  # a timestamp always drifts: never a default feature
                spec = dataclasses.replace(spec, exclude=[*spec.exclude, self.timestamp_column])
        except SpecError as exc:
            raise SpecError(f"{name}.{exc}") from None
        self.spec = spec

    def evaluate(self, context: Context) -> CheckResult:
        window = None
        if self.window is not None:
            window = Window(self.timestamp_column, self.window.total_seconds(), window_end(self.window_end, context))
        reference, current = as_source(self.reference), as_source(self.current)
        names = {
            "check_name": self.check_name,
            "source": describe_source(current) + (f" [{window}]" if window else ""),
            "reference_source": describe_source(reference),
        }
        result = backend_for(current).run_drift(reference, current, self.spec, window=window, **names)
        if result is not None:  # computed where both sides live (Spark)
            return result
        return evaluate(self._load(reference), self._load(current, window), self.spec, **names)

    def _load(self, data: Any, window: Window | None = None) -> pd.DataFrame:
        """The needed columns (all without ``features``) of the rows in ``window``: a ``WHERE``
        inside the database for a ``SqlSource``, a filter after reading for a file."""
        spec, columns = self.spec, None
        if spec.features:
            named = [*spec.features, *(spec.categorical or []), spec.prediction, *spec.sensitive_features]
            columns = list(dict.fromkeys(c for c in named if c))
        source = as_source(data)
        return backend_for(source).read(source, columns, window=window)
