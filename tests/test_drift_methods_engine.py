"""The drift engine's method options (issue 15): ``method`` (``auto``, a method, a list),
``thresholds``, ``ks_method``, ``drift_share`` and the bounds on missing and infinite values.
Numbers equal scipy on the same data; the default ``method="psi"`` keeps the PSI bands."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp, wasserstein_distance

from airflow_alignment.engines.drift import evaluate, validate_spec
from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.policy import load_policy
from tests.conftest import checked


def by_name(result):
    return {a.name: a for a in result.assertions}


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"income": rng.normal(50, 10, 4000), "city": rng.choice(["a", "b", "c"], 4000)})
    cur = pd.DataFrame({"income": rng.normal(53, 10, 3000), "city": rng.choice(["a", "b", "c"], 3000)})
    cur.loc[:89, "income"] = np.nan  # 3% missing
    cur.loc[90:92, "income"] = np.inf  # 3 infinite
    return ref, cur


def test_auto_judges_each_feature_with_the_method_it_picks_and_equals_scipy(frames):
    ref, cur = frames
    result = checked(evaluate(ref, cur, method="auto"))
    judged = by_name(result)
    assert set(judged) == {"wasserstein(income)", "jensenshannon(city)"}  # n_eff = 4000 x 2907 / 6907 > 1000
    finite = cur["income"][np.isfinite(cur["income"])]
    distance = wasserstein_distance(ref["income"], finite)
    assert judged["wasserstein(income)"].observed == distance / max(np.std(ref["income"]), 0.001)
    assert judged["wasserstein(income)"].success is False  # a mean shift of 0.3 sd
    counts = [[(s == c).sum() for c in "abc"] for s in (ref["city"], cur["city"])]
    assert judged["jensenshannon(city)"].observed == pytest.approx(jensenshannon(*counts), abs=1e-15)
    assert judged["jensenshannon(city)"].success is True
    assert result.status == "failed" and result.summary.startswith("income: wasserstein 0.")
    # the legacy per-feature report (PSI, bins) stays; the methods block says what auto chose and why
    assert "psi" in result.metrics["features"]["income"]
    block = result.metrics["methods"]["features"]["income"]
    assert block["method"] == "wasserstein" and "effective sample size 1,684 > 1000" in block["reason"]


def test_a_list_of_methods_computes_all_and_judges_the_first_that_applies(frames):
    ref, cur = frames
    result = checked(evaluate(ref, cur, method=["ks", "chi2"], thresholds={"ks": 0.01}))
    judged = by_name(result)
    assert set(judged) == {"ks(income)", "chi2(city)"}  # ks does not apply to a category
    res = ks_2samp(ref["income"], cur["income"].dropna())
    assert judged["ks(income)"].observed == res.pvalue
    assert judged["ks(income)"].details["statistic"] == res.statistic
    assert judged["ks(income)"].expected == {"min_pvalue": 0.01}
    results = result.metrics["methods"]["features"]["income"]["results"]
    assert set(results) == {"ks", "chi2"}


def test_ks_method_reaches_the_engine_test_and_the_methods(frames):
    ref, cur = frames
    small_ref, small_cur = ref.iloc[:300], cur.iloc[100:400]
    exact = checked(evaluate(small_ref, small_cur, features=["income"], ks_method="asymp", ks_alpha=0.05))
    expected = ks_2samp(small_ref["income"], small_cur["income"].dropna(), method="asymp").pvalue
    assert exact.metrics["features"]["income"]["ks_pvalue"] == expected
    assert exact.metrics["methods"]["features"]["income"]["results"]["ks"]["value"] == expected


def test_default_method_keeps_the_psi_bands_and_reports_the_dataset_verdict(frames):
    ref, cur = frames
    result = checked(evaluate(ref, cur))
    assert {a.name for a in result.assertions} == {"psi(income)", "psi(city)"}
    dataset = result.metrics["methods"]["dataset"]
    assert dataset["judged"] == 2 and dataset["drift_share"] == 0.5  # reported, not judged
    assert dataset["drifted_features"] == (["income"] if by_name(result)["psi(income)"].observed > 0.25 else [])
    # the engine's own tests, not computed twice: the same numbers in both blocks, equal to scipy
    income, city = result.metrics["features"]["income"], result.metrics["features"]["city"]
    blocks = result.metrics["methods"]["features"]
    assert blocks["income"]["results"]["ks"]["value"] == income["ks_pvalue"]
    assert income["ks_pvalue"] == ks_2samp(ref["income"], cur["income"].dropna()).pvalue
    assert blocks["city"]["results"]["chi2"]["statistic"] == city["chi2"]
    assert set(blocks["income"]["results"]) == {"psi", "ks"} and blocks["income"]["method"] == "psi"


def test_drift_share_judges_the_dataset(frames):
    ref, cur = frames
    result = checked(evaluate(ref, cur, method="auto", drift_share=0.5))
    dataset = by_name(result)["dataset_drift"]
    assert (dataset.observed, dataset.success) == (0.5, False)  # 1 of 2 drifted: 0.5 >= 0.5
    assert dataset.details["drifted_features"] == ["income"]
    lenient = by_name(checked(evaluate(ref, cur, method="auto", drift_share=0.6)))["dataset_drift"]
    assert lenient.success is True
    assert result.summary.startswith("dataset drift: 1 of 2 features drifted (share 0.50, at or above 0.5)")


def test_missing_and_infinite_shares_are_judged_against_their_bounds(frames):
    ref, cur = frames
    result = checked(evaluate(ref, cur, missing_share_max=0.02, infinite_share_max=0.01))
    judged = by_name(result)
    missing, infinite = judged["missing_share(income)"], judged["infinite_share(income)"]
    assert (missing.observed, missing.success, missing.details["count"]) == (90 / 3000, False, 90)
    assert (infinite.observed, infinite.success, infinite.details["count"]) == (3 / 3000, True, 3)
    assert judged["missing_share(city)"].observed == 0.0
    assert "infinite_share(city)" not in judged  # categories have no infinite values
    assert "income" not in result.metrics["drifted"] or judged["psi(income)"].success is False


def test_a_method_list_that_fits_no_feature_type_is_refused(frames):
    ref, cur = frames
    with pytest.raises(DataError, match=r"method \['ks'\]: none applies to the categorical feature 'city'; add one of"):
        evaluate(ref, cur, method=["ks"])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "wasserstien"}, "method: unknown drift method 'wasserstien'. Did you mean 'wasserstein'?"),
        ({"method": ["auto", "ks"]}, "method: unknown drift method 'auto'."),
        ({"method": 3}, "method: expected 'auto', a method name or a list of method names, got 3"),
        ({"thresholds": {"psi": 0.2}}, "thresholds.psi: PSI is judged by psi_block (and psi_warn); set those"),
        ({"thresholds": {"ks": 2}}, "thresholds.ks: expected a p-value bound between 0 and 1, got 2"),
        ({"thresholds": {"wasserstein": -1}}, "thresholds.wasserstein: expected a number of at least 0, got -1"),
        ({"ks_method": "fast"}, "ks_method: expected one of auto, exact, asymp, got 'fast'"),
        ({"drift_share": 0}, "drift_share: expected a share in (0, 1], e.g. 0.5, got 0"),
        ({"missing_share_max": 1.5}, "missing_share_max: expected a share between 0 and 1, e.g. 0.01, got 1.5"),
    ],
)
def test_method_option_errors_name_the_field(options, message):
    with pytest.raises(SpecError) as info:
        validate_spec(**options)
    assert str(info.value).startswith(message)


def test_a_policy_drift_check_takes_the_same_options(tmp_path):
    text = """
