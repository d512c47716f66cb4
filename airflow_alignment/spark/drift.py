"""Drift of a Spark source: the same statistics as the pandas path, from counts made in Spark.

:func:`evaluate` is :func:`airflow_alignment.engines.drift.evaluate` for two
:class:`~airflow_alignment.io.spark_source.SparkSource` objects: each feature is reduced inside
Spark to the counts the drift engine reads, and the engine's own code (its samples from counts,
:func:`~airflow_alignment.engines.drift.column_drift`, its judging and summary) takes it from
there. What comes back to the worker:

- one row per side: rows, present values, infinite values, finite minimum and maximum of every
  feature (one aggregation per side);
- per categorical feature, the count of each category on each side (at most
  :data:`~airflow_alignment.limits.MAX_GROUPS` categories; more is an error naming the column):
  chi-square, Jensen-Shannon, PSI and the z-test read them;
- per numeric feature, with ``method: psi`` (the default), only what PSI and its KS test read,
  whatever the number of distinct values: Spark sums the distinct values' counts in value order
  (a window over the distinct values) and returns one row, the KS statistic
  ``max |F_ref(x) - F_cur(x)|`` and the reference's order statistics at the ranks the quantile
  edges need (interpolated by numpy's own ``linear`` formula,
  :mod:`airflow_alignment.engines.drift_stats.binning`); then the bin counts of both sides;
- per numeric feature, with other methods (``auto``, ``jensenshannon``, ``wasserstein``, ``ks``,
  ...): its value table (``GROUP BY value``: each distinct value and its count per side, at most
  :data:`VALUE_TABLE_MAX` together; more is an error with the fix), from which the engine
  computes every method exactly as from the rows;
- with ``sensitive_features``, each group's selection rate (one ``groupBy``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines import _drift_stats as stats
from airflow_alignment.engines import drift as engine
from airflow_alignment.engines.drift_stats import binning
from airflow_alignment.engines.drift_stats.compare import DEFAULT_THRESHOLDS, BinTable, FeatureDrift, MethodResult
from airflow_alignment.engines.drift_stats.ks import ks_pvalue
from airflow_alignment.engines.drift_stats.samples import categorical_sample_from_counts, numeric_sample_from_counts
from airflow_alignment.exceptions import DataError, preview
from airflow_alignment.io.spark_source import SparkSource, quote
from airflow_alignment.limits import MAX_GROUPS
from airflow_alignment.results import CheckResult, utcnow
from airflow_alignment.spark.counts import NUMERIC_TYPES
from airflow_alignment.spark.frames import dataframe, require
from airflow_alignment.spark.session import functions, one_partition_window, spark_errors, window_spec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from pyspark.sql import DataFrame

    from airflow_alignment.engines._drift_stats import Binned
    from airflow_alignment.io.window import Window
    from airflow_alignment.specs.drift import DriftSpec

# Distinct values of a numeric feature (both sides together) brought back as its value table.
VALUE_TABLE_MAX = 100_000


def evaluate(
    reference: SparkSource,
    current: SparkSource,
    spec: DriftSpec | None = None,
    *,
    window: Window | None = None,
    check_name: str | None = None,
    source: str | None = None,
    reference_source: str | None = None,
    **options: Any,
) -> CheckResult:
    """Compare ``current`` (its rows inside ``window``) with ``reference`` inside Spark and
    judge the drift; ``spec`` or its fields as ``options``, ``source`` / ``reference_source``
    as for :func:`airflow_alignment.engines.drift.evaluate`. The result equals that function's
    on the same rows, but ``data``: ``{source, rows, columns, fingerprint: null}`` (no
    fingerprint of a Spark table).

    :raises SpecError: a bad option.
    :raises DataError: a missing column, an empty side, a feature numeric on one side only,
        a categorical feature with more than ``MAX_GROUPS`` categories, a method other than
        PSI on a feature with more than :data:`VALUE_TABLE_MAX` distinct values.
    """
    started, t0 = utcnow(), time.perf_counter()
    if spec is None:
        spec = engine.validate_spec(**options)
    elif options:
        raise TypeError(f"evaluate(): give a DriftSpec or its fields ({', '.join(options)}), not both")
    ref_all, cur_all = dataframe(reference), dataframe(current)
    names, not_compared = engine._features(ref_all, cur_all, spec)
    compared = names + ([spec.prediction] if spec.prediction else [])
    for frame, src, where in ((ref_all, reference, "reference"), (cur_all, current, "current")):
        require(frame, compared + list(spec.sensitive_features), src, what=f"{where} column")
    ref, cur = dataframe(reference, compared), dataframe(current, compared, window=window)
    kinds = _kinds(ref, cur, compared, spec)
    ref_sums, cur_sums = _summary(ref, kinds, reference), _summary(cur, kinds, current)
    for sums, src in ((ref_sums, reference), (cur_sums, current)):
        if sums["rows"] == 0:
            raise DataError(f"the dataset from {src} is empty (0 rows): there is nothing to check")
    sides = (reference, current)
    per_column = {
        name: _column(ref, cur, name, kinds[name], ref_sums["features"][i], cur_sums["features"][i], spec, sides)
        for i, name in enumerate(compared)
    }
    assertions, metrics = engine.judge_features(names, per_column, spec)
    if spec.sensitive_features:
        rates = selection_rates(reference, spec), selection_rates(current, spec, window=window)
        metrics["selection_rate"], judged = engine.selection_rate_drift(*rates, spec)
        assertions += judged
    used = list(dict.fromkeys(compared + list(spec.sensitive_features)))
    data = {
        "source": source or str(current),
        "rows": cur_sums["rows"],
        "columns": used,
        "fingerprint": None,
        "reference": {
            "source": reference_source or str(reference),
            "rows": ref_sums["rows"],
            "columns": used,
            "fingerprint": None,
        },
    }
    return engine.drift_result(
        assertions, metrics, names, not_compared, spec, check_name=check_name, data=data, started=(started, t0)
    )


def _column(
    ref: DataFrame,
    cur: DataFrame,
    name: str,
    kind: str,
    r: dict[str, Any],
    c: dict[str, Any],
    spec: DriftSpec,
    sides: tuple[SparkSource, SparkSource],
) -> tuple[dict[str, Any], FeatureDrift]:
    """One feature's report and methods, from the counts Spark makes of it."""
    if kind == "categorical":
        r_counts, c_counts = _category_counts(ref, cur, name, sides)
        samples = (
            categorical_sample_from_counts(r_counts, r["missing"]),
            categorical_sample_from_counts(c_counts, c["missing"]),
        )
        return engine.column_drift(*samples, kind, name, spec)
    if spec.method != "psi":  # the methods read the value table
        tables = _value_tables(ref, cur, name, sides[1])
        if tables is None:
            raise DataError(
                f"feature {name!r} has more than {VALUE_TABLE_MAX:,} distinct values in {sides[0]} and "
                f"{sides[1]}: method {spec.method!r} on a SparkSource reads its value table (each value and "
                "its count), too large to bring back; use method: psi (PSI on reference-quantile bins and "
                "the KS test, computed in Spark), or round the feature in query="
            )
        (rv, rc), (cv, cc) = tables
        samples = numeric_sample_from_counts(rv, rc, r["missing"]), numeric_sample_from_counts(cv, cc, c["missing"])
        return engine.column_drift(*samples, kind, name, spec)
    binned, quantile_notes = _numeric(ref, cur, name, r, c, spec, sides)
    report = stats.report(binned)
    feature = _psi_feature(binned, quantile_notes, r, c, name, spec)
    engine.with_test(feature, kind, name, spec, report)
    return report, feature


