"""Drift of a Spark source: the same statistics as the pandas path, from counts made in Spark.

:func:`evaluate` is :func:`airflow_alignment.engines.drift.evaluate` for two
:class:`~airflow_alignment.io.spark_source.SparkSource`: each feature is reduced inside Spark to
the counts :mod:`airflow_alignment.engines._drift_stats` reads (a :class:`Binned`), and the
engine's own report, judging and summary take it from there. What comes back to the worker:

- one row per side: rows, present values, infinite values, finite minimum and maximum of every
  feature (one aggregation per side);
- per numeric feature, one row: the KS statistic and the reference's order statistics at the
  ranks the quantile edges need. Spark counts each distinct value on both sides and sums them
  in value order (a window over the distinct values); the statistic is
  ``max |F_ref(x) - F_cur(x)|`` over those values, as ``scipy.stats.ks_2samp`` computes it, and
  the edges are interpolated from the order statistics by numpy's own ``linear`` formula, so
  they are the edges ``numpy.quantile`` finds on the rows;
- per numeric feature, the bin counts of both sides (two rows per bin);
- per categorical feature, the count of each category on each side (at most
  :data:`~airflow_alignment.limits.MAX_GROUPS` categories; more is an error naming the column).

PSI, chi-square and the KS p-value are then computed from these counts exactly as on the rows
(the p-value from the statistic and the two sizes, as ``ks_2samp`` does).

Not wired yet: the selection-rate drift of ``sensitive_features`` (a clear error). Its counts
are here (:func:`selection_rates`, one ``groupBy``, the table the engine's ``_rates`` makes
from the rows); the engine's judging of them reads the rows' frames and takes this table once
``engines/drift.py`` lets it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines import _drift_stats as stats
from airflow_alignment.engines import drift as engine
from airflow_alignment.exceptions import DataError, SpecError, preview
from airflow_alignment.io.spark_source import SparkSource, quote
from airflow_alignment.limits import MAX_GROUPS
from airflow_alignment.results import CheckResult, status_from_assertions, utcnow
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

# ``scipy.stats.ks_2samp``'s method="auto": exact p-values up to this many values per side.
KS_EXACT_MAX_N = 10_000


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

    :raises SpecError: a bad option; ``sensitive_features`` (not computed in Spark yet).
    :raises DataError: a missing column, an empty side, a feature numeric on one side only,
        a categorical feature with more than ``MAX_GROUPS`` categories.
    """

    started, t0 = utcnow(), time.perf_counter()
    if spec is None:
        spec = engine.validate_spec(**options)
    elif options:
        raise TypeError(f"evaluate(): give a DriftSpec or its fields ({', '.join(options)}), not both")
    if spec.sensitive_features:
        raise SpecError(
            "sensitive_features: the selection-rate drift of a SparkSource is not computed in Spark yet; "
            "run it on a FileSource or SqlSource, or leave sensitive_features out"
        )
    ref_all, cur_all = dataframe(reference), dataframe(current)
    names, not_compared = engine._features(ref_all, cur_all, spec)
    compared = names + ([spec.prediction] if spec.prediction else [])
    for frame, src, where in ((ref_all, reference, "reference"), (cur_all, current, "current")):
        require(frame, compared, src, what=f"{where} column")
    ref, cur = dataframe(reference, compared), dataframe(current, compared, window=window)
    kinds = _kinds(ref, cur, compared, spec)
    ref_sums, cur_sums = _summary(ref, kinds, reference), _summary(cur, kinds, current)
    for sums, src in ((ref_sums, reference), (cur_sums, current)):
        if sums["rows"] == 0:
            raise DataError(f"the dataset from {src} is empty (0 rows): there is nothing to check")
    reports = {}
    for i, name in enumerate(compared):
        r, c = ref_sums["features"][i], cur_sums["features"][i]
        if kinds[name] == "categorical":
            binned = _categorical(ref, cur, name, r, c, (reference, current))
        else:
            binned = _numeric(ref, cur, name, r, c, spec.bins, (reference, current))
        reports[name] = stats.report(binned)
    assertions = [a for name in compared for a in engine._judge(name, reports[name], spec)]
    metrics: dict[str, Any] = {"features": {n: reports[n] for n in names}}
    if spec.prediction:
        metrics["prediction"] = {"column": spec.prediction, **reports[spec.prediction]}
    metrics["drifted"] = sorted(
        {a.details["feature"] for a in assertions if a.success is False and "feature" in a.details}
    )
    metrics["columns_not_compared"] = not_compared
    metrics["settings"] = {**spec.settings, "epsilon": stats.EPSILON}
    data = {
        "source": source or str(current),
        "rows": cur_sums["rows"],
        "columns": compared,
        "fingerprint": None,
        "reference": {
            "source": reference_source or str(reference),
            "rows": ref_sums["rows"],
            "columns": compared,
            "fingerprint": None,
        },
    }
    return CheckResult(
        check=check_name or "drift",
        kind="drift",
        status=status_from_assertions(assertions),
        severity=spec.severity,
        summary=engine._summary(assertions, reports, names, spec),
        assertions=assertions,
        metrics=metrics,
        data=data,
        started_at=started,
        duration_s=round(time.perf_counter() - t0, 6),
    )


