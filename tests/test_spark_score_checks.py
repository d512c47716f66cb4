"""Fairness and performance checks with score metrics (ROC AUC, log loss, Brier) on a SparkSource:
the counts come from Spark's cell table and the score metrics from ``spark.scores``, computed
inside Spark; no row reaches the driver (a guard counts what ``collect`` brings back and fails
``toPandas`` and the like). The results equal the engines' on the pandas rows (``to_dict()`` bar
``data`` and timings; floats to 1e-12 relative: only the order of floating-point sums differs),
on a real ``local[2]`` session and a real Spark Connect server. A score metric with a bootstrap
interval (performance ``confidence``) needs the rows: a ``SpecError`` says so and the fix.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_alignment.engines import fairness, performance
from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.io.spark_source import SparkSource
from airflow_alignment.specs import FairnessSpec, PerformanceSpec
from airflow_alignment.specs.metrics import SCORE_METRICS
from airflow_alignment.tasks.labelled import counted
from tests.conftest import checked
from tests.test_cells import DP, assert_same, strip
from tests.test_spark_counts import DATA, KINDS, TABLE, rows_to_driver, spark  # noqa: F401 - the fixture

REL = 1e-12
SCORED = DATA[DATA["score"].notna()]  # the rows of the sources filtered by ``score IS NOT NULL``
AUC_GAP = {"metric": "roc_auc", "aggregate": "difference", "max": 0.2}


def spark_result(engine: Any, spec: Any, source: SparkSource, **options: Any) -> tuple[dict[str, Any], list[int]]:
    """The engine's result on the cells and score metrics Spark computed, and the sizes of what
    each ``collect`` brought back."""
    with rows_to_driver() as sizes:
        table = counted(source, spec)
        assert table is not None and table.scored
        result = checked(engine(table, spec, **options)).to_dict()
    assert max(sizes) < 200, f"rows back to the driver: {sizes}"
    return result, sizes


@pytest.mark.parametrize(
    ("options", "where", "rows"),
    [
        (  # intersectional groups, weights, rows with a missing race or score dropped, marginal views
            {
                "sensitive_features": ["sex", "race"],
                "sample_weight": "w_float",
                "missing_groups": "drop",
                "marginal": True,
                "constraints": [AUC_GAP, DP, {"metric": "log_loss", "aggregate": "group_max", "max": 0.7}],
            },
            None,
            DATA,
        ),
        (  # a missing race as a group of its own; string labels; brier per group; ratio of AUCs
            {
                "sensitive_features": "race",
                "y_true": "label",
                "pos_label": "approved",
                "missing_groups": "as_group",
                "min_group_size": 50,
                "constraints": [
                    {"metric": "brier_score", "aggregate": "per_group", "max": 0.2},
                    {"metric": "roc_auc", "aggregate": "ratio", "min": 0.9},
                    {"metric": "true_positive_rate", "aggregate": "difference", "max": 0.1},
                ],
            },
            "score IS NOT NULL",
            SCORED,
        ),
        (  # a bootstrap: the count metrics get intervals from the cells, score metrics none (as from rows)
            {
                "sensitive_features": ["sex"],
                "sample_weight": "w_int",
                "confidence": 0.9,
                "n_boot": 200,
                "random_state": 4,
                "constraints": [AUC_GAP, DP],
            },
            "score IS NOT NULL",
            SCORED,
        ),
    ],
    ids=["intersectional-weights-drop-marginal", "as-group-string-labels", "bootstrap"],
)
def test_fairness_score_metrics_in_spark_equal_the_rows(spark, options, where, rows):  # noqa: F811 - the fixture
    spec = FairnessSpec(**{"y_true": "y", "y_score": "score", "threshold": 0.5, **options})
    expected = strip(checked(fairness.evaluate(rows, spec)).to_dict())
    assert any(a["details"]["metric"] in SCORE_METRICS for a in expected["assertions"])
    for kind in KINDS:
        source = SparkSource(spark.conn_ids[kind], table=TABLE, where=where)
        result, sizes = spark_result(fairness.evaluate, spec, source)
        assert_same(expected, strip(result), REL, path=kind)
        assert result["data"]["rows"] == len(rows) and result["data"]["fingerprint"].startswith("sha256:cells:")
        # one cell count; then per grouping asked (overall, groups, each feature alone):
        # the missing-value check, and one row per group
        groupings = 2 + (len(spec.features) if spec.marginal else 0)
        assert len(sizes) == 1 + 2 * groupings, sizes


def test_performance_score_metrics_in_spark_equal_the_rows(spark):  # noqa: F811 - the fixture
    constraints = [
        {"metric": "roc_auc", "min": 0.8},
        {"metric": "log_loss", "max": 0.5},
        {"metric": "brier_score", "max": 0.15},
        {"metric": "accuracy", "min": 0.7},
        {"metric": "roc_auc", "name": "auc_vs_production", "baseline": {"max_decrease": 0.001}},
    ]
    base = {"y_true": "y", "y_score": "score", "threshold": 0.5, "sample_weight": "w_int"}
    # a baseline a little better than today: the baseline constraint fails on both paths
    spec = PerformanceSpec(**base, constraints=constraints)
    production = performance.evaluate(SCORED, spec).to_dict()
    for assertion in production["assertions"]:
        assertion["observed"] += 0.01
    expected = strip(checked(performance.evaluate(SCORED, spec, baseline=production)).to_dict())
    assert expected["status"] == "failed" and [a["success"] for a in expected["assertions"]][-1] is False
    for kind in KINDS:
        source = SparkSource(spark.conn_ids[kind], table=TABLE, where="score IS NOT NULL")
        result, sizes = spark_result(performance.evaluate, spec, source, baseline=production)
        assert_same(expected, strip(result), REL, path=kind)
        assert sizes == [len(counted(source, spec).frame), 1, 1]  # cells; missing-value check; one row

    # without a threshold: the score metrics alone, from Spark
    spec = PerformanceSpec(y_true="label", pos_label="approved", y_score="score", constraints=constraints[:3])
    expected = strip(checked(performance.evaluate(SCORED, spec)).to_dict())
    result, _ = spark_result(
        performance.evaluate, spec, SparkSource(spark.conn_ids["local"], table=TABLE, where="score IS NOT NULL")
    )
    assert_same(expected, strip(result), REL)


def test_score_metrics_that_need_the_rows_are_refused_with_the_fix(spark):  # noqa: F811 - the fixture
    source = SparkSource(spark.conn_ids["local"], table=TABLE, where="score IS NOT NULL")
    spec = PerformanceSpec(
        y_true="y",
        y_score="score",
        threshold=0.5,
        confidence=0.95,
        n_boot=100,
        constraints=[{"metric": "accuracy", "min": 0.5}, {"metric": "roc_auc", "min": 0.8}],
    )
    with rows_to_driver():
        table = counted(source, spec)
        with pytest.raises(SpecError) as raised:
            performance.evaluate(table, spec)
    assert str(raised.value) == (
        "constraints[1]: roc_auc with confidence=0.95 needs the rows: its interval is a row bootstrap, and the rows "
        f"of spark://{spark.conn_ids['local']}/{TABLE} WHERE score IS NOT NULL are not read here (the metric itself "
        "is computed where they live); leave confidence out of the checks of roc_auc, log_loss, brier_score (judge "
        "the count metrics with intervals in a check of their own), or read the rows (a FileSource of the same data)"
    )

    # a callable still reads the rows: no cell table
    def gap(y_true, y_pred):
        return float((y_true != y_pred).mean())

    callable_spec = FairnessSpec(
        y_true="y",
        y_score="score",
        threshold=0.5,
        sensitive_features="sex",
        constraints=[{"metric": gap, "aggregate": "difference", "max": 1}],
    )
    assert counted(source, callable_spec) is None


def test_scores_outside_zero_one_are_refused_for_log_loss(spark):  # noqa: F811 - the fixture
    query = f"SELECT sex, y, score * 2 AS s FROM {TABLE} WHERE score IS NOT NULL"
    source = SparkSource(spark.conn_ids["local"], query=query)
    spec = FairnessSpec(
        y_true="y",
        y_score="s",
        sensitive_features="sex",
        constraints=[{"metric": "log_loss", "aggregate": "group_max", "max": 1}],
    )
    with pytest.raises(
        DataError,
        match=r"metric 'log_loss' could not be computed: y_score column 's' has values outside \[0, 1\] \(from 0 to 2",
    ):
        fairness.evaluate(counted(source, spec), spec)
    spec = PerformanceSpec(y_true="y", y_score="s", constraints=[{"metric": "brier_score", "max": 1}])
    rows = SCORED.assign(s=SCORED["score"] * 2)
    with pytest.raises(DataError) as expected:
        performance.evaluate(rows, spec)
    with pytest.raises(DataError) as raised:
        performance.evaluate(counted(source, spec), spec)
    assert str(raised.value) == str(expected.value)


def test_the_feedback_sensor_judges_score_metrics_of_the_labelled_rows_in_spark(spark):  # noqa: F811 - the fixture
    from airflow_alignment.sensors.fairness import _labelled_cells_or_rows

    spec = FairnessSpec(
        y_true="y_late",
        y_score="score",
        threshold=0.5,
        sensitive_features="sex",
        constraints=[AUC_GAP, {"metric": "brier_score", "aggregate": "group_max", "max": 0.3}],
    )
    labelled = SCORED[SCORED["y_late"].notna()]
    expected = strip(checked(fairness.evaluate(labelled, spec)).to_dict())
    source = SparkSource(spark.conn_ids["connect"], table=TABLE, where="score IS NOT NULL")
    with rows_to_driver() as sizes:
        target = _labelled_cells_or_rows(source, spec, None)  # the labelled rows: y_late not null
        result = checked(fairness.evaluate(target, spec)).to_dict()
    assert target.scored and max(sizes) < 200
    assert_same(expected, strip(result), REL)
    assert result["data"]["rows"] == len(labelled)