def _psi_feature(
    binned: Binned, notes: list[str], r: dict[str, Any], c: dict[str, Any], name: str, spec: DriftSpec
) -> FeatureDrift:
    """What :func:`~airflow_alignment.engines.drift_stats.compare.compare` makes of a numeric
    feature with ``methods_=["psi"]``, from the bins Spark counted (the same bins: the
    reference quantiles, then ``(infinite)`` and ``(missing)``)."""
    bound = {**DEFAULT_THRESHOLDS, **spec.method_thresholds(name)}["psi"]
    table = BinTable(list(binned.labels), binned.reference.copy(), binned.current.copy(), constant=binned.constant)
    value = binning.psi(table.reference, table.current)
    rows = {"reference": r["rows"], "current": c["rows"]}
    counted = {
        side: {"missing": s["missing"], "infinite": s["neg_inf"] + s["pos_inf"]}
        for side, s in (("reference", r), ("current", c))
    }

    def shares(what: str) -> dict[str, dict[str, Any]]:
        return {
            side: {"count": counted[side][what], "share": counted[side][what] / rows[side] if rows[side] else None}
            for side in rows
        }

    missing, infinite = shares("missing"), shares("infinite")

    def within(block: dict[str, Any], bound_: float | None) -> bool | None:
        share = block["current"]["share"]
        return None if bound_ is None or share is None else share <= bound_

    return FeatureDrift(
        "numeric",
        "psi",
        "asked",
        {"psi": MethodResult("psi", value, bound, value > bound)},
        table,
        rows,
        missing,
        infinite,
        {"missing": within(missing, spec.missing_share_max), "infinite": within(infinite, spec.infinite_share_max)},
        list(notes),
    )


