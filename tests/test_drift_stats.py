"""drift_stats: every number equals scipy's (KS bit for bit), and the drift engine's where the
engine computes it (PSI, KS, chi-square, bins); value tables give what the rows give."""

from __future__ import annotations

import subprocess
import sys
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, kstwo, norm, wasserstein_distance

from airflow_alignment.engines import _drift_stats as engine_stats
from airflow_alignment.engines.drift import evaluate
from airflow_alignment.engines.drift_stats import binning, methods
from airflow_alignment.engines.drift_stats.compare import (
    AUTO_SMALL,
    choose_method,
    compare,
    compare_frames,
    dataset_verdict,
)
from airflow_alignment.engines.drift_stats.ks import (
    _kstwo_sf,
    ks_2samp_sorted,
    ks_pvalue,
    ks_statistic,
    ks_statistic_counts,
)
from airflow_alignment.engines.drift_stats.samples import (
    categorical_sample,
    categorical_sample_from_counts,
    numeric_sample,
    numeric_sample_from_counts,
)


def scipy_ks(a, b, method="auto"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's own fallback from exact to asymp
        res = ks_2samp(a, b, method=method)
    return float(res.statistic), float(res.pvalue)


def ours_ks(a, b, method="auto"):
    res = ks_2samp_sorted(np.sort(a), np.sort(b), method)
    return res.statistic, res.pvalue


def same(x, y):
    """Equal floats, NaN equal to NaN (scipy's asymptotic p-value is NaN for n * m / (n + m) < 0.5)."""
    return np.array_equal(np.asarray(x, float), np.asarray(y, float), equal_nan=True)


def table(values):
    v, c = np.unique(np.asarray(values, dtype=float), return_counts=True)
    return v, c


# Samples with ties (values on a small grid), outliers, and every size from 1 up.
def samples(max_size=60):
    grid = st.sampled_from([0.0, 1.0, 2.0, 2.5, -1.0, 1e6, -0.0])
    wide = st.floats(-1e3, 1e3, allow_nan=False)
    return st.lists(st.one_of(grid, wide), min_size=1, max_size=max_size)


# -- KS -------------------------------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(a=samples(), b=samples(), method=st.sampled_from(["auto", "exact", "asymp"]))
def test_ks_equals_scipy_bit_for_bit(a, b, method):
    assert same(ours_ks(a, b, method), scipy_ks(a, b, method))
    with ks_path(0.0):  # the merge, whatever the ties
        assert same(ours_ks(a, b, method), scipy_ks(a, b, method))
    with ks_path(1.0):  # the searches of distinct values, whatever the ties
        assert same(ours_ks(a, b, method), scipy_ks(a, b, method))
    (va, ca), (vb, cb) = table(a), table(b)
    assert ks_statistic_counts(va, ca, vb, cb) == ks_statistic(np.sort(a), np.sort(b))


@pytest.mark.parametrize(("a", "b"), [
    ([1.0], [1.0]),  # one value each, equal: D = 0, p = 1
    ([1.0], [2.0]),  # D = 1
    ([3.0] * 7, [3.0] * 4),  # constant, the same
    ([3.0] * 7, [4.0] * 4),  # constant, different
    ([0.0, 1.0], [0.0] * 50),  # unequal sizes, ties across
    ([-np.inf, 0.0, np.inf], [np.inf, 1.0, 2.0, -np.inf]),  # infinities are ordered
])  # fmt: skip
def test_ks_edge_cases_equal_scipy(a, b):
    assert ours_ks(a, b) == scipy_ks(a, b)


@contextmanager
def ks_path(search_share=None, exact_limit=None):
    """Force a path of ks_statistic: the merge (share 0) or the searches (share 1); the float
    gaps of samples beyond int64 (exact_limit 0)."""
    from airflow_alignment.engines.drift_stats import ks

    saved = ks._SEARCH_SHARE, ks._EXACT_LIMIT
    ks._SEARCH_SHARE = saved[0] if search_share is None else search_share
    ks._EXACT_LIMIT = saved[1] if exact_limit is None else exact_limit
    try:
        yield
    finally:
        ks._SEARCH_SHARE, ks._EXACT_LIMIT = saved


@settings(max_examples=100, deadline=None)
@given(a=samples(), b=samples(), share=st.sampled_from([0.0, 1.0]))
def test_ks_float_path_for_huge_samples_equals_scipy(a, b, share):
    """Beyond int64 (n + m above 2e9 values) the gaps are floats at every point: forced here."""
    with ks_path(share, exact_limit=0):
        assert same(ours_ks(a, b), scipy_ks(a, b))


def test_ks_on_random_data_with_ties_and_missing_values_dropped():
    rng = np.random.default_rng(11)
    for trial in range(300):
        n, m = int(rng.integers(1, 2500)), int(rng.integers(1, 2500))
        a = np.round(rng.normal(size=n), int(trial % 3))
        b = np.round(rng.normal(rng.uniform(-0.3, 0.3), size=m), int(trial % 3))
        a[rng.random(n) < 0.05] = np.nan  # missing values: dropped, as the drift engine drops them
        ref, cur = numeric_sample(pd.Series(a)), numeric_sample(pd.Series(b))
        if ref.size == 0 or cur.size == 0:
            continue
        res = ks_2samp_sorted(ref.values, cur.values)
        assert (res.statistic, res.pvalue) == scipy_ks(a[~np.isnan(a)], b), trial


@pytest.mark.parametrize("shift", [0.0, 0.02, 0.04, 0.08, 0.2, 1.5])
def test_ks_large_samples_every_asymptotic_branch(shift):
    """Above 10,000 values `auto` is asymptotic; the shifts reach kstwo's Pelz-Good, Smirnov-series
    and underflow branches, each equal to scipy."""
    rng = np.random.default_rng(int(shift * 100))
    a, b = rng.normal(size=30_000), rng.normal(shift, size=12_000)
    res = ks_2samp_sorted(np.sort(a), np.sort(b))
    assert res.method == "asymp"
    assert (res.statistic, res.pvalue) == scipy_ks(a, b)


def test_ks_large_tied_samples_equal_scipy():
    """Large samples with many ties: the integer gaps pick the same extreme float as scipy."""
    rng = np.random.default_rng(5)
    for decimals, n, m in ((1, 200_000, 150_000), (2, 99_991, 100_003), (0, 50_000, 50_000)):
        a = np.round(rng.normal(size=n), decimals)
        b = np.round(rng.normal(0.01, size=m), decimals)
        for share in (0.0, 1.0):
            with ks_path(share):
                res = ks_2samp_sorted(np.sort(a), np.sort(b))
            assert (res.statistic, res.pvalue) == scipy_ks(a, b), (decimals, n, m, share)


def test_kstwo_sf_equals_scipy_on_a_grid():
    grid = [(n, z) for n in (1, 2, 50, 140, 141, 1000, 8_571, 30_000) for z in np.linspace(0.05, 30, 40)]
    grid += [(500_000, z) for z in (0.8, 1.6, 5.0)]  # the Smirnov series costs O(n): a few points
    for n, z in grid:
        d = min(z / np.sqrt(n), 0.999999)
        assert _kstwo_sf(d, float(n)) == kstwo.sf(d, float(n)), (n, d)
    for d in (0.5, 0.6, 0.95):
        assert _kstwo_sf(d, 1000.0) == kstwo.sf(d, 1000.0)


def test_ks_pvalue_from_the_statistic_alone():
    """A database computes D and the sizes; the p-value is scipy's for them."""
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=400), rng.normal(0.3, size=250)
    d = ks_statistic(np.sort(a), np.sort(b))
    res = ks_pvalue(d, 400, 250)
    assert (res.statistic, res.pvalue, res.method) == (*scipy_ks(a, b), "exact")
    # exact refused (lcm too large): scipy switches to asymp, so do we
    assert ks_pvalue(0.01, 100_000, 99_999, "exact").method == "asymp"


