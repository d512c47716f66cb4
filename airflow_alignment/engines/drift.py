"""Drift: reference data against current data, feature by feature, judged into a ``CheckResult``.

Use it without Airflow::

    from airflow_alignment.engines.drift import evaluate
    result = evaluate(train_df, today_df, prediction="score", psi_block=0.25)
    print(result.status, result.summary)

Each feature gets a Population Stability Index (numeric features binned on the reference's
quantiles, categorical ones by category), a two-sample Kolmogorov-Smirnov test (numeric) or a
chi-square test (categorical). PSI is judged against two bands that practitioners use:
above ``psi_warn`` (0.1) a warning, above ``psi_block`` (0.25) a failure at the check's
severity; ``bounds`` overrides them per feature, with a rationale. The tests' p-values are
reported and only judged when ``ks_alpha`` / ``chi2_alpha`` is set: at the row counts drift
checks see, they reject for differences nobody would act on. With ``prediction`` the
prediction's distribution is compared too, and with ``sensitive_features`` each group's
selection rate (fairness drift). The maths is in :mod:`._drift_stats` and :mod:`.drift_stats`; each column is
sorted once, and columns are compared in parallel threads.

Importing this module is cheap (the spec, :class:`~airflow_alignment.specs.DriftSpec`, is
checked when a DAG is parsed); numpy, pandas and scipy load when :func:`evaluate` runs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines import _drift_stats as stats
from airflow_alignment.engines.common import describe_in_background
from airflow_alignment.engines.drift_stats.compare import (
    CATEGORICAL_METHODS,
    NUMERIC_METHODS,
    FeatureDrift,
    MethodResult,
    compare,
    dataset_verdict,
    map_columns,
)
from airflow_alignment.engines.drift_stats.samples import (
    CategoricalSample,
    NumericSample,
    categorical_sample,
    numeric_sample,
)
from airflow_alignment.exceptions import DataError, did_you_mean, preview
from airflow_alignment.io.frames import require_columns, require_one_type, require_rows
from airflow_alignment.limits import MAX_BINS, MAX_GROUPS
from airflow_alignment.results import Assertion, CheckResult, status_from_assertions, utcnow
from airflow_alignment.specs.drift import BOUND_KEYS, DEFAULT_THRESHOLDS, TESTS, DriftSpec, FeatureBound

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "BOUND_KEYS",
    "DriftSpec",
    "FeatureBound",
    "column_drift",
    "drift_result",
    "evaluate",
    "judge_features",
    "selection_rate_drift",
    "validate_spec",
    "with_test",
]


def validate_spec(**options: Any) -> DriftSpec:
    """The :class:`~airflow_alignment.specs.DriftSpec` of keyword options (``None`` means the
    default), checked.

    :raises SpecError: naming the field, e.g. ``bounds.income.psi_max: expected a number, got 'x'``.
    """
    return DriftSpec.build(**options)


def evaluate(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    spec: DriftSpec | None = None,
    *,
    check_name: str | None = None,
    source: str | None = None,
    reference_source: str | None = None,
    **options: Any,
) -> CheckResult:
    """Compare ``current`` with ``reference`` and judge the drift.

    :param reference: the data the model was built or approved on.
    :param current: the data to judge.
    :param spec: what to compare and the bands to judge; or give its fields as keyword
        ``options`` (``features``, ``bins``, ``psi_warn``, ``psi_block``, ``bounds``,
        ``prediction``, ``sensitive_features``, ...: see :class:`~airflow_alignment.specs.DriftSpec`).
    :param check_name: the result's ``check`` (default ``"drift"``).
    :param source: text naming where ``current`` came from (``result.data``).
    :param reference_source: the same for ``reference`` (``result.data.reference``).
    :raises SpecError: a bad option (names the field).
    :raises DataError: a missing column, an empty frame, a column numeric on one side only.
    """
    started, t0 = utcnow(), time.perf_counter()
    if spec is None:
        spec = DriftSpec.build(**options)
    elif options:
        raise TypeError(f"evaluate(): give a DriftSpec or its fields ({', '.join(options)}), not both")
    names, not_compared = _features(reference, current, spec)
    extra = ([spec.prediction] if spec.prediction else []) + spec.sensitive_features
    for frame, where in ((reference, "reference"), (current, "current")):
        require_columns(frame, names + extra, what=f"{where} column")
    require_rows(reference, reference_source or "the reference")
    require_rows(current, source or "the current data")
    used = list(dict.fromkeys(names + extra))
    described = (  # the fingerprints hash in threads beside the column work (sha256 frees the GIL)
        describe_in_background(current, source, used),
        describe_in_background(reference, reference_source, used),
    )
    compared = names + ([spec.prediction] if spec.prediction else [])
    kinds = {name: _kind(reference[name], current[name], name, spec) for name in compared}
    per_column = map_columns(lambda n: _column(reference[n], current[n], kinds[n], n, spec), compared)
    data = described[0]()
    data["reference"] = described[1]()
    assertions, metrics = judge_features(names, per_column, spec)
    if spec.sensitive_features:
        metrics["selection_rate"], judged = selection_rate_drift(_rates(reference, spec), _rates(current, spec), spec)
        assertions += judged
    return drift_result(
        assertions, metrics, names, not_compared, spec, check_name=check_name, data=data, started=(started, t0)
    )


def judge_features(
    names: list[str], per_column: dict[str, tuple[dict[str, Any], FeatureDrift]], spec: DriftSpec
) -> tuple[list[Assertion], dict[str, Any]]:
    """The assertions and metrics of the compared columns (``names`` and the prediction), from
    each one's report and methods (:func:`column_drift`), whoever counted them (pandas here,
    Spark in :mod:`airflow_alignment.spark.drift`)."""
    compared = names + ([spec.prediction] if spec.prediction else [])
    reports = {n: report for n, (report, _) in per_column.items()}
    methods = {n: feature for n, (_, feature) in per_column.items()}
    assertions = [a for name in compared for a in _judge(name, reports[name], methods[name], spec)]
    metrics: dict[str, Any] = {"features": {n: reports[n] for n in names}}
    verdict = dataset_verdict({n: methods[n] for n in names}, *([spec.drift_share] if spec.drift_share else []))
    metrics["methods"] = {"dataset": verdict.to_dict(), "features": {n: _stored(f) for n, f in methods.items()}}
    if spec.drift_share is not None:
        assertions.append(_dataset_assertion(verdict, spec))
    if spec.prediction:
        metrics["prediction"] = {"column": spec.prediction, **reports[spec.prediction]}
    return assertions, metrics


def drift_result(
    assertions: list[Assertion],
    metrics: dict[str, Any],
    names: list[str],
    not_compared: dict[str, Any],
    spec: DriftSpec,
    *,
    check_name: str | None,
    data: dict[str, Any],
    started: tuple[Any, float],
) -> CheckResult:
    """The drift ``CheckResult`` of the judged assertions and metrics; ``started``: when the
    check started (``utcnow()``, ``time.perf_counter()``)."""
    reports = {**metrics["features"], **({spec.prediction: metrics["prediction"]} if spec.prediction else {})}
    metrics["drifted"] = sorted(
        {a.details["feature"] for a in assertions if a.success is False and "feature" in a.details}
    )
    metrics["columns_not_compared"] = not_compared
    metrics["settings"] = {**spec.settings, "epsilon": stats.EPSILON}
    return CheckResult(
        check=check_name or "drift",
        kind="drift",
        status=status_from_assertions(assertions),
        severity=spec.severity,
        summary=_summary(assertions, reports, names, spec),
        assertions=assertions,
        metrics=metrics,
        data=data,
        started_at=started[0],
        duration_s=round(time.perf_counter() - started[1], 6),
    )


def _features(reference: pd.DataFrame, current: pd.DataFrame, spec: DriftSpec) -> tuple[list[str], dict]:
    ref_cols, cur_cols = [str(c) for c in reference.columns], [str(c) for c in current.columns]
    not_compared = {
        "reference_only": [c for c in ref_cols if c not in cur_cols],
        "current_only": [c for c in cur_cols if c not in ref_cols],
    }
    if spec.features is not None:
        return spec.features, not_compared
    skip = set(spec.exclude) | set(spec.sensitive_features) | {spec.prediction}
    names = [c for c in ref_cols if c in cur_cols and c not in skip]
    if not names and not spec.prediction:
        raise DataError(
            f"no column to compare: the reference and the current data share none "
            f"(reference: [{preview(ref_cols)}], current: [{preview(cur_cols)}])"
        )
    for feature in spec.bounds:
        if feature not in names and feature != spec.prediction:
            raise DataError(
                f"bounds.{feature}: not a compared feature.{did_you_mean(feature, names)} Features: {preview(names)}"
            )
    return names, not_compared


def _kind(ref: pd.Series, cur: pd.Series, name: str, spec: DriftSpec) -> str:
    """``numeric`` or ``categorical``: as ``categorical=`` says, else by the reference's type."""
    import pandas as pd

    def is_numeric(s: pd.Series) -> bool:
        return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)

    as_category = name in spec.categorical if spec.categorical is not None else not is_numeric(ref)
    if not as_category and not (is_numeric(ref) and is_numeric(cur)):
        raise DataError(
            f"feature {name!r} is {ref.dtype} in the reference and {cur.dtype} in the current data: "
            "compare it as categories (categorical=[...]) or fix the type"
        )
    return "categorical" if as_category else "numeric"


