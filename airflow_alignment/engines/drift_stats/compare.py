"""Every drift method on two samples, the ``auto`` rule, and the dataset-level verdict.

:func:`compare` takes a reference and a current sample (:mod:`.samples`) and returns a
:class:`FeatureDrift`: each requested method's number, the method judged and whether it
crossed its bound, the bins both sides were counted in, and the missing and infinite values
(count, share, and a verdict when a bound on the current share is set). :func:`compare_frames`
does it for every column of two DataFrames in a thread pool (sorting, merging, searching and
scipy's Smirnov series release the GIL). :func:`dataset_verdict` reads the share of drifted features.

The ``auto`` rule (:func:`choose_method`), by feature type and effective sample size
``n_eff = n_ref * n_cur / (n_ref + n_cur)``:

============================================  ====================  ======================
feature                                       n_eff <= 1000         n_eff > 1000
============================================  ====================  ======================
numeric, more than 5 distinct values          ``ks`` (p < 0.05)     ``wasserstein`` (> 0.1)
categorical, or numeric with 2 to 5 values    ``chi2`` (p < 0.05)   ``jensenshannon`` (> 0.1)
binary (at most 2 distinct values)            ``z`` (p < 0.05)      ``jensenshannon`` (> 0.1)
============================================  ====================  ======================

Tests at small sizes, distances at large ones: at large sizes a test rejects for differences
nobody acts on. docs/drift-methods.md compares it with Evidently's default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from airflow_alignment.engines.drift_stats import binning, methods
from airflow_alignment.engines.drift_stats.ks import ks_pvalue, ks_statistic, ks_statistic_counts
from airflow_alignment.engines.drift_stats.samples import (
    CategoricalSample,
    NumericSample,
    categorical_sample,
    numeric_sample,
)
from airflow_alignment.specs.drift import DEFAULT_THRESHOLDS, KS_METHODS, METHODS, KSMethod

if TYPE_CHECKING:
    import numpy as np

T = TypeVar("T")
NUMERIC_METHODS = frozenset({"psi", "ks", "wasserstein", "jensenshannon", "chi2"})
CATEGORICAL_METHODS = frozenset({"psi", "jensenshannon", "chi2", "z"})
AUTO_SMALL = 1000  # effective sample size at or below which `auto` picks a test
AUTO_FEW_VALUES = 5  # a numeric feature with this many distinct values or fewer is compared by category
MISSING_BIN, INFINITE_BIN, NEW_BIN = "(missing)", "(infinite)", "(new)"
MAX_NEW_SHOWN = 10
_NO_VALUES = "not computed: one side has no non-missing (finite) value"


@dataclass(frozen=True)
class MethodResult:
    """One method's outcome. ``value`` is what is judged (a distance, or a test's p-value);
    ``statistic`` the test statistic or the raw distance; ``drifted`` ``None`` when undefined."""

    method: str
    value: float | None
    threshold: float
    drifted: bool | None
    statistic: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class BinTable:
    """The bins both sides were counted in (PSI, Jensen-Shannon and chi-square read them)."""

    labels: list[str]
    reference: np.ndarray
    current: np.ndarray
    constant: bool = False
    new_categories: list[Any] = field(default_factory=list)
    new_count: int = 0


@dataclass
class FeatureDrift:
    """One feature compared: see the module docstring."""

    kind: Literal["numeric", "categorical"]
    method: str
    reason: str
    results: dict[str, MethodResult]
    bins: BinTable
    rows: dict[str, int]
    missing: dict[str, dict[str, Any]]
    infinite: dict[str, dict[str, Any]] | None
    unusual: dict[str, bool | None]  # {"missing": ok?, "infinite": ok?}: None when not judged
    notes: list[str] = field(default_factory=list)

    @property
    def drifted(self) -> bool | None:
        """Whether the judged method crossed its bound (``None``: undefined)."""
        return self.results[self.method].drifted

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (numbers as Python floats and ints)."""
        return {
            "type": self.kind,
            "method": self.method,
            "reason": self.reason,
            "drifted": self.drifted,
            "results": {
                name: {"value": r.value, "threshold": r.threshold, "drifted": r.drifted,
                       "statistic": r.statistic, **r.details}
                for name, r in self.results.items()
            },
            "bins": [{"bin": label, "reference": int(r), "current": int(c)}
                     for label, r, c in zip(self.bins.labels, self.bins.reference, self.bins.current, strict=True)],
            "constant": self.bins.constant,
            "new_categories": self.bins.new_categories,
            "new_count": self.bins.new_count,
            "rows": self.rows,
            "missing": self.missing,
            "infinite": self.infinite,
            "unusual_values_ok": self.unusual,
            "notes": self.notes,
        }  # fmt: skip