def test_ks_pvalue_rejects_bad_arguments():
    with pytest.raises(ValueError, match="ks method: expected one of auto, exact, asymp, got 'fast'"):
        ks_pvalue(0.1, 10, 10, "fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both samples need at least one value"):
        ks_pvalue(0.1, 0, 10)


# -- bins and PSI -------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(a=samples(120), b=samples(80), bins=st.integers(2, 30))
def test_bins_and_psi_equal_the_engine(a, b, bins):
    old = engine_stats.numeric(pd.Series(a, dtype=float), pd.Series(b, dtype=float), bins)
    ref, cur = np.sort(a), np.sort(b)
    edges = binning.quantile_edges(ref, bins)
    r, c = binning.bin_counts(ref, edges), binning.bin_counts(cur, edges)
    assert np.array_equal(r, old.reference) and np.array_equal(c, old.current)
    assert binning.labels(edges) == old.labels
    assert binning.psi(r, c) == engine_stats.psi(old.reference, old.current)
    # the same bins from value tables (what a GROUP BY returns)
    (rv, rc), (cv, cc) = table(a), table(b)
    from_counts = binning.quantile_edges_counts(rv, rc, bins)
    assert np.array_equal(from_counts.edges, edges.edges) and from_counts.constant == edges.constant
    assert np.array_equal(binning.bin_counts_table(cv, cc, edges), c)


