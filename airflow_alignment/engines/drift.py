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
selection rate (fairness drift). The maths is in :mod:`._drift_stats`.

:func:`validate_spec` imports nothing heavy: the operator calls it when the DAG is parsed.
numpy, pandas and scipy load when :func:`evaluate` runs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines.common import (
    check_severity,
    column_arguments,
    describe,
    require_columns,
    require_one_type,
    require_rows,
)
from airflow_alignment.exceptions import DataError, SpecError, did_you_mean, preview
from airflow_alignment.limits import MAX_BINS, MAX_GROUPS, whole_number
from airflow_alignment.results import (
    Assertion,
    CheckResult,
    status_from_assertions,
    utcnow,
)

if TYPE_CHECKING:
    import pandas as pd

BOUND_KEYS: tuple[str, ...] = ("psi_max", "psi_warn", "severity", "rationale")
SPEC_DEFAULTS: dict[str, Any] = {
    "features": None,
    "categorical": None,
    "exclude": None,
    "bins": 10,
    "psi_warn": 0.1,
    "psi_block": 0.25,
    "ks_alpha": None,
    "chi2_alpha": None,
    "bounds": None,
    "prediction": None,
    "sensitive_features": None,
    "pos_label": 1,
    "threshold": None,
    "selection_rate_max_change": 0.05,
    "min_group_size": 30,
    "severity": "block",
}