# -- the auto rule ---------------------------------------------------------------------------
def choose_method(kind: str, n_reference: int, n_current: int, distinct: int | None) -> tuple[str, str]:
    """The method ``auto`` judges a feature with, and why (see the module docstring).

    :param kind: ``numeric`` or ``categorical``.
    :param distinct: the number of distinct non-missing (finite) values of both samples
        together; ``None`` means more than :data:`AUTO_FEW_VALUES` (no need to count them all).
    """
    effective = n_reference * n_current / (n_reference + n_current) if n_reference and n_current else 0.0
    small = effective <= AUTO_SMALL
    size = f"effective sample size {effective:,.0f} {'<=' if small else '>'} {AUTO_SMALL}"
    if kind == "numeric" and (distinct is None or distinct > AUTO_FEW_VALUES):
        return ("ks", f"numeric; {size}") if small else ("wasserstein", f"numeric; {size}")
    what = "categorical" if kind == "categorical" else f"numeric with {distinct} distinct values"
    if distinct is not None and distinct <= 2:
        return ("z", f"binary; {size}") if small else ("jensenshannon", f"binary; {size}")
    return ("chi2", f"{what}; {size}") if small else ("jensenshannon", f"{what}; {size}")


# -- one feature -----------------------------------------------------------------------------
def compare(
    reference: NumericSample | CategoricalSample,
    current: NumericSample | CategoricalSample,
    *,
    methods_: Sequence[str] | Literal["auto"] = "auto",
    judge: str | None = None,
    bins: int = 10,
    thresholds: Mapping[str, float] | None = None,
    ks_method: KSMethod = "auto",
    js_base: float | None = None,
    missing_share_max: float | None = None,
    infinite_share_max: float | None = None,
) -> FeatureDrift:
    """Compare two samples of one feature.

    :param methods_: the methods to compute, or ``"auto"`` (only the one :func:`choose_method`
        picks). Methods that do not apply to the feature's type are skipped (``ks`` and
        ``wasserstein`` need numbers; ``z`` a binary feature).
    :param judge: the method whose bound decides ``drifted``; default: the ``auto`` choice
        when ``methods_="auto"``, else the first applicable method of ``methods_``.
    :param bins: reference-quantile bins of a numeric feature (PSI, Jensen-Shannon, chi-square).
    :param thresholds: per-method bounds over :data:`DEFAULT_THRESHOLDS`.
    :param ks_method: scipy's ``method`` of ``ks_2samp`` (``auto``, ``exact``, ``asymp``).
    :param js_base: the logarithm base of the Jensen-Shannon distance (``None``: natural).
    :param missing_share_max: the largest allowed share of missing values in the current sample.
    :param infinite_share_max: the same for infinite values (numeric features).
    :raises ValueError: an unknown method or ``ks_method``, samples of different kinds, or an
        empty sample (no row at all).
    """
    bounds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    asked = _check_methods(methods_, judge, ks_method, bounds)
    numeric = isinstance(reference, NumericSample)
    if numeric != isinstance(current, NumericSample):
        raise ValueError("compare: the reference and the current sample must both be numeric or both categorical")
    if reference.rows == 0 or current.rows == 0:
        raise ValueError(f"compare: a sample has no row (reference {reference.rows}, current {current.rows})")
    notes: list[str] = []
    if numeric:
        feature = _numeric(reference, current, asked, judge, bins, bounds, ks_method, js_base, notes)  # type: ignore[arg-type]
    else:
        feature = _categorical(reference, current, asked, judge, bounds, js_base, notes)  # type: ignore[arg-type]
    feature.unusual = {
        "missing": _within(feature.missing["current"]["share"], missing_share_max),
        "infinite": _within(feature.infinite["current"]["share"], infinite_share_max) if feature.infinite else None,
    }
    return feature