def test_quantile_edges_equal_numpy_on_large_tied_data():
    rng = np.random.default_rng(5)
    values = np.sort(np.round(rng.exponential(size=100_001), 2))
    want = np.unique(np.quantile(values, np.linspace(0, 1, 11)[1:-1]))
    assert np.array_equal(binning.quantile_edges(values, 10).edges, want)
    assert np.array_equal(binning.quantile_edges_counts(*table(values), 10).edges, want)


# -- the other methods ----------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(a=samples(), b=samples())
def test_wasserstein_equals_scipy(a, b):
    want = wasserstein_distance(a, b)
    assert methods.wasserstein_sorted(np.sort(a), np.sort(b)) == want  # bit for bit
    (av, ac), (bv, bc) = table(a), table(b)
    assert methods.wasserstein_counts(av, ac, bv, bc) == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert methods.std_counts(av, ac) == pytest.approx(np.std(a), rel=1e-12, abs=1e-12)
    # Evidently's normed distance: scipy's distance over max(np.std(reference), 0.001)
    normed = methods.wasserstein_normed(methods.wasserstein_sorted(np.sort(a), np.sort(b)), np.std(np.sort(a)))
    assert normed == pytest.approx(want / max(float(np.std(a)), 0.001), rel=1e-12)


def test_jensenshannon_equals_scipy_and_evidently_call():
    rng = np.random.default_rng(8)
    for _ in range(200):
        k = int(rng.integers(1, 12))
        r, c = rng.integers(0, 50, k), rng.integers(0, 50, k)
        r[0] += 1
        c[-1] += 1
        for base in (None, 2.0):
            ours = methods.jensenshannon_counts(r, c, base)
            assert ours == jensenshannon(r.astype(float), c.astype(float), base=base)
            # Evidently passes shares (count / rows): the same distance
            assert ours == pytest.approx(jensenshannon(r / r.sum(), c / c.sum(), base), rel=1e-13, abs=1e-15)


def test_z_test_equals_pearson_chi_square_and_evidently():
    rng = np.random.default_rng(9)
    for _ in range(300):
        n1, n2 = int(rng.integers(1, 3000)), int(rng.integers(1, 3000))
        k1, k2 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n2 + 1))
        z = methods.z_test_counts(k1, n1, k2, n2)
        if k1 + k2 in (0, n1 + n2):
            assert (z.statistic, z.pvalue) == (0.0, 1.0)
            continue
        chi = chi2_contingency(np.array([[n1 - k1, k1], [n2 - k2, k2]]), correction=False)
        assert z.statistic**2 == pytest.approx(chi.statistic, rel=1e-10, abs=1e-12)
        assert z.pvalue == pytest.approx(chi.pvalue, rel=1e-9, abs=1e-300)
        # Evidently: p1 = k1 / n1 ... and 2 * (1 - cdf(|z|))
        p1, p2 = k1 / n1, k2 / n2
        pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
        z_ev = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        assert z.statistic == pytest.approx(z_ev, rel=1e-12)
        assert z.pvalue == pytest.approx(2 * (1 - norm.cdf(abs(z_ev))), abs=1e-15)
    with pytest.raises(ValueError, match="reference has 5 hits in 3 rows"):
        methods.z_test_counts(5, 3, 1, 2)