def _column(
    ref: pd.Series, cur: pd.Series, kind: str, name: str, spec: DriftSpec
) -> tuple[dict[str, Any], FeatureDrift]:
    """One feature's report and methods, from one sample of each side (a numeric column is
    sorted once: the quantile bins, KS, Wasserstein and the methods' bins read it). Runs in a
    worker thread (:func:`map_columns`): numpy's sort and searches release the GIL."""
    make = categorical_sample if kind == "categorical" else numeric_sample
    return column_drift(make(ref), make(cur), kind, name, spec)


def column_drift(
    r: NumericSample | CategoricalSample, c: NumericSample | CategoricalSample, kind: str, name: str, spec: DriftSpec
) -> tuple[dict[str, Any], FeatureDrift]:
    """One feature's report and methods from its two samples: sorted values, or value tables
    and category counts (what Spark counts)."""
    binned = stats.categorical(r, c) if kind == "categorical" else stats.numeric(r, c, spec.bins, spec.ks_method)  # type: ignore[arg-type]
    report = stats.report(binned)
    return report, _methods(r, c, kind, name, spec, report)


def _methods(
    ref: NumericSample | CategoricalSample,
    cur: NumericSample | CategoricalSample,
    kind: str,
    name: str,
    spec: DriftSpec,
    report: dict[str, Any],
) -> FeatureDrift:
    """The drift methods of ``spec.method`` on one feature (:mod:`.drift_stats`); with ``psi``,
    PSI and the engine's own test from ``report`` (KS for numbers, chi-square for categories:
    not computed twice)."""
    if spec.method == "psi":
        asked: Any = ["psi"]
    else:
        asked = spec.method
        applies = NUMERIC_METHODS | {"z"} if kind == "numeric" else CATEGORICAL_METHODS
        if asked != "auto" and not set(asked) & applies:
            raise DataError(
                f"method {asked}: none applies to the {kind} feature {name!r}; add one of "
                f"{', '.join(sorted(applies))}, or use method='auto'"
            )
    feature = compare(
        ref,
        cur,
        methods_=asked,
        bins=spec.bins,
        thresholds=spec.method_thresholds(name),
        ks_method=spec.ks_method,  # type: ignore[arg-type]
        missing_share_max=spec.missing_share_max,
        infinite_share_max=spec.infinite_share_max,
    )
    if spec.method == "psi":
        with_test(feature, kind, name, spec, report)
    return feature


