"""The fairness engine: hand-checked fixtures, constraints, bootstrap decisions, baselines,
result shape, and every bad input with its exact message.

The cross-check against fairlearn on random data is in ``test_fairness_engine_oracle.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines.fairness import evaluate, validate_constraints
from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.results import CheckResult
from tests.conftest import checked

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")

DP = {"metric": "demographic_parity_ratio", "min": 0.8}


@pytest.fixture()
def eight() -> pd.DataFrame:
    """Group a: tp fn fp tn (one each). Group b: tp tp fn tn."""
    return pd.DataFrame({"g": list("aaaabbbb"), "y": [1, 1, 0, 0, 1, 1, 1, 0], "p": [1, 0, 1, 0, 1, 1, 0, 0]})


def run(df: pd.DataFrame, **kwargs: Any) -> CheckResult:
    args: dict[str, Any] = {
        "y_true": "y",
        "y_pred": "p",
        "sensitive_features": "g",
        "constraints": [DP],
        "min_group_size": 1,
    }
    args.update(kwargs)
    return checked(evaluate(df, **args))


def by_group(result: CheckResult, metric: str, key: str = "g") -> dict[Any, Any]:
    return {e["group"][key]: e["value"] for e in result.metrics[metric]["by_group"]}


def fails(kind: type[Exception], message: str, df: pd.DataFrame, **kwargs: Any) -> None:
    with pytest.raises(kind, match=f"^{re.escape(message)}$"):
        run(df, **kwargs)


# -- hand-checked numbers -------------------------------------------------------------------
EXPECTED = {  # metric: (a, b, overall), from the cells above
    "count": (4, 4, 8),
    "selection_rate": (0.5, 0.5, 0.5),
    "base_rate": (0.5, 0.75, 5 / 8),
    "true_positive_rate": (0.5, 2 / 3, 3 / 5),
    "false_positive_rate": (0.5, 0.0, 1 / 3),
    "true_negative_rate": (0.5, 1.0, 2 / 3),
    "false_negative_rate": (0.5, 1 / 3, 2 / 5),
    "precision": (0.5, 1.0, 3 / 4),
    "negative_predictive_value": (0.5, 0.5, 2 / 4),
    "false_discovery_rate": (0.5, 0.0, 1 / 4),
    "false_omission_rate": (0.5, 0.5, 2 / 4),
    "accuracy": (0.5, 0.75, 5 / 8),
    "error_rate": (0.5, 0.25, 3 / 8),
    "balanced_accuracy": (0.5, 5 / 6, (3 / 5 + 2 / 3) / 2),
    "f1": (0.5, 0.8, 6 / 9),
}


def test_eight_rows_hand_computed(eight: pd.DataFrame) -> None:
    result = run(eight, metrics=list(EXPECTED))
    for metric, (a, b, overall) in EXPECTED.items():
        assert by_group(result, metric) == pytest.approx({"a": a, "b": b}, abs=1e-15), metric
        assert result.metrics[metric]["overall"] == pytest.approx(overall, abs=1e-15), metric
    fpr = result.metrics["false_positive_rate"]
    assert (fpr["difference"], fpr["ratio"], fpr["group_min"], fpr["group_max"]) == (0.5, 0.0, 0.0, 0.5)
    assert fpr["difference_to_overall"] == pytest.approx(1 / 3)  # group b: |0 - 1/3|
    assert fpr["ratio_to_overall"] == 0.0


def test_named_aggregates_and_the_groups_that_make_them(eight: pd.DataFrame) -> None:
    result = run(
        eight,
        constraints=[
            {"metric": "demographic_parity_difference", "max": 0.1},
            {"metric": "equalized_odds_difference", "max": 0.2},
            {"metric": "equalized_odds_ratio", "agg": "mean", "min": 0.1},
            {"metric": "equal_opportunity_ratio", "min": 0.7},
        ],
    )
    dp, eo, eo_mean, eq = result.assertions
    assert (dp.success, dp.observed) == (True, 0.0)
    assert (eo.success, eo.observed, eo.expected) == (False, 0.5, {"min": None, "max": 0.2})
    assert eo.details["component"] == "false_positive_rate"
    assert eo.details["groups"] == [{"g": "b"}, {"g": "a"}] and eo.details["values"] == [0.0, 0.5]
    assert eo.details["components"] == {"true_positive_rate": pytest.approx(1 / 6), "false_positive_rate": 0.5}
    assert eo_mean.name == "equalized_odds_ratio[mean]" and eo_mean.observed == pytest.approx((0.75 + 0) / 2)
    assert (eq.success, eq.observed) == (True, 0.75)
    assert result.status == "failed"
    assert result.summary == (
        "equalized_odds_difference = 0.5 (max 0.2) between {'g': 'b'} and {'g': 'a'}; 1 of 4 constraints failed"
    )


def test_base_metric_aggregates(eight: pd.DataFrame) -> None:
    result = run(
        eight,
        constraints=[
            {"metric": "true_positive_rate", "aggregate": "group_min", "min": 0.6},
            {"metric": "precision", "aggregate": "group_max", "max": 1},
            {"metric": "accuracy", "aggregate": "per_group", "min": 0.6},
            {"metric": "base_rate", "aggregate": "overall", "max": 0.7},
            {"metric": "false_positive_rate", "aggregate": "difference", "method": "to_overall", "max": 0.4},
            {"metric": "selection_rate", "aggregate": "ratio", "method": "to_overall", "min": 0.9, "severity": "warn"},
        ],
    )
    tpr_min, precision_max, accuracy, base, fpr, sel = result.assertions
    assert (tpr_min.name, tpr_min.success, tpr_min.observed) == ("true_positive_rate.group_min", False, 0.5)
    assert tpr_min.details["groups"] == [{"g": "a"}]
    assert (precision_max.success, precision_max.observed) == (True, 1.0)
    assert (accuracy.success, accuracy.observed, accuracy.details["failing_count"]) == (False, 0.5, 1)
    assert accuracy.details["failing_groups"] == [{"group": {"g": "a"}, "value": 0.5}]
    assert (base.success, base.observed, base.details["groups"]) == (True, 5 / 8, ["overall"])
    assert fpr.name == "false_positive_rate.difference(to_overall)"
    assert fpr.details["groups"] == [{"g": "b"}, "overall"] and fpr.details["values"] == [0.0, 1 / 3]
    assert (fpr.success, fpr.observed) == (True, 1 / 3)
    assert (sel.success, sel.observed, sel.severity) == (True, 1.0, "warn")


def test_empty_denominator_is_null_with_a_reason(eight: pd.DataFrame) -> None:
    df = pd.concat([eight, pd.DataFrame({"g": ["c"] * 3, "y": [1, 1, 1], "p": [1, 0, 1]})])
    result = run(df, constraints=[{"metric": "equalized_odds_difference", "max": 0.9}])
    fpr = {e["group"]["g"]: e for e in result.metrics["false_positive_rate"]["by_group"]}
    assert fpr["c"]["value"] is None
    assert fpr["c"]["reason"] == "the group has no negatives (y_true != pos_label)"
    assert result.metrics["false_positive_rate"]["difference"] == 0.5  # over the groups where it is defined


def test_undefined_aggregate_fails_and_says_why() -> None:
    df = pd.DataFrame({"g": list("aabb"), "y": [1, 0, 1, 0], "p": [0, 0, 0, 0]})
    result = run(df)
    (a,) = result.assertions
    assert (a.success, a.observed) == (False, None)
    assert a.details["reason"] == "every group has selection_rate 0: the ratio 0/0 is undefined"
    assert result.summary == (
        "demographic_parity_ratio is undefined (every group has selection_rate 0: the ratio 0/0 is undefined); "
        "1 of 1 constraints failed"
    )
    assert result.metrics["selection_rate"]["reasons"]["ratio"] == a.details["reason"]


def test_y_score_with_threshold_equals_the_labels(eight: pd.DataFrame) -> None:
    scored = eight.assign(s=np.where(eight["p"] == 1, 0.7, 0.2))
    labels = run(eight, metrics=["true_positive_rate", "precision"])
    scores = run(scored, y_pred=None, y_score="s", threshold=0.5, metrics=["true_positive_rate", "precision"])
    for metric in ("true_positive_rate", "precision", "selection_rate"):
        assert scores.metrics[metric] == labels.metrics[metric]


def test_string_labels_with_pos_label(eight: pd.DataFrame) -> None:
    named = eight.assign(y=eight["y"].map({1: "yes", 0: "no"}), p=eight["p"].map({1: "yes", 0: "no"}))
    strings, numbers = run(named, pos_label="yes").metrics, run(eight).metrics
    assert strings.pop("settings")["pos_label"] == "yes"
    numbers.pop("settings")
    assert strings == numbers


def test_weights_equal_repeated_rows(eight: pd.DataFrame) -> None:
    weights = np.array([2, 1, 1, 3, 1, 2, 1, 1])
    weighted = run(eight.assign(w=weights), sample_weight="w", metrics=list(EXPECTED)[1:])
    repeated = run(eight.loc[eight.index.repeat(weights)], metrics=list(EXPECTED)[1:])
    for metric in list(EXPECTED)[1:]:
        assert by_group(weighted, metric) == pytest.approx(by_group(repeated, metric), abs=1e-15)
    assert [e["weight"] for e in weighted.metrics["selection_rate"]["by_group"]] == [7.0, 5.0]
    assert [e["count"] for e in weighted.metrics["selection_rate"]["by_group"]] == [4, 4]
    with_ci = run(eight.assign(w=weights), sample_weight="w", confidence=0.9, n_boot=200)
    for entry in with_ci.metrics["selection_rate"]["by_group"]:
        assert 0 <= entry["ci"][0] <= entry["value"] <= entry["ci"][1] <= 1


def test_callable_metric_goes_through_metricframe(eight: pd.DataFrame) -> None:
    from sklearn.metrics import recall_score

    result = run(eight, constraints=[{"metric": recall_score, "aggregate": "group_min", "min": 0.4}])
    tpr = run(eight, metrics=["true_positive_rate"])
    assert by_group(result, "recall_score") == by_group(tpr, "true_positive_rate")
    assert result.assertions[0].name == "recall_score.group_min"


# -- groups: intersections, marginals, small and missing groups -----------------------------
def two_features(rows_per_cell: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cells = [(s, r) for s in "FM" for r in "ABC"]
    frame = pd.DataFrame([c for c in cells for _ in range(rows_per_cell)], columns=["sex", "race"])
    return frame.assign(y=rng.integers(0, 2, len(frame)), p=rng.integers(0, 2, len(frame)))


def test_groups_are_objects_and_marginals_are_judged_alone() -> None:
    df = two_features()
    result = run(df, sensitive_features=["sex", "race"], marginal=True, min_group_size=30)
    groups = [e["group"] for e in result.metrics["selection_rate"]["by_group"]]
    assert groups[0] == {"sex": "F", "race": "A"} and len(groups) == 6
    assert [a.name for a in result.assertions] == [
        "demographic_parity_ratio",
        "demographic_parity_ratio [sex]",
        "demographic_parity_ratio [race]",
    ]
    alone = run(df, sensitive_features="sex", min_group_size=30)
    assert result.metrics["marginal"]["sex"]["selection_rate"] == alone.metrics["selection_rate"]
    assert result.assertions[1].observed == alone.assertions[0].observed


def test_small_groups_are_listed_and_left_out_of_aggregates() -> None:
    df = two_features()
    df = df[~((df["sex"] == "M") & (df["race"] == "C")) | (df.index % 8 == 0)]  # M/C keeps 5 rows
    result = run(df, sensitive_features=["sex", "race"], min_group_size=30)
    assert result.metrics["excluded_groups"] == [{"group": {"sex": "M", "race": "C"}, "count": 5}]
    assert len(result.metrics["selection_rate"]["by_group"]) == 5
    full = run(df[~((df["sex"] == "M") & (df["race"] == "C"))], sensitive_features=["sex", "race"], min_group_size=30)
    assert result.assertions[0].observed == full.assertions[0].observed


def test_missing_groups_drop_and_as_group(eight: pd.DataFrame) -> None:
    df = eight.astype({"g": object})
    df.loc[[1, 5], "g"] = None
    dropped = run(df, missing_groups="drop")
    assert dropped.metrics["dropped_rows"] == {"g": 2}
    assert sum(e["count"] for e in dropped.metrics["selection_rate"]["by_group"]) == 6
    as_group = run(df, missing_groups="as_group")
    assert {"g": None} in [e["group"] for e in as_group.metrics["selection_rate"]["by_group"]]


# -- confidence intervals and decide_on -----------------------------------------------------
def near_the_bound() -> pd.DataFrame:
    """Selection rates 0.5 and 0.42: ratio 0.84, just above the four-fifths rule."""
    return pd.DataFrame(
        {
            "g": ["a"] * 100 + ["b"] * 100,
            "y": [1, 0] * 100,
            "p": [1] * 50 + [0] * 50 + [1] * 42 + [0] * 58,
        }
    )


@pytest.mark.parametrize(("decide_on", "success"), [("estimate", True), ("conservative", False), ("significant", True)])
def test_decide_on(decide_on: str, success: bool) -> None:
    result = run(near_the_bound(), confidence=0.95, n_boot=500, decide_on=decide_on)
    (a,) = result.assertions
    low, high = a.details["ci"]
    assert low < 0.8 < a.observed < high
    assert a.success is success
    assert a.details["decide_on"] == decide_on and a.details["confidence"] == 0.95
    if decide_on == "conservative":
        assert a.details["estimate_success"] is True
        assert result.summary.startswith("demographic_parity_ratio = 0.84 (95% CI ")
        assert "; min 0.8, decide_on=conservative) between {'g': 'b'} and {'g': 'a'}" in result.summary


def test_significant_fails_only_when_the_whole_interval_is_outside() -> None:
    far = near_the_bound().assign(p=[1] * 50 + [0] * 50 + [1] * 20 + [0] * 80)  # ratio 0.4
    result = run(far, confidence=0.95, n_boot=500, decide_on="significant")
    assert result.assertions[0].details["ci"][1] < 0.8 and result.assertions[0].success is False


def test_intervals_are_reported_per_group_and_overall() -> None:
    result = run(near_the_bound(), confidence=0.9, n_boot=300)
    block = result.metrics["selection_rate"]
    for entry in block["by_group"]:
        assert entry["ci"][0] <= entry["value"] <= entry["ci"][1]
    assert block["overall_ci"][0] <= block["overall"] <= block["overall_ci"][1]
    assert result.metrics["settings"]["n_boot"] == 300


def test_score_metric_without_interval_is_judged_on_the_estimate() -> None:
    df = near_the_bound().assign(s=np.linspace(0, 1, 200))
    result = run(
        df,
        y_score="s",
        confidence=0.9,
        n_boot=50,
        decide_on="conservative",
        constraints=[{"metric": "roc_auc", "aggregate": "group_min", "min": 0.0}],
    )
    (a,) = result.assertions
    assert a.success is True and a.details["decided_on"] == "estimate" and "ci" not in a.details


# -- baseline -------------------------------------------------------------------------------
def test_baseline_margins(eight: pd.DataFrame, tmp_path: Any) -> None:
    constraint = {
        "metric": "true_positive_rate",
        "aggregate": "group_min",
        "min": 0.3,
        "baseline": {"max_decrease": 0.05},
    }
    before = run(eight.assign(p=eight["y"]), constraints=[constraint])  # perfect predictions: TPR 1
    path = tmp_path / "baseline.json"
    path.write_text(before.to_json())
    for given in (before, before.to_dict(), str(path)):
        result = run(eight, constraints=[constraint], baseline=given)
        (a,) = result.assertions
        assert a.success is False
        assert a.details["baseline"] == {
            "status": "compared",
            "baseline_observed": 1.0,
            "change": -0.5,
            "max_decrease": 0.05,
            "success": False,
        }
        assert result.summary == (
            "true_positive_rate.group_min = 0.5 (min 0.3) in {'g': 'a'}, down 0.5 from the baseline 1 "
            "(max_decrease 0.05); 1 of 1 constraints failed"
        )
        assert result.metrics["baseline"]["given"] is True
    alone = run(eight, constraints=[constraint])
    assert alone.assertions[0].success is True
    assert alone.assertions[0].details["baseline"]["status"] == "no_baseline"
    assert alone.metrics["baseline"] == {
        "given": False,
        "message": "no baseline result given: only the absolute bounds apply",
    }


def test_baseline_without_the_assertion(eight: pd.DataFrame) -> None:
    before = run(eight)
    result = run(
        eight,
        baseline=before,
        constraints=[
            {"metric": "accuracy", "aggregate": "group_min", "min": 0, "baseline": {"max_decrease": 0}},
        ],
    )
    assert result.assertions[0].details["baseline"]["status"] == "missing"


# -- result shape ---------------------------------------------------------------------------
def test_result_shape(eight: pd.DataFrame) -> None:
    result = run(eight, check_name="fair", source="memory://eight", severity="warn")
    doc = result.to_dict()
    assert (doc["kind"], doc["check"], doc["severity"], doc["status"]) == ("fairness", "fair", "warn", "passed")
    assert doc["data"]["source"] == "memory://eight" and doc["data"]["columns"] == ["y", "p", "g"]
    assert doc["data"]["rows"] == 8 and doc["data"]["fingerprint"].startswith("sha256:")
    block = doc["metrics"]["selection_rate"]
    assert set(block) == {
        "overall",
        "by_group",
        "group_min",
        "group_max",
        "difference",
        "ratio",
        "difference_to_overall",
        "ratio_to_overall",
    }
    assert block["by_group"][0] == {"group": {"g": "a"}, "value": 0.5, "count": 4}
    assert doc["metrics"]["excluded_groups"] == []
    assert doc["assertions"][0]["severity"] == "warn"
    assert doc["summary"] == (
        "all 1 fairness constraints passed on 8 rows, 2 groups of g; closest: "
        "demographic_parity_ratio = 1 (min 0.8) between {'g': 'a'} and {'g': 'b'}"
    )
    json.dumps(doc, allow_nan=False)


# -- bad input, each with its message -------------------------------------------------------
def test_missing_values(eight: pd.DataFrame) -> None:
    df = eight.astype({"y": float, "p": float, "g": object})
    df.loc[0, "y"] = np.nan
    fails(
        DataError,
        "y_true column 'y' has 1 missing value (NaN/None) in 8 rows; fill them, or pass "
        "missing_groups='drop' to leave those rows out",
        df,
    )
    df = eight.astype({"p": float})
    df.loc[[0, 3], "p"] = np.nan
    fails(
        DataError,
        "y_pred column 'p' has 2 missing values (NaN/None) in 8 rows; fill them, or pass "
        "missing_groups='drop' to leave those rows out",
        df,
        missing_groups="as_group",
    )
    df = eight.astype({"g": object})
    df.loc[1, "g"] = None
    fails(
        DataError,
        "sensitive feature 'g' has 1 missing value (NaN/None) in 8 rows; pass missing_groups='drop' "
        "to leave those rows out, or missing_groups='as_group' to judge them as a group of their own",
        df,
    )


def test_labels_that_are_not_binary(eight: pd.DataFrame) -> None:
    fails(
        DataError,
        "y_true column 'y' is not binary: it has 3 distinct values: 0, 1, 2. Map it to two classes; "
        "pos_label (now 1) names the positive one",
        eight.assign(y=[0, 1, 2, 0, 1, 2, 0, 1]),
    )
    named = eight.assign(y=eight["y"].map({1: "yes", 0: "no"}), p=eight["p"].map({1: "yes", 0: "no"}))
    fails(
        DataError,
        "pos_label=1 is not one of the labels of y_true 'y' and y_pred 'p' ('no', 'yes'); "
        "set pos_label to the positive one, e.g. pos_label='yes'",
        named,
    )


def test_probabilities_given_as_y_pred(eight: pd.DataFrame) -> None:
    fails(
        DataError,
        "y_pred column 'p' looks like probabilities (8 distinct values between 0.1 and 0.9); "
        "pass it as y_score='p' with a threshold, e.g. threshold=0.5",
        eight.assign(p=[0.1, 0.9, 0.3, 0.2, 0.8, 0.7, 0.4, 0.6]),
    )


def test_too_few_groups(eight: pd.DataFrame) -> None:
    fails(
        DataError,
        "sensitive feature 'g' has a single group {'g': 'a'} in 8 rows: fairness compares at least two groups",
        eight.assign(g="a"),
    )
    fails(
        DataError,
        "sensitive feature 'g': every group has fewer than min_group_size=30 rows (largest: "
        "{'g': 'a'} with 4 rows); lower min_group_size or use more data",
        eight,
        min_group_size=30,
    )
    bigger = pd.concat([eight] + [eight[eight["g"] == "b"]] * 10)
    fails(
        DataError,
        "sensitive feature 'g': only one group has at least min_group_size=30 rows ({'g': 'b'}: "
        "44 rows), and fairness compares two or more; smaller groups: {'g': 'a'} (4 rows)",
        bigger,
        min_group_size=30,
    )


def test_unknown_metric(eight: pd.DataFrame) -> None:
    with pytest.raises(SpecError) as info:
        run(eight, constraints=[{"metric": "demographic_parity_ration", "min": 0.8}])
    assert str(info.value).startswith(
        "constraints[0].metric: unknown metric 'demographic_parity_ration'. Did you mean 'demographic_parity_ratio'"
    )
    assert "Valid metrics: demographic_parity_difference, demographic_parity_ratio, " in str(info.value)
    assert str(info.value).endswith("balanced_accuracy, f1, roc_auc, log_loss, brier_score")


def test_missing_column(eight: pd.DataFrame) -> None:
    fails(
        DataError, "y_true column 'label' not in the data. Columns in the data: ['g', 'y', 'p']", eight, y_true="label"
    )
    fails(
        DataError,
        "sensitive feature 'sex' not in the data. Columns in the data: ['g', 'y', 'p']",
        eight,
        sensitive_features=["g", "sex"],
    )


SPEC_ERRORS = [
    (
        [{"metric": "demographic_parity_ratio", "min": 1.2}],
        "constraints[0].min: 1.2 cannot be met: a ratio (smaller over larger) lies between 0 and 1",
    ),
    (
        [DP, {"metric": "demographic_parity_difference", "max": -0.1}],
        "constraints[1].max: -0.1 cannot be met: a difference is at least 0 and at most 1 for rates",
    ),
    (
        [{"metric": "true_positive_rate", "aggregate": "group_min", "min": 1.5}],
        "constraints[0].min: 1.5 cannot be met: true_positive_rate lies between 0 and 1",
    ),
    (
        [{"metric": "demographic_parity_ratio", "min": 0.8, "max": 0.5}],
        "constraints[0]: min (0.8) is above max (0.5); no value can meet both",
    ),
    ([{"metric": "demographic_parity_ratio", "min": "0.8"}], "constraints[0].min: expected a number, got '0.8'"),
    (
        [{"metric": "demographic_parity_ratio"}],
        "constraints[0]: give a bound: 'min' and/or 'max' (or a 'baseline' margin)",
    ),
    (
        [{"metric": "true_positive_rate", "min": 0.8}],
        "constraints[0].aggregate: 'true_positive_rate' needs an "
        "aggregate: one of difference, ratio, group_min, group_max, per_group, overall",
    ),
    (
        [{"metric": "true_positive_rate", "aggregate": "min", "min": 0.8}],
        "constraints[0].aggregate: unknown value "
        "'min'. Did you mean 'group_min'? Use one of: difference, ratio, group_min, group_max, per_group, overall",
    ),
    (
        [{"metric": "demographic_parity_ratio", "min": 0.8, "method": "overall"}],
        "constraints[0].method: unknown "
        "value 'overall'. Did you mean 'to_overall'? Use one of: between_groups, to_overall",
    ),
    (
        [{"metric": "equalized_odds_ratio", "min": 0.8, "agg": "worst"}],
        "constraints[0].agg: unknown value 'worst'. Did you mean 'worst_case'? Use one of: worst_case, mean",
    ),
    (
        [{"metric": "demographic_parity_ratio", "min": 0.8, "agg": "mean"}],
        "constraints[0].agg: 'agg' applies to equalized_odds_difference and equalized_odds_ratio only",
    ),
    (
        [{"metric": "demographic_parity_ratio", "min": 0.8, "severity": "fatal"}],
        "constraints[0].severity: severity must be 'block' or 'warn', got 'fatal'",
    ),
    (
        [{"metric": "demographic_parity_ratio", "mn": 0.8}],
        "constraints[0]: unknown key 'mn'. Did you mean 'min'? "
        "Keys: metric, aggregate, method, agg, min, max, baseline, name, severity, rationale, decide_on",
    ),
    (
        [DP, DP],
        "constraints[1].name: 'demographic_parity_ratio' is already the name of constraints[0]; "
        "give each constraint its own 'name'",
    ),
    (
        [{"metric": "demographic_parity_ratio", "min": 0.8, "decide_on": "conservative"}],
        "constraints[0].decide_on: 'conservative' judges the confidence interval: set confidence (e.g. 0.95)",
    ),
    (
        [{"metric": "demographic_parity_ratio", "baseline": {"max_drop": 0.1}}],
        "constraints[0].baseline: expected {'max_increase': x} or {'max_decrease': x}, got {'max_drop': 0.1}",
    ),
    (
        {"metric": "demographic_parity_ratio", "min": 0.8},
        "constraints: expected a list like [{'metric': 'demographic_parity_ratio', 'min': 0.8}], got dict",
    ),
]


@pytest.mark.parametrize(("constraints", "message"), SPEC_ERRORS)
def test_bad_constraints(constraints: Any, message: str) -> None:
    with pytest.raises(SpecError, match=f"^{re.escape(message)}$"):
        validate_constraints(constraints)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            {"decide_on": "conservativ"},
            "decide_on: unknown value 'conservativ'. Did you mean 'conservative'? "
            "Use one of: estimate, conservative, significant",
        ),
        ({"severity": "fatal"}, "severity: severity must be 'block' or 'warn', got 'fatal'"),
        ({"confidence": 95}, "confidence: expected a number between 0 and 1 (e.g. 0.95), got 95"),
        ({"min_group_size": -1}, "min_group_size: expected a whole number of rows (0 or more), got -1"),
        ({"missing_groups": "ignore"}, "missing_groups: unknown value 'ignore'. Use one of: error, drop, as_group"),
    ],
)
def test_bad_options(eight: pd.DataFrame, option: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=f"^{re.escape(message)}$"):
        validate_constraints([DP], **option)
    fails(SpecError, message, eight, **option)


def test_bad_prediction_arguments(eight: pd.DataFrame) -> None:
    fails(
        SpecError,
        "constraints[0]: roc_auc is computed from scores: give y_score (a column of scores)",
        eight,
        constraints=[{"metric": "roc_auc", "aggregate": "difference", "max": 0.1}],
    )
    fails(SpecError, "threshold: applies to y_score; with y_pred given, leave threshold out", eight, threshold=0.5)
    fails(
        SpecError,
        "threshold: expected a number, got '0.5'",
        eight.assign(s=0.3),
        y_pred=None,
        y_score="s",
        threshold="0.5",
    )
    fails(SpecError, "give y_pred (a column of predicted labels), or y_score with a threshold", eight, y_pred=None)


def test_validate_constraints_normalises_and_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from airflow_alignment.engines.fairness import validate_constraints\n"
        "specs = validate_constraints([{'metric': 'equalized_odds_difference', 'max': 0.1}], severity='warn')\n"
        "print(specs[0].name, specs[0].agg, specs[0].method, specs[0].severity)\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'fairlearn', 'sklearn', 'airflow') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "equalized_odds_difference worst_case between_groups warn"
    assert out[1] == "[]"


def test_the_documented_example_runs_and_prints_what_the_docs_say(capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "fairness-engine.md").read_text()
    found = re.search(r"<!-- test: python -->\n```python\n(.*?)```\n\nprints\n\n```\n(.*?)```", text, re.S)
    assert found is not None
    code, printed = found.groups()
    exec(compile(code, "docs/fairness-engine.md", "exec"), {})
    assert capsys.readouterr().out == printed