def test_chi2_equals_the_engine():
    rng = np.random.default_rng(10)
    for _ in range(100):
        r, c = rng.integers(0, 30, 5), rng.integers(0, 30, 5)
        want = engine_stats.chi2(r, c)
        got = methods.chi2_counts(r, c)
        assert (None if got is None else (got.statistic, got.pvalue)) == want
    assert methods.chi2_counts(np.array([5, 0]), np.array([3, 0])) is None  # one bin holds data


# -- samples ---------------------------------------------------------------------------------------
def test_numeric_sample_counts_missing_and_infinite_values():
    s = numeric_sample(pd.Series([1.0, None, np.inf, -np.inf, 2.0, np.nan, np.inf]))
    assert (s.missing, s.infinite, s.size, s.rows, s.finite.tolist()) == (2, 3, 5, 7, [1.0, 2.0])
    assert s.values.tolist() == [-np.inf, 1.0, 2.0, np.inf, np.inf]
    t = numeric_sample_from_counts([2.0, np.nan, np.inf, 1.0, 5.0], [3, 4, 1, 2, 0], missing=1)
    assert (t.missing, t.infinite, t.size, t.values.tolist(), t.counts.tolist()) == (
        5,
        1,
        6,
        [1.0, 2.0, np.inf],
        [2, 3, 1],
    )
    with pytest.raises(ValueError, match="a value appears twice"):
        numeric_sample_from_counts([1.0, 1.0], [1, 2])
    with pytest.raises(ValueError, match="3 values but 2 counts"):
        numeric_sample_from_counts([1.0, 2.0, 3.0], [1, 2])


def test_categorical_sample_counts_missing_values():
    s = categorical_sample(pd.Series(["a", None, "b", "a", np.nan], dtype=object))
    assert (dict(zip(s.categories, s.counts.tolist(), strict=True)), s.missing, s.rows) == ({"a": 2, "b": 1}, 2, 5)
    t = categorical_sample_from_counts({"a": 2, None: 3, "b": 0, "c": 1})
    assert (t.categories, t.counts.tolist(), t.missing) == (["a", "c"], [2, 1], 3)


# -- compare ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(12)
    n = 4000
    ref = pd.DataFrame({
        "income": rng.normal(50, 10, n), "age": rng.integers(18, 80, n).astype(float),
        "score": np.round(rng.uniform(size=n), 2), "flat": np.full(n, 7.0),
        "city": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
        "member": rng.choice(["yes", "no"], n),
    })  # fmt: skip
    cur = pd.DataFrame({
        "income": rng.normal(52, 11, n), "age": rng.integers(18, 90, n).astype(float),
        "score": np.round(rng.uniform(size=n) ** 1.1, 2), "flat": np.where(rng.random(n) < 0.1, 8.0, 7.0),
        "city": rng.choice(["a", "b", "c", "d", "e"], n, p=[0.4, 0.3, 0.2, 0.05, 0.05]),
        "member": rng.choice(["yes", "no"], n, p=[0.4, 0.6]),
    })  # fmt: skip
    ref.loc[::37, "income"] = np.nan
    cur.loc[::23, "income"] = np.inf
    cur.loc[::19, "city"] = None
    return ref, cur


def test_psi_ks_chi2_equal_the_drift_engine(frames):
    ref, cur = frames
    old = evaluate(ref, cur).metrics["features"]
    new = compare_frames(ref, cur, methods_=("psi", "ks", "chi2"))
    for name, feature in new.items():
        o, r = old[name], feature.results
        assert r["psi"].value == o["psi"], name
        assert [b["bin"] for b in o["bins"]] == feature.bins.labels, name
        if feature.kind == "numeric":
            assert (r["ks"].statistic, r["ks"].value) == (o["ks_statistic"], o["ks_pvalue"]), name
        else:
            assert (r["chi2"].statistic, r["chi2"].value) == (o["chi2"], o["chi2_pvalue"]), name
    assert new["income"].missing["reference"] == {"count": 109, "share": 109 / 4000}
    assert new["income"].infinite["current"] == {"count": 174, "share": 174 / 4000}


