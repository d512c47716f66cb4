"""Drift inside Spark: ``spark.drift.evaluate`` equals ``engines.drift.evaluate`` on the rows.

The two pieces that replace a pass over the rows are pinned against the libraries they stand
for, without Spark: the quantile edges from order statistics against ``numpy.quantile``, the
KS p-value from the statistic and the sizes against ``scipy.stats.ks_2samp`` (exact and
asymptotic). Then whole drift results, on a real ``local[2]`` session and a real Spark Connect
server, against the pandas path on the same rows: numeric features (ties, infinities, missing
values, a constant reference), categories (new ones, missing, booleans), the prediction; the
statistics are equal to the last bit, as are the summary, assertions and bins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines import drift as engine
from airflow_alignment.engines.drift_stats import binning
from airflow_alignment.exceptions import DataError
from airflow_alignment.io.spark_source import SparkSource
from airflow_alignment.spark import drift
from tests.conftest import checked
from tests.test_cells import assert_same, strip
from tests.test_spark_counts import rows_to_driver

KINDS = ("local", "connect")


@pytest.mark.parametrize("n", [2, 3, 7, 10, 11, 101, 1000, 12_345, 100_003])
@pytest.mark.parametrize("bins", [2, 4, 10, 33])
def test_the_ranks_spark_finds_are_the_ones_numpy_quantile_reads(n, bins):
    """The edges from the order statistics at ``quantile_plan``'s ranks (what Spark returns for
    a continuous feature) are ``numpy.quantile``'s."""
    rng = np.random.default_rng(n * 100 + bins)
    for values in (rng.normal(0, 1, n), rng.integers(0, 5, n).astype(float), rng.lognormal(0, 3, n) * 1e-7):
        ordered = np.sort(values)
        below, above, _ = drift.quantile_plan(n, bins)
        ranks = {int(k) for k in np.concatenate([below, above])} | {0, n - 1}
        order = {k: float(ordered[k]) for k in ranks}
        found = binning._edges(n, lambda idx, order=order: np.array([order[int(k)] for k in idx]), bins)
        assert found.edges.tolist() == binning.quantile_edges(ordered, bins).edges.tolist()
        if len(set(values)) > 1:
            expected = np.unique(np.quantile(ordered, np.linspace(0, 1, bins + 1)[1:-1]))
            assert found.edges.tolist() == expected.tolist()


