"""The drift engine: statistics equal scipy's, PSI equals hand-computed values, and every edge
case (new categories, empty bins, constant columns, missing values) is handled and reported."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, ks_2samp

from airflow_alignment.engines._drift_stats import EPSILON
from airflow_alignment.engines.drift import evaluate, validate_spec
from airflow_alignment.exceptions import DataError, SpecError
from tests.conftest import checked

TOL = 1e-12


def run(reference, current, **kwargs):
    return checked(evaluate(pd.DataFrame(reference), pd.DataFrame(current), **kwargs))


def by_name(result):
    return {a.name: a for a in result.assertions}


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(7)
    n = 3000
    ref = pd.DataFrame(
        {
            "income": rng.normal(50, 10, n),
            "age": rng.integers(18, 80, n).astype(float),
            "city": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
        }
    )
    cur = pd.DataFrame(
        {
            "income": rng.normal(53, 12, 2500),
            "age": rng.integers(18, 80, 2500).astype(float),
            "city": rng.choice(["a", "b", "c", "d"], 2500, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    cur.loc[:49, "age"] = np.nan
    return ref, cur


# -- the numbers ---------------------------------------------------------------------------
def test_psi_equals_the_hand_computed_value():
    # reference 1..10 in two quantile bins (median 5.5): 5 and 5; current: 2 and 6 of 8
    result = run({"x": np.arange(1.0, 11)}, {"x": [1.0, 2, 6, 7, 8, 9, 10, 11]}, bins=2)
    m = result.metrics["features"]["x"]
    assert [(b["bin"], b["reference"], b["current"]) for b in m["bins"]] == [
        ("(-inf, 5.5]", 5, 2),
        ("(5.5, inf)", 5, 6),
    ]
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.25 ln 3
    assert m["psi"] == pytest.approx(0.25 * math.log(3), abs=TOL)


def test_ks_equals_scipy_with_missing_values_left_out(frames):
    ref, cur = frames
    m = run(ref, cur).metrics["features"]
    for name in ("income", "age"):
        expected = ks_2samp(ref[name].dropna(), cur[name].dropna())
        assert m[name]["ks_statistic"] == pytest.approx(expected.statistic, abs=TOL)
        assert m[name]["ks_pvalue"] == pytest.approx(expected.pvalue, abs=TOL)


def test_ks_equals_scipy_in_the_asymptotic_regime():
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(0, 1, 20_000), rng.normal(0.02, 1, 15_000)  # > 10,000: scipy's asymp mode
    m = run({"x": ref}, {"x": cur}).metrics["features"]["x"]
    expected = ks_2samp(ref, cur)
    assert abs(m["ks_statistic"] - expected.statistic) <= TOL and abs(m["ks_pvalue"] - expected.pvalue) <= TOL


@pytest.mark.filterwarnings("ignore:ks_2samp. Exact calculation unsuccessful")
@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(-5, 5), min_size=1, max_size=40),
    st.lists(st.integers(-5, 5), min_size=1, max_size=40),
    st.integers(2, 6),
)
def test_ks_equals_scipy_and_psi_is_finite_and_non_negative(ref, cur, bins):
    m = evaluate(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), bins=bins).metrics["features"]["x"]
    expected = ks_2samp(ref, cur)
    assert abs(m["ks_statistic"] - expected.statistic) <= TOL and abs(m["ks_pvalue"] - expected.pvalue) <= TOL
    assert math.isfinite(m["psi"]) and m["psi"] >= 0
    assert sum(b["reference"] for b in m["bins"]) == len(ref) and sum(b["current"] for b in m["bins"]) == len(cur)


def test_chi_square_equals_scipy_on_the_reported_table(frames):
    ref, cur = frames
    m = run(ref, cur).metrics["features"]["city"]
    table = np.array([[b["reference"] for b in m["bins"]], [b["current"] for b in m["bins"]]])
    expected = chi2_contingency(table)
    assert m["chi2"] == pytest.approx(expected.statistic, abs=TOL)
    assert m["chi2_pvalue"] == pytest.approx(expected.pvalue, abs=TOL)
    # and on a table written by hand: a, b counts 30/10 against 20/20 (2 x 2: Yates, as scipy)
    hand = run({"g": ["a"] * 30 + ["b"] * 10}, {"g": ["a"] * 20 + ["b"] * 20}).metrics["features"]["g"]
    expected = chi2_contingency([[30, 10], [20, 20]])
    assert (hand["chi2"], hand["chi2_pvalue"]) == pytest.approx((expected.statistic, expected.pvalue), abs=TOL)


# -- edge cases ----------------------------------------------------------------------------
def test_new_categories_are_listed_and_counted_in_a_new_bin():
    result = run({"g": ["a"] * 5 + ["b"] * 5}, {"g": ["a"] * 4 + ["b"] * 4 + ["z", "y"]})
    m = result.metrics["features"]["g"]
    assert m["new_categories"] == ["y", "z"] and m["new_count"] == 2
    assert m["bins"][-1] == {"bin": "(new)", "reference": 0, "current": 2}
    assert m["empty_bins"] == ["(new)"]
    # shares: a .5/.4, b .5/.4, new EPSILON/.2
    expected = 2 * (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.2 - EPSILON) * math.log(0.2 / EPSILON)
    assert m["psi"] == pytest.approx(expected, abs=TOL)
    expected_chi2 = chi2_contingency([[5, 5, 0], [4, 4, 2]])
    assert m["chi2"] == pytest.approx(expected_chi2.statistic, abs=TOL)


def test_an_empty_bin_costs_epsilon_not_a_division_by_zero():
    result = run({"g": ["a", "b"] * 10}, {"g": ["a"] * 10})
    m = result.metrics["features"]["g"]
    assert m["empty_bins"] == ["b"] and m["bins"][1] == {"bin": "b", "reference": 10, "current": 0}
    expected = (1 - 0.5) * math.log(1 / 0.5) + (EPSILON - 0.5) * math.log(EPSILON / 0.5)
    assert m["psi"] == pytest.approx(expected, abs=TOL)
    assert result.metrics["settings"]["epsilon"] == EPSILON == 1e-4


def test_a_constant_reference_column_gets_one_bin_and_a_moved_current_shows():
    same = run({"c": [3.0] * 10}, {"c": [3.0] * 8})
    m = same.metrics["features"]["c"]
    assert m["constant"] is True and m["psi"] == 0 and m["ks_statistic"] == 0
    assert same.status == "passed" and "constant reference column" in m["notes"][0]
    moved = run({"c": [3.0] * 10}, {"c": [3.0] * 4 + [4.0] * 4})
    m = moved.metrics["features"]["c"]
    assert [(b["bin"], b["reference"], b["current"]) for b in m["bins"]] == [
        ("< 3", 0, 0),
        ("== 3", 10, 4),
        ("> 3", 0, 4),
    ]
    expected = (0.5 - 1) * math.log(0.5) + (0.5 - EPSILON) * math.log(0.5 / EPSILON)
    assert m["psi"] == pytest.approx(expected, abs=TOL) and moved.status == "failed"
    categorical = run({"g": ["a"] * 5}, {"g": ["a"] * 5}).metrics["features"]["g"]
    assert categorical["constant"] is True and categorical["chi2"] is None  # one bin: no test


def test_missing_values_are_a_bin_of_their_own_and_counted():
    result = run({"x": [1.0, 2, 3, 4, None, None]}, {"x": [1.0, 2, 3, 4, 5, None]}, bins=2)
    m = result.metrics["features"]["x"]
    assert m["missing"] == {"reference": 2, "current": 1}
    assert m["bins"][-1] == {"bin": "(missing)", "reference": 2, "current": 1}
    # reference shares 2/6, 2/6, 2/6; current 2/6, 3/6, 1/6
    expected = (3 / 6 - 2 / 6) * math.log(3 / 2) + (1 / 6 - 2 / 6) * math.log(1 / 2)
    assert m["psi"] == pytest.approx(expected, abs=TOL)
    expected_ks = ks_2samp([1.0, 2, 3, 4], [1.0, 2, 3, 4, 5])
    assert m["ks_pvalue"] == pytest.approx(expected_ks.pvalue, abs=TOL)
    cats = run({"g": ["a", None, "b"]}, {"g": ["a", "b", None]}).metrics["features"]["g"]
    assert cats["missing"] == {"reference": 1, "current": 1} and cats["psi"] == 0


def test_an_all_missing_reference_column_is_reported_without_a_test():
    result = run({"x": [np.nan] * 4, "y": [1.0, 2, 3, 4]}, {"x": [1.0, 2, 3, 4], "y": [1.0, 2, 3, 4]})
    m = result.metrics["features"]["x"]
    assert m["ks_statistic"] is None and m["ks_pvalue"] is None and math.isfinite(m["psi"])
    assert any("every reference value is missing" in n for n in m["notes"])
    assert by_name(result)["psi(x)"].success is False


def test_tied_quantiles_merge_bins_and_say_so():
    m = run({"x": [0.0] * 80 + list(range(1, 21))}, {"x": [0.0] * 80 + list(range(1, 21))}).metrics["features"]["x"]
    assert len(m["bins"]) < 10 and "tied reference quantiles" in m["notes"][0] and m["psi"] == 0


# -- judging -------------------------------------------------------------------------------
def test_default_bands_warn_above_0_1_and_block_above_0_25():
    ref = {"x": np.arange(1.0, 11)}
    warn = run(ref, {"x": [1.0, 2, 3, 6, 7, 8, 9, 10]}, bins=2)  # 3/8 vs 1/2: PSI 0.0637
    assert warn.status == "passed"
    warn = run(ref, {"x": [1.0, 2, 6, 7, 8, 9, 10, 11, 12, 13]}, bins=2)  # 0.2 vs 0.5: PSI 0.2 ln 4 = 0.277 -> block
    assert warn.status == "failed" and by_name(warn)["psi(x)"].severity == "block"
    mid = run(ref, {"x": [1.0, 2, 6, 7, 8, 9, 10, 11]}, bins=2, psi_block=0.3)  # 0.275 in (0.1, 0.3]
    a = by_name(mid)["psi(x)"]
    assert mid.status == "warned" and a.severity == "warn" and a.details["band"] == "warn"
    assert a.expected == {"warn_above": 0.1, "max": 0.3}
    assert mid.summary == "x: PSI 0.27 (warn above 0.1); 0 of 1 features drifted, 1 in the warning band"
    capped = run(ref, {"x": [1.0, 2, 6, 7, 8, 9, 10, 11]}, bins=2, severity="warn")
    assert capped.status == "warned" and capped.severity == "warn"


def test_per_feature_bounds_override_the_bands_and_carry_the_rationale():
    ref = {"x": np.arange(1.0, 11), "y": np.arange(1.0, 11)}
    cur = {"x": [1.0, 2, 6, 7, 8, 9, 10, 11], "y": [1.0, 2, 6, 7, 8, 9, 10, 11]}
    result = run(ref, cur, bins=2, bounds={"x": {"psi_max": 0.5, "psi_warn": None, "rationale": "seasonal"}})
    a, b = by_name(result)["psi(x)"], by_name(result)["psi(y)"]
    assert a.success is True and a.expected == {"warn_above": None, "max": 0.5} and a.details["rationale"] == "seasonal"
    assert b.success is False and b.severity == "block"
    assert result.summary == "y: PSI 0.27 (block above 0.25); 1 of 2 features drifted"
    soft = run(ref, cur, bins=2, bounds={"y": {"severity": "warn"}, "x": {"severity": "warn"}})
    assert soft.status == "warned"


def test_ks_and_chi_square_are_judged_only_when_asked(frames):
    ref, cur = frames
    assert not any(a.name.startswith(("ks(", "chi2(")) for a in run(ref, cur).assertions)
    result = run(ref, cur, ks_alpha=0.05, chi2_alpha=0.05, bounds={"income": {"psi_max": 5}, "city": {"psi_max": 5}})
    a = by_name(result)
    assert a["ks(income)"].success is False and a["ks(income)"].expected == {"min_pvalue": 0.05}
    assert a["ks(age)"].success is True and a["chi2(city)"].success is False
    assert result.status == "failed"


def test_default_features_leave_out_prediction_sensitive_and_excluded_columns():
    ref = pd.DataFrame({"x": [1.0, 2, 3], "label": [0, 1, 0], "p": [0, 1, 1], "sex": ["F", "M", "F"], "old": 1})
    cur = pd.DataFrame({"x": [1.0, 2, 3], "label": [0, 1, 0], "p": [0, 1, 1], "sex": ["F", "M", "F"], "new": 1})
    result = run(ref, cur, prediction="p", sensitive_features="sex", exclude=["label"], min_group_size=0)
    assert list(result.metrics["features"]) == ["x"] and result.metrics["prediction"]["column"] == "p"
    assert result.metrics["columns_not_compared"] == {"reference_only": ["old"], "current_only": ["new"]}
    assert result.data["columns"] == ["x", "p", "sex"] and result.data["reference"]["rows"] == 3


def test_selection_rate_drift_per_group():
    ref = pd.DataFrame({"sex": ["F"] * 40 + ["M"] * 40, "p": [1] * 20 + [0] * 20 + [1] * 20 + [0] * 20})
    cur = pd.DataFrame(
        {"sex": ["F"] * 40 + ["M"] * 40 + ["X"] * 5, "p": [1] * 12 + [0] * 28 + [1] * 21 + [0] * 19 + [1] * 5}
    )
    result = run(ref, cur, features=[], prediction="p", sensitive_features=["sex"])
    a = by_name(result)
    f, m = a["selection_rate_change(sex=F)"], a["selection_rate_change(sex=M)"]
    assert f.success is False and f.observed == pytest.approx(0.2) and f.details["current"] == pytest.approx(0.3)
    assert m.success is True and m.observed == pytest.approx(0.025)
    assert result.metrics["selection_rate"]["only_in_current"] == [{"sex": "X"}]
    assert result.summary.startswith("selection rate of sex=F: 0.50 -> 0.30 (change 0.20, max 0.05)")
    scores = run(
        ref.assign(p=ref.p * 0.9),
        cur.assign(p=cur.p * 0.9),
        features=[],
        prediction="p",
        sensitive_features="sex",
        threshold=0.5,
        min_group_size=50,
    )
    assert scores.metrics["selection_rate"]["small_groups"] == [{"sex": "F"}, {"sex": "M"}]
    assert not any(x.name.startswith("selection") for x in scores.assertions)


def test_no_drift_summary_names_the_largest_psi(frames):
    ref, _ = frames
    result = run(ref, ref)
    assert result.status == "passed"
    assert result.summary == "no drift: largest PSI 0.00 (income); 0 of 3 features drifted"


# -- errors --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bounds": {"income": {"psi_max": "x"}}}, "bounds.income.psi_max: expected a number, got 'x'"),
        (
            {"bounds": {"income": {"psi_mx": 1}}},
            (
                "bounds.income: unknown key 'psi_mx'. Did you mean 'psi_max' or 'psi_warn'? "
                "Keys: psi_max, psi_warn, severity, rationale"
            ),
        ),
        (
            {"bounds": {"income": {"psi_max": 0.05, "psi_warn": 0.1}}},
            "bounds.income.psi_warn: 0.1 is above the failing bound 0.05; lower it or raise psi_max",
        ),
        (
            {"bounds": {"income": {"severity": "high"}}},
            "bounds.income.severity: severity must be 'block' or 'warn', got 'high'",
        ),
        (
            {"psi_warn": 0.3},
            "psi_warn: 0.3 is above psi_block (0.25); the warning band must start at or below the blocking one",
        ),
        ({"bins": 1}, "bins: expected a whole number of at least 2, got 1"),
        ({"ks_alpha": 5}, "ks_alpha: expected a significance level between 0 and 1 (e.g. 0.05), got 5"),
        (
            {"sensitive_features": ["sex"]},
            "sensitive_features: selection-rate drift needs prediction= (the column of predictions)",
        ),
        ({"features": ["age"], "bounds": {"income": {}}}, "bounds.income: not a compared feature. Features: 'age'"),
        ({"psi_blok": 1}, "unknown drift option 'psi_blok'. Did you mean 'psi_block' or 'psi_warn'? Options: "),
    ],
)
def test_spec_errors_name_the_field(options, message):
    with pytest.raises(SpecError) as info:
        validate_spec(**options)
    assert str(info.value).startswith(message)


def test_data_errors():
    ref = pd.DataFrame({"x": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"feature 'x' is float64 in the reference and (object|str) in the current"):
        evaluate(ref, pd.DataFrame({"x": ["a", "b"]}))
    with pytest.raises(DataError, match="current column 'y' not in the data"):
        evaluate(ref.assign(y=1), ref, features=["x", "y"])
    with pytest.raises(DataError, match="the current data is empty"):
        evaluate(ref, ref.iloc[:0])
    as_categories = checked(evaluate(ref, pd.DataFrame({"x": ["a", "b"]}), categorical=["x"]))
    assert as_categories.metrics["features"]["x"]["new_count"] == 2


def test_importing_the_engine_is_cheap():
    code = (
        "import sys, airflow_alignment.engines.drift as d; d.validate_spec(bounds={'x': {'psi_max': 1}}); "
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