def with_test(feature: FeatureDrift, kind: str, name: str, spec: DriftSpec, report: dict[str, Any]) -> None:
    """With ``method: psi``: PSI's warning band (for the report's view) and the engine's own
    test from ``report`` beside PSI (KS for numbers, chi-square for categories: not computed
    twice)."""
    warn = spec.limits(name).warn_above
    if warn is not None:  # the band the check warns in, for the report's view
        feature.results["psi"].details["warn_above"] = warn
    test, alpha = ("chi2", spec.chi2_alpha) if kind == "categorical" else ("ks", spec.ks_alpha)
    p, statistic = report[f"{test}_pvalue"], report["chi2" if test == "chi2" else "ks_statistic"]
    bound = alpha if alpha is not None else DEFAULT_THRESHOLDS[test]
    feature.results[test] = MethodResult(test, p, bound, None if p is None else p < bound, statistic)


def _stored(feature: FeatureDrift) -> dict[str, Any]:
    """The feature as the result stores it: at most ``MAX_BINS`` bins, the ones with the fewest
    rows merged into one ``(other N bins)`` bin (a column of ids must not bloat the result)."""
    out = feature.to_dict()
    bins = out["bins"]
    if len(bins) > MAX_BINS:
        by_rows = sorted(range(len(bins)), key=lambda i: -(bins[i]["reference"] + bins[i]["current"]))
        keep = sorted(by_rows[: MAX_BINS - 1])
        rest = [bins[i] for i in by_rows[MAX_BINS - 1 :]]
        out["bins"] = [bins[i] for i in keep] + [
            {
                "bin": f"(other {len(rest):,} bins)",
                "reference": sum(b["reference"] for b in rest),
                "current": sum(b["current"] for b in rest),
            }
        ]
    return out


