"""The performance engine (numbers a person can check, scikit-learn as the oracle, every bad
input's message, baselines, intervals) and PerformanceCheckOperator (parse time and dag.test)."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from airflow_alignment.engines import performance
from airflow_alignment.engines.fairness import COUNT_METRICS as FAIRNESS_COUNT_METRICS
from airflow_alignment.engines.performance import evaluate, validate_constraints
from airflow_alignment.exceptions import DataError, SourceUnavailableError, SpecError
from tests.conftest import ROOT, TEST_DAGS, checked, load_dag, task_states, xcom_value

# Eight rows: tp = 2, fn = 2, fp = 1, tn = 3. Scores thresholded at 0.5 give the same labels.
EIGHT = pd.DataFrame(
    {
        "label": [1, 1, 1, 1, 0, 0, 0, 0],
        "pred": [1, 1, 0, 0, 1, 0, 0, 0],
        "score": [0.9, 0.8, 0.4, 0.3, 0.7, 0.2, 0.1, 0.35],
        "weight": [1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0],
    }
)
HAND = {
    "accuracy": 5 / 8,
    "error_rate": 3 / 8,
    "precision": 2 / 3,
    "recall": 2 / 4,
    "true_positive_rate": 2 / 4,
    "false_negative_rate": 2 / 4,
    "false_positive_rate": 1 / 4,
    "true_negative_rate": 3 / 4,
    "f1": 4 / 7,  # 2tp / (2tp + fp + fn)
    "balanced_accuracy": (2 / 4 + 3 / 4) / 2,
    "selection_rate": 3 / 8,
    "base_rate": 4 / 8,
    "negative_predictive_value": 3 / 5,
    "false_discovery_rate": 1 / 3,
    "false_omission_rate": 2 / 5,
}
ACCURACY = {"metric": "accuracy", "min": 0.5}
VS_BASELINE = {"metric": "accuracy", "name": "accuracy_vs_baseline", "baseline": {"max_decrease": 0.02}}
NO_BASELINE = "no baseline result given: only the absolute bounds apply"


def run(df=EIGHT, constraints=(ACCURACY,), **kwargs):
    kwargs.setdefault("y_true", "label")
    if "y_score" not in kwargs:
        kwargs.setdefault("y_pred", "pred")
    return checked(evaluate(df, constraints=list(constraints), **kwargs))


def by_name(result):
    return {a.name: a for a in result.assertions}


# -- numbers ----------------------------------------------------------------------------------
def test_count_metrics_on_eight_rows_are_the_hand_computed_ones():
    result = run(constraints=[ACCURACY, {"metric": "recall", "min": 0.5}])
    for name, value in HAND.items():
        assert result.metrics[name] == {"value": pytest.approx(value, abs=1e-15)}, name
    assert result.metrics["rows"] == 8
    assert result.metrics["confusion_matrix"] == {"tn": 3, "fp": 1, "fn": 2, "tp": 2}
    assert result.status == "passed"
    assert result.summary == "all 2 performance constraints passed on 8 rows; closest: recall = 0.5 (min 0.5)"


def test_score_metrics_on_eight_rows_are_the_hand_computed_ones():
    result = run(
        y_score="score",
        constraints=[
            {"metric": "roc_auc", "min": 0.8},
            {"metric": "brier_score", "max": 0.2},
            {"metric": "log_loss", "max": 1},
        ],
    )
    # positives 0.9 0.8 0.4 0.3 against negatives 0.7 0.2 0.1 0.35: 4 + 4 + 3 + 2 of 16 pairs ordered
    assert result.metrics["roc_auc"]["value"] == pytest.approx(13 / 16, abs=1e-15)
    squares = [0.1, 0.2, 0.6, 0.7, 0.7, 0.2, 0.1, 0.35]
    assert result.metrics["brier_score"]["value"] == pytest.approx(sum(d * d for d in squares) / 8, abs=1e-15)
    losses = [-math.log(s) for s in (0.9, 0.8, 0.4, 0.3)] + [-math.log(1 - s) for s in (0.7, 0.2, 0.1, 0.35)]
    assert result.metrics["log_loss"]["value"] == pytest.approx(sum(losses) / 8, abs=1e-12)
    assert "accuracy" not in result.metrics  # no threshold: no predicted labels
    assert result.status == "passed"


def test_recall_is_the_true_positive_rate_and_every_count_metric_is_the_fairness_engines():
    assert set(performance.COUNT_METRICS) - set(performance.ALIASES) <= set(FAIRNESS_COUNT_METRICS)
    assert set(performance.ALIASES.values()) <= set(FAIRNESS_COUNT_METRICS)


def _sklearn(name, y, pred, score, weight):
    kw = {"sample_weight": weight}
    return {
        "accuracy": lambda: skm.accuracy_score(y, pred, **kw),
        "precision": lambda: skm.precision_score(y, pred, **kw),
        "recall": lambda: skm.recall_score(y, pred, **kw),
        "f1": lambda: skm.f1_score(y, pred, **kw),
        "balanced_accuracy": lambda: skm.balanced_accuracy_score(y, pred, **kw),
        "true_negative_rate": lambda: skm.recall_score(y, pred, pos_label=0, **kw),
        "negative_predictive_value": lambda: skm.precision_score(y, pred, pos_label=0, **kw),
        "roc_auc": lambda: skm.roc_auc_score(y, score, **kw),
        "log_loss": lambda: skm.log_loss(y, score, labels=[0, 1], **kw),
        "brier_score": lambda: skm.brier_score_loss(y, score, **kw),
    }[name]()


ORACLE_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "balanced_accuracy",
    "true_negative_rate",
    "negative_predictive_value",
    "roc_auc",
    "log_loss",
    "brier_score",
)


def _check_against_sklearn(frame, weighted, pos_label):
    """Every oracle metric of ``frame`` (label, score, weight) equals scikit-learn's, or is
    undefined where scikit-learn divides by zero."""
    constraints = [{"metric": m, "max": 1e9 if m == "log_loss" else 1} for m in ORACLE_METRICS]
    result = run(
        frame,
        constraints,
        y_score="score",
        threshold=0.5,
        pos_label=pos_label,
        sample_weight="weight" if weighted else None,
    )
    y = (frame["label"] == pos_label).to_numpy().astype(int)
    score = frame["score"].to_numpy()
    pred = (score >= 0.5).astype(int)
    weight = frame["weight"].to_numpy() if weighted else None
    for name in ORACLE_METRICS:
        got = result.metrics[name]
        if got["value"] is None:  # scikit-learn reports 0 (or drops a class) here; we say why
            assert got["reason"].startswith("the data has"), got
            continue
        assert got["value"] == pytest.approx(_sklearn(name, y, pred, score, weight), abs=1e-12), name


@pytest.mark.parametrize(("weighted", "labels"), itertools.product((False, True), ((0, 1), ("bad", "good"))))
def test_numbers_equal_sklearn_on_a_fixed_dataset(weighted, labels):
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 2, 500)
    score = np.clip(0.35 * truth + rng.random(500) * 0.65, 0, 1)
    frame = pd.DataFrame(
        {"label": np.asarray(labels, dtype=object)[truth], "score": score, "weight": rng.gamma(2.0, 1.0, 500)}
    )
    _check_against_sklearn(frame, weighted, pos_label=labels[1])


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 1), st.floats(0, 1), st.floats(0, 5, allow_subnormal=False)), min_size=2, max_size=40
    ),
    weighted=st.booleans(),
)
def test_numbers_equal_sklearn_on_any_data(rows, weighted):
    frame = pd.DataFrame(rows, columns=["label", "score", "weight"])
    if weighted and frame["weight"].sum() <= 0:
        weighted = False
    if frame["label"].nunique() < 2:  # scikit-learn's ROC AUC raises on one class; ours is null
        frame.loc[0, "label"] = 1 - frame.loc[0, "label"]
    _check_against_sklearn(frame, weighted, pos_label=1)


def test_an_undefined_metric_is_null_with_its_reason_and_fails_its_constraint():
    result = run(EIGHT.assign(pred=0), [{"metric": "precision", "min": 0.5}, ACCURACY])
    assert result.metrics["precision"] == {"value": None, "reason": "the data has no predicted positives"}
    precision = by_name(result)["precision"]
    assert precision.observed is None and precision.success is False
    assert precision.details["reason"] == "the data has no predicted positives"
    assert result.summary == "precision is undefined (the data has no predicted positives); 1 of 2 constraints failed"


def test_roc_auc_of_a_single_class_is_null():
    result = run(EIGHT.assign(label=1), [{"metric": "roc_auc", "min": 0.5}], y_score="score")
    assert result.metrics["roc_auc"] == {
        "value": None,
        "reason": "the data has only one class of y_true: ROC AUC needs both",
    }
    assert result.status == "failed"


def test_sample_weights_weight_the_cells():
    result = run(constraints=[ACCURACY], sample_weight="weight")
    # weights 1,2,1,2 on the positives, 1,2,1,2 on the negatives: tp 3, fn 3, fp 1, tn 5
    assert result.metrics["weighted_confusion_matrix"] == {"tn": 5.0, "fp": 1.0, "fn": 3.0, "tp": 3.0}
    assert result.metrics["accuracy"]["value"] == pytest.approx(8 / 12, abs=1e-15)
    assert result.metrics["weight"] == 12.0 and result.metrics["rows"] == 8


# -- verdicts and summaries -------------------------------------------------------------------
def test_a_failed_bound_names_the_metric_value_and_bound():
    result = run(
        constraints=[{"metric": "accuracy", "min": 0.7, "rationale": "beats the rule"}, {"metric": "f1", "min": 0.5}]
    )
    assert result.status == "failed"
    assert result.summary == "accuracy = 0.625 (min 0.7); 1 of 2 constraints failed"
    accuracy = by_name(result)["accuracy"]
    assert accuracy.observed == 0.625 and accuracy.expected == {"min": 0.7, "max": None}
    assert accuracy.details == {"metric": "accuracy", "decide_on": "estimate", "rationale": "beats the rule"}


def test_a_warn_constraint_warns():
    result = run(constraints=[{"metric": "accuracy", "min": 0.7, "severity": "warn"}, {"metric": "f1", "min": 0.5}])
    assert result.status == "warned"
    assert result.summary == "accuracy = 0.625 (min 0.7); 1 of 2 constraints failed (0 blocking, 1 warning)"


def test_the_worst_violation_leads_the_summary():
    result = run(constraints=[{"metric": "accuracy", "min": 0.7}, {"metric": "false_positive_rate", "max": 0.05}])
    assert result.summary == "false_positive_rate = 0.25 (max 0.05); 2 of 2 constraints failed"


# -- intervals --------------------------------------------------------------------------------
def test_count_metric_intervals_contain_the_estimate_and_are_seeded():
    result = run(constraints=[ACCURACY], confidence=0.9)
    for name in set(HAND) - {"recall"}:  # recall is reported when a constraint reads it
        low, high = result.metrics[name]["ci"]
        assert low <= result.metrics[name]["value"] <= high, name
    assert by_name(result)["accuracy"].details["ci"] == result.metrics["accuracy"]["ci"]
    assert by_name(result)["accuracy"].details["confidence"] == 0.9
    assert run(constraints=[ACCURACY], confidence=0.9).metrics == result.metrics  # random_state=0
    assert result.metrics["settings"]["n_boot"] == 1000


def test_score_metrics_get_a_row_bootstrap_interval_on_small_data():
    result = run(constraints=[{"metric": "roc_auc", "min": 0.5}], y_score="score", confidence=0.9, n_boot=200)
    low, high = result.metrics["roc_auc"]["ci"]
    assert low <= 13 / 16 <= high <= 1


def test_score_metrics_over_the_bootstrap_budget_say_they_have_no_interval():
    result = run(
        constraints=[{"metric": "roc_auc", "min": 0.9, "decide_on": "conservative"}], y_score="score", confidence=0.9
    )  # n_boot=1000
    note = (
        "no confidence interval for roc_auc: a row bootstrap of 1,000 scikit-learn calls on 8 rows is over the "
        "time budget; n_boot=399 or fewer would get one"
    )
    assert result.metrics["roc_auc"] == {"value": 0.8125, "ci_note": note}
    details = by_name(result)["roc_auc"].details
    assert details["ci_note"] == note and "ci" not in details
    assert details["decided_on"] == "estimate"


def test_decide_on_judges_the_interval():
    conservative = run(constraints=[{**ACCURACY, "decide_on": "conservative"}], confidence=0.9)
    assert conservative.status == "failed"
    low, high = conservative.metrics["accuracy"]["ci"]
    assert low < 0.5 and high > 0.625
    assert conservative.summary.startswith(
        f"accuracy = 0.625 (90% CI {low:.4g} to {high:.4g}; min 0.5, decide_on=conservative)"
    )
    significant = run(constraints=[{"metric": "accuracy", "min": 0.7, "decide_on": "significant"}], confidence=0.9)
    assert significant.status == "passed"
    assert by_name(significant)["accuracy"].details["estimate_success"] is False


# -- baselines --------------------------------------------------------------------------------
def _baseline_result():
    better = EIGHT.assign(pred=[1, 1, 1, 0, 1, 0, 0, 0])  # accuracy 0.75
    return run(better, [ACCURACY, VS_BASELINE])


def test_without_a_baseline_only_the_absolute_bounds_apply():
    result = run(constraints=[ACCURACY, VS_BASELINE])
    assert result.status == "passed"
    assert by_name(result)["accuracy_vs_baseline"].details["baseline"] == {
        "status": "no_baseline",
        "message": NO_BASELINE,
        "max_decrease": 0.02,
    }
    assert result.metrics["baseline"] == {"given": False, "message": NO_BASELINE}
    assert result.summary == "all 2 performance constraints passed on 8 rows; closest: accuracy = 0.625 (min 0.5)"


@pytest.mark.parametrize("form", ["CheckResult", "dict", "path"])
def test_a_drop_beyond_the_margin_fails(form, tmp_path):
    base = _baseline_result()
    given_as = {"CheckResult": base, "dict": base.to_dict(), "path": tmp_path / "base.json"}[form]
    (tmp_path / "base.json").write_text(base.to_json())
    result = run(constraints=[ACCURACY, VS_BASELINE], baseline=str(given_as) if form == "path" else given_as)
    assert result.status == "failed"
    assert result.summary == (
        "accuracy_vs_baseline = 0.625, down 0.125 from the baseline 0.75 (max_decrease 0.02); 1 of 2 constraints failed"
    )
    compared = by_name(result)["accuracy_vs_baseline"].details["baseline"]
    assert compared == {
        "status": "compared",
        "baseline_observed": 0.75,
        "change": -0.125,
        "max_decrease": 0.02,
        "success": False,
    }
    # a constraint without a margin records the change as reference only
    assert by_name(result)["accuracy"].details["baseline"] == {
        "status": "reference",
        "baseline_observed": 0.75,
        "change": -0.125,
    }
    assert result.metrics["baseline"]["given"] is True


def test_a_drop_within_the_margin_passes():
    result = run(
        EIGHT.assign(pred=[1, 1, 1, 0, 1, 0, 0, 0]),
        [ACCURACY, {**VS_BASELINE, "baseline": {"max_decrease": 0.2}}],
        baseline=run(constraints=[ACCURACY, VS_BASELINE]),
    )
    assert result.status == "passed"
    assert by_name(result)["accuracy_vs_baseline"].details["baseline"]["change"] == 0.125


def test_a_baseline_without_the_assertion_leaves_the_absolute_bounds():
    result = run(constraints=[{**VS_BASELINE, "name": "renamed"}], baseline=_baseline_result())
    assert result.status == "passed"
    assert by_name(result)["renamed"].details["baseline"]["status"] == "missing"


def test_a_baseline_of_another_kind_or_shape_is_refused(tmp_path):
    fairness = {**_baseline_result().to_dict(), "kind": "fairness"}
    with pytest.raises(SpecError, match=r"^baseline: dict is a 'fairness' result, not a performance one$"):
        run(baseline=fairness)
    with pytest.raises(SpecError, match=r"^baseline: expected a CheckResult, its dict, or a path / URI, got int$"):
        run(baseline=3)
    with pytest.raises(SpecError, match=r"^baseline: dict is not a CheckResult: not a airflow-alignment"):
        run(baseline={"status": "passed"})
    with pytest.raises(SourceUnavailableError, match=r"^baseline result not found: "):
        run(baseline=str(tmp_path / "missing.json"))


# -- bad data ---------------------------------------------------------------------------------
BAD_DATA = [
    (
        {"y_pred": "prediction"},
        "y_pred column 'prediction' not in the data. Did you mean 'pred'? "
        "Columns in the data: ['label', 'pred', 'score', 'weight']",
    ),
    (
        {"y_pred": "score"},
        "y_pred column 'score' looks like probabilities (8 distinct values between 0.1 and 0.9); "
        "pass it as y_score='score' with a threshold, e.g. threshold=0.5",
    ),
    (
        {"df": EIGHT.assign(label=[0, 1, 2, 1, 0, 0, 0, 0])},
        "y_true column 'label' is not binary: it has 3 distinct "
        "values: 0, 1, 2. Map it to two classes; pos_label (now 1) names the positive one",
    ),
    (
        {"df": EIGHT.assign(pred=[1, None, 0, 0, 1, 0, 0, 0])},
        "y_pred column 'pred' has 1 missing value (NaN/None) in 8 rows; fill them, or leave those rows out of the data",
    ),
    (
        {"df": EIGHT.assign(pred=["a", "b"] * 4)},
        "y_true 'label' and y_pred 'pred' use different labels: y_true has "
        "0, 1, y_pred has 'a', 'b'; together they must be two classes",
    ),
    (
        {
            "df": EIGHT.assign(score=EIGHT["score"] * 4 - 1),
            "y_score": "score",
            "constraints": [{"metric": "roc_auc", "min": 0.5}, {"metric": "log_loss", "max": 0.5}],
        },
        "y_score column 'score' has values outside [0, 1] (from -0.6 to 2.6), but "
        "log_loss (constraints[1]) needs probabilities of the positive class; give probabilities, or judge roc_auc, "
        "which takes any score",
    ),
    (
        {"y_score": "score", "pos_label": 2, "constraints": [{"metric": "roc_auc", "min": 0.5}]},
        "pos_label=2 is not one "
        "of the labels of y_true 'label' (0, 1); set pos_label to the positive one, e.g. pos_label=1",
    ),
    (
        {"df": EIGHT.assign(weight=-EIGHT["weight"]), "sample_weight": "weight"},
        "sample_weight column 'weight' has 8 "
        "negative or infinite values, e.g. -2.0, -1.0; weights must be finite and at least 0",
    ),
    ({"df": EIGHT.iloc[:0]}, "the dataset is empty (0 rows): there is nothing to check"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_DATA)
def test_bad_data_is_refused_with_a_message_that_says_the_fix(kwargs, message):
    with pytest.raises(DataError) as caught:
        run(**kwargs)
    assert str(caught.value) == message


BAD_ARGUMENTS = [
    (
        {"y_pred": "pred", "constraints": [{"metric": "roc_auc", "min": 0.5}]},
        "constraints[0]: roc_auc is computed from scores: give y_score (a column of scores)",
    ),
    (
        {"y_score": "score"},
        "constraints[0]: accuracy is computed from predicted labels: give y_pred "
        "(a column of predicted labels), or y_score with a threshold",
    ),
    ({"threshold": 0.5}, "threshold: applies to y_score; with y_pred given, leave threshold out"),
    ({"y_score": "score", "threshold": "half"}, "threshold: expected a number, got 'half'"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_ARGUMENTS)
def test_arguments_that_do_not_fit_the_constraints_are_refused(kwargs, message):
    with pytest.raises(SpecError) as caught:
        run(**kwargs)
    assert str(caught.value) == message


# -- constraint validation --------------------------------------------------------------------
METRIC_LIST = ", ".join(performance.METRICS)
KEY_LIST = "metric, min, max, baseline, name, severity, rationale, decide_on"
BAD_CONSTRAINTS = [
    ([{"metric": "accuracy", "max": "ten"}], "constraints[0].max: expected a number, got 'ten'"),
    (
        [ACCURACY, {"metric": "acuracy", "min": 0.7}],
        "constraints[1].metric: unknown metric 'acuracy'. Did you mean "
        f"'accuracy' or 'balanced_accuracy'? Valid metrics: {METRIC_LIST}",
    ),
    (
        [{"metric": "demographic_parity_ratio", "min": 0.8}],
        "constraints[0].metric: unknown metric "
        "'demographic_parity_ratio'. 'demographic_parity_ratio' compares groups: judge it with FairnessCheckOperator. "
        f"Valid metrics: {METRIC_LIST}",
    ),
    (
        [{"metric": "accuracy", "minimum": 0.7}],
        f"constraints[0]: unknown key 'minimum'. Did you mean 'min'? Keys: {KEY_LIST}",
    ),
    (
        [{"metric": "accuracy", "aggregate": "overall", "min": 0.7}],
        "constraints[0]: unknown key 'aggregate' "
        f"(a fairness key: performance judges the whole data). Keys: {KEY_LIST}",
    ),
    ([{"metric": "accuracy", "min": 1.2}], "constraints[0].min: 1.2 cannot be met: accuracy lies between 0 and 1"),
    ([{"metric": "recall", "max": -0.1}], "constraints[0].max: -0.1 cannot be met: recall lies between 0 and 1"),
    ([{"metric": "log_loss", "max": -1}], "constraints[0].max: -1 cannot be met: log_loss is at least 0"),
    (
        [{"metric": "accuracy", "min": 0.9, "max": 0.8}],
        "constraints[0]: min (0.9) is above max (0.8); no value can meet both",
    ),
    ([{"metric": "accuracy"}], "constraints[0]: give a bound: 'min' and/or 'max' (or a 'baseline' margin)"),
    (
        [ACCURACY, ACCURACY],
        "constraints[1].name: 'accuracy' is already the name of constraints[0]; give each constraint its own 'name'",
    ),
    (
        [{"metric": "accuracy", "baseline": {"decrease": 0.1}}],
        "constraints[0].baseline: expected {'max_increase': x} or {'max_decrease': x}, got {'decrease': 0.1}",
    ),
    (
        [{"metric": "accuracy", "baseline": {"max_decrease": -1}}],
        "constraints[0].baseline.max_decrease: expected a number of at least 0, got -1",
    ),
    (
        [{**ACCURACY, "decide_on": "conservative"}],
        "constraints[0].decide_on: 'conservative' judges the confidence interval: set confidence (e.g. 0.95)",
    ),
    ([{**ACCURACY, "severity": "fatal"}], "constraints[0].severity: severity must be 'block' or 'warn', got 'fatal'"),
    ([{**ACCURACY, "name": 3}], "constraints[0].name: expected a string, got int"),
    ([{"min": 0.5}], "constraints[0]: missing 'metric' (e.g. 'accuracy' or 'roc_auc')"),
    (["accuracy"], "constraints[0]: expected an object like {'metric': 'accuracy', 'min': 0.7}, got str"),
    ({"metric": "accuracy"}, "constraints: expected a list like [{'metric': 'accuracy', 'min': 0.7}], got dict"),
    ([], "constraints: the list is empty; give at least one, e.g. {'metric': 'accuracy', 'min': 0.7}"),
]


@pytest.mark.parametrize(("constraints", "message"), BAD_CONSTRAINTS)
def test_bad_constraints_name_their_position(constraints, message):
    with pytest.raises(SpecError) as caught:
        validate_constraints(constraints)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"confidence": 2}, "confidence: expected a number between 0 and 1 (e.g. 0.95), got 2"),
        ({"n_boot": 0}, "n_boot: expected a whole number of bootstrap replicates of at least 1, got 0"),
        ({"decide_on": "sure"}, "decide_on: unknown value 'sure'. Use one of: estimate, conservative, significant"),
        ({"severity": "fatal"}, "severity: severity must be 'block' or 'warn', got 'fatal'"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(SpecError) as caught:
        validate_constraints([ACCURACY], **options)
    assert str(caught.value) == message


def test_constraints_are_normalised():
    spec = validate_constraints([{"metric": "recall", "min": 0.6}, VS_BASELINE], severity="warn")
    assert [(s.name, s.formula, s.severity, s.decide_on) for s in spec] == [
        ("recall", "true_positive_rate", "warn", "estimate"),
        ("accuracy_vs_baseline", "accuracy", "warn", "estimate"),
    ]
    assert validate_constraints([{"metric": "log_loss", "min": 5}])[0].min == 5  # no ceiling on log loss


def test_validation_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from airflow_alignment.engines.performance import validate_constraints\n"
        "validate_constraints([{'metric': 'accuracy', 'min': 0.7}])\n"
        "print([m for m in ('numpy', 'pandas', 'sklearn', 'fairlearn', 'airflow') if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


# -- the operator -----------------------------------------------------------------------------
def _build(**kwargs):
    from airflow.sdk import DAG

    from airflow_alignment.operators.performance import PerformanceCheckOperator

    args = {"task_id": "performance", "data": "p.parquet", "y_true": "y", "y_pred": "p", "constraints": [ACCURACY]}
    args.update(kwargs)
    with DAG(dag_id="performance_parse", schedule=None, start_date=datetime(2026, 1, 1)):
        return PerformanceCheckOperator(**args)


def test_constraints_are_validated_when_the_dag_is_parsed():
    operator = _build()
    assert operator.options == {"decide_on": "estimate", "confidence": None, "n_boot": 1000, "severity": "block"}
    with pytest.raises(SpecError, match=r"^constraints\[0\]\.metric: unknown metric 'acuracy'"):
        _build(constraints=[{"metric": "acuracy", "min": 0.7}])
    with pytest.raises(SpecError, match=r"^constraints\[0\]\.decide_on: 'significant' judges the confidence interval"):
        _build(decide_on="significant")
    with pytest.raises(
        SpecError, match=r"^PerformanceCheckOperator: give exactly one of y_pred= \(labels\) or y_score="
    ):
        _build(y_score="s")
    with pytest.raises(SpecError, match=r"^PerformanceCheckOperator: y_true= is required$"):
        _build(y_true=None)
    with pytest.raises(SpecError, match=r"^PerformanceCheckOperator\.data: no data source given"):
        _build(data=None)
    _build(constraints="{{ var.json.performance_constraints }}")  # templated: checked at run time
    _build(constraints=[{"metric": "accuracy", "min": "{{ params.min_accuracy }}"}])


def test_the_operator_takes_its_arguments_from_a_policy_check():
    policy = ROOT / "dags" / "policies" / "lending.yaml"
    operator = _build(
        data="predictions.parquet", y_true=None, y_pred=None, constraints=None, policy=str(policy), check="performance"
    )
    assert operator.columns == {"y_true": "repaid", "y_pred": "approved", "y_score": None, "sample_weight": None}
    assert [c["name"] for c in operator.constraints if "name" in c] == ["accuracy_vs_production"]
    assert operator.check_name == "performance" and operator.policy_ref["name"] == "lending"
    with pytest.raises(SpecError, match="policy check 'fairness' is of kind 'fairness'"):
        _build(policy=str(policy), check="fairness")


@pytest.fixture()
def predictions(tmp_path):
    """600 rows: good scores (accuracy near 0.8 at 0.5) and a weaker model's labels (near 0.7)."""
    rng = np.random.default_rng(3)
    label = rng.integers(0, 2, 600)
    score = np.clip(np.where(label == 1, 0.65, 0.35) + rng.normal(0, 0.18, 600), 0, 1)
    pred = np.where(rng.random(600) < 0.7, label, 1 - label)
    path = tmp_path / "predictions.parquet"
    pd.DataFrame({"label": label, "score": score, "pred": pred}).to_parquet(path)
    return path


