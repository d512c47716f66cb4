"""Bootstrap intervals of the bias catalogue's metrics with sample weights and on multi-class
labels (engines/bias/judge.py): exact where the weights carry no information (every weight the
same), close to a row bootstrap computed here from the rows, and covering the population value
at about the stated rate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines.bias import counts as bias_counts
from airflow_alignment.engines.bias import judge as bias_judge
from airflow_alignment.engines.binary import judging
from airflow_alignment.engines.data_bias import evaluate
from airflow_alignment.specs.constraints import bias_constraints

F = {"sex": "F"}


def _frame(n: int, seed: int, classes: int = 2) -> pd.DataFrame:
    """Rows whose label depends on sex, weights that depend on the label (so weighting moves
    the shares), predictions that follow the label with noise."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n, p=[0.35, 0.65])
    if classes == 2:
        y = (rng.random(n) < np.where(sex == "F", 0.35, 0.55)).astype(int)
    else:
        y = rng.choice(["low", "mid", "high"], n, p=[0.3, 0.4, 0.3])
        y = np.where((sex == "F") & (rng.random(n) < 0.2), "low", y)
    positive = np.isin(y, [1, "high", "mid"])
    # heavy-tailed weights, twice as large on average for a positive label: weighting moves the
    # shares, and the spread of the weights within a cell matters to the interval
    weight = (rng.lognormal(0, 1, n) * np.where(positive, 2.0, 1.0)).round(4)
    pred = np.where(rng.random(n) < 0.8, positive, ~positive).astype(int)
    if classes != 2:  # predictions in the label's values, as Clarify reads them
        pred = np.where(pred == 1, "high", "low")
    return pd.DataFrame({"sex": sex, "y": y, "pred": pred, "w": weight})


def _judge(
    df: pd.DataFrame,
    metric: str,
    stage: str,
    *,
    weight: str | None,
    positive: list[Any],
    seed: int = 5,
    n_boot: int = 400,
) -> Any:
    counts = bias_counts.from_frame(
        df,
        facets=["sex"],
        label="y",
        prediction="pred" if stage == "post_training" else None,
        sample_weight=weight,
        positive_labels=positive,
    )
    constraints = bias_constraints(
        [{"metric": metric, "min": -10}], stage=stage, decide_on="estimate", severity="block", confidence=0.9
    )
    (assertion,), _ = bias_judge.judge(
        counts,
        constraints,
        stage=stage,
        facet_values=F,
        params={},
        confidence=0.9,
        n_boot=n_boot,
        random_state=seed,
        baseline=judging.Baseline(None, None),
    )
    return assertion


@pytest.mark.parametrize(
    ("metric", "stage", "classes"),
    [("DPL", "pre_training", 2), ("KL", "pre_training", 3), ("DI", "post_training", 2), ("RD", "post_training", 3)],
)
def test_equal_weights_give_the_unweighted_interval(metric, stage, classes):
    """Every weight 2.5: each cell's weight sum is 2.5 x its drawn rows (variance 0), the
    multinomial draws come first from the same seed, so the interval is the unweighted one."""
    df = _frame(800, seed=1, classes=classes).assign(w=2.5)
    positive = [1] if classes == 2 else ["high", "mid"]
    plain = _judge(df, metric, stage, weight=None, positive=positive)
    weighted = _judge(df, metric, stage, weight="w", positive=positive)
    assert plain.details["ci"] is not None and "ci_note" not in weighted.details
    assert weighted.observed == pytest.approx(plain.observed, abs=1e-12)
    np.testing.assert_allclose(weighted.details["ci"], plain.details["ci"], rtol=0, atol=1e-12)


def _row_bootstrap(df: pd.DataFrame, statistic: Any, n_boot: int, seed: int) -> np.ndarray:
    """The 90% percentile interval of ``statistic(rows)`` over rows resampled with replacement."""
    rng = np.random.default_rng(seed)
    draws = [statistic(df.iloc[rng.integers(0, len(df), len(df))]) for _ in range(n_boot)]
    return np.quantile(draws, [0.05, 0.95])


def _weighted_share(df: pd.DataFrame, column: str, positive: list[Any]) -> float:
    return float((df["w"] * df[column].isin(positive)).sum() / df["w"].sum())


def _dpl(df: pd.DataFrame) -> float:
    d, a = df[df["sex"] == "F"], df[df["sex"] != "F"]
    return _weighted_share(a, "y", [1]) - _weighted_share(d, "y", [1])


def _di(df: pd.DataFrame) -> float:
    d, a = df[df["sex"] == "F"], df[df["sex"] != "F"]
    return _weighted_share(d, "pred", [1]) / _weighted_share(a, "pred", [1])


def _recall_difference(df: pd.DataFrame) -> float:  # RD = TPR_a - TPR_d, a multi-class label
    def tpr(side: pd.DataFrame) -> float:
        actual = side[side["y"].isin(["high", "mid"])]
        return float((actual["w"] * actual["pred"].isin(["high", "mid"])).sum() / actual["w"].sum())

    return tpr(df[df["sex"] != "F"]) - tpr(df[df["sex"] == "F"])