# -- spec validation (no heavy import) ------------------------------------------------------
def validate_spec(**options: Any) -> dict[str, Any]:
    """Check the drift options (the keyword arguments of :func:`evaluate` that say what is
    judged); return them normalised, every key of :data:`SPEC_DEFAULTS` present and
    ``bounds`` resolved to ``{feature: {warn_above, fail_above, severity, rationale}}``.

    :raises SpecError: naming the field, e.g. ``bounds.income.psi_max: expected a number, got 'x'``.
    """
    unknown = [k for k in options if k not in SPEC_DEFAULTS]
    if unknown:
        raise SpecError(
            f"unknown drift option {unknown[0]!r}.{did_you_mean(unknown[0], SPEC_DEFAULTS)} "
            f"Options: {', '.join(SPEC_DEFAULTS)}"
        )
    spec = {**SPEC_DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    spec["severity"] = check_severity(spec["severity"], "severity")
    for key in ("features", "categorical", "exclude", "sensitive_features"):
        spec[key] = _names(spec[key], key)
    spec["exclude"] = spec["exclude"] or []
    spec["sensitive_features"] = spec["sensitive_features"] or []
    column_arguments(prediction=spec["prediction"])
    whole_number(spec["bins"], "bins", low=2, high=MAX_BINS)
    for key in ("psi_warn", "psi_block"):
        _non_negative(spec[key], key)
    if spec["psi_warn"] > spec["psi_block"]:
        raise SpecError(
            f"psi_warn: {spec['psi_warn']} is above psi_block ({spec['psi_block']}); "
            "the warning band must start at or below the blocking one"
        )
    for key in ("ks_alpha", "chi2_alpha"):
        if spec[key] is not None and not (_is_number(spec[key]) and 0 < spec[key] < 1):
            raise SpecError(f"{key}: expected a significance level between 0 and 1 (e.g. 0.05), got {spec[key]!r}")
    _non_negative(spec["selection_rate_max_change"], "selection_rate_max_change")
    if spec["threshold"] is not None and not _is_number(spec["threshold"]):
        raise SpecError(f"threshold: expected a number, got {spec['threshold']!r}")
    size = spec["min_group_size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise SpecError(f"min_group_size: expected a whole number of rows (0 or more), got {size!r}")
    if spec["sensitive_features"] and spec["prediction"] is None:
        raise SpecError("sensitive_features: selection-rate drift needs prediction= (the column of predictions)")
    spec["bounds"] = {
        str(feature): _bound(raw, f"bounds.{feature}", spec) for feature, raw in _mapping(spec["bounds"]).items()
    }
    if spec["features"] is not None:
        known = spec["features"] + ([spec["prediction"]] if spec["prediction"] else [])
        for feature in spec["bounds"]:
            if feature not in known:
                raise SpecError(
                    f"bounds.{feature}: not a compared feature.{did_you_mean(feature, known)} "
                    f"Features: {preview(known)}"
                )
    return spec


def _bound(raw: Any, here: str, spec: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise SpecError(
            f"{here}: expected an object like {{'psi_max': 0.2, 'rationale': '...'}}, got {type(raw).__name__}"
        )
    for key in raw:
        if key not in BOUND_KEYS:
            raise SpecError(
                f"{here}: unknown key {key!r}.{did_you_mean(str(key), BOUND_KEYS)} Keys: {', '.join(BOUND_KEYS)}"
            )
    for key in ("psi_max", "psi_warn"):
        if raw.get(key) is not None:
            _non_negative(raw[key], f"{here}.{key}")
    fail = raw["psi_max"] if raw.get("psi_max") is not None else spec["psi_block"]
    warn = raw.get("psi_warn", spec["psi_warn"] if spec["psi_warn"] < fail else None)
    if warn is not None and warn > fail:
        raise SpecError(f"{here}.psi_warn: {warn} is above the failing bound {fail}; lower it or raise psi_max")
    rationale = raw.get("rationale")
    if rationale is not None and not isinstance(rationale, str):
        raise SpecError(f"{here}.rationale: expected a string, got {type(rationale).__name__}")
    severity = check_severity(raw.get("severity", spec["severity"]), f"{here}.severity")
    return {"warn_above": warn, "fail_above": fail, "severity": severity, "rationale": rationale}


def _limits(spec: dict[str, Any], feature: str) -> dict[str, Any]:
    return spec["bounds"].get(feature) or {
        "warn_above": spec["psi_warn"],
        "fail_above": spec["psi_block"],
        "severity": spec["severity"],
        "rationale": None,
    }


def _names(value: Any, where: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{where}: expected a column name or a list of column names, got {value!r}")
    return list(value)


def _mapping(value: Any) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SpecError(f"bounds: expected an object like {{'income': {{'psi_max': 0.2}}}}, got {type(value).__name__}")
    return value


def _non_negative(value: Any, where: str) -> None:
    if not (_is_number(value) and math.isfinite(value) and value >= 0):
        raise SpecError(
            f"{where}: expected a number, got {value!r}"
            if not _is_number(value)
            else f"{where}: expected a number of at least 0, got {value!r}"
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- evaluation ---------------------------------------------------------------------------
def evaluate(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    features: str | Sequence[str] | None = None,
    categorical: str | Sequence[str] | None = None,
    exclude: str | Sequence[str] | None = None,
    bins: int = 10,
    psi_warn: float = 0.1,
    psi_block: float = 0.25,
    ks_alpha: float | None = None,
    chi2_alpha: float | None = None,
    bounds: Mapping[str, Mapping[str, Any]] | None = None,
    prediction: str | None = None,
    sensitive_features: str | Sequence[str] | None = None,
    pos_label: Any = 1,
    threshold: float | None = None,
    selection_rate_max_change: float = 0.05,
    min_group_size: int = 30,
    severity: str = "block",
    check_name: str | None = None,
    source: str | None = None,
    reference_source: str | None = None,
) -> CheckResult:
    """Compare ``current`` with ``reference`` and judge the drift.

    :param reference: the data the model was built or approved on.
    :param current: the data to judge.
    :param features: columns to compare; default every column both frames have, except
        ``prediction``, ``sensitive_features`` and ``exclude``.
    :param categorical: columns compared as categories; default the non-numeric ones
        (booleans included).
    :param exclude: columns left out of the default ``features`` (labels, ids).
    :param bins: quantile bins of a numeric feature (ties merge bins).
    :param psi_warn: PSI above it fails as a warning.
    :param psi_block: PSI above it fails at ``severity``.
    :param ks_alpha: judge the KS test too: a p-value below it fails (off by default).
    :param chi2_alpha: the same for the chi-square test of categorical features.
    :param bounds: per-feature overrides ``{feature: {psi_max, psi_warn, severity, rationale}}``.
    :param prediction: column of predictions, compared like a feature and feeding selection rates.
    :param sensitive_features: with ``prediction``: each group's selection rate is compared.
    :param pos_label: the prediction value that counts as selected (without ``threshold``).
    :param threshold: ``prediction >= threshold`` counts as selected (for scores).
    :param selection_rate_max_change: the largest allowed change of a group's selection rate.
    :param min_group_size: groups smaller on either side are reported, not judged.
    :param severity: ``block`` or ``warn``: of the blocking band and of the tests.
    :param check_name: the result's ``check`` (default ``"drift"``).
    :param source: text naming where ``current`` came from (``result.data``).
    :param reference_source: the same for ``reference`` (``result.data.reference``).
    :raises SpecError: a bad option (names the field).
    :raises DataError: a missing column, an empty frame, a column numeric on one side only.
    """
    from airflow_alignment.engines import _drift_stats as stats

    started, t0 = utcnow(), time.perf_counter()
    spec = validate_spec(
        features=features,
        categorical=categorical,
        exclude=exclude,
        bins=bins,
        psi_warn=psi_warn,
        psi_block=psi_block,
        ks_alpha=ks_alpha,
        chi2_alpha=chi2_alpha,
        bounds=bounds,
        prediction=prediction,
        sensitive_features=sensitive_features,
        pos_label=pos_label,
        threshold=threshold,
        selection_rate_max_change=selection_rate_max_change,
        min_group_size=min_group_size,
        severity=severity,
    )
    names, not_compared = _features(reference, current, spec)
    extra = ([spec["prediction"]] if spec["prediction"] else []) + spec["sensitive_features"]
    for frame, where in ((reference, "reference"), (current, "current")):
        require_columns(frame, names + extra, what=f"{where} column")
    require_rows(reference, reference_source or "the reference")
    require_rows(current, source or "the current data")
    used = list(dict.fromkeys(names + extra))
    data = describe(current, source, used)
    data["reference"] = describe(reference, reference_source, used)
    compared = names + ([spec["prediction"]] if spec["prediction"] else [])
    reports = {name: _compare(reference[name], current[name], name, spec, stats) for name in compared}
    assertions = [a for name in compared for a in _judge(name, reports[name], spec)]
    metrics: dict[str, Any] = {"features": {n: reports[n] for n in names}}
    if spec["prediction"]:
        metrics["prediction"] = {"column": spec["prediction"], **reports[spec["prediction"]]}
    if spec["sensitive_features"]:
        metrics["selection_rate"], judged = _selection_rates(reference, current, spec)
        assertions += judged
    drifted = sorted({a.details["feature"] for a in assertions if a.success is False and "feature" in a.details})
    metrics["drifted"] = drifted
    metrics["columns_not_compared"] = not_compared
    metrics["settings"] = {
        k: spec[k]
        for k in (
            "bins",
            "psi_warn",
            "psi_block",
            "ks_alpha",
            "chi2_alpha",
            "selection_rate_max_change",
            "min_group_size",
        )
    }
    metrics["settings"]["epsilon"] = stats.EPSILON
    status = status_from_assertions(assertions)
    return CheckResult(
        check=check_name or "drift",
        kind="drift",
        status=status,
        severity=spec["severity"],
        summary=_summary(assertions, reports, names, spec),
        assertions=assertions,
        metrics=metrics,
        data=data,
        started_at=started,
        duration_s=round(time.perf_counter() - t0, 6),
    )


def _features(reference: pd.DataFrame, current: pd.DataFrame, spec: dict[str, Any]) -> tuple[list[str], dict]:
    ref_cols, cur_cols = [str(c) for c in reference.columns], [str(c) for c in current.columns]
    not_compared = {
        "reference_only": [c for c in ref_cols if c not in cur_cols],
        "current_only": [c for c in cur_cols if c not in ref_cols],
    }
    if spec["features"] is not None:
        return spec["features"], not_compared
    skip = set(spec["exclude"]) | set(spec["sensitive_features"]) | {spec["prediction"]}
    names = [c for c in ref_cols if c in cur_cols and c not in skip]
    if not names and not spec["prediction"]:
        raise DataError(
            f"no column to compare: the reference and the current data share none "
            f"(reference: [{preview(ref_cols)}], current: [{preview(cur_cols)}])"
        )
    for feature in spec["bounds"]:
        if feature not in names and feature != spec["prediction"]:
            raise DataError(
                f"bounds.{feature}: not a compared feature.{did_you_mean(feature, names)} Features: {preview(names)}"
            )
    return names, not_compared


def _compare(ref: pd.Series, cur: pd.Series, name: str, spec: dict[str, Any], stats: Any) -> dict[str, Any]:
    import pandas as pd

    def is_numeric(s: pd.Series) -> bool:
        return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)

    as_category = name in spec["categorical"] if spec["categorical"] is not None else not is_numeric(ref)
    if not as_category and not (is_numeric(ref) and is_numeric(cur)):
        raise DataError(
            f"feature {name!r} is {ref.dtype} in the reference and {cur.dtype} in the current data: "
            "compare it as categories (categorical=[...]) or fix the type"
        )
    binned = stats.categorical(ref, cur) if as_category else stats.numeric(ref, cur, spec["bins"])
    return stats.report(binned)


def _judge(name: str, report: dict[str, Any], spec: dict[str, Any]) -> list[Assertion]:
    limits = _limits(spec, name)
    value, warn, fail = report["psi"], limits["warn_above"], limits["fail_above"]
    band = "block" if value > fail else "warn" if warn is not None and value > warn else "ok"
    details: dict[str, Any] = {"feature": name, "band": band, "empty_bins": report["empty_bins"]}
    if limits["rationale"]:
        details["rationale"] = limits["rationale"]
    if name == spec["prediction"]:
        details["role"] = "prediction"
    out = [
        Assertion(
            name=f"psi({name})",
            success=band == "ok",
            observed=value,
            expected={"warn_above": warn, "max": fail},
            severity=limits["severity"] if band != "warn" else "warn",
            details=details,
        )
    ]
    for test, alpha_key, p_key in (("ks", "ks_alpha", "ks_pvalue"), ("chi2", "chi2_alpha", "chi2_pvalue")):
        alpha = spec[alpha_key]
        if alpha is None or p_key not in report:
            continue
        p = report[p_key]
        out.append(
            Assertion(
                name=f"{test}({name})",
                success=None if p is None else p >= alpha,
                observed=p,
                expected={"min_pvalue": alpha},
                severity=limits["severity"],
                details={"feature": name, "statistic": report["ks_statistic" if test == "ks" else "chi2"]},
            )
        )
    return out


def _selection_rates(
    reference: pd.DataFrame, current: pd.DataFrame, spec: dict[str, Any]
) -> tuple[dict[str, Any], list[Assertion]]:
    """Each group's selection rate in both frames; a change above the bound fails."""
    features, pred = spec["sensitive_features"], spec["prediction"]
    ref, cur = _rates(reference, spec), _rates(current, spec)
    for rates, side in ((ref, "reference"), (cur, "current data")):
        if len(rates) > MAX_GROUPS:
            raise DataError(
                f"sensitive_features {features}: the {side} has {len(rates):,} groups, more than "
                f"{MAX_GROUPS:,}, the most a drift check follows; map rare values to a common one "
                "(e.g. 'other') or use a coarser feature"
            )
    max_change, min_size = spec["selection_rate_max_change"], spec["min_group_size"]
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
                severity=spec["severity"],
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


def _rates(frame: pd.DataFrame, spec: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd

    pred = frame[spec["prediction"]]
    known = pred.notna()
    if spec["threshold"] is not None:
        if not pd.api.types.is_numeric_dtype(pred.dtype) or pd.api.types.is_bool_dtype(pred.dtype):
            raise DataError(
                f"prediction column {spec['prediction']!r} is {pred.dtype}, not numbers: threshold="
                f"{spec['threshold']!r} compares scores; leave threshold out to count pos_label"
            )
        selected = pred[known] >= spec["threshold"]
    else:
        selected = pred[known] == spec["pos_label"]
    for feature in spec["sensitive_features"]:
        require_one_type(frame[feature], f"sensitive feature {feature!r}")
    keys = [frame.loc[known, f] for f in spec["sensitive_features"]]
    grouped = selected.astype("float64")
    try:
        return grouped.groupby(keys, dropna=False, observed=True).agg(["mean", "size"])
    except TypeError:  # group values that do not sort together (bytes beside numbers): in order of appearance
        return grouped.groupby(keys, dropna=False, observed=True, sort=False).agg(["mean", "size"])


def _group_label(group: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in group.items())


def _summary(assertions: list[Assertion], reports: dict[str, Any], names: list[str], spec: dict[str, Any]) -> str:
    drifted = {a.details["feature"] for a in assertions if a.success is False and "feature" in a.details}
    tail = f"{len(drifted & set(names))} of {len(names)} features drifted"
    if spec["prediction"]:
        tail += "; the prediction drifted" if spec["prediction"] in drifted else "; the prediction is stable"
    moved = [a for a in assertions if a.name.startswith("selection_rate_change") and a.success is False]
    judged = [a for a in assertions if a.name.startswith("selection_rate_change")]
    if spec["sensitive_features"]:
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
    kind = 2 if a.name.startswith("psi(") else 1 if a.name.startswith("selection") else 0
    limit = a.expected.get("max") if a.details.get("band") != "warn" else a.expected.get("warn_above")
    excess = (a.observed or 0.0) / limit if kind and limit else -(a.observed or 0.0)
    return (a.severity == "block", kind, excess)


def _describe(a: Assertion, spec: dict[str, Any]) -> str:
    if a.name.startswith("psi("):
        feature = a.details["feature"]
        who = f"prediction {feature}" if feature == spec["prediction"] else feature
        limit = a.expected["max"] if a.details["band"] == "block" else a.expected["warn_above"]
        return f"{who}: PSI {a.observed:.2f} ({a.severity} above {limit:g})"
    if a.name.startswith("selection"):
        d = a.details
        return (
            f"selection rate of {_group_label(d['group'])}: {d['reference']:.2f} -> {d['current']:.2f} "
            f"(change {a.observed:.2f}, max {a.expected['max']:g})"
        )
    test = "KS" if a.name.startswith("ks(") else "chi-square"
    return f"{a.details['feature']}: {test} p-value {a.observed:.2g} (below {a.expected['min_pvalue']:g})"
