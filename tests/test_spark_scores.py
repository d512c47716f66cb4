"""Score metrics inside Spark: ROC AUC (from per-score counts), log loss and Brier score, per
group and overall, equal to scikit-learn's on the same rows (to 1e-12: only the order of the
floating-point sums differs), on a real ``local[2]`` session and a real Spark Connect server.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sklearn import metrics

from airflow_alignment.exceptions import DataError
from airflow_alignment.io.spark_source import SparkSource
from airflow_alignment.spark import scores
from tests.test_spark_counts import DATA, KINDS, TABLE, rows_to_driver, spark  # noqa: F401 - the fixture

ROWS = DATA[DATA["score"].notna()]


def sklearn_scores(frame, pos_label, weight):
    y = (frame["label"] == pos_label).astype(int) if pos_label == "approved" else (frame["y"] == pos_label).astype(int)
    w = frame[weight].to_numpy(dtype=float) if weight else None
    s = frame["score"].to_numpy()
    auc = metrics.roc_auc_score(y, s, sample_weight=w) if y.nunique() == 2 else math.nan
    return {
        "roc_auc": auc,
        "log_loss": metrics.log_loss(y, s, sample_weight=w, labels=[0, 1]),
        "brier_score": metrics.brier_score_loss(y, s, sample_weight=w, pos_label=1),
    }


def close(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


@pytest.mark.parametrize(
    ("features", "y_true", "pos_label", "weight"),
    [
        ([], "y", 1, None),
        (["sex", "race"], "y", 1, None),
        (["race"], "label", "approved", "w_float"),
        (["sex"], "y", 0, "w_int"),
    ],
)
def test_score_metrics_in_spark_equal_sklearn(spark, features, y_true, pos_label, weight):  # noqa: F811 - the fixture
    for kind in KINDS:
        source = SparkSource(spark.conn_ids[kind], table=TABLE)
        with rows_to_driver() as sizes:
            table = scores.score_metrics(
                source,
                features=features,
                y_true=y_true,
                y_score="score",
                pos_label=pos_label,
                sample_weight=weight,
                not_null=["score"],
            )
        assert sizes == [1, len(table)]  # the missing-value check, then one row per group
        groups = ROWS.groupby(features, dropna=False, sort=True) if features else [((), ROWS)]
        assert len(table) == (len(groups) if features else 1)
        for i, (key, rows) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            found = table.iloc[i]
            assert [None if pd.isna(v) else v for v in key] == [
                None if pd.isna(found[f]) else found[f] for f in features
            ]
            assert found["rows"] == len(rows)
            expected = sklearn_scores(rows, pos_label, weight)
            for metric in scores.SCORE_METRICS:
                assert close(found[metric], expected[metric]), (kind, key, metric, found[metric], expected[metric])


def test_one_class_groups_have_no_auc_and_missing_scores_are_refused(spark):  # noqa: F811 - the fixture
    source = SparkSource(spark.conn_ids["connect"], table=TABLE, where="y = 1")
    table = scores.score_metrics(source, features=["sex"], y_true="y", y_score="score", not_null=["score"])
    assert table["roc_auc"].isna().all() and (table["positives"] == table["rows"]).all()
    with pytest.raises(DataError, match=r"y_score column 'score' has 53 missing values in spark://.*not_null="):
        scores.score_metrics(
            SparkSource(spark.conn_ids["local"], table=TABLE), features=[], y_true="y", y_score="score"
        )
