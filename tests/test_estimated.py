"""Fairness estimated from calibrated scores: the expected cells feed the fairness engine
unchanged, the intervals cover the realised values at the nominal rate (a simulation where the
truth is known), and the calibration check flags miscalibrated scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines.binary import metrics as fm
from airflow_alignment.engines.estimated import (
    WEIGHT,
    calibration_check,
    label_uncertainty,
    summarize_scores,
    to_cell_table,
)
from airflow_alignment.engines.estimated import evaluate as estimated_evaluate
from airflow_alignment.engines.fairness import evaluate
from airflow_alignment.exceptions import DataError, SpecError

METRICS = ["true_positive_rate", "false_positive_rate", "precision", "accuracy", "selection_rate", "count"]


def by_group(result, metric):
    return {g["group"]["sex"]: g["value"] for g in result.metrics[metric]["by_group"]}


def test_expected_cells_through_the_fairness_engine_hand_computed():
    # F: 0.9 (predicted 1), 0.2 (predicted 0); M: 0.6 and 0.7 (both predicted 1), threshold 0.5.
    # Expected cells F: tp 0.9, fp 0.1, fn 0.2, tn 0.8; M: tp 1.3, fp 0.7, fn 0, tn 0.
    df = pd.DataFrame({"sex": ["F", "F", "M", "M"], "score": [0.9, 0.2, 0.6, 0.7]})
    summary = summarize_scores(df, y_score="score", sensitive_features="sex", threshold=0.5)
    table = to_cell_table(summary)
    result = evaluate(table, y_true="label", y_score="score", threshold=0.5, sample_weight=WEIGHT,
                      sensitive_features="sex", min_group_size=0, metrics=METRICS,
                      constraints=[{"metric": "equalized_odds_difference", "max": 1.0}])  # fmt: skip
    assert by_group(result, "true_positive_rate") == pytest.approx({"F": 0.9 / 1.1, "M": 1.0}, rel=1e-12)
    assert by_group(result, "false_positive_rate") == pytest.approx({"F": 0.1 / 0.9, "M": 1.0}, rel=1e-12)
    assert by_group(result, "precision") == pytest.approx({"F": 0.9, "M": 1.3 / 2.0}, rel=1e-12)
    assert by_group(result, "accuracy") == pytest.approx({"F": 1.7 / 2, "M": 1.3 / 2}, rel=1e-12)
    assert by_group(result, "selection_rate") == pytest.approx({"F": 0.5, "M": 1.0}, rel=1e-12)
    assert by_group(result, "count") == {"F": 2, "M": 2}  # true row counts, not expected masses
    (eod,) = [a.observed for a in result.assertions if a.name == "equalized_odds_difference"]
    assert eod == pytest.approx(max(1.0 - 0.9 / 1.1, 1.0 - 0.1 / 0.9), rel=1e-12)
    # the same numbers from the summary's own cells (the intervals' centre)
    cells = summary.cells()
    assert fm.rate("true_positive_rate", cells) == pytest.approx([0.9 / 1.1, 1.0], rel=1e-12)


def test_predictions_from_a_column_with_string_labels():
    df = pd.DataFrame({"sex": ["F", "F", "M", "M"], "score": [0.9, 0.2, 0.6, 0.7],
                       "decision": ["approve", "deny", "approve", "approve"]})  # fmt: skip
    summary = summarize_scores(df, y_score="score", sensitive_features=["sex"], y_pred="decision", pos_label="approve")
    result = evaluate(to_cell_table(summary), y_true="label", y_pred="decision", sample_weight=WEIGHT,
                      sensitive_features="sex", min_group_size=0, metrics=METRICS,
                      constraints=[{"metric": "true_positive_rate", "aggregate": "per_group", "min": 0.0}])  # fmt: skip
    assert by_group(result, "true_positive_rate") == pytest.approx({"F": 0.9 / 1.1, "M": 1.0}, rel=1e-12)


def simulate(rng, sizes, shape, truth=lambda p: p):
    groups = np.repeat(list(sizes), list(sizes.values()))
    score = np.concatenate([rng.beta(shape[g], 3, n) for g, n in sizes.items()])
    label = rng.random(len(score)) < truth(score)
    return pd.DataFrame({"g": groups, "score": score, "y": label.astype(int)})


def realised_cells(df, threshold):
    pred, y = df["score"].to_numpy() >= threshold, df["y"].to_numpy() == 1
    out = []
    for g in sorted(df["g"].unique()):
        m = df["g"].to_numpy() == g
        out.append([np.sum(m & ~y & ~pred), np.sum(m & ~y & pred), np.sum(m & y & ~pred), np.sum(m & y & pred)])
    return np.array(out, dtype=float)


def test_intervals_cover_the_realised_values_at_the_nominal_rate():
    """300 simulated windows with calibrated scores: each group's realised TPR, FPR, precision and
    accuracy, the overall value and the between-group difference and ratio fall in the 95%
    interval about 95% of the time (binomial sd of a rate over 900 group-windows: 0.7 points)."""
    rng = np.random.default_rng(2026)
    sizes, shape = {"A": 400, "B": 300, "C": 200}, {"A": 2.0, "B": 2.5, "C": 3.0}
    names = ["true_positive_rate", "false_positive_rate", "precision", "accuracy"]
    covered = {key: [] for key in ("group", "overall", "difference", "ratio")}
    for window in range(300):
        df = simulate(rng, sizes, shape)
        summary = summarize_scores(df, y_score="score", sensitive_features="g", threshold=0.5)
        est = label_uncertainty(summary, names, n_draws=400, seed=window)
        real = realised_cells(df, 0.5)
        for name in names:
            value, overall = fm.rate(name, real), float(fm.rate(name, real.sum(axis=0)))
            low, high = est.bounds[name].T
            covered["group"] += list((low <= value) & (value <= high))
            covered["overall"].append(est.overall[name][1] <= overall <= est.overall[name][2])
            for kind in ("difference", "ratio"):
                agg, interval = float(fm.aggregate(value, np.asarray(overall), kind)), est.aggregates[(name, kind)]
                covered[kind].append(interval["low"] <= agg <= interval["high"])
    rates = {key: float(np.mean(hits)) for key, hits in covered.items()}
    assert 0.93 <= rates["group"] <= 0.975, rates
    for key in ("overall", "difference", "ratio"):
        assert 0.92 <= rates[key] <= 0.98, rates


def test_intervals_shrink_with_more_rows_and_contain_the_estimate_per_group():
    rng = np.random.default_rng(5)
    widths = []
    for n in (500, 50_000):
        df = simulate(rng, {"A": n, "B": n}, {"A": 2.0, "B": 3.0})
        est = label_uncertainty(summarize_scores(df, y_score="score", sensitive_features="g", threshold=0.5),
                                ["true_positive_rate"], n_draws=500)  # fmt: skip
        low, high = est.bounds["true_positive_rate"].T
        value = est.by_group["true_positive_rate"]
        assert np.all((low <= value) & (value <= high))
        widths.append(float(np.mean(high - low)))
    assert widths[1] < widths[0] / 5  # about 1 / sqrt(100) = 1/10


def test_calibration_check_passes_calibrated_scores():
    rng = np.random.default_rng(11)
    statuses = []
    for _ in range(40):
        df = simulate(rng, {"A": 3000, "B": 3000}, {"A": 2.0, "B": 3.0})
        check = calibration_check(df, y_true="y", y_score="score", sensitive_features="g")
        statuses.append(check.status)
        assert all(c.ece < 0.05 for c in check.groups)
    assert statuses.count("calibrated") >= 36, statuses  # the test's level is 5%


def test_calibration_check_flags_miscalibrated_scores():
    rng = np.random.default_rng(12)
    # group B's true probability is 0.15 above its score: the estimate would be off by that much
    shifted = {"miscalibrated": 0}
    for _ in range(20):
        df = simulate(rng, {"A": 3000, "B": 3000}, {"A": 2.0, "B": 2.0})
        b = df["g"].to_numpy() == "B"
        truth = np.clip(df["score"].to_numpy() + 0.15 * b, 0, 1)
        df["y"] = (rng.random(len(df)) < truth).astype(int)
        check = calibration_check(df, y_true="y", y_score="score", sensitive_features="g")
        shifted["miscalibrated"] += check.status == "miscalibrated"
        assert any("g=B: ECE" in reason for reason in check.reasons)
        assert not any("g=A: ECE" in reason for reason in check.reasons)
    assert shifted["miscalibrated"] == 20
    # a small miscalibration on many rows: within the ECE bound, but the test sees it
    df = simulate(rng, {"A": 100_000}, {"A": 2.0}, truth=lambda p: 0.03 + 0.94 * p)
    check = calibration_check(df, y_true="y", y_score="score", sensitive_features="g")
    assert check.status == "approximate"
    assert check.groups[0].ece < 0.05 and check.groups[0].pvalue < 0.05


def test_calibration_check_bins_and_small_groups():
    df = pd.DataFrame({"g": ["A"] * 4 + ["B"] * 2, "score": [0.1, 0.2, 0.8, 0.9, 0.5, 0.5], "y": [0, 1, 1, 1, 0, 1]})
    check = calibration_check(df, y_true="y", y_score="score", sensitive_features="g", bins=2, min_group_size=4)
    a, b = check.groups
    # A: bins {0.1, 0.2} (1 positive, expected 0.3) and {0.8, 0.9} (2, expected 1.7)
    assert a.ece == pytest.approx((abs(1 - 0.3) + abs(2 - 1.7)) / 4)
    assert a.hosmer_lemeshow == pytest.approx(0.7**2 / (0.3 * (1 - 0.15)) + 0.3**2 / (1.7 * (1 - 0.85)))
    assert (a.dof, a.judged, b.judged) == (2, True, False)
    assert (
        calibration_check(df, y_true="y", y_score="score", sensitive_features="g", min_group_size=10).status
        == "unknown"
    )


def test_errors_name_the_column_and_the_fix():
    df = pd.DataFrame({"g": ["A", "B"], "score": [0.2, 1.7], "p": [1, 0]})
    with pytest.raises(
        DataError, match=r"'score' has 1 values outside \[0, 1\] \(e.g. 1.7\); the estimate needs probabilities"
    ):
        summarize_scores(df, y_score="score", sensitive_features="g", threshold=0.5)
    df["score"] = [0.2, None]
    with pytest.raises(DataError, match="'score' has 1 missing values; the estimate needs a score for every row"):
        summarize_scores(df, y_score="score", sensitive_features="g", threshold=0.5)
    with pytest.raises(SpecError, match=r"give y_pred .* or threshold"):
        summarize_scores(df, y_score="score", sensitive_features="g")
    with pytest.raises(DataError, match="column 'sex' is not in the data"):
        summarize_scores(df, y_score="score", sensitive_features="sex", threshold=0.5)
    with pytest.raises(SpecError, match="metric 'roc_auc' cannot be estimated from expected cells"):
        label_uncertainty(
            summarize_scores(df.fillna(0.5), y_score="score", sensitive_features="g", threshold=0.5), ["roc_auc"]
        )


# -- the check: estimate, intervals, trust ------------------------------------------------------
def scored_rows(n, seed, tilt=0.0):
    """Scored rows of two groups; with ``tilt`` group M's scores run higher (a TPR gap)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    score = np.clip(rng.beta(2, 3, n) + tilt * (sex == "M"), 0, 1)
    return pd.DataFrame({"sex": sex, "score": score}), rng