def _judge(name: str, report: dict[str, Any], feature: FeatureDrift, spec: DriftSpec) -> list[Assertion]:
    out = _judge_psi(name, report, spec) if feature.method == "psi" else [_judge_method(name, feature, spec)]
    out += _judge_tests(name, report, spec) + _judge_unusual(name, feature, spec)
    return out


def _judge_method(name: str, feature: FeatureDrift, spec: DriftSpec) -> Assertion:
    """The assertion of the method ``method=`` judges ``name`` with (not PSI: its bands are
    :func:`_judge_psi`'s)."""
    res, limits = feature.results[feature.method], spec.limits(name)
    test = res.method in TESTS
    details: dict[str, Any] = {
        "feature": name,
        "method": res.method,
        "reason": feature.reason,
        "statistic": res.statistic,
    }
    if name == spec.prediction:
        details["role"] = "prediction"
    return Assertion(
        name=f"{res.method}({name})",
        success=None if res.drifted is None else not res.drifted,
        observed=res.value,
        expected={"min_pvalue": res.threshold} if test else {"max": res.threshold},
        severity=limits.severity,
        details=details,
    )


def _judge_unusual(name: str, feature: FeatureDrift, spec: DriftSpec) -> list[Assertion]:
    """Bounds on the current feature's shares of missing and infinite values."""
    out = []
    for what, bound in (("missing", spec.missing_share_max), ("infinite", spec.infinite_share_max)):
        counted = getattr(feature, what)
        if bound is None or counted is None:
            continue
        current = counted["current"]
        out.append(
            Assertion(
                name=f"{what}_share({name})",
                success=feature.unusual[what],
                observed=current["share"],
                expected={"max": bound},
                severity=spec.limits(name).severity,
                details={"column": name, "count": current["count"], "rows": feature.rows["current"]},
            )
        )
    return out


def _dataset_assertion(verdict: Any, spec: DriftSpec) -> Assertion:
    return Assertion(
        name="dataset_drift",
        success=None if verdict.share is None else not verdict.drifted,
        observed=verdict.share,
        expected={"drift_share": verdict.drift_share},
        severity=spec.severity,
        details={"drifted_features": verdict.drifted_features, "judged": verdict.judged},
    )


def _judge_psi(name: str, report: dict[str, Any], spec: DriftSpec) -> list[Assertion]:
    limits = spec.limits(name)
    value, warn, fail = report["psi"], limits.warn_above, limits.fail_above
    band = "block" if value > fail else "warn" if warn is not None and value > warn else "ok"
    details: dict[str, Any] = {"feature": name, "band": band, "empty_bins": report["empty_bins"]}
    if limits.rationale:
        details["rationale"] = limits.rationale
    if name == spec.prediction:
        details["role"] = "prediction"
    return [
        Assertion(
            name=f"psi({name})",
            success=band == "ok",
            observed=value,
            expected={"warn_above": warn, "max": fail},
            severity=limits.severity if band != "warn" else "warn",
            details=details,
        )
    ]


