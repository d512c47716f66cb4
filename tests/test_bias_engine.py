"""The bias metrics on data small enough to check by hand, and the messages of wrong specs.

Exactness against smclarify and aif360 on random data is tests/test_bias_oracle.py; here each
number is worked out in a comment from the 30 rows of :func:`loans`.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pandas as pd
import pytest

from airflow_alignment.engines.bias import counts, metrics
from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.specs import bias_metrics as catalogue


def _rows(sex: str, cells: dict[tuple[int, int], int]) -> list[tuple[str, int, int]]:
    return [(sex, y, p) for (y, p), n in cells.items() for _ in range(n)]


def loans() -> pd.DataFrame:
    """F (the facet d): 10 rows, 4 positive labels; TP 2, FN 2, FP 1, TN 5.
    M (the rest a): 20 rows, 12 positive labels; TP 10, FN 2, FP 2, TN 6."""
    rows = _rows("F", {(1, 1): 2, (1, 0): 2, (0, 1): 1, (0, 0): 5}) + _rows(
        "M", {(1, 1): 10, (1, 0): 2, (0, 1): 2, (0, 0): 6}
    )
    df = pd.DataFrame(rows, columns=["sex", "approved", "predicted"])
    df["region"] = "north"
    return df


def _data(df: pd.DataFrame | None = None, **kwargs) -> counts.BiasCounts:
    options = {
        "facets": ["sex"],
        "label": "approved",
        "prediction": "predicted",
        "group_variable": "region",
        "positive_labels": [1],
        **kwargs,
    }
    return counts.from_frame(loans() if df is None else df, **options)


HAND = {
    "pre_training": {
        "CI": (20 - 10) / 30,  # (n_a - n_d) / n
        "DPL": 12 / 20 - 4 / 10,  # q_a - q_d = 0.2
        "KL": 0.4 * math.log(0.4 / 0.6) + 0.6 * math.log(0.6 / 0.4),  # P_a = (.4, .6), P_d = (.6, .4)
        "TVD": 0.2,
        "KS": 0.2,
        "LP": math.sqrt(0.2**2 + 0.2**2),
        "CDDL": 6 / 14 - 4 / 16,  # one stratum: share of the rejected minus share of the accepted
        "statistical_parity_difference": 4 / 10 - 12 / 20,  # AIF360's sign: d - a
        "disparate_impact": (4 / 10) / (12 / 20),
    },
    "post_training": {
        "DPPL": 12 / 20 - 3 / 10,  # predicted positive rates: a 0.6, d 0.3
        "DI": (3 / 10) / (12 / 20),  # 0.5: fails the four-fifths rule
        "DCA": 12 / 12 - 4 / 3,  # positive labels per predicted positive, a - d
        "DCR": 6 / 7 - 8 / 8,  # negative labels per predicted negative, d - a
        "RD": 10 / 12 - 2 / 4,  # recall, a - d
        "SD": 5 / 6 - 6 / 8,  # specificity, d - a
        "DAR": 10 / 12 - 2 / 3,  # precision, a - d
        "DRR": 5 / 7 - 6 / 8,  # negative predictive value, d - a
        "AD": 16 / 20 - 7 / 10,  # accuracy, a - d
        "TE": 2 / 1 - 2 / 2,  # FN / FP, d - a
        "CDDPL": 7 / 15 - 3 / 15,  # predicted negatives 15 (7 in d), predicted positives 15 (3 in d)
        # benefits b = pred - label + 1: 4 zeros (FN), 23 ones, 3 twos; mean 29/30, E[b^2] = 35/30
        "GE": 0.5 * ((35 / 30) / (29 / 30) ** 2 - 1),
        "average_odds_difference": 0.5 * ((1 / 6 - 2 / 8) + (2 / 4 - 10 / 12)),  # FPR and TPR, d - a
        "equal_opportunity_difference": 2 / 4 - 10 / 12,  # TPR, d - a
    },
}


@pytest.mark.parametrize("stage", ["pre_training", "post_training"])
def test_hand_computed_values(stage: str) -> None:
    found = metrics.evaluate(_data(), list(HAND[stage]), stage=stage, facet_values={"sex": "F"})
    for name, expected in HAND[stage].items():
        assert found[name].reason is None, (name, found[name])
        assert found[name].value == pytest.approx(expected, abs=1e-15), name


def test_clarify_facet_values_list_and_one_vs_rest_agree() -> None:
    data = _data()
    by_list = metrics.evaluate(data, ["DI"], stage="post_training", facet_values=["F"])["DI"]
    swept = metrics.one_vs_rest(data, ["DI"], stage="post_training")["DI"]
    assert [g["sex"] for g in data.groups] == ["F", "M"]
    assert by_list.value == swept[0].value == pytest.approx(0.5)
    assert swept[1].value == pytest.approx(2.0)  # M as the facet: 0.6 / 0.3


def test_intersectional_facet_and_strata() -> None:
    """Two facets: d is (F, young) or (M, old); CDDL weights each stratum's disparity by its size."""
    df = pd.DataFrame(
        {
            "sex": ["F", "F", "M", "M", "F", "M", "M", "F"],
            "age": ["young", "old", "old", "young", "old", "old", "old", "old"],
            "region": ["n"] * 4 + ["s"] * 4,
            "approved": [0, 1, 0, 1, 1, 1, 0, 0],
            "predicted": [0] * 8,
        }
    )
    data = _data(df, facets=["sex", "age"])
    facet = [{"sex": "F", "age": "young"}, {"sex": "M", "age": "old"}]  # rows 0, 2, 5, 6
    found = metrics.evaluate(data, ["CI", "DPL", "CDDL"], stage="pre_training", facet_values=facet)
    assert found["CI"].value == 0.0  # 4 rows each side
    assert found["DPL"].value == pytest.approx(3 / 4 - 1 / 4)  # a: rows 1, 3, 4 positive of 1, 3, 4, 7; d: row 5
    # n (rows 0-3): negatives 0, 2 are both d, positives 1, 3 both a -> 2/2 - 0/2 = 1
    # s (rows 4-7): negatives 6 (d), 7 (a); positives 4 (a), 5 (d) -> 1/2 - 1/2 = 0
    assert found["CDDL"].value == pytest.approx((4 * 1.0 + 4 * 0.0) / 8)