def labelled_window(n, seed, bend=1.0):
    """A labelled window: labels drawn with P(y = 1) = score ** bend in group F (bend 1: calibrated)."""
    df, rng = scored_rows(n, seed)
    truth = np.where(df["sex"] == "F", df["score"] ** bend, df["score"])
    df["y"] = (rng.random(n) < truth).astype(int)
    return df


CONSTRAINTS = [{"metric": "true_positive_rate", "aggregate": "difference", "max": 0.1},
               {"metric": "equalized_odds_difference", "max": 0.2}]  # fmt: skip


def test_check_is_the_fairness_engine_on_expected_cells_with_label_intervals():
    scored, rng = scored_rows(50_000, 1)
    result = estimated_evaluate(scored, y_score="score", threshold=0.5, sensitive_features="sex",
                                constraints=CONSTRAINTS, labelled=labelled_window(20_000, 2), y_true="y")  # fmt: skip
    direct = evaluate(to_cell_table(summarize_scores(scored, y_score="score", sensitive_features="sex", threshold=0.5)),
                      y_true="label", y_score="score", threshold=0.5, sample_weight=WEIGHT, sensitive_features="sex",
                      constraints=CONSTRAINTS, check_name="estimated_fairness")  # fmt: skip
    assert [(a.name, a.observed, a.success) for a in result.assertions] == [
        (a.name, a.observed, a.success) for a in direct.assertions
    ]
    assert result.status == direct.status == "passed"
    assert result.metrics["estimated"]["calibration"]["status"] in ("calibrated", "approximate")
    assert (
        result.summary == f"estimated from the scores ({result.metrics['estimated']['calibration']['status']}), "
        f"labels pending: {direct.summary}"
    )
    tpr = result.assertions[0]
    low, high = tpr.details["label_interval"]
    # the labels land: the realised TPR difference falls inside the interval
    landed = scored.assign(y=(rng.random(len(scored)) < scored["score"]).astype(int))
    realised = evaluate(landed, y_true="y", y_score="score", threshold=0.5, sensitive_features="sex",
                        constraints=CONSTRAINTS[:1]).assertions[0].observed  # fmt: skip
    assert low <= realised <= high and high - low < 0.03
    groups = result.metrics["estimated"]["per_group"]["true_positive_rate"]
    assert [g["group"] for g in groups] == [{"sex": "F"}, {"sex": "M"}]
    assert all(g["low"] <= g["estimate"] <= g["high"] for g in groups)
    assert "label_interval" not in result.assertions[1].details  # a named aggregate of two metrics: engine value only