def _judge_tests(name: str, report: dict[str, Any], spec: DriftSpec) -> list[Assertion]:
    """The engine's KS and chi-square p-values, judged when ``ks_alpha`` / ``chi2_alpha`` is set."""
    out = []
    limits = spec.limits(name)
    for test, alpha_key, p_key in (("ks", "ks_alpha", "ks_pvalue"), ("chi2", "chi2_alpha", "chi2_pvalue")):
        alpha = getattr(spec, alpha_key)
        if alpha is None or p_key not in report:
            continue
        p = report[p_key]
        out.append(
            Assertion(
                name=f"{test}({name})",
                success=None if p is None else p >= alpha,
                observed=p,
                expected={"min_pvalue": alpha},
                severity=limits.severity,
                details={"feature": name, "statistic": report["ks_statistic" if test == "ks" else "chi2"]},
            )
        )
    return out


def selection_rate_drift(
    ref: pd.DataFrame, cur: pd.DataFrame, spec: DriftSpec
) -> tuple[dict[str, Any], list[Assertion]]:
    """Each group's selection rate on both sides (``mean`` and ``size`` per group, as
    :func:`_rates` counts them from rows, or Spark from its table); a change above the bound fails."""
    features, pred = spec.sensitive_features, spec.prediction
    for rates, side in ((ref, "reference"), (cur, "current data")):
        if len(rates) > MAX_GROUPS:
            raise DataError(
                f"sensitive_features {features}: the {side} has {len(rates):,} groups, more than "
                f"{MAX_GROUPS:,}, the most a drift check follows; map rare values to a common one "
                "(e.g. 'other') or use a coarser feature"
            )
    max_change, min_size = spec.selection_rate_max_change, spec.min_group_size
    by_group, small, assertions = [], [], []
    common = ref.index.intersection(cur.index)
    for key, i, j in zip(common, ref.index.get_indexer(common), cur.index.get_indexer(common), strict=True):
        group = dict(zip(features, key if isinstance(key, tuple) else (key,), strict=False))
        r, c = ref.iloc[i], cur.iloc[j]
        entry = {
            "group": group,
            "reference": r["mean"],
            "current": c["mean"],
            "change": c["mean"] - r["mean"],
            "reference_count": int(r["size"]),
            "current_count": int(c["size"]),
        }
        by_group.append(entry)
        if min(r["size"], c["size"]) < min_size:
            small.append(group)
            continue
        assertions.append(
            Assertion(
                name=f"selection_rate_change({_group_label(group)})",
                success=bool(abs(entry["change"]) <= max_change),
                observed=abs(entry["change"]),
                expected={"max": max_change},
                severity=spec.severity,
                details={k: entry[k] for k in ("group", "reference", "current", "reference_count", "current_count")},
            )
        )

    def only(a: Any, b: Any) -> list[dict[str, Any]]:
        return [
            dict(zip(features, k if isinstance(k, tuple) else (k,), strict=False)) for k in a.index.difference(b.index)
        ]

    metrics = {
        "prediction": pred,
        "by_group": by_group,
        "small_groups": small,
        "only_in_reference": only(ref, cur),
        "only_in_current": only(cur, ref),
    }
    return metrics, assertions


def _rates(frame: pd.DataFrame, spec: DriftSpec) -> pd.DataFrame:
    import pandas as pd

    pred = frame[spec.prediction]
    known = pred.notna()
    if spec.threshold is not None:
        if not pd.api.types.is_numeric_dtype(pred.dtype) or pd.api.types.is_bool_dtype(pred.dtype):
            raise DataError(
                f"prediction column {spec.prediction!r} is {pred.dtype}, not numbers: threshold="
                f"{spec.threshold!r} compares scores; leave threshold out to count pos_label"
            )
        selected = pred[known] >= spec.threshold
    else:
        selected = pred[known] == spec.pos_label
    for feature in spec.sensitive_features:
        require_one_type(frame[feature], f"sensitive feature {feature!r}")
    keys = [frame.loc[known, f] for f in spec.sensitive_features]
    grouped = selected.astype("float64")
    try:
        return grouped.groupby(keys, dropna=False, observed=True).agg(["mean", "size"])
    except TypeError:  # group values that do not sort together (bytes beside numbers): in order of appearance
        return grouped.groupby(keys, dropna=False, observed=True, sort=False).agg(["mean", "size"])


