"""Cell tables in the engines: ``evaluate`` on a ``CellTable`` gives the result it gives on the rows.

Every configuration runs three ways: on the DataFrame, on ``cells.from_frame`` of it and on
``cells.from_batches`` of it cut into uneven chunks (one of them empty). The whole result must
be the same but ``data``, ``started_at`` and ``duration_s``: status, assertions (observed,
details, intervals), summary and metrics block. Counts and integer weights are exact; float
weights are summed in another order, so their floats agree to 1e-12 relative. A bad input gets
the same message either way (the counts of missing values are sums of the rows behind the
cells), except what the cells cannot tell (how many weights are negative).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines import fairness, performance
from airflow_alignment.engines.binary import cells
from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.samples import lending_applicants
from tests.conftest import checked

N = 20_000
VOLATILE = ("data", "started_at", "duration_s")
DP = {"metric": "demographic_parity_ratio", "min": 0.8}
EO = {"metric": "equalized_odds_difference", "max": 0.1}


def make_data(n: int = N, seed: int = 3) -> pd.DataFrame:
    """Two sex values, four races (``D`` is rare: some of its groups are below 30 rows)."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["F", "M"]), n, p=[0.45, 0.55])
    race = rng.choice(np.array(["A", "B", "C", "D"]), n, p=[0.5, 0.3, 0.198, 0.002])
    y = (rng.random(n) < 0.35 + 0.1 * (sex == "F")).astype(np.int64)
    score = np.clip(0.25 + 0.35 * y + 0.05 * (race == "C") + rng.normal(0, 0.2, n), 0, 1).round(3)
    pred = (score >= 0.5).astype(np.int64)
    return pd.DataFrame(
        {
            "sex": sex,
            "race": race,
            "age": rng.choice(np.array(["<30", "30-60", ">60"]), n),
            "y": y,
            "pred": pred,
            "score": score,
            "label": np.where(y == 1, "approved", "denied"),
            "decision": np.where(pred == 1, "approved", "denied"),
            "w_int": rng.integers(1, 5, n).astype(np.int64),
            "w_float": rng.gamma(2.0, 0.7, n),
        }
    )


DATA = make_data()


def chunks(df: pd.DataFrame, seed: int = 11) -> list[pd.DataFrame]:
    """``df`` cut at random places into uneven pieces, with an empty one among them."""
    if len(df) < 2:
        return [df, df.iloc[:0]]
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(1, len(df)), size=min(6, len(df) - 1), replace=False))
    pieces = [df.iloc[a:b] for a, b in zip([0, *cuts], [*cuts, len(df)], strict=True)]
    return [*pieces[:2], df.iloc[:0], *pieces[2:]]


def table_args(kwargs: dict[str, Any], features: list[str] | None = None) -> dict[str, Any]:
    if features is None:
        sf = kwargs.get("sensitive_features", [])
        features = [sf] if isinstance(sf, str) else list(sf)
    return {
        "features": features,
        "y_true": kwargs["y_true"],
        "y_pred": kwargs.get("y_pred"),
        "y_score": kwargs.get("y_score"),
        "threshold": kwargs.get("threshold"),
        "sample_weight": kwargs.get("sample_weight"),
    }


def tables(df: pd.DataFrame, kwargs: dict[str, Any], features: list[str] | None = None) -> list[cells.CellTable]:
    args = table_args(kwargs, features)
    return [cells.from_frame(df, **args), cells.from_batches(iter(chunks(df)), **args)]


def strip(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in VOLATILE}