def selection_rates(source: SparkSource, spec: DriftSpec, *, window: Window | None = None) -> pd.DataFrame:
    """Each group's selection rate, counted in Spark: the table
    :func:`airflow_alignment.engines.drift._rates` computes on the rows (index: the groups of
    ``spec.sensitive_features``, sorted, a missing value last; columns ``mean`` and
    ``size``), for rows whose prediction is present. ``spec`` as ``validate_spec`` returns it.

    Not yet called by :func:`evaluate`: the engine's selection-rate judging takes the rows'
    frames, not this table (see the module docstring).
    """
    import pandas as pd

    features, prediction = list(spec.sensitive_features), spec.prediction
    frame = dataframe(source, list(dict.fromkeys([*features, prediction])), window=window, not_null=[prediction])
    F = functions(frame)
    pred = F.col(quote(prediction))
    if spec.threshold is not None:
        dtype = dict(frame.dtypes)[prediction]
        if dtype not in NUMERIC_TYPES and not dtype.startswith("decimal"):
            raise DataError(
                f"prediction column {prediction!r} is {dtype}, not numbers: threshold="
                f"{spec.threshold!r} compares scores; leave threshold out to count pos_label"
            )
        selected = pred >= F.lit(float(spec.threshold))
    else:
        selected = pred == F.lit(spec.pos_label)
    keys = [F.col(quote(f)).alias(f"g{i}") for i, f in enumerate(features)]
    counted = frame.select(*keys, selected.cast("double").alias("s")).groupBy(*[f"g{i}" for i in range(len(features))])
    counted = counted.agg(F.avg("s").alias("mean"), F.count(F.lit(1)).alias("size"))
    with spark_errors(source):
        rows = counted.limit(MAX_GROUPS + 1).collect()
    if len(rows) > MAX_GROUPS:
        raise DataError(
            f"sensitive_features {features}: {source} has more than {MAX_GROUPS:,} groups, the most a "
            "drift check follows; map rare values to a common one (e.g. 'other') or use a coarser "
            "feature"
        )
    table = pd.DataFrame.from_records([tuple(r) for r in rows], columns=[*features, "mean", "size"])
    table["mean"] = table["mean"].astype("float64")
    table["size"] = table["size"].astype("int64")
    # pandas orders the groups, one per row here, as its groupby of the rows orders them
    keys = [table[f] for f in features]
    return table[["mean", "size"]].groupby(keys, dropna=False, observed=True).agg({"mean": "first", "size": "sum"})