def selection_rates(source: SparkSource, spec: dict[str, Any]) -> pd.DataFrame:
    """Each group's selection rate, counted in Spark: the table
    :func:`airflow_alignment.engines.drift._rates` computes on the rows (index: the groups of
    ``spec.sensitive_features``, sorted, a missing value last; columns ``mean`` and
    ``size``), for rows whose prediction is present. ``spec`` as ``validate_spec`` returns it.

    Not yet called by :func:`evaluate`: the engine's selection-rate judging takes the rows'
    frames, not this table (see the module docstring).
    """
    import pandas as pd

    features, prediction = list(spec.sensitive_features), spec.prediction
    frame = dataframe(source, list(dict.fromkeys([*features, prediction])), not_null=[prediction])
    F = functions(frame)
    pred = F.col(quote(prediction))
    if spec.threshold is not None:
        dtype = dict(frame.dtypes)[prediction]
        if dtype not in NUMERIC_TYPES and not dtype.startswith("decimal"):
            raise DataError(
                f"prediction column {prediction!r} is {dtype}, not numbers: threshold="
                f"{spec['threshold']!r} compares scores; leave threshold out to count pos_label"
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


def _kinds(ref: DataFrame, cur: DataFrame, names: Sequence[str], spec: dict[str, Any]) -> dict[str, str]:
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
        out["features"].append(entry)
    return out


def _numeric(
    ref: DataFrame,
    cur: DataFrame,
    name: str,
    r: dict[str, Any],
    c: dict[str, Any],
    bins: int,
    sources: tuple[SparkSource, SparkSource],
) -> Binned:
    """:func:`~airflow_alignment.engines._drift_stats.numeric` from Spark's counts."""
    import numpy as np

    r_finite = r["present"] - r["neg_inf"] - r["pos_inf"]
    notes: list[str] = []
    constant = False
    ranks: list[int] = []
    if r_finite == 0:
        edges = np.empty(0)
        notes.append("every reference value is missing or infinite: one bin for all finite current values")
    elif r["min"] == r["max"]:
        constant = True
        edges = np.array([np.nextafter(r["min"], -np.inf), r["min"]])
        notes.append(
            f"constant reference column (every value is {stats._num(r['min'])}): one bin holds it, "
            "with a bin below and one above for current values"
        )
    else:
        plan = quantile_plan(r_finite, bins)
        ranks = sorted(set(plan[0].tolist()) | set(plan[1].tolist()))
    need_ks = r["present"] > 0 and c["present"] > 0
    d, order = _cumulative(ref, cur, name, r, c, ranks, need_ks, sources[1]) if (ranks or need_ks) else (None, {})
    if ranks:
        edges = np.unique(quantiles_from(order, *plan))
        if len(edges) + 1 < bins:
            notes.append(f"{len(edges) + 1} bins, not {bins}: tied reference quantiles were merged")
    point = stats._num(r["min"]) if constant else ""
    labels = [f"< {point}", f"== {point}", f"> {point}"] if constant else stats._interval_labels(edges)
    r_counts, c_counts = _bin_counts(ref, cur, name, edges, sources[1])
    out = stats.Binned(
        labels,
        r_counts,
        c_counts,
        "numeric",
        {"reference": r["missing"], "current": c["missing"]},
        constant=constant,
        notes=notes,
        infinite={"reference": r["neg_inf"] + r["pos_inf"], "current": c["neg_inf"] + c["pos_inf"]},
    )
    stats._add_infinite(out)
    stats._add_missing(out)
    if need_ks:
        out.ks = ks_test(float(d), r["present"], c["present"])  # type: ignore[arg-type]
    else:
        out.notes.append("no KS test: one side has no non-missing value")
    return out


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


def quantiles_from(order: dict[int, float], below: np.ndarray, above: np.ndarray, gamma: np.ndarray) -> np.ndarray:
    """The quantiles from the order statistics at ``below`` and ``above``: numpy's ``_lerp``
    (``a + (b - a) * t``, or ``b - (b - a) * (1 - t)`` from ``t >= 0.5`` on), bit for bit."""
    import numpy as np

    a = np.array([order[int(k)] for k in below], dtype=np.float64)
    b = np.array([order[int(k)] for k in above], dtype=np.float64)
    diff = b - a
    out = a + diff * gamma
    return np.where(gamma >= 0.5, b - diff * (1 - gamma), out)


def ks_test(d: float, n1: int, n2: int) -> tuple[float, float]:
    """``(statistic, p-value)`` of the two-sided two-sample KS test from its statistic and the
    two sizes, as ``scipy.stats.ks_2samp(method="auto")`` finishes: exact up to
    :data:`KS_EXACT_MAX_N` values per side (the statistic rounded to the lattice of the exact
    distribution, as scipy rounds it), Smirnov's asymptotic distribution above."""
    import numpy as np
    from scipy.stats import distributions
    from scipy.stats._stats_py import _attempt_exact_2kssamp  # scipy's own exact step (tests pin it)

    exact = max(n1, n2) <= KS_EXACT_MAX_N
    if exact:
        exact, d, prob = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
    if not exact:
        m, n = sorted([float(n1), float(n2)], reverse=True)
        prob = distributions.kstwo.sf(d, np.round(m * n / (m + n)))
    return float(d), float(np.clip(prob, 0, 1))


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


def _categorical(
    ref: DataFrame,
    cur: DataFrame,
    name: str,
    r: dict[str, Any],
    c: dict[str, Any],
    sources: tuple[SparkSource, SparkSource],
) -> Binned:
    """:func:`~airflow_alignment.engines._drift_stats.categorical` from Spark's category counts."""
    import numpy as np

    r_counts, c_counts = _category_counts(ref, cur, name, sources)
    cats = stats._ordered(list(r_counts))
    position = {value: i for i, value in enumerate(cats)}
    current = np.zeros(len(cats), dtype=np.int64)
    new: dict[Any, int] = {}
    for value, count in c_counts.items():
        if value in position:
            current[position[value]] += count
        else:
            new[value] = count
    reference = np.array([r_counts[v] for v in cats], dtype=np.int64)
    out = stats.Binned(
        [str(v) for v in cats],
        reference,
        current,
        "categorical",
        {"reference": r["missing"], "current": c["missing"]},
        constant=len(cats) == 1,
    )
    if out.constant:
        out.notes.append(f"constant reference column (every value is {cats[0]!r})")
    if not cats:
        out.notes.append("every reference value is missing")
    if new:
        # most frequent first; among equal counts by value (pandas keeps its unstable sort's order)
        ranked = sorted(new, key=lambda v: (-new[v], v))
        out.new_categories = stats._ordered(ranked[: stats.MAX_NEW_SHOWN])
        out.new_count = int(sum(new.values()))
        out.labels.append(stats.NEW_BIN)
        out.reference = np.append(out.reference, 0)
        out.current = np.append(out.current, out.new_count)
        out.notes.append(
            f"{len(new)} categor{'y' if len(new) == 1 else 'ies'} not in the reference ({out.new_count} current rows)"
        )
    stats._add_missing(out)
    return out


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