def test_every_method_equals_scipy_on_the_same_data(frames):
    ref, cur = frames
    feats = compare_frames(ref, cur, methods_=("psi", "ks", "wasserstein", "jensenshannon", "chi2", "z"))
    a = ref["income"].dropna().to_numpy()
    b = cur["income"][np.isfinite(cur["income"])].to_numpy()
    w = feats["income"].results["wasserstein"]
    assert w.statistic == wasserstein_distance(a, b)
    assert w.value == pytest.approx(wasserstein_distance(a, b) / np.std(a), rel=1e-13)
    city = feats["city"].results["jensenshannon"]
    r_counts = ref["city"].value_counts().reindex(list("abcde"), fill_value=0).to_numpy(float)
    c_counts = cur["city"].value_counts().reindex(list("abcde"), fill_value=0).to_numpy(float)
    assert city.value == jensenshannon(r_counts, c_counts)
    z = feats["member"].results["z"]
    tab = np.array(
        [[ref["member"].eq(v).sum() for v in ("no", "yes")], [cur["member"].eq(v).sum() for v in ("no", "yes")]]
    )
    assert z.statistic**2 == pytest.approx(chi2_contingency(tab, correction=False).statistic, rel=1e-12)
    assert "z: not computed for a categorical feature with more than 2 values" in feats["city"].notes
    assert "z" not in feats["income"].results


def test_value_tables_give_what_the_rows_give(frames):
    ref, cur = frames
    everything = ("psi", "ks", "wasserstein", "jensenshannon", "chi2")
    for name in ("income", "age", "score", "flat"):
        rows = compare(numeric_sample(ref[name]), numeric_sample(cur[name]), methods_=everything)

        def counted(s):
            v, c = np.unique(s.dropna().to_numpy(), return_counts=True)
            return numeric_sample_from_counts(v, c, missing=int(s.isna().sum()))

        tables = compare(counted(ref[name]), counted(cur[name]), methods_=everything)
        for method in everything:
            a, b = rows.results[method], tables.results[method]
            assert a.value == pytest.approx(b.value, rel=1e-12, abs=1e-15), (name, method)
        assert rows.results["ks"].value == tables.results["ks"].value  # KS: the same integers
        assert np.array_equal(rows.bins.reference, tables.bins.reference)


def test_auto_rule():
    big, small = 10_000, 500
    assert choose_method("numeric", big, big, None)[0] == "wasserstein"
    assert choose_method("numeric", small, small, None)[0] == "ks"
    assert choose_method("numeric", 1_000_000, 900, None)[0] == "ks"  # effective size ~899: a test
    assert choose_method("numeric", big, big, 4)[0] == "jensenshannon"
    assert choose_method("numeric", small, small, 4)[0] == "chi2"
    assert choose_method("numeric", small, small, 2)[0] == "z"
    assert choose_method("categorical", big, big, 12)[0] == "jensenshannon"
    assert choose_method("categorical", small, small, 12)[0] == "chi2"
    assert choose_method("categorical", small, small, 2)[0] == "z"
    assert choose_method("categorical", 2 * AUTO_SMALL, 2 * AUTO_SMALL, 2) == (
        "z",
        "binary; effective sample size 1,000 <= 1000",
    )


def test_auto_judges_the_method_it_picks(frames):
    ref, cur = frames
    feats = compare_frames(ref, cur)
    assert {n: f.method for n, f in feats.items()} == {
        "income": "wasserstein", "age": "wasserstein", "score": "wasserstein", "flat": "jensenshannon",
        "city": "jensenshannon", "member": "jensenshannon",
    }  # fmt: skip
    assert feats["flat"].bins.labels == ["7", "8"]  # a few values: compared as categories
    small = compare_frames(ref.head(300), cur.head(300))
    assert {n: f.method for n, f in small.items()} == {
        "income": "ks", "age": "ks", "score": "ks", "flat": "z", "city": "chi2", "member": "z",
    }  # fmt: skip
    assert small["income"].drifted == (small["income"].results["ks"].value < 0.05)


def test_missing_and_infinite_shares_are_judged_by_a_bound(frames):
    ref, cur = frames
    income = compare(numeric_sample(ref["income"]), numeric_sample(cur["income"]),
                     missing_share_max=0.0, infinite_share_max=0.05)  # fmt: skip
    assert income.unusual == {"missing": True, "infinite": True}  # the current side has no missing value
    assert income.infinite["current"]["share"] == 174 / 4000
    strict = compare(numeric_sample(ref["income"]), numeric_sample(cur["income"]), infinite_share_max=0.01)
    assert strict.unusual == {"missing": None, "infinite": False}
    city = compare(categorical_sample(ref["city"]), categorical_sample(cur["city"]), missing_share_max=0.01)
    assert city.unusual == {"missing": False, "infinite": None}
    assert city.missing["current"] == {"count": 211, "share": 211 / 4000}