def _group_label(group: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


def _summary(assertions: list[Assertion], reports: dict[str, Any], names: list[str], spec: DriftSpec) -> str:
    failing = [a for a in assertions if a.success is False and "feature" in a.details]
    drifted = {a.details["feature"] for a in failing if a.details.get("band") != "warn"}
    warned = {a.details["feature"] for a in failing} - drifted  # only a PSI in its warning band
    tail = f"{len(drifted & set(names))} of {len(names)} features drifted"
    if warned & set(names):
        tail += f", {len(warned & set(names))} in the warning band"
    if spec.prediction:
        state = (
            "drifted"
            if spec.prediction in drifted
            else "is in the warning band"
            if spec.prediction in warned
            else "is stable"
        )
        tail += f"; the prediction {state}"
    moved = [a for a in assertions if a.name.startswith("selection_rate_change") and a.success is False]
    judged = [a for a in assertions if a.name.startswith("selection_rate_change")]
    if spec.sensitive_features:
        tail += f"; {len(moved)} of {len(judged)} groups' selection rates moved"
    failed = [a for a in assertions if a.success is False]
    if not failed:
        if not reports:
            return f"no drift; {tail}"
        top = max(reports, key=lambda n: reports[n]["psi"])
        return f"no drift: largest PSI {reports[top]['psi']:.2f} ({top}); {tail}"
    worst = max(failed, key=_rank)
    return f"{_describe(worst, spec)}; {tail}"


def _rank(a: Assertion) -> tuple[int, int, float]:
    distance = a.name.startswith("psi(") or a.details.get("method") not in (None, *TESTS)
    share = a.name.startswith(("selection", "missing_share(", "infinite_share("))
    kind = 3 if a.name == "dataset_drift" else 2 if distance else 1 if share else 0
    limit = (
        a.expected.get("max", a.expected.get("drift_share"))
        if a.details.get("band") != "warn"
        else a.expected.get("warn_above")
    )
    excess = (a.observed or 0.0) / limit if kind and limit else -(a.observed or 0.0)
    return (a.severity == "block", kind, excess)


def _describe(a: Assertion, spec: DriftSpec) -> str:
    if a.name.startswith("psi("):
        feature = a.details["feature"]
        who = f"prediction {feature}" if feature == spec.prediction else feature
        limit = a.expected["max"] if a.details["band"] == "block" else a.expected["warn_above"]
        return f"{who}: PSI {a.observed:.2f} ({a.severity} above {limit:g})"
    if a.name.startswith("selection"):
        d = a.details
        return (
            f"selection rate of {_group_label(d['group'])}: {d['reference']:.2f} -> {d['current']:.2f} "
            f"(change {a.observed:.2f}, max {a.expected['max']:g})"
        )
    if a.name == "dataset_drift":
        d = a.details
        return (
            f"dataset drift: {len(d['drifted_features'])} of {d['judged']} features drifted "
            f"(share {a.observed:.2f}, at or above {a.expected['drift_share']:g})"
        )
    if a.name.startswith(("missing_share(", "infinite_share(")):
        what = a.name.split("_share(")[0]
        return f"{a.details['column']}: {what} share {a.observed:.3g} (above {a.expected['max']:g})"
    method = a.details.get("method", "ks" if a.name.startswith("ks(") else "chi2")
    test = {"ks": "KS", "chi2": "chi-square", "z": "z-test"}.get(method)
    if test is None:
        return f"{a.details['feature']}: {method} {a.observed:.3g} (above {a.expected['max']:g})"
    return f"{a.details['feature']}: {test} p-value {a.observed:.2g} (below {a.expected['min_pvalue']:g})"