def _check_methods(
    asked: Sequence[str] | str, judge: str | None, ks_method: str, bounds: Mapping[str, float]
) -> list[str] | None:
    names = None if asked == "auto" else list(asked)
    for name in (names or []) + ([judge] if judge else []) + list(bounds):
        if name not in METHODS:
            raise ValueError(f"unknown drift method {name!r}; methods: auto, {', '.join(METHODS)}")
    if names is not None and not names:
        raise ValueError("methods: give at least one method, or 'auto'")
    if judge is not None and names is not None and judge not in names:
        raise ValueError(f"judge={judge!r} is not one of the methods computed ({', '.join(names)})")
    if ks_method not in KS_METHODS:
        raise ValueError(f"ks_method: expected one of {', '.join(KS_METHODS)}, got {ks_method!r}")
    return names


def _within(share: float | None, bound: float | None) -> bool | None:
    return None if bound is None or share is None else share <= bound


def _counts(count: int, rows: int) -> dict[str, Any]:
    return {"count": count, "share": count / rows if rows else None}


def _numeric(
    ref: NumericSample, cur: NumericSample, asked: list[str] | None, judge: str | None, n_bins: int,
    bounds: Mapping[str, float], ks_method: KSMethod, js_base: float | None, notes: list[str],
) -> FeatureDrift:  # fmt: skip
    few = _few_values(ref, cur)
    if asked is None:
        judge, reason = choose_method("numeric", ref.finite_size, cur.finite_size, None if few is None else len(few))
        asked = [judge]
    else:
        reason = "asked"
    # `auto` compares a numeric feature with a few values by value, as categories
    table = _value_bins(ref, cur) if reason != "asked" and few is not None else _quantile_bins(ref, cur, n_bins, notes)
    finite = BinTable(list(table.labels), table.reference, table.current)  # what Jensen-Shannon reads
    _append_unusual(table, ref, cur, numeric=True)
    results: dict[str, MethodResult] = {}
    wanted = [m for m in asked if m in NUMERIC_METHODS or (m == "z" and few is not None and len(few) <= 2)]
    for name in asked:
        if name not in wanted:
            notes.append(
                f"{name}: not computed for a numeric feature" + (" with more than 2 values" if name == "z" else "")
            )
    for name in wanted:
        results[name] = _numeric_method(name, ref, cur, (table, finite), bounds[name], ks_method, js_base, notes)
    judged = judge if judge in results else (wanted[0] if wanted else None)
    if judged is None:
        raise ValueError(f"compare: none of the methods {asked} applies to a numeric feature")
    return FeatureDrift(
        "numeric", judged, reason, results, table, {"reference": ref.rows, "current": cur.rows},
        {"reference": _counts(ref.missing, ref.rows), "current": _counts(cur.missing, cur.rows)},
        {"reference": _counts(ref.infinite, ref.rows), "current": _counts(cur.infinite, cur.rows)}, {}, notes,
    )  # fmt: skip


def _numeric_method(
    name: str, ref: NumericSample, cur: NumericSample, tables: tuple[BinTable, BinTable], bound: float,
    ks_method: KSMethod, js_base: float | None, notes: list[str],
) -> MethodResult:  # fmt: skip
    if name in ("psi", "jensenshannon", "chi2"):
        return _binned(name, *tables, bound, js_base)
    if name == "ks":  # every non-missing value, infinities included (they are ordered), as the engine
        if ref.size == 0 or cur.size == 0:
            notes.append("no KS test: one side has no non-missing value")
            return MethodResult("ks", None, bound, None)
        if ref.counts is not None or cur.counts is not None:
            d = ks_statistic_counts(ref.values, _ones(ref), cur.values, _ones(cur))
        else:
            d = ks_statistic(ref.values, cur.values)
        res = ks_pvalue(d, ref.size, cur.size, ks_method)
        return MethodResult("ks", res.pvalue, bound, res.pvalue < bound, res.statistic, {"ks_method": res.method})
    if name == "z":
        return _z(_value_bins(ref, cur), bound)
    # wasserstein: finite values only
    if ref.finite_size == 0 or cur.finite_size == 0:
        notes.append("no Wasserstein distance: one side has no finite value")
        return MethodResult("wasserstein", None, bound, None)
    if ref.counts is not None or cur.counts is not None:
        rv, rc = ref.value_table()
        cv, cc = cur.value_table()
        distance, std = methods.wasserstein_counts(rv, rc, cv, cc), methods.std_counts(rv, rc)
    else:
        distance, std = methods.wasserstein_sorted(ref.finite, cur.finite), methods.std_sorted(ref.finite)
    normed = methods.wasserstein_normed(distance, std)
    return MethodResult("wasserstein", normed, bound, normed > bound, distance, {"reference_std": std})