@pytest.mark.parametrize(("reference", "kind"), [
    (["a", "b", "a"], "categorical"),  # binary: auto picks the z-test
    (["a", "b", "c", "a"], "categorical"),  # chi-square
    ([0.0, 1.0, 1.0], "numeric"),  # a numeric feature with two values: the z-test
    ([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5], "numeric"),  # KS
])  # fmt: skip
def test_a_side_without_any_value_is_not_judged_and_its_missing_share_is(reference, kind):
    make = numeric_sample if kind == "numeric" else categorical_sample
    every = ("psi", "jensenshannon", "chi2", "z") + (("ks", "wasserstein") if kind == "numeric" else ())
    for current in ([None] * 4, [np.nan] * 4):
        ref, cur = make(pd.Series(reference)), make(pd.Series(current, dtype=float if kind == "numeric" else object))
        auto = compare(ref, cur, missing_share_max=0.1)
        assert auto.missing["current"] == {"count": 4, "share": 1.0} and auto.unusual["missing"] is False
        if auto.method != "chi2":  # chi-square counts the (missing) bin, as the engine
            assert auto.drifted is None and auto.results[auto.method].value is None, auto.method
        for name, result in compare(ref, cur, methods_=every).results.items():
            if name in ("jensenshannon", "z", "ks", "wasserstein"):
                assert (result.value, result.drifted) == (None, None), name


def test_dataset_verdict():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({f"x{i}": rng.normal(size=2000) for i in range(4)})
    cur = pd.DataFrame({f"x{i}": rng.normal(1.0 if i < 2 else 0.0, size=2000) for i in range(4)})
    feats = compare_frames(ref, cur)
    verdict = dataset_verdict(feats, drift_share=0.5)
    assert (verdict.drifted, verdict.share, verdict.drifted_features, verdict.judged) == (True, 0.5, ["x0", "x1"], 4)
    assert dataset_verdict(feats, drift_share=0.51).drifted is False
    with pytest.raises(ValueError, match="drift_share: expected a share in"):
        dataset_verdict(feats, drift_share=0)


def test_threads_give_the_same_numbers(frames):
    ref, cur = frames
    one = compare_frames(ref, cur, workers=1, methods_=("psi", "ks", "wasserstein"))
    two = compare_frames(ref, cur, workers=2, methods_=("psi", "ks", "wasserstein"))
    assert {n: f.to_dict() for n, f in one.items()} == {n: f.to_dict() for n, f in two.items()}


def test_compare_errors_name_the_fix(frames):
    ref, _cur = frames
    num, cat = numeric_sample(ref["age"]), categorical_sample(ref["city"])
    with pytest.raises(ValueError, match="unknown drift method 'kl'; methods: auto, psi, ks"):
        compare(num, num, methods_=("kl",))
    with pytest.raises(ValueError, match="judge='ks' is not one of the methods computed"):
        compare(num, num, methods_=("psi",), judge="ks")
    with pytest.raises(ValueError, match="both be numeric or both categorical"):
        compare(num, cat)
    with pytest.raises(ValueError, match="none of the methods \\['ks'\\] applies to a categorical feature"):
        compare(cat, cat, methods_=("ks",))


def test_importing_the_package_is_light():
    code = (
        "import sys; import airflow_alignment.engines.drift_stats; "
        "import airflow_alignment.engines.drift_stats.compare; "
        "print(sorted(m for m in ('airflow', 'scipy', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_map_columns_imports_scipy_before_its_threads_start():
    """Two threads importing scipy.stats for the first time at once can raise Python's
    _DeadlockError (seen in a docs example): the modules are loaded in the calling thread."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from airflow_alignment.engines.drift_stats.compare import map_columns\n"
        "assert 'scipy.stats' not in sys.modules\n"
        "seen = map_columns(lambda n: {'scipy.stats', 'scipy.special', 'scipy.spatial.distance'} <= set(sys.modules),"
        " ['a', 'b', 'c'], workers=2)\n"
        "assert seen == {'a': True, 'b': True, 'c': True}, seen\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