def _kinds(ref: DataFrame, cur: DataFrame, names: Sequence[str], spec: DriftSpec) -> dict[str, str]:
    """``numeric`` or ``categorical`` per feature, chosen as the pandas path chooses (booleans
    and text are categories; ``categorical=`` decides when given)."""
    ref_types, cur_types = dict(ref.dtypes), dict(cur.dtypes)

    def numeric(dtype: str) -> bool:
        return dtype in NUMERIC_TYPES or dtype.startswith("decimal")

    kinds = {}
    for name in names:
        as_category = name in spec.categorical if spec.categorical is not None else not numeric(ref_types[name])
        if not as_category and not (numeric(ref_types[name]) and numeric(cur_types[name])):
            raise DataError(
                f"feature {name!r} is {ref_types[name]} in the reference and {cur_types[name]} in the "
                "current data: compare it as categories (categorical=[...]) or fix the type"
            )
        kinds[name] = "categorical" if as_category else "numeric"
    return kinds


def _summary(frame: DataFrame, kinds: dict[str, str], source: SparkSource) -> dict[str, Any]:
    """One aggregation: the rows, and per feature the present values (and for a numeric one the
    infinite values and the finite minimum and maximum)."""
    F = functions(frame)
    aggregates = [F.count(F.lit(1)).alias("rows")]
    for i, (name, kind) in enumerate(kinds.items()):
        col = F.col(quote(name))
        aggregates.append(F.count(col).alias(f"n{i}"))
        if kind == "numeric":
            x = col.cast("double")
            finite = ~x.isin(math.inf, -math.inf)
            aggregates += [
                F.count(F.when(x == -math.inf, 1)).alias(f"lo{i}"),
                F.count(F.when(x == math.inf, 1)).alias(f"hi{i}"),
                F.min(F.when(finite, x)).alias(f"min{i}"),
                F.max(F.when(finite, x)).alias(f"max{i}"),
            ]
    with spark_errors(source):
        row = frame.agg(*aggregates).collect()[0]
    out: dict[str, Any] = {"rows": int(row["rows"]), "features": []}
    for i, kind in enumerate(kinds.values()):
        entry = {"present": int(row[f"n{i}"])}
        if kind == "numeric":
            entry.update(neg_inf=int(row[f"lo{i}"]), pos_inf=int(row[f"hi{i}"]), min=row[f"min{i}"], max=row[f"max{i}"])
        entry["missing"] = out["rows"] - entry["present"]
        entry["rows"] = out["rows"]
        out["features"].append(entry)
    return out


def _numeric(
    ref: DataFrame,
    cur: DataFrame,
    name: str,
    r: dict[str, Any],
    c: dict[str, Any],
    spec: DriftSpec,
    sides: tuple[SparkSource, SparkSource],
) -> tuple[Binned, list[str]]:
    """:func:`~airflow_alignment.engines._drift_stats.numeric` of a feature with many distinct
    values, from Spark's counts: the binned feature, and the notes its bins made."""
    import numpy as np

    r_finite, bins = r["present"] - r["neg_inf"] - r["pos_inf"], spec.bins
    ranks: list[int] = []
    if r_finite and r["min"] != r["max"]:
        below, above, _ = quantile_plan(r_finite, bins)
        ranks = sorted(set(below.tolist()) | set(above.tolist()) | {0, r_finite - 1})
    need_ks = r["present"] > 0 and c["present"] > 0
    d, order = _cumulative(ref, cur, name, r, c, ranks, need_ks, sides[1]) if (ranks or need_ks) else (None, {})
    if r_finite and r["min"] == r["max"]:
        order = {0: float(r["min"]), r_finite - 1: float(r["min"])}
    # numpy.quantile's numbers from the order statistics (the pandas path reads the same ones)
    cuts = binning._edges(r_finite, lambda idx: np.array([order[int(k)] for k in idx], dtype=np.float64), bins)
    notes: list[str] = []
    if r_finite == 0:
        notes.append("every reference value is missing or infinite: one bin for all finite current values")
    elif cuts.constant is not None:
        notes.append(
            f"constant reference column (every value is {stats._num(cuts.constant)}): one bin holds it, "
            "with a bin below and one above for current values"
        )
    elif cuts.count < bins:
        notes.append(f"{cuts.count} bins, not {bins}: tied reference quantiles were merged")
    r_counts, c_counts = _bin_counts(ref, cur, name, cuts.edges, sides[1])
    out = stats.Binned(
        binning.labels(cuts),
        r_counts,
        c_counts,
        "numeric",
        {"reference": r["missing"], "current": c["missing"]},
        constant=cuts.constant is not None,
        notes=list(notes),
        infinite={"reference": r["neg_inf"] + r["pos_inf"], "current": c["neg_inf"] + c["pos_inf"]},
    )
    stats._add_infinite(out)
    stats._add_missing(out)
    if need_ks:
        res = ks_pvalue(float(d), r["present"], c["present"], spec.ks_method)  # type: ignore[arg-type]
        out.ks = (res.statistic, res.pvalue)
    else:
        out.notes.append("no KS test: one side has no non-missing value")
    return out, notes