@pytest.mark.parametrize(
    ("metric", "stage", "classes", "statistic"),
    [("DPL", "pre_training", 2, _dpl), ("DI", "post_training", 2, _di), ("RD", "post_training", 3, _recall_difference)],
)
def test_weighted_interval_is_close_to_a_row_bootstrap(metric, stage, classes, statistic):
    """The reference: resample the rows (with their own weights) and recompute the weighted
    metric by hand. The cells' normal approximation lands within 6% of the interval's width
    at each end (the two bootstraps' own Monte Carlo error is about 2%); drawing the cells'
    rows without the spread of their weights misses by about 20% here."""
    df = _frame(1500, seed=2, classes=classes)
    positive = [1] if classes == 2 else ["high", "mid"]
    ours = _judge(df, metric, stage, weight="w", positive=positive, n_boot=2000)
    assert ours.observed == pytest.approx(statistic(df), abs=1e-12)
    reference = _row_bootstrap(df, statistic, n_boot=2000, seed=9)
    width = reference[1] - reference[0]
    np.testing.assert_allclose(ours.details["ci"], reference, rtol=0, atol=0.06 * width)


def test_multi_class_post_training_interval_matches_a_row_bootstrap_without_weights():
    df = _frame(1500, seed=4, classes=3).assign(w=1.0)
    ours = _judge(df, "RD", "post_training", weight=None, positive=["high", "mid"], n_boot=2000)
    reference = _row_bootstrap(df, _recall_difference, n_boot=2000, seed=11)
    width = reference[1] - reference[0]
    np.testing.assert_allclose(ours.details["ci"], reference, rtol=0, atol=0.06 * width)


def test_weighted_dpl_intervals_cover_the_population_value():
    """200 samples of a population whose weights depend on the label: a positive label's weight
    is twice a negative one's on average (lognormal x 2 or x 1), so the weighted share of
    positives is 2p / (2p + (1 - p)). 90% intervals cover the population DPL 172 times: a
    percentile bootstrap of the rows covers it 171 times on the same samples (percentile
    intervals run a little under nominal on skewed weights), one that draws the cells' rows
    without the spread of their weights 128 times. The bounds leave room for the former and
    none for the latter (a method at 90% falls below 160 with probability < 1e-4)."""

    def share(p: float) -> float:
        return 2 * p / (2 * p + (1 - p))

    truth = share(0.55) - share(0.35)
    covered = 0
    for seed in range(200):
        df = _frame(400, seed=100 + seed)
        result = evaluate(
            df,
            label="y",
            sensitive_features="sex",
            facet_values=F,
            sample_weight="w",
            constraints=[{"metric": "DPL", "max": 1}],
            confidence=0.9,
            n_boot=300,
            random_state=seed,
        )
        low, high = result.assertions[0].details["ci"]
        covered += low <= truth <= high
    assert 160 <= covered <= 192, covered


def test_a_continuous_label_draws_two_label_cells_and_gives_the_binarised_labels_interval():
    """Metrics that read positive vs negative only: a continuous label's values are summed into
    two cells before the draw, so its interval is exactly that of the label cut by hand (the
    same cells in the same order, the same seed). KL over every label value keeps them all."""
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"sex": rng.choice(["F", "M"], 2000), "score": rng.normal(0, 1, 2000).round(4)})
    df["cut"] = (df["score"] > 0.2).astype(int)
    kwargs = {"sensitive_features": "sex", "facet_values": F, "confidence": 0.9, "n_boot": 300}
    bound = [{"metric": "DPL", "max": 1}]
    continuous = evaluate(df, label="score", label_threshold=0.2, constraints=bound, **kwargs)
    binarised = evaluate(df, label="cut", constraints=bound, **kwargs)
    assert continuous.assertions[0].observed == pytest.approx(binarised.assertions[0].observed, abs=1e-15)
    np.testing.assert_allclose(
        continuous.assertions[0].details["ci"], binarised.assertions[0].details["ci"], atol=1e-15
    )


def test_a_bootstrap_too_large_is_refused_with_the_n_boot_that_fits():
    from airflow_alignment.exceptions import DataError

    df = _frame(3000, seed=0, classes=2).assign(y=lambda f: np.arange(len(f)) % 1000)  # 1,000 label values
    with pytest.raises(
        DataError, match=r"^n_boot: 5,000 bootstrap replicates of 2,000 cells .* lower n_boot to 4,000 or fewer"
    ):
        evaluate(
            df,
            label="y",
            sensitive_features="sex",
            facet_values=F,
            label_distribution="values",  # KL over every label value: the 1,000 values are drawn
            constraints=[{"metric": "KL", "max": 1}],
            confidence=0.9,
            n_boot=5000,
        )
    # DPL reads positive vs negative: the 1,000 values are summed into 2 cells per group first
    result = evaluate(
        df,
        label="y",
        label_threshold=499.5,
        sensitive_features="sex",
        facet_values=F,
        constraints=[{"metric": "DPL", "max": 1}],
        confidence=0.9,
        n_boot=5000,
    )
    assert result.assertions[0].details["ci"][0] < result.assertions[0].observed