def _ones(sample: NumericSample) -> np.ndarray:
    import numpy as np

    return sample.counts if sample.counts is not None else np.ones(len(sample.values), dtype=np.int64)


def _binned(name: str, table: BinTable, values_only: BinTable, bound: float, js_base: float | None) -> MethodResult:
    """PSI and chi-square read ``table`` (with the ``(infinite)`` and ``(missing)`` bins, as the
    engine); Jensen-Shannon reads ``values_only`` (non-missing, finite values, as Evidently)."""
    if name == "psi":
        value = binning.psi(table.reference, table.current)
        return MethodResult("psi", value, bound, value > bound)
    if name == "jensenshannon":
        if not values_only.reference.sum() or not values_only.current.sum():
            return MethodResult("jensenshannon", None, bound, None, details={"note": _NO_VALUES})
        value = methods.jensenshannon_counts(values_only.reference, values_only.current, js_base)
        return MethodResult("jensenshannon", value, bound, value > bound, details={"base": js_base or "e"})
    test = methods.chi2_counts(table.reference, table.current)
    if test is None:
        return MethodResult("chi2", None, bound, None, details={"note": "fewer than two bins hold data"})
    return MethodResult("chi2", test.pvalue, bound, test.pvalue < bound, test.statistic, {"dof": test.dof})


def _z(table: BinTable, bound: float) -> MethodResult:
    """The z-test on the first two bins of a value table (the categories, sorted when they compare)."""
    ref, cur = table.reference[:2], table.current[:2]
    if not table.reference.sum() or not table.current.sum():
        return MethodResult("z", None, bound, None, details={"note": _NO_VALUES})
    if len(table.labels) < 2 or table.labels[1] in (MISSING_BIN, INFINITE_BIN, NEW_BIN):
        return MethodResult("z", 1.0, bound, False, 0.0, {"note": "a single category on both sides"})
    test = methods.z_test_counts(int(ref[1]), int(ref.sum()), int(cur[1]), int(cur.sum()))
    return MethodResult("z", test.pvalue, bound, test.pvalue < bound, test.statistic, {"category": table.labels[1]})


def _few_values(ref: NumericSample, cur: NumericSample) -> np.ndarray | None:
    import numpy as np

    a, b = ref.distinct(AUTO_FEW_VALUES), cur.distinct(AUTO_FEW_VALUES)
    if a is None or b is None:
        return None
    union = np.union1d(a, b)
    return union if len(union) <= AUTO_FEW_VALUES else None


def _quantile_bins(ref: NumericSample, cur: NumericSample, n_bins: int, notes: list[str]) -> BinTable:
    if ref.counts is None:
        edges = binning.quantile_edges(ref.finite, n_bins)
        r_counts = binning.bin_counts(ref.finite, edges)
    else:
        rv, rc = ref.value_table()
        edges = binning.quantile_edges_counts(rv, rc, n_bins)
        r_counts = binning.bin_counts_table(rv, rc, edges)
    if cur.counts is None:
        c_counts = binning.bin_counts(cur.finite, edges)
    else:
        c_counts = binning.bin_counts_table(*cur.value_table(), edges)
    if ref.finite_size == 0:
        notes.append("every reference value is missing or infinite: one bin for all finite current values")
    elif edges.constant is not None:
        notes.append(f"constant reference column (every value is {binning.format_number(edges.constant)}): one bin "
                     "holds it, with a bin below and one above for current values")  # fmt: skip
    elif edges.count < n_bins:
        notes.append(f"{edges.count} bins, not {n_bins}: tied reference quantiles were merged")
    return BinTable(binning.labels(edges), r_counts, c_counts, constant=edges.constant is not None)