def _value_tables(
    ref: DataFrame, cur: DataFrame, name: str, source: SparkSource
) -> tuple[tuple[list[float], list[int]], tuple[list[float], list[int]]] | None:
    """Each distinct non-missing value of the feature and its count on each side (one job), or
    ``None`` when the two sides hold more than :data:`VALUE_TABLE_MAX` distinct values."""
    F = functions(ref)
    x = F.col(quote(name)).cast("double")
    both = ref.select(F.lit(0).alias("side"), x.alias("v")).unionByName(
        cur.select(F.lit(1).alias("side"), x.alias("v"))
    )
    counted = both.where(F.col("v").isNotNull()).groupBy("side", "v").count()
    with spark_errors(source):
        rows = counted.limit(VALUE_TABLE_MAX + 1).collect()
    if len(rows) > VALUE_TABLE_MAX:
        return None
    tables: tuple[tuple[list[float], list[int]], ...] = (([], []), ([], []))
    for row in rows:
        values, counts = tables[int(row["side"])]
        values.append(float(row["v"]))
        counts.append(int(row["count"]))
    return tables[0], tables[1]


def _cumulative(
    ref: DataFrame,
    cur: DataFrame,
    name: str,
    r: dict[str, Any],
    c: dict[str, Any],
    ranks: list[int],
    need_ks: bool,
    source: SparkSource,
) -> tuple[float | None, dict[int, float]]:
    """One Spark job over the distinct values of both sides, summed in value order: the KS
    statistic ``max |cum_ref / n_ref - cum_cur / n_cur|`` and the finite reference values at
    ``ranks`` (0-based among the sorted finite reference values)."""
    F = functions(ref)
    W = window_spec(ref)
    x = F.col(quote(name)).cast("double")
    sides = ref.select(x.alias("v"), F.lit(1).alias("r"), F.lit(0).alias("c")).unionByName(
        cur.select(x.alias("v"), F.lit(0).alias("r"), F.lit(1).alias("c"))
    )
    values = sides.where(F.col("v").isNotNull()).groupBy("v").agg(F.sum("r").alias("nr"), F.sum("c").alias("nc"))
    upto = W.orderBy("v").rowsBetween(W.unboundedPreceding, W.currentRow)
    with one_partition_window():
        cum = values.select("v", "nr", F.sum("nr").over(upto).alias("cr"), F.sum("nc").over(upto).alias("cc"))
    aggregates = []
    if need_ks:
        gap = F.abs(F.col("cr") / F.lit(r["present"]) - F.col("cc") / F.lit(c["present"]))
        aggregates.append(F.max(gap).alias("d"))
    if ranks:
        spark = ref.sparkSession
        wanted = spark.createDataFrame([(k,) for k in ranks], "k long")
        finite_rank = F.col("cr") - F.lit(r["neg_inf"])  # ranks among the finite values end here
        inside = (
            (~F.col("v").isin(math.inf, -math.inf))
            & (finite_rank - F.col("nr") <= F.col("k"))
            & (F.col("k") < finite_rank)
        )
        cum = cum.join(F.broadcast(wanted), inside, "left")
        aggregates.append(F.collect_list(F.when(F.col("k").isNotNull(), F.struct("k", "v"))).alias("at"))
    with spark_errors(source), one_partition_window():  # the cumulative count over all distinct values
        row = cum.agg(*aggregates).collect()[0]
    order = {int(item["k"]): float(item["v"]) for item in (row["at"] if ranks else [])}
    missing = [k for k in ranks if k not in order]
    if missing:  # the counts changed between the two Spark jobs (the table was written to meanwhile)
        raise DataError(
            f"feature {name!r}: the reference changed while it was read (no value at rank "
            f"{preview(missing)}); run the check again on a fixed snapshot"
        )
    return (row["d"] if need_ks else None), order