def assert_same(a: Any, b: Any, rel: float = 0.0, path: str = "result") -> None:
    """Equal documents: the same types and keys, floats within ``rel`` (relative), the rest exact."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} {a!r} != {type(b).__name__} {b!r}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys {list(a)} != {list(b)}"
        for key in a:
            assert_same(a[key], b[key], rel, f"{path}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, rel, f"{path}[{i}]")
    elif isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            assert math.isnan(a) and math.isnan(b), f"{path}: {a!r} != {b!r}"
        else:
            assert a == b or abs(a - b) <= rel * max(abs(a), abs(b)), f"{path}: {a!r} != {b!r} (rel {rel})"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def compare(
    engine: Any, df: pd.DataFrame, rel: float = 0.0, features: list[str] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """Run ``engine`` on the rows and on both tables; the results must agree. Returns the rows' one."""
    expected = checked(engine(df, **kwargs)).to_dict()
    fingerprints = set()
    for table in tables(df, kwargs, features):
        result = checked(engine(table, **kwargs))
        assert result.data == table.describe()
        fingerprints.add(result.data["fingerprint"])
        assert result.data["rows"] == len(df)
        assert_same(strip(expected), strip(result.to_dict()), rel)
    assert len(fingerprints) == 1  # the same cells whichever path computed them
    return expected