def _value_bins(ref: NumericSample, cur: NumericSample) -> BinTable:
    """A few-valued numeric feature binned by value (the union's distinct finite values)."""
    import numpy as np

    rv, rc = ref.value_table()
    cv, cc = cur.value_table()
    union = np.union1d(rv, cv)
    r_counts, c_counts = np.zeros(len(union), np.int64), np.zeros(len(union), np.int64)
    r_counts[np.searchsorted(union, rv)] = rc
    c_counts[np.searchsorted(union, cv)] = cc
    return BinTable([binning.format_number(v) for v in union], r_counts, c_counts, constant=len(rv) == 1)


def _append_unusual(table: BinTable, ref: Any, cur: Any, numeric: bool) -> None:
    """The ``(infinite)`` and ``(missing)`` bins, each when either side has any (as the engine)."""
    import numpy as np

    extra = [(INFINITE_BIN, ref.infinite, cur.infinite)] if numeric else []
    for label, r, c in [*extra, (MISSING_BIN, ref.missing, cur.missing)]:
        if r or c:
            table.labels.append(label)
            table.reference = np.append(table.reference, r)
            table.current = np.append(table.current, c)


def _categorical(
    ref: CategoricalSample, cur: CategoricalSample, asked: list[str] | None, judge: str | None,
    bounds: Mapping[str, float], js_base: float | None, notes: list[str],
) -> FeatureDrift:  # fmt: skip
    table = category_bins(ref, cur, notes)
    distinct = len(ref.categories) + len(_new_distinct(ref, cur))
    if asked is None:
        judge, reason = choose_method("categorical", ref.size, cur.size, distinct)
        asked = [judge]
    else:
        reason = "asked"
    _append_unusual(table, ref, cur, numeric=False)
    results: dict[str, MethodResult] = {}
    for name in asked:
        if name in ("ks", "wasserstein") or (name == "z" and distinct > 2):
            notes.append(
                f"{name}: not computed for a categorical feature" + (" with more than 2 values" if name == "z" else "")
            )
            continue
        if name == "z":
            results[name] = _z(_union_table(ref, cur), bounds["z"])
        else:
            results[name] = _binned(name, table, _union_table(ref, cur), bounds[name], js_base)
    judged = judge if judge in results else next(iter(results), None)
    if judged is None:
        raise ValueError(f"compare: none of the methods {asked} applies to a categorical feature")
    return FeatureDrift(
        "categorical", judged, reason, results, table, {"reference": ref.rows, "current": cur.rows},
        {"reference": _counts(ref.missing, ref.rows), "current": _counts(cur.missing, cur.rows)}, None, {}, notes,
    )  # fmt: skip


def _new_distinct(ref: CategoricalSample, cur: CategoricalSample) -> list[Any]:
    known = set(ref.categories)
    return [c for c in cur.categories if c not in known]


def _union_table(ref: CategoricalSample, cur: CategoricalSample) -> BinTable:
    """One bin per category of either sample, sorted when they compare (Evidently's keys)."""
    import numpy as np

    union = _ordered(list(dict.fromkeys([*ref.categories, *cur.categories])))
    r = dict(zip(ref.categories, ref.counts.tolist(), strict=True))
    c = dict(zip(cur.categories, cur.counts.tolist(), strict=True))
    return BinTable(
        [str(v) for v in union], np.array([r.get(v, 0) for v in union]), np.array([c.get(v, 0) for v in union])
    )