def frames(n_ref: int, n_cur: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(21)

    def side(n: int, shift: float, new: bool) -> pd.DataFrame:
        income = rng.lognormal(10 + shift, 0.5, n).round(0)
        income[rng.random(n) < 0.02] = np.nan
        ratio = rng.normal(shift, 1, n)
        ratio[rng.random(n) < 0.01] = np.inf
        ratio[rng.random(n) < 0.005] = -np.inf
        ratio[rng.random(n) < 0.01] = np.nan
        cities = ["Lyon", "Oslo", "Porto", "Quito"] + (["Accra", "Baku", "Cusco"] if new else [])
        city = rng.choice(np.array(cities, dtype=object), n).astype(object)
        city[rng.random(n) < 0.03] = None
        member = np.where(rng.random(n) < 0.4 + shift / 4, True, False).astype(object)
        member[rng.random(n) < 0.02] = None
        return pd.DataFrame(
            {
                "id": np.arange(n, dtype=np.int64),
                "income": income,
                "age": rng.integers(18, 80, n).astype(np.int64),  # many ties
                "ratio": ratio,
                "flat": np.full(n, 3.5) if not new else rng.choice([3.0, 3.5, 4.0], n),
                "city": city,
                "member": member,
                "score": rng.beta(2 + shift, 3, n).round(3),
            }
        )

    return side(n_ref, 0.0, False), side(n_cur, 0.3, True)


REF, CUR = frames(12_000, 9_000)  # above 10,000 values a side: asymptotic KS; the where= case below: exact


@pytest.fixture(scope="module")
def spark(spark_pair, tmp_path_factory):
    folder = tmp_path_factory.mktemp("spark-drift")
    for name, frame in (("ref", REF), ("cur", CUR)):
        frame.to_parquet(folder / f"{name}.parquet", index=False)
        spark_pair.register(f"alignment_tests.drift_{name}", folder / f"{name}.parquet")
    return spark_pair


def sources(spark, kind, **where):
    conn = spark.conn_ids[kind]
    return (
        SparkSource(conn, table="alignment_tests.drift_ref", **where.get("ref", {})),
        SparkSource(conn, table="alignment_tests.drift_cur", **where.get("cur", {})),
    )


@pytest.mark.parametrize(
    "options",
    [
        {"exclude": ["id"], "prediction": "score"},
        {"features": ["income", "ratio", "city"], "bins": 7, "ks_alpha": 0.05, "chi2_alpha": 0.05},
        {"features": ["age", "member"], "categorical": ["age", "member"], "bounds": {"age": {"psi_max": 0.5}}},
        {"features": ["age", "score", "flat", "city"], "method": "auto", "drift_share": 0.5},
        {
            "features": ["income", "ratio", "age", "member"],
            "categorical": ["member"],
            "method": ["jensenshannon", "wasserstein", "ks", "chi2"],
            "missing_share_max": 0.025,
            "infinite_share_max": 0.1,
        },
        {"features": ["income", "member"], "prediction": "score", "threshold": 0.4, "sensitive_features": ["city"]},
    ],
    ids=["default", "tests-judged", "numbers-as-categories", "auto", "methods", "selection-rates"],
)
def test_drift_in_spark_equals_the_rows(spark, options):
    expected = checked(engine.evaluate(REF, CUR, **options)).to_dict()
    for kind in KINDS:
        ref, cur = sources(spark, kind)
        with rows_to_driver() as sizes:
            result = checked(drift.evaluate(ref, cur, **options)).to_dict()
        if options.get("method") is None:  # PSI: bins and categories of both sides, not 21,000 rows
            assert sum(sizes) < 300, sizes
        else:  # the value tables: at most the distinct values of each side
            assert sum(sizes) <= 2 * sum(REF[f].nunique() + CUR[f].nunique() for f in options["features"]) + 50
        # Wasserstein (asked, or auto's choice for a large numeric feature) from value tables equals
        # the rows' to rounding (scipy's weighted call: about 1e-15 relative,
        # engines/drift_stats/methods.py); everything else to the last bit
        method = options.get("method", "psi")
        rel = 1e-12 if method == "auto" or "wasserstein" in method else 0.0
        assert_same(strip(expected), strip(result), rel=rel, path=kind)
        assert result["data"]["rows"] == len(CUR) and result["data"]["reference"]["rows"] == len(REF)
        assert result["data"]["fingerprint"] is None
    features = expected["metrics"]["features"]
    if "ratio" in features:
        assert features["ratio"]["infinite"]["reference"]["count"] > 0
        assert features["ratio"]["ks_statistic"] > 0
    if "flat" in features:
        assert features["flat"]["constant"] is True
    if "city" in features:
        assert features["city"]["new_categories"] == ["Accra", "Baku", "Cusco"]


def test_small_samples_get_the_exact_ks_p_value(spark):
    small_ref, small_cur = REF[REF["id"] < 400], CUR[CUR["id"] < 250]
    options = {"features": ["income", "ratio", "age"], "ks_alpha": 0.01}
    expected = checked(engine.evaluate(small_ref, small_cur, **options)).to_dict()
    for kind in KINDS:
        ref, cur = sources(spark, kind, ref={"where": "id < :n", "parameters": {"n": 400}}, cur={"where": "id < 250"})
        assert_same(strip(expected), strip(drift.evaluate(ref, cur, **options).to_dict()), path=kind)


def test_errors_name_the_feature(spark, monkeypatch):
    ref, cur = sources(spark, "connect")
    with pytest.raises(DataError, match=r"reference column 'incme' not in spark://.*Did you mean 'income'"):
        drift.evaluate(ref, cur, features=["incme"])
    with pytest.raises(DataError, match=r"feature 'city' is string in the reference and double in the current"):
        drift.evaluate(
            ref,
            SparkSource(cur.conn_id, query="SELECT CAST(income AS DOUBLE) AS city FROM alignment_tests.drift_cur"),
            features=["city"],
            categorical=[],
        )
    with monkeypatch.context() as patch:
        patch.setattr(drift, "VALUE_TABLE_MAX", 50)
        with pytest.raises(DataError, match=r"feature 'income' has more than 50 distinct values .*use method: psi"):
            drift.evaluate(ref, cur, features=["income"], method="auto")
    with pytest.raises(DataError, match=r"drift_cur WHERE id < 0 is empty \(0 rows\)"):
        drift.evaluate(ref, SparkSource(cur.conn_id, table=cur.table, where="id < 0"), features=["income"])


@pytest.mark.parametrize(
    ("features", "prediction", "threshold", "pos_label"),
    [
        (["city"], "member", None, True),
        (["city", "member"], "score", 0.4, 1),
        (["member"], "member", None, False),
    ],
)
def test_selection_rates_counted_in_spark_equal_the_rows(spark, features, prediction, threshold, pos_label):
    spec = engine.validate_spec(
        prediction=prediction, sensitive_features=features, threshold=threshold, pos_label=pos_label
    )
    expected = engine._rates(CUR, spec)
    for kind in KINDS:
        found = drift.selection_rates(sources(spark, kind)[1], spec)
        if features == ["city", "member"]:  # pandas orders a bool column with None among it by the rows' order
            assert group_records(found) == group_records(expected)
            continue
        pd.testing.assert_frame_equal(found, expected, check_exact=True, check_index_type=False)


def group_records(table):
    keys = [k if isinstance(k, tuple) else (k,) for k in table.index]
    rows = [
        (tuple(None if pd.isna(v) else v for v in key), m, n)
        for key, m, n in zip(keys, table["mean"], table["size"], strict=True)
    ]
    return sorted(rows, key=repr)