def fair(
    df: pd.DataFrame = DATA,
    constraints: Any = (DP,),
    rel: float = 0.0,
    features: list[str] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    kwargs.setdefault("y_true", "y")
    if "y_score" not in kwargs:
        kwargs.setdefault("y_pred", "pred")
    kwargs.setdefault("sensitive_features", ["sex"])
    return compare(fairness.evaluate, df, rel, features, constraints=list(constraints), **kwargs)


def perf(
    df: pd.DataFrame = DATA, constraints: Any = ({"metric": "accuracy", "min": 0.7},), rel: float = 0.0, **kwargs: Any
) -> dict[str, Any]:
    kwargs.setdefault("y_true", "y")
    if "y_score" not in kwargs:
        kwargs.setdefault("y_pred", "pred")
    return compare(performance.evaluate, df, rel, [], constraints=list(constraints), **kwargs)


# -- fairness: the same result -------------------------------------------------------------
def test_single_feature():
    doc = fair(constraints=[DP, EO, {"metric": "selection_rate", "aggregate": "per_group", "min": 0.2}])
    assert doc["metrics"]["selection_rate"]["by_group"][0]["count"] > 0


def test_intersectional_and_marginal():
    doc = fair(
        sensitive_features=["sex", "race"],
        marginal=True,
        constraints=[DP, EO],
        metrics=["precision", "f1", "balanced_accuracy", "count"],
    )
    assert set(doc["metrics"]["marginal"]) == {"sex", "race"}
    assert doc["metrics"]["excluded_groups"]  # the rare race's groups


def test_three_features_and_every_aggregate():
    constraints = [
        DP,
        {"metric": "equalized_odds_ratio", "min": 0.7, "agg": "mean"},
        {"metric": "true_positive_rate", "aggregate": "difference", "method": "to_overall", "max": 0.1},
        {"metric": "false_positive_rate", "aggregate": "ratio", "method": "to_overall", "min": 0.5},
        {"metric": "accuracy", "aggregate": "group_min", "min": 0.6},
        {"metric": "error_rate", "aggregate": "group_max", "max": 0.4},
        {"metric": "negative_predictive_value", "aggregate": "overall", "min": 0.5},
        {"metric": "false_omission_rate", "aggregate": "per_group", "max": 0.3},
    ]
    fair(sensitive_features=["sex", "race", "age"], marginal=True, constraints=constraints, min_group_size=10)


def test_string_labels():
    fair(
        y_true="label",
        y_pred="decision",
        pos_label="approved",
        sensitive_features=["sex", "race"],
        constraints=[DP, EO],
        marginal=True,
    )


def test_score_with_threshold():
    doc = fair(y_score="score", threshold=0.55, sensitive_features=["race"], constraints=[DP, EO])
    assert doc["metrics"]["settings"]["threshold"] == 0.55


def test_min_group_size_excludes_a_small_group():
    doc = fair(sensitive_features=["race"], min_group_size=100, constraints=[DP])
    assert [e["group"] for e in doc["metrics"]["excluded_groups"]] == [{"race": "D"}]


def test_confidence_intervals_are_identical():
    doc = fair(
        sensitive_features=["sex", "race"],
        marginal=True,
        confidence=0.95,
        n_boot=200,
        random_state=5,
        constraints=[
            DP,
            {**EO, "decide_on": "conservative"},
            {"metric": "selection_rate", "aggregate": "per_group", "min": 0.2, "decide_on": "significant"},
        ],
    )
    assert "ci" in doc["assertions"][0]["details"]


def test_integer_weights_are_exact():
    fair(sample_weight="w_int", sensitive_features=["sex", "race"], marginal=True, constraints=[DP, EO])


def test_integer_weights_with_intervals_are_exact():
    fair(sample_weight="w_int", sensitive_features=["sex", "race"], confidence=0.9, n_boot=200, constraints=[DP, EO])


def test_float_weights():
    doc = fair(
        sample_weight="w_float", sensitive_features=["sex", "race"], marginal=True, constraints=[DP, EO], rel=1e-12
    )
    assert isinstance(doc["metrics"]["selection_rate"]["by_group"][0]["weight"], float)


def test_float_weights_with_intervals():
    # The bootstrap's weight means and variances come from sums in another order: equal to 1e-12.
    fair(
        sample_weight="w_float",
        sensitive_features=["race"],
        confidence=0.95,
        n_boot=200,
        constraints=[DP, EO],
        rel=1e-12,
    )


def test_a_table_with_more_features_adds_up_their_cells():
    fair(sensitive_features=["race"], features=["sex", "race", "age"], constraints=[DP, EO])


def test_a_weighted_table_checked_without_weights():
    df = DATA.copy()
    df.loc[::97, "w_float"] = np.nan  # missing weights do not matter when the check is unweighted
    kwargs = {"y_true": "y", "y_pred": "pred", "sensitive_features": ["sex"], "constraints": [DP]}
    expected = checked(fairness.evaluate(df, **kwargs)).to_dict()
    table = cells.from_frame(df, features=["sex"], y_true="y", y_pred="pred", sample_weight="w_float")
    assert_same(strip(expected), strip(checked(fairness.evaluate(table, **kwargs)).to_dict()))


def test_undefined_values_and_their_reasons():
    df = DATA.copy()
    df.loc[df["race"] == "C", "y"] = 0  # race C has no positives: its TPR is undefined
    doc = fair(
        df,
        sensitive_features=["race"],
        min_group_size=10,
        metrics=["f1", "precision"],
        constraints=[EO, {"metric": "true_positive_rate", "aggregate": "per_group", "min": 0.3}],
    )
    assert any("reason" in g for g in doc["metrics"]["true_positive_rate"]["by_group"])


def test_baseline_constraints():
    previous = fairness.evaluate(
        DATA.iloc[: N // 2], y_true="y", y_pred="pred", sensitive_features=["sex"], constraints=[DP, EO]
    )
    doc = fair(
        baseline=previous,
        constraints=[
            DP,
            {**EO, "baseline": {"max_increase": 0.01}},
            {"metric": "demographic_parity_difference", "baseline": {"max_increase": 0.0}},
        ],
    )
    assert doc["assertions"][1]["details"]["baseline"]["status"] == "compared"


# -- fairness: missing values --------------------------------------------------------------
def with_missing(seed: int = 4) -> pd.DataFrame:
    df = DATA.copy()
    rng = np.random.default_rng(seed)
    df["race"] = df["race"].astype(object)
    df.loc[rng.choice(N, 40, replace=False), "race"] = None
    df["sex"] = df["sex"].astype(object)
    df.loc[rng.choice(N, 25, replace=False), "sex"] = np.nan
    df["y"] = df["y"].astype(float)
    df.loc[rng.choice(N, 7, replace=False), "y"] = np.nan
    df.loc[rng.choice(N, 9, replace=False), "score"] = np.nan
    df.loc[rng.choice(N, 11, replace=False), "w_int"] = np.nan
    return df


def same_error(
    kind: type[Exception], engine: Any, df: pd.DataFrame, table_features: list[str] | None = None, **kwargs: Any
) -> str:
    """The rows and both tables raise ``kind`` with the same message; returns it."""
    with pytest.raises(kind) as on_rows:
        engine(df, **kwargs)
    for table in tables(df, kwargs, table_features):
        with pytest.raises(kind) as on_table:
            engine(table, **kwargs)
        assert str(on_table.value) == str(on_rows.value)
    return str(on_rows.value)


def test_missing_values_error_as_on_the_rows():
    df = with_missing()
    kwargs = {"y_true": "y", "y_pred": "pred", "constraints": [DP]}
    message = same_error(DataError, fairness.evaluate, df, sensitive_features=["sex", "race"], **kwargs)
    assert "has 7 missing values (NaN/None) in 20,000 rows" in message  # y_true, first
    df["y"] = DATA["y"]
    message = same_error(DataError, fairness.evaluate, df, sensitive_features=["sex", "race"], **kwargs)
    assert "sensitive feature 'sex' has 25 missing values (NaN/None) in 20,000 rows" in message
    message = same_error(
        DataError,
        fairness.evaluate,
        df,
        sensitive_features=["race"],
        sample_weight="w_int",
        missing_groups="as_group",
        **kwargs,
    )
    assert "sample_weight column 'w_int' has 11 missing values" in message
    df["y"] = DATA["y"]
    message = same_error(
        DataError,
        fairness.evaluate,
        df,
        sensitive_features=["race"],
        y_score="score",
        threshold=0.5,
        y_true="y",
        constraints=[DP],
    )
    assert "y_score column 'score' has 9 missing values (NaN/None) in 20,000 rows" in message


def test_missing_values_dropped():
    df = with_missing()
    doc = fair(
        df,
        sensitive_features=["sex", "race"],
        missing_groups="drop",
        sample_weight="w_int",
        marginal=True,
        constraints=[DP, EO],
        confidence=0.95,
        n_boot=200,
    )
    assert doc["metrics"]["dropped_rows"] == {"y": 7, "w_int": 11, "sex": 25, "race": 40}
    doc = fair(df, sensitive_features=["race"], missing_groups="drop", y_score="score", threshold=0.5, constraints=[DP])
    assert doc["metrics"]["dropped_rows"] == {"y": 7, "score": 9, "race": 40}


def test_missing_groups_as_group():
    df = with_missing()
    df["y"] = DATA["y"]
    doc = fair(
        df,
        sensitive_features=["sex", "race"],
        missing_groups="as_group",
        marginal=True,
        min_group_size=5,
        constraints=[DP, EO],
    )
    groups = [g["group"] for g in doc["metrics"]["selection_rate"]["by_group"]]
    assert {"sex": None, "race": "A"} in groups


def test_every_row_missing_when_dropped():
    df = DATA.iloc[:50].copy()
    df["sex"] = None
    same_error(
        DataError,
        fairness.evaluate,
        df,
        y_true="y",
        y_pred="pred",
        sensitive_features=["sex"],
        constraints=[DP],
        missing_groups="drop",
    )


# -- fairness: bad data on a table ---------------------------------------------------------
def test_non_binary_labels():
    df = DATA.copy()
    df.loc[:10, "y"] = 2
    message = same_error(
        DataError, fairness.evaluate, df, y_true="y", y_pred="pred", sensitive_features=["sex"], constraints=[DP]
    )
    assert "is not binary" in message


def test_different_labels_and_a_wrong_pos_label():
    same_error(
        DataError,
        fairness.evaluate,
        DATA,
        y_true="label",
        y_pred="pred",
        sensitive_features=["sex"],
        constraints=[DP],
        pos_label="approved",
    )
    message = same_error(
        DataError,
        fairness.evaluate,
        DATA,
        y_true="label",
        y_pred="decision",
        sensitive_features=["sex"],
        constraints=[DP],
        pos_label="yes",
    )
    assert "pos_label='yes' is not one of the labels" in message


def test_probabilities_as_y_pred():
    message = same_error(
        DataError,
        fairness.evaluate,
        DATA.iloc[:2000],
        y_true="y",
        y_pred="score",
        sensitive_features=["sex"],
        constraints=[DP],
    )
    assert "looks like probabilities" in message


def test_single_group_and_too_small_groups():
    df = DATA[DATA["sex"] == "F"]
    message = same_error(
        DataError, fairness.evaluate, df, y_true="y", y_pred="pred", sensitive_features=["sex"], constraints=[DP]
    )
    assert f"single group {{'sex': 'F'}} in {len(df):,} rows" in message
    for size, words in ((8000, "only one group has at least"), (12_000, "every group has fewer than")):
        message = same_error(
            DataError,
            fairness.evaluate,
            DATA,
            y_true="y",
            y_pred="pred",
            sensitive_features=["race"],
            constraints=[DP],
            min_group_size=size,
        )
        assert words in message


def test_empty_data():
    same_error(
        DataError,
        fairness.evaluate,
        DATA.iloc[:0],
        y_true="y",
        y_pred="pred",
        sensitive_features=["sex"],
        constraints=[DP],
    )


def test_negative_weight():
    df = DATA.copy()
    df["w"] = df["w_float"]
    df.loc[[3, 8], "w"] = [-0.5, -0.25]
    table = cells.from_frame(df, features=["sex"], y_true="y", y_pred="pred", sample_weight="w")
    with pytest.raises(DataError, match="negative or infinite values") as on_rows:
        fairness.evaluate(
            df, y_true="y", y_pred="pred", sensitive_features=["sex"], constraints=[DP], sample_weight="w"
        )
    assert "has 2 negative or infinite values" in str(on_rows.value)
    with pytest.raises(DataError) as on_table:
        fairness.evaluate(
            table, y_true="y", y_pred="pred", sensitive_features=["sex"], constraints=[DP], sample_weight="w"
        )
    assert str(on_table.value) == (
        "sample_weight column 'w' has negative or infinite values (smallest -0.5); "
        "weights must be finite and at least 0"
    )
    with pytest.raises(DataError, match="negative or infinite values"):
        performance.evaluate(
            table, y_true="y", y_pred="pred", constraints=[{"metric": "accuracy", "min": 0.5}], sample_weight="w"
        )


def test_infinite_weight():
    df = DATA.copy()
    df.loc[5, "w_float"] = np.inf
    table = cells.from_frame(df, features=["sex"], y_true="y", y_pred="pred", sample_weight="w_float")
    with pytest.raises(DataError, match=r"has negative or infinite values \(some infinite\)"):
        fairness.evaluate(
            table, y_true="y", y_pred="pred", sensitive_features=["sex"], constraints=[DP], sample_weight="w_float"
        )


def test_weights_summing_to_zero():
    df = DATA.copy()
    df["w"] = 0.0
    for engine, extra in (
        (fairness.evaluate, {"sensitive_features": ["sex"], "constraints": [DP]}),
        (performance.evaluate, {"constraints": [{"metric": "accuracy", "min": 0.5}]}),
    ):
        message = same_error(
            DataError, engine, df, table_features=["sex"], y_true="y", y_pred="pred", sample_weight="w", **extra
        )
        assert message == "sample_weight column 'w' sums to 0: no row carries weight"


# -- what a table cannot do ----------------------------------------------------------------
def score_table() -> cells.CellTable:
    return cells.from_frame(DATA, features=["sex"], y_true="y", y_pred="pred")


@pytest.mark.parametrize("metric", ["roc_auc", "log_loss", "brier_score"])
def test_score_metrics_need_the_rows(metric):
    with pytest.raises(SpecError, match=rf"^constraints\[1\]: {metric} needs the rows \(scores\), not counts: "):
        fairness.evaluate(
            score_table(),
            y_true="y",
            y_pred="pred",
            y_score="score",
            sensitive_features=["sex"],
            constraints=[DP, {"metric": metric, "aggregate": "difference", "max": 0.1}],
        )
    with pytest.raises(SpecError, match=rf"^metrics: {metric} needs the rows \(scores\), not counts: "):
        fairness.evaluate(
            score_table(),
            y_true="y",
            y_pred="pred",
            y_score="score",
            sensitive_features=["sex"],
            constraints=[DP],
            metrics=[metric],
        )
    with pytest.raises(SpecError, match=rf"^constraints\[1\]: {metric} needs the rows \(scores\), not counts: "):
        performance.evaluate(
            score_table(),
            y_true="y",
            y_pred="pred",
            y_score="score",
            constraints=[{"metric": "accuracy", "min": 0.5}, {"metric": metric, "max": 0.9}],
        )


def test_callables_need_the_rows():
    def my_metric(y_true, y_pred):
        return float(np.mean(y_true == y_pred))

    with pytest.raises(SpecError, match=r"^metrics: my_metric needs the rows, not counts: "):
        fairness.evaluate(
            score_table(), y_true="y", y_pred="pred", sensitive_features=["sex"], constraints=[DP], metrics=[my_metric]
        )


def test_y_score_beside_y_pred_is_not_read_from_a_table():
    # The table holds no score; with count metrics only, y_score is not needed.
    df = DATA.copy()
    kwargs = {"y_true": "y", "y_pred": "pred", "y_score": "score", "sensitive_features": ["sex"], "constraints": [DP]}
    expected = checked(fairness.evaluate(df, **kwargs)).to_dict()
    assert_same(strip(expected), strip(checked(fairness.evaluate(score_table(), **kwargs)).to_dict()))


def test_a_table_counted_for_other_columns():
    table = cells.from_frame(DATA, features=["sex", "race"], y_true="y", y_pred="pred", sample_weight="w_int")
    base = {"y_true": "y", "y_pred": "pred", "sensitive_features": ["sex"], "constraints": [DP]}
    with pytest.raises(DataError, match=r"^sensitive feature 'agee' not in the data\. Did you mean 'age'"):
        t = cells.from_frame(DATA, features=["sex", "age"], y_true="y", y_pred="pred")
        fairness.evaluate(t, **{**base, "sensitive_features": ["agee"]})
    with pytest.raises(SpecError, match=r"^y_true: the cell table counts the labels of 'y', not 'pred'"):
        fairness.evaluate(table, **{**base, "y_true": "pred", "y_pred": "y"})
    with pytest.raises(
        SpecError,
        match=r"counts the predictions of y_pred='pred', but the check reads "
        r"y_score='pred' with threshold=0.5",
    ):
        fairness.evaluate(table, **{**base, "y_pred": None, "y_score": "pred", "threshold": 0.5})
    with pytest.raises(SpecError, match=r"^sample_weight: the cell table sums the weights of 'w_int'"):
        t = cells.from_frame(DATA, features=["sex", "w_float"], y_true="y", y_pred="pred", sample_weight="w_int")
        fairness.evaluate(t, **{**base, "sample_weight": "w_float"})
    with pytest.raises(SpecError, match=r"^sensitive feature 'y' is not a sensitive feature of the cell table"):
        fairness.evaluate(table, **{**base, "sensitive_features": ["y"]})
    thresholded = cells.from_frame(DATA, features=["sex"], y_true="y", y_score="score", threshold=0.5)
    with pytest.raises(
        SpecError,
        match=r"counts the predictions of y_score='score' with a threshold, but the check "
        r"reads y_pred='score'",
    ):
        fairness.evaluate(thresholded, **{**base, "y_pred": "score"})


# -- performance ---------------------------------------------------------------------------
PERF = [
    {"metric": "accuracy", "min": 0.7},
    {"metric": "recall", "min": 0.6, "decide_on": "estimate"},
    {"metric": "precision", "min": 0.6},
    {"metric": "f1", "max": 0.99},
    {"metric": "balanced_accuracy", "min": 0.7},
]


def test_performance():
    doc = perf(constraints=PERF)
    assert isinstance(doc["metrics"]["confusion_matrix"]["tp"], int)


def test_performance_string_labels_and_threshold():
    perf(y_true="label", y_pred="decision", pos_label="approved", constraints=PERF)
    perf(y_score="score", threshold=0.4, constraints=PERF)


def test_performance_with_weights():
    perf(sample_weight="w_int", constraints=PERF)
    doc = perf(sample_weight="w_float", constraints=PERF, rel=1e-12)
    assert isinstance(doc["metrics"]["weighted_confusion_matrix"]["tp"], float)


def test_performance_intervals():
    perf(constraints=[{**c, "decide_on": "conservative"} for c in PERF], confidence=0.95, n_boot=200, random_state=3)
    perf(constraints=PERF, sample_weight="w_int", confidence=0.9, n_boot=200)
    perf(constraints=PERF, sample_weight="w_float", confidence=0.9, n_boot=200, rel=1e-12)


def test_performance_baseline_and_undefined_values():
    previous = performance.evaluate(DATA.iloc[:5000], y_true="y", y_pred="pred", constraints=PERF)
    vs = {"metric": "accuracy", "name": "vs", "baseline": {"max_decrease": 0.0}}
    perf(constraints=[*PERF, vs], baseline=previous)
    df = DATA.copy()
    df["pred"] = 0  # no predicted positive: precision undefined
    perf(df, constraints=PERF)


def test_performance_on_a_fairness_table():
    expected = checked(performance.evaluate(DATA, y_true="y", y_pred="pred", constraints=PERF)).to_dict()
    table = cells.from_frame(DATA, features=["sex", "race"], y_true="y", y_pred="pred")
    assert_same(
        strip(expected),
        strip(checked(performance.evaluate(table, y_true="y", y_pred="pred", constraints=PERF)).to_dict()),
    )


def test_performance_errors():
    df = with_missing()
    for kwargs in ({"y_pred": "pred"}, {"y_score": "score", "threshold": 0.5}):
        message = same_error(DataError, performance.evaluate, df, y_true="y", constraints=PERF, **kwargs)
        assert message.startswith("y_true column 'y' has 7 missing values (NaN/None) in 20,000 rows")
    df["y"] = DATA["y"]
    message = same_error(
        DataError, performance.evaluate, df, y_true="y", y_score="score", threshold=0.5, constraints=PERF
    )
    assert message.startswith("y_score column 'score' has 9 missing values")
    message = same_error(
        DataError, performance.evaluate, df, y_true="y", y_pred="pred", sample_weight="w_int", constraints=PERF
    )
    assert message.startswith("sample_weight column 'w_int' has 11 missing values")
    bad = DATA.copy()
    bad.loc[:3, "y"] = 5
    same_error(DataError, performance.evaluate, bad, y_true="y", y_pred="pred", constraints=PERF)
    same_error(
        DataError,
        performance.evaluate,
        DATA,
        y_true="label",
        y_score="score",
        threshold=0.5,
        constraints=PERF,
        pos_label="yes",
    )
    same_error(DataError, performance.evaluate, DATA.iloc[:3000], y_true="y", y_pred="score", constraints=PERF)
    same_error(DataError, performance.evaluate, DATA.iloc[:0], y_true="y", y_pred="pred", constraints=PERF)


# -- the lending sample ---------------------------------------------------------------------
def test_lending_sample():
    df = lending_applicants(20_000)
    df["approved"] = (df["credit_score"] >= 640).astype("int64")
    df["score"] = (df["credit_score"] - 300) / 550
    fair(
        df,
        y_true="repaid",
        y_pred="approved",
        sensitive_features=["sex", "race"],
        marginal=True,
        constraints=[DP, EO],
        confidence=0.95,
        n_boot=200,
    )
    fair(df, y_true="repaid", y_score="score", threshold=0.62, sensitive_features=["race"], constraints=[DP, EO])
    perf(df, y_true="repaid", y_pred="approved", constraints=PERF, confidence=0.95, n_boot=200)


def test_a_table_remembers_its_threshold_and_refuses_bad_scores():
    """A table cut at 0.5 cannot be judged as if cut at 0.6; infinite or text scores are data errors."""
    frame = pd.DataFrame({"y": [0, 1, 1, 0] * 10, "s": [0.1, 0.7, 0.4, 0.9] * 10})
    table = cells.from_frame(frame, features=[], y_true="y", y_score="s", threshold=0.5)
    assert table.threshold == 0.5
    with pytest.raises(SpecError, match=r"cut 's' at 0.5, but the check reads threshold=0.6"):
        performance.evaluate(
            table, y_true="y", y_score="s", threshold=0.6, constraints=[{"metric": "accuracy", "min": 0.5}]
        )
    with pytest.raises(DataError, match=r"y_score column 's' has 1 infinite values"):
        cells.from_frame(frame.assign(s=[np.inf] + [0.5] * 39), features=[], y_true="y", y_score="s", threshold=0.5)
    with pytest.raises(DataError, match=r"sample_weight column 'w' must be numeric"):
        cells.from_frame(
            frame.assign(w="heavy"), features=[], y_true="y", y_score="s", threshold=0.5, sample_weight="w"
        )