def category_bins(ref: CategoricalSample, cur: CategoricalSample, notes: list[str]) -> BinTable:
    """One bin per reference category (sorted when they compare); current categories not in the
    reference share a ``(new)`` bin. Categories match by Python equality, as the engine."""
    import numpy as np

    cats = _ordered(list(ref.categories))
    r = dict(zip(ref.categories, ref.counts.tolist(), strict=True))
    position = {value: i for i, value in enumerate(cats)}
    current = np.zeros(len(cats), dtype=np.int64)
    new: list[tuple[Any, int]] = []
    for value, count in zip(cur.categories, cur.counts.tolist(), strict=True):
        if value in position:
            current[position[value]] += count
        else:
            new.append((value, count))
    table = BinTable([str(v) for v in cats], np.array([r[v] for v in cats], dtype=np.int64), current,
                     constant=len(cats) == 1)  # fmt: skip
    if table.constant:
        notes.append(f"constant reference column (every value is {cats[0]!r})")
    if not cats:
        notes.append("every reference value is missing")
    if new:
        new.sort(key=lambda item: -item[1])
        table.new_categories = _ordered([value for value, _ in new[:MAX_NEW_SHOWN]])
        table.new_count = sum(count for _, count in new)
        table.labels.append(NEW_BIN)
        table.reference = np.append(table.reference, 0)
        table.current = np.append(table.current, table.new_count)
        notes.append(f"{len(new)} categor{'y' if len(new) == 1 else 'ies'} not in the reference "
                     f"({table.new_count} current rows)")  # fmt: skip
    return table


def _ordered(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return values


# -- many features, and the dataset ------------------------------------------------------------
@dataclass(frozen=True)
class DatasetVerdict:
    """The dataset drifts when the share of drifted features reaches ``drift_share``."""

    drifted: bool
    share: float | None  # drifted / judged; None when no feature could be judged
    drifted_features: list[str]
    judged: int
    drift_share: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (the drift report's ``dataset`` block)."""
        return {"drifted": self.drifted, "share": self.share, "drifted_features": list(self.drifted_features),
                "judged": self.judged, "drift_share": self.drift_share}  # fmt: skip


def dataset_verdict(features: Mapping[str, FeatureDrift], drift_share: float = 0.5) -> DatasetVerdict:
    """The share of drifted features (among those whose method could be judged) against
    ``drift_share``: drift when ``share >= drift_share`` (Evidently's rule and default).

    :raises ValueError: ``drift_share`` outside (0, 1].
    """
    if not 0 < drift_share <= 1:
        raise ValueError(f"drift_share: expected a share in (0, 1], e.g. 0.5, got {drift_share!r}")
    judged = {name: f.drifted for name, f in features.items() if f.drifted is not None}
    drifted = [name for name, d in judged.items() if d]
    share = len(drifted) / len(judged) if judged else None
    return DatasetVerdict(share is not None and share >= drift_share, share, drifted, len(judged), drift_share)


def compare_frames(
    reference: Any,
    current: Any,
    *,
    features: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    workers: int | None = None,
    **options: Any,
) -> dict[str, FeatureDrift]:
    """:func:`compare` for each feature of two pandas DataFrames, columns in parallel threads.

    :param features: the columns (default: every column of the reference also in the current).
    :param categorical: columns compared as categories (default: the non-numeric ones and
        booleans, as the drift engine).
    :param workers: threads (default: the CPUs this process may use, at most 8).
    :param options: passed to :func:`compare`.
    """
    import pandas as pd

    names = list(features) if features is not None else [c for c in reference.columns if c in current.columns]

    def is_numeric(s: pd.Series) -> bool:
        return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)

    as_category = set(categorical) if categorical is not None else {n for n in names if not is_numeric(reference[n])}

    def one(name: str) -> FeatureDrift:
        make: Callable[[Any], Any] = categorical_sample if name in as_category else numeric_sample
        return compare(make(reference[name]), make(current[name]), **options)

    return map_columns(one, names, workers)


def map_columns(work: Callable[[str], T], names: Sequence[str], workers: int | None = None) -> dict[str, T]:
    """``{name: work(name)}``, run in a thread pool (in order of ``names``).

    The scipy modules the methods import are imported here first, in the calling thread: two
    threads importing ``scipy.stats`` for the first time at once can stop each other (Python
    raises ``_DeadlockError`` from its module locks).
    """
    import scipy.spatial.distance
    import scipy.special
    import scipy.stats
    import scipy.stats._stats_py  # noqa: F401

    workers = workers or min(
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8
    )
    if workers <= 1 or len(names) <= 1:
        return {name: work(name) for name in names}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drift") as pool:
        return dict(zip(names, pool.map(work, names), strict=True))