name: drift-methods
version: "1"
checks:
  - name: inputs_drift
    kind: drift
    data: current.parquet
    reference: reference.parquet
    method: auto
    thresholds: {wasserstein: 0.2}
    drift_share: 0.3
    missing_share_max: 0.05
"""
    (tmp_path / "policy.yaml").write_text(text)
    policy = load_policy(tmp_path / "policy.yaml")
    check = policy.check("inputs_drift")
    kwargs = check.operator_kwargs()
    assert (kwargs["method"], kwargs["thresholds"], kwargs["drift_share"]) == ("auto", {"wasserstein": 0.2}, 0.3)
    (tmp_path / "bad.yaml").write_text(text.replace("method: auto", "method: wasserstien"))
    with pytest.raises(SpecError, match=r"checks\[0\]\.method: unknown drift method 'wasserstien'"):
        load_policy(tmp_path / "bad.yaml")


def test_a_column_of_ids_stores_at_most_max_bins_with_the_rest_merged():
    from airflow_alignment.limits import MAX_BINS

    ref = pd.DataFrame({"id": [f"r{i}" for i in range(3000)] + ["common"] * 500})
    cur = pd.DataFrame({"id": [f"r{i}" for i in range(1500)] + ["common"] * 100})
    block = checked(evaluate(ref, cur)).metrics["methods"]["features"]["id"]
    bins = block["bins"]
    assert len(bins) == MAX_BINS and bins[-1]["bin"] == f"(other {3001 - (MAX_BINS - 1):,} bins)"
    assert sum(b["reference"] for b in bins) == 3500 and sum(b["current"] for b in bins) == 1600
    assert {"bin": "common", "reference": 500, "current": 100} in bins  # the largest bins are kept


def test_a_psi_in_the_warning_band_is_shown_as_a_warning_in_the_report():
    """The check warns above psi_warn; the report's drift view must not call that feature stable."""
    from airflow_alignment.reporting.drift_view import drift_section

    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"income": rng.normal(50, 10, 6000), "age": rng.normal(40, 9, 6000)})
    cur = pd.DataFrame({"income": rng.normal(53.5, 10, 4000), "age": rng.normal(40, 9, 4000)})
    result = checked(evaluate(ref, cur))
    psi = by_name(result)["psi(income)"]
    assert 0.1 < psi.observed <= 0.25 and psi.details["band"] == "warn" and result.status == "warned"
    block = result.metrics["methods"]["features"]["income"]
    assert block["drifted"] is False and block["results"]["psi"]["warn_above"] == 0.1
    html = drift_section(result.metrics["methods"])
    income = html[html.index('<h3 id="drift-feature-0">') :]
    assert income.startswith('<h3 id="drift-feature-0">income <span class="badge b-warned">warned</span>')
    assert f"PSI {psi.observed:.4g} &gt; 0.1 (warning), ≤ 0.25" in html
    assert 'age <span class="badge b-stable">stable</span>' in html


def test_the_report_badges_a_warning_band_assertion_warned_and_a_blocking_one_failed():
    from airflow_alignment.reporting.html import render_report

    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"income": rng.normal(50, 10, 6000), "age": rng.normal(40, 9, 6000)})
    cur = pd.DataFrame({"income": rng.normal(53.5, 10, 4000), "age": rng.normal(52, 9, 4000)})
    page = render_report(checked(evaluate(ref, cur)).to_dict())
    rows = {
        m[0]: m[1] for m in re.findall(r"<tr><td>(psi\(\w+\))</td><td>\w+</td><td><span class=\"badge b-(\w+)\"", page)
    }
    assert rows == {"psi(income)": "warned", "psi(age)": "failed"}