def quantile_plan(n: int, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where ``numpy.quantile(values, linspace(0, 1, bins + 1)[1:-1])`` (method ``linear``)
    reads ``n`` sorted values: the ranks below and above each quantile and the weight of the
    upper one, computed as numpy computes them."""
    import numpy as np

    virtual = (n - 1) * np.linspace(0, 1, bins + 1)[1:-1]
    below = np.floor(virtual)
    above = below + 1
    top = virtual >= n - 1  # numpy takes the last value there
    below[top] = n - 1
    above[top] = n - 1
    gamma = virtual - np.floor(virtual)
    return below.astype(np.int64), above.astype(np.int64), gamma


def _bin_counts(
    ref: DataFrame, cur: DataFrame, name: str, edges: np.ndarray, source: SparkSource
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of the finite values of both sides in ``(-inf, e1], ..., (ek, inf)``: one job."""
    import numpy as np

    F = functions(ref)
    x = F.col(quote(name)).cast("double")
    index = F.lit(len(edges))
    for i in reversed(range(len(edges))):
        index = F.when(x <= F.lit(float(edges[i])), F.lit(i)).otherwise(index)
    finite = x.isNotNull() & ~x.isin(math.inf, -math.inf)
    both = (
        ref.where(finite)
        .select(F.lit(0).alias("side"), index.alias("bin"))
        .unionByName(cur.where(finite).select(F.lit(1).alias("side"), index.alias("bin")))
    )
    with spark_errors(source):
        rows = both.groupBy("side", "bin").count().collect()
    counts = np.zeros((2, len(edges) + 1), dtype=np.int64)
    for row in rows:
        counts[int(row["side"]), int(row["bin"])] = int(row["count"])
    return counts[0], counts[1]


def _category_counts(
    ref: DataFrame, cur: DataFrame, name: str, sources: tuple[SparkSource, SparkSource]
) -> tuple[dict[Any, int], dict[Any, int]]:
    """Each category's rows on each side (missing values left out): one job, at most
    :data:`MAX_GROUPS` categories a side."""
    F = functions(ref)
    col = F.col(quote(name))
    both = ref.select(F.lit(0).alias("side"), col.alias("v")).unionByName(
        cur.select(F.lit(1).alias("side"), col.alias("v"))
    )
    counted = both.where(F.col("v").isNotNull()).groupBy("side", "v").count()
    with spark_errors(sources[1]):
        rows = counted.limit(2 * MAX_GROUPS + 1).collect()
    sides: tuple[dict[Any, int], dict[Any, int]] = ({}, {})
    for row in rows:
        sides[int(row["side"])][row["v"]] = int(row["count"])
    for side, src in zip(sides, sources, strict=True):
        if len(side) > MAX_GROUPS or len(rows) > 2 * MAX_GROUPS:
            raise DataError(
                f"categorical feature {name!r} of {src} has more than {MAX_GROUPS:,} categories, the "
                "most a drift check counts in Spark; compare it as a number, map rare values to "
                "'other', or exclude it (exclude=[...])"
            )
    return sides