def test_check_fails_on_a_trusted_estimate_and_warns_on_an_untrusted_one():
    scored, _ = scored_rows(20_000, 3, tilt=0.25)
    calibrated, bent = labelled_window(20_000, 4), labelled_window(20_000, 4, bend=3.0)
    trusted = estimated_evaluate(scored, y_score="score", threshold=0.5, sensitive_features="sex",
                                 constraints=CONSTRAINTS, labelled=calibrated, y_true="y")  # fmt: skip
    assert trusted.status == "failed" and trusted.assertions[0].success is False
    untrusted = estimated_evaluate(scored, y_score="score", threshold=0.5, sensitive_features="sex",
                                   constraints=CONSTRAINTS, labelled=bent, y_true="y")  # fmt: skip
    calibration = untrusted.metrics["estimated"]["calibration"]
    assert calibration["status"] == "miscalibrated" and untrusted.metrics["estimated"]["trusted"] is False
    assert untrusted.status == "warned"
    assert untrusted.summary.startswith("estimate NOT trusted (calibration miscalibrated: sex=F: ECE ")
    assert [a.success for a in untrusted.assertions] == [a.success for a in trusted.assertions]  # judged the same
    judged = estimated_evaluate(scored, y_score="score", threshold=0.5, sensitive_features="sex",
                                constraints=CONSTRAINTS, labelled=bent, y_true="y", untrusted="judge")  # fmt: skip
    assert judged.status == "failed"


def test_check_without_a_labelled_window_is_not_trusted():
    scored, _ = scored_rows(5_000, 5)
    result = estimated_evaluate(
        scored, y_score="score", threshold=0.5, sensitive_features="sex", constraints=CONSTRAINTS
    )
    assert result.status == "warned"
    assert result.metrics["estimated"]["calibration"] == {
        "status": "unknown", "reasons": ["no labelled window to check the scores' calibration on"],
        "ece_max": 0.05, "alpha": 0.05, "groups": []}  # fmt: skip
    assert result.to_dict()["metrics"]["estimated"]["trusted"] is False  # JSON-ready


def test_check_errors_name_the_fix():
    scored, _ = scored_rows(100, 6)
    with pytest.raises(SpecError, match="labelled: give y_true, the label column of the labelled window"):
        estimated_evaluate(scored, y_score="score", threshold=0.5, sensitive_features="sex", constraints=CONSTRAINTS,
                           labelled=scored)  # fmt: skip
    with pytest.raises(SpecError, match="untrusted: expected 'warn' or 'judge', got 'ignore'"):
        estimated_evaluate(scored, y_score="score", threshold=0.5, sensitive_features="sex", constraints=CONSTRAINTS,
                           untrusted="ignore")  # fmt: skip