def test_numeric_facet_cut_above_a_threshold() -> None:
    """{"age": {"above": 40}}: ages above 40 form d (Clarify's (40, max]); an age of 40 is in a."""
    df = pd.DataFrame(
        {"age": [25.0, 40.0, 41.5, 60.0, 33.0, 70.0], "y": [1, 1, 0, 1, 1, 0], "sex": ["F", "M", "F", "M", "F", "F"]}
    )
    data = counts.from_frame(df, facets=["age", "sex"], label="y", positive_labels=[1])
    found = metrics.evaluate(data, ["CI", "DPL"], stage="pre_training", facet_values={"age": {"above": 40}})
    assert found["CI"].value == 0.0  # d: 41.5, 60, 70; a: 25, 40, 33
    assert found["DPL"].value == pytest.approx(3 / 3 - 1 / 3)
    both = metrics.evaluate(data, ["CI"], stage="pre_training", facet_values={"sex": "F", "age": {"above": 40}})
    assert both["CI"].value == pytest.approx((4 - 2) / 6)  # d: 41.5 and 70 (F)
    with pytest.raises(SpecError, match=r"'age': a mapping cuts a numeric facet, \{'above': number\}"):
        metrics.evaluate(data, ["CI"], stage="pre_training", facet_values={"age": {"over": 40}})
    with pytest.raises(DataError, match="needs numbers in facet 'sex'"):
        metrics.evaluate(data, ["CI"], stage="pre_training", facet_values={"sex": {"above": 1}})


def test_label_threshold_counts_a_tie_as_negative() -> None:
    """Clarify's positive interval for a continuous label is (t, max]: a label equal to t is negative."""
    df = pd.DataFrame(
        {"sex": ["F", "F", "M", "M"], "score": [0.5, 0.9, 0.5, 0.2], "pred": [0.5, 0.6, 0.9, 0.1], "region": ["n"] * 4}
    )
    data = counts.from_frame(df, facets=["sex"], label="score", prediction="pred", label_threshold=0.5)
    found = metrics.evaluate(data, ["DPL"], stage="pre_training", facet_values={"sex": "F"})
    assert found["DPL"].value == pytest.approx(0 / 2 - 1 / 2)