@pytest.mark.airflow
def test_dag_test_passes_then_fails_against_its_stored_baseline(airflow_home, predictions):
    first = load_dag(TEST_DAGS / "performance_cases.py", "performance_passes").test(run_conf={"path": str(predictions)})
    assert task_states(first) == {"check": "success"}
    passed = checked(xcom_value(first, "check"))
    assert passed["status"] == "passed" and passed["kind"] == "performance"
    assert passed["summary"].startswith("all 3 performance constraints passed on 600 rows; closest: ")
    assert passed["assertions"][2]["details"]["baseline"]["message"] == NO_BASELINE
    assert "ci" in passed["metrics"]["roc_auc"] and "ci" in passed["metrics"]["accuracy"]

    second = load_dag(TEST_DAGS / "performance_cases.py", "performance_fails").test(
        run_conf={"path": str(predictions), "baseline": passed["full_result"]}
    )
    assert task_states(second) == {"check": "failed"}
    failed = checked(xcom_value(second, "check"))
    assert failed["status"] == "failed"
    base, now = passed["metrics"]["accuracy"]["value"], failed["metrics"]["accuracy"]["value"]
    assert 0.6 < now < base - 0.02
    assert failed["summary"].startswith(f"accuracy_vs_baseline = {now:.4g}, down ")
    assert failed["summary"].endswith("(max_decrease 0.02); 1 of 2 constraints failed")
    assert json.loads(Path(failed["full_result"]).read_text())["summary"] == failed["summary"]  # stored first