def test_weights_count_as_repeated_rows() -> None:
    weighted = loans().assign(w=1.0)
    weighted.loc[weighted.index[:2], "w"] = 3.0  # two F true positives weigh 3 each
    repeated = pd.concat([loans(), loans().iloc[:2], loans().iloc[:2]], ignore_index=True)
    names = list(HAND["post_training"])
    one = metrics.evaluate(_data(weighted, sample_weight="w"), names, stage="post_training", facet_values=["F"])
    two = metrics.evaluate(_data(repeated), names, stage="post_training", facet_values=["F"])
    for name in names:
        assert one[name].value == pytest.approx(two[name].value, abs=1e-15), name


def test_undefined_values_say_why() -> None:
    df = loans()
    df.loc[df["sex"] == "M", "predicted"] = 0  # the rest never predicted positive
    found = metrics.evaluate(_data(df), ["DI", "DAR", "DPPL"], stage="post_training", facet_values={"sex": "F"})
    assert found["DI"] == (None, "the predicted positive rate of facet a is 0, and DI divides by it")
    assert found["DAR"] == (None, "facet a has no predicted positives: its precision is undefined")
    assert found["DPPL"].value == pytest.approx(0 - 3 / 10)
    absent = metrics.evaluate(_data(), ["CI"], stage="pre_training", facet_values={"sex": "X"})["CI"]
    assert absent.value is None and absent.reason.startswith("no group matches facet_values")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda d: metrics.evaluate(d, ["DIX"], stage="post_training", facet_values=["F"]),
            "metrics[0]: unknown post_training metric 'DIX'. Did you mean 'DI'?",
        ),
        (
            lambda d: metrics.evaluate(d, ["DPPL"], stage="pre_training", facet_values=["F"]),
            "metrics[0]: unknown pre_training metric 'DPPL'. ('DPPL' is a post_training metric)",
        ),
        (
            lambda d: metrics.evaluate(d, ["DI"], stage="post_training"),
            "facet_values: DI compare a facet with the rest of the data",
        ),
        (
            lambda d: metrics.evaluate(d, ["DI"], stage="post_training", facet_values={"gender": "F"}),
            "facet_values: 'gender' is not a facet.",
        ),
        (
            lambda d: metrics.evaluate(d, ["LP"], stage="pre_training", facet_values=["F"], p=0.5),
            "p: the Lp-norm order must be a number of at least 1",
        ),
        (
            lambda d: metrics.evaluate(d, ["GE"], stage="post_training", beta=2),
            "unknown parameter 'beta'; the bias metrics take p, alpha, concentration, label_distribution",
        ),
    ],
)
def test_wrong_specs_name_the_fix(call, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        call(_data())
    assert message in str(caught.value)


def test_counting_refuses_what_it_cannot_read() -> None:
    with pytest.raises(SpecError, match=r"give positive_labels .* or label_threshold"):
        counts.from_frame(loans(), facets=["sex"], label="approved", positive_labels=[1], label_threshold=0.5)
    with pytest.raises(
        SpecError,
        match=r"label_threshold: expected one number, got \[0.5, 0.8\]; to count several "
        r"label values as positive, use positive_labels",
    ):
        counts.from_frame(loans(), facets=["sex"], label="approved", label_threshold=[0.5, 0.8])
    no_strata = counts.from_frame(loans(), facets=["sex"], label="approved", positive_labels=[1])
    with pytest.raises(SpecError, match="CDDL is conditioned on a group_variable"):
        metrics.evaluate(no_strata, ["CDDL"], stage="pre_training", facet_values=["F"])
    with pytest.raises(SpecError, match="DI is a post-training metric: it needs predictions"):
        metrics.evaluate(no_strata, ["DI"], stage="post_training", facet_values=["F"])


def test_catalogue_names_every_clarify_metric_but_ft() -> None:
    assert set(catalogue.PRE_TRAINING) >= {"CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"}
    clarify_post = {"DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "CDDPL", "GE"}
    assert {n for n, m in catalogue.POST_TRAINING.items() if m.library == catalogue.CLARIFY} == clarify_post
    assert "FT" not in catalogue.POST_TRAINING  # the flip test needs the model: out of scope


def test_catalogue_imports_nothing_heavy() -> None:
    code = (
        "import sys; import airflow_alignment.engines.bias as b; b.check_names(['DI'], 'post_training'); "
        "print(sorted(m for m in ('numpy', 'pandas', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_reference_page_lists_the_catalogue() -> None:
    """docs/bias-metrics.md has a table row for every metric of the catalogue, and no other."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "bias-metrics.md").read_text()
    documented: dict[str, set[str]] = {}
    for stage, title in (("pre_training", "## Pre-training metrics"), ("post_training", "## Post-training metrics")):
        table = page.split(title, 1)[1].split("\n## ", 1)[0]
        first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
        documented[stage] = {name for cell in first_cells for name in re.findall(r"`(\w+)`", cell)}
    assert documented["pre_training"] == set(catalogue.PRE_TRAINING)
    assert documented["post_training"] == set(catalogue.POST_TRAINING)


def test_sql_and_batches_give_the_numbers_of_the_rows(tmp_path, monkeypatch) -> None:
    """The catalogue reads counts: a SQLite GROUP BY (cells.count) and a frame read in batches
    (cells.from_batches) give every metric of both stages as the rows do."""
    import json
    import sqlite3

    import numpy as np

    from airflow_alignment.engines.binary import cells
    from airflow_alignment.io import sql
    from airflow_alignment.io.sources import SqlSource

    rng = np.random.default_rng(7)
    n = 3000
    rows = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "region": rng.choice(["n", "s"], n),
            "grade": rng.choice(["A", "B", "C"], n),
            "weight": rng.integers(0, 4, n).astype(float),
        }
    )
    rows["pred"] = np.where(rng.random(n) < 0.7, rows["grade"], rng.choice(["A", "B", "C"], n))
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as db:
        rows.to_sql("loans", db, index=False)
    monkeypatch.setenv("AIRFLOW_CONN_BIAS_WH", json.dumps({"conn_type": "sqlite", "host": str(path)}))
    sql.dispose("bias_wh")
    roles = {"features": ["sex", "race", "region"], "y_true": "grade", "y_pred": "pred", "sample_weight": "weight"}
    try:
        tables = {
            "sql": cells.count(SqlSource("bias_wh", table="loans"), **roles),
            "batches": cells.from_batches((rows.iloc[i : i + 700] for i in range(0, n, 700)), **roles),
            "rows": cells.from_frame(rows, **roles),
        }
    finally:
        sql.dispose("bias_wh")
    facet = [{"sex": "F", "race": "c"}, {"race": "b"}]
    found = {}
    for how, table in tables.items():
        data = counts.from_cells(table, facets=["sex", "race"], group_variable="region", positive_labels=["A", "B"])
        found[how] = {
            **metrics.evaluate(data, list(catalogue.PRE_TRAINING), stage="pre_training", facet_values=facet),
            **metrics.evaluate(data, list(catalogue.POST_TRAINING), stage="post_training", facet_values=facet),
        }
    assert sum(v.value is not None for v in found["rows"].values()) == len(found["rows"])  # all defined here
    for how in ("sql", "batches"):
        for name, value in found["rows"].items():
            assert found[how][name].value == pytest.approx(value.value, rel=1e-12, abs=1e-12), (how, name)


def test_values_vectorise_over_replicates_and_facets() -> None:
    """metrics.values on stacked count arrays (bootstrap replicates) and several facets at once
    equals one evaluation per replicate and facet: what intervals will be built on."""
    import dataclasses

    import numpy as np

    data = _data(loans().assign(race=["x", "y", "z"] * 10), facets=["sex", "race"])
    rng = np.random.default_rng(0)
    replicates = 4
    labels = (
        rng.multinomial(30, data.label_counts.ravel() / data.label_counts.sum(), replicates)
        .reshape((replicates, *data.label_counts.shape))
        .astype(float)
    )
    confusion = (
        rng.multinomial(30, data.cells.ravel() / data.cells.sum(), replicates)
        .reshape((replicates, *data.cells.shape))
        .astype(float)
    )
    facets = np.eye(len(data.groups), dtype=bool)[:3]  # three groups, each against the rest
    params = dict(catalogue.DEFAULTS)
    for stage, names in (("pre_training", catalogue.PRE_TRAINING), ("post_training", catalogue.POST_TRAINING)):
        for name in names:
            stacked = metrics.values(name, stage, data, facets, params, label_counts=labels, cells=confusion)
            assert stacked.shape == (replicates, 3), name
            for r in range(replicates):
                one = dataclasses.replace(data, label_counts=labels[r], cells=confusion[r])
                np.testing.assert_allclose(
                    stacked[r],
                    metrics.values(name, stage, one, facets, params),
                    rtol=1e-12,
                    atol=1e-12,
                    equal_nan=True,
                    err_msg=name,
                )
