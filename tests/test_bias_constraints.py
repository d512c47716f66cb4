"""Post-training metrics by their Clarify / AIF360 names in fairness constraints
(``{"metric": "DI", "min": 0.8}`` with ``facet_values``): the bias engine's numbers, judged like
every fairness constraint (bounds, intervals, baselines), in a real dag.test()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines.bias import counts as bias_counts
from airflow_alignment.engines.bias import metrics as bias_metrics
from airflow_alignment.engines.binary import cells
from airflow_alignment.engines.fairness import evaluate
from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.specs import FairnessSpec
from tests.conftest import TEST_DAGS, checked, load_dag, task_states, xcom_value

# F: TP 2, FN 2, FP 1, TN 5 (10 rows); M: TP 10, FN 2, FP 2, TN 6 (20 rows)
_CELLS = {("F", 1, 1): 2, ("F", 1, 0): 2, ("F", 0, 1): 1, ("F", 0, 0): 5}
_CELLS |= {("M", 1, 1): 10, ("M", 1, 0): 2, ("M", 0, 1): 2, ("M", 0, 0): 6}
THIRTY = pd.DataFrame([k for k, n in _CELLS.items() for _ in range(n)], columns=["sex", "y", "p"])
BASE = {"y_true": "y", "y_pred": "p", "sensitive_features": "sex", "facet_values": {"sex": "F"}, "min_group_size": 1}


def _predictions(n: int = 4000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n, p=[0.4, 0.6]),
            "race": rng.choice(["A", "B", "C"], n),
            "repaid": rng.integers(0, 2, n),
            "weight": rng.uniform(0.5, 2.0, n).round(3),
        }
    )
    frame["approved"] = (rng.random(n) < np.where(frame["sex"] == "F", 0.45, 0.6)).astype(int)
    return frame


def test_hand_computed_clarify_metrics_by_name():
    result = evaluate(
        THIRTY,
        **BASE,
        constraints=[
            {"metric": "DI", "min": 0.8},  # q_d = 3/10, q_a = 12/20
            {"metric": "DPPL", "max": 0.1},
            {"metric": "RD", "max": 0.5},  # TPR_a - TPR_d = 10/12 - 2/4
            {"metric": "AD", "max": 0.2},  # ACC_a - ACC_d = 16/20 - 7/10
        ],
    )
    di, dppl, rd, ad = result.assertions
    assert di.observed == pytest.approx((3 / 10) / (12 / 20), abs=1e-15) and di.success is False
    assert dppl.observed == pytest.approx(12 / 20 - 3 / 10, abs=1e-15) and dppl.success is False
    assert rd.observed == pytest.approx(10 / 12 - 2 / 4, abs=1e-15) and rd.success is True
    assert ad.observed == pytest.approx(16 / 20 - 7 / 10, abs=1e-15) and ad.success is True
    assert di.details["library"] == "smclarify 0.5 posttraining.DI"
    assert di.details["facet_values"] == {"sex": "F"}
    assert result.summary.startswith("DI = 0.5 (min 0.8)") or result.summary.startswith("DPPL = 0.3 (max 0.1)")
    assert result.metrics["catalogue"]["DI"] == {"value": di.observed, "reason": None, "facet_values": {"sex": "F"}}


def test_every_post_training_name_equals_the_bias_engine_with_weights_and_intersectional_groups():
    frame = _predictions()
    names = ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "GE", "average_odds_difference"]
    names += ["theil_index", "between_all_groups_theil_index", "false_positive_rate_ratio"]
    spec = FairnessSpec(
        y_true="repaid",
        y_pred="approved",
        sensitive_features=["sex", "race"],
        sample_weight="weight",
        facet_values={"sex": "F"},
        constraints=[{"metric": name, "min": -1e9} for name in names],
    )
    result = evaluate(frame, spec)
    data = bias_counts.from_frame(
        frame,
        facets=["sex", "race"],
        label="repaid",
        prediction="approved",
        sample_weight="weight",
        positive_labels=[1],
    )
    expected = bias_metrics.evaluate(data, names, stage="post_training", facet_values={"sex": "F"})
    assert {a.name: a.observed for a in result.assertions} == {n: expected[n].value for n in names}
    # the same numbers from the cell table (a SQL GROUP BY or a file read in batches gives it)
    table = cells.from_frame(
        frame, features=["sex", "race"], y_true="repaid", y_pred="approved", sample_weight="weight"
    )
    counted = evaluate(table, spec)
    assert [a.observed for a in counted.assertions] == pytest.approx([a.observed for a in result.assertions], abs=1e-12)


def test_di_is_fairlearns_demographic_parity_ratio_when_the_facet_is_the_lower_of_two_groups():
    frame = _predictions()
    result = evaluate(
        frame,
        y_true="repaid",
        y_pred="approved",
        sensitive_features="sex",
        facet_values=["F"],
        confidence=0.9,
        n_boot=300,
        constraints=[{"metric": "DI", "min": 0.8}, {"metric": "demographic_parity_ratio", "min": 0.8}],
    )
    di, dpr = result.assertions
    assert di.observed == pytest.approx(dpr.observed, abs=1e-15)
    low, high = di.details["ci"]
    assert low < di.observed < high and di.details["confidence"] == 0.9
    conservative = evaluate(
        frame,
        y_true="repaid",
        y_pred="approved",
        sensitive_features="sex",
        facet_values=["F"],
        confidence=0.9,
        n_boot=300,
        decide_on="conservative",
        constraints=[{"metric": "DI", "min": low + (high - low) / 2}],
    )
    # the estimate may pass, the lower half of the interval does not
    assert conservative.assertions[0].success is False


def test_a_constraint_names_its_own_facet_and_an_undefined_value_fails():
    result = evaluate(
        THIRTY,
        **BASE,
        constraints=[
            {"metric": "DI", "min": 0.8, "facet_values": {"sex": "M"}, "name": "DI_men"},
            {"metric": "DI", "min": 0.8, "facet_values": {"sex": ["F", "M"]}, "name": "DI_everyone"},
        ],
    )
    men, everyone = result.assertions
    assert men.observed == pytest.approx((12 / 20) / (3 / 10), abs=1e-15) and men.success is True
    assert everyone.observed is None and everyone.success is False
    assert everyone.details["reason"].startswith("the rest of the data (facet a) has no rows")


def test_a_baseline_margin_on_di():
    first = evaluate(THIRTY, **BASE, constraints=[{"metric": "DI", "min": 0, "baseline": {"max_decrease": 0.05}}])
    worse = THIRTY.assign(p=np.where((THIRTY["sex"] == "F") & (THIRTY["y"] == 1), 0, THIRTY["p"]))
    second = evaluate(worse, **BASE, constraints=[{"metric": "DI", "min": 0, "baseline": {"max_decrease": 0.05}}])
    assert second.assertions[0].success is True  # no baseline given: only the bounds apply
    compared = evaluate(
        worse, **BASE, constraints=[{"metric": "DI", "min": 0, "baseline": {"max_decrease": 0.05}}], baseline=first
    )
    cmp = compared.assertions[0].details["baseline"]
    assert cmp["status"] == "compared" and cmp["change"] == pytest.approx((1 / 10) / (12 / 20) - 0.5, abs=1e-12)
    assert compared.assertions[0].success is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"constraints": [{"metric": "DI", "min": 0.8, "aggregate": "ratio"}]}, "constraints[0].aggregate: 'DI'"),
        ({"constraints": [{"metric": "CDDPL", "max": 0.1}]}, "constraints[0]: CDDPL is conditioned on strata"),
        ({"facet_values": None}, "constraints[0]: DI compares a facet with the rest of the data: give facet_values"),
        ({"facet_values": {"gender": "F"}}, "facet_values: 'gender' is not a sensitive feature."),
        (
            {"constraints": [{"metric": "DI", "min": 0.8, "facet_values": {"sexe": "F"}}]},
            "constraints[0].facet_values: 'sexe' is not a sensitive feature. Did you mean 'sex'?",
        ),
        ({"constraints": [{"metric": "DI", "min": -1}], "y_pred": None, "y_score": "s"}, "constraints[0]: DI reads"),
        ({"constraints": [{"metric": "DI", "max": -0.5}]}, "constraints[0].max: -0.5 cannot be met: DI lies"),
    ],
)
def test_spec_errors_name_the_constraint(change, message):
    with pytest.raises(SpecError) as info:
        FairnessSpec(**{**BASE, "constraints": [{"metric": "DI", "min": 0.8}], **change})
    assert str(info.value).startswith(message), str(info.value)


def test_fairlearn_names_keep_fairlearns_meaning():
    spec = FairnessSpec(**BASE, constraints=[{"metric": "equalized_odds_difference", "max": 0.1}])
    (constraint,) = spec.constraints
    assert constraint.catalogue is None and constraint.aggregate == "difference"  # the largest gap, fairlearn's
    with pytest.raises(SpecError, match=r"constraints\[0\]: unknown key 'facet_values'"):
        FairnessSpec(**BASE, constraints=[{"metric": "demographic_parity_ratio", "min": 0.8, "facet_values": ["F"]}])


@pytest.mark.airflow
def test_fairness_operator_judges_clarify_names_on_a_file_read_in_batches(airflow_home, tmp_path):
    frame = _predictions()
    path = tmp_path / "predictions.parquet"
    frame.to_parquet(path, row_group_size=1000)
    run = load_dag(TEST_DAGS / "data_bias_cases.py", "fairness_by_clarify_name").test(run_conf={"path": str(path)})
    assert task_states(run) == {"fairness": "failed"}
    result = checked(xcom_value(run, "fairness"))
    assert result["data"]["fingerprint"].startswith("sha256:cells:")  # counts arrived, not rows
    by_name = {a["name"]: a for a in result["assertions"]}
    data = bias_counts.from_frame(
        frame, facets=["sex", "race"], label="repaid", prediction="approved", positive_labels=[1]
    )
    di = bias_metrics.evaluate(data, ["DI"], stage="post_training", facet_values={"sex": "F"})["DI"].value
    assert by_name["DI"]["observed"] == pytest.approx(di, abs=1e-12) and by_name["DI"]["success"] is False
    assert by_name["DI"]["details"]["rationale"] == "four-fifths rule" and "ci" in by_name["DI"]["details"]
    rd = bias_metrics.evaluate(data, ["RD"], stage="post_training", facet_values=[{"sex": "F", "race": "B"}])["RD"]
    assert by_name["RD_black_women"]["observed"] == pytest.approx(rd.value, abs=1e-12)
    assert by_name["GE"]["details"]["facet_values"] is None  # every row's benefit: no facet
    assert result["summary"].startswith("DI = ")


def test_only_catalogue_constraints_leave_no_group_out_for_its_size():
    """min_group_size (30 by default) is about fairlearn's aggregates; Clarify's DI reads every row."""
    spec = {k: v for k, v in BASE.items() if k != "min_group_size"}
    result = evaluate(THIRTY, **spec, constraints=[{"metric": "DI", "min": 0.4}])
    assert result.assertions[0].observed == pytest.approx(0.5, abs=1e-15) and result.status == "passed"
    with pytest.raises(DataError, match="every group has fewer than min_group_size=30 rows"):
        evaluate(
            THIRTY, **spec, constraints=[{"metric": "DI", "min": 0.4}, {"metric": "demographic_parity_ratio", "min": 0}]
        )


# -- the generalized entropy's alpha ------------------------------------------------------------
def test_alpha_of_a_ge_constraint_in_a_policy():
    """``alpha`` on a GE constraint, as a policy writes it: 1 is the Theil index, 0 the mean log
    deviation (as AIF360 computes it, tests/test_bias_oracle.py), the default 2 is Clarify's GE."""
    from airflow_alignment.policy import load_policy

    policy = load_policy(
        """
name: lending
version: "1"
checks:
  - name: fairness
    kind: fairness
    data: predictions.parquet
    y_true: y
    y_pred: p
    sensitive_features: [sex]
    min_group_size: 1
    constraints:
      - {metric: GE, max: 1}
      - {metric: GE, alpha: 1, max: 1}
      - {metric: generalized_entropy_index, alpha: 0, max: 1, name: mean_log_deviation}
      - {metric: between_all_groups_generalized_entropy_index, alpha: 3, max: 1}
"""
    )
    spec = FairnessSpec(**policy.check("fairness").spec)
    result = evaluate(THIRTY, spec)
    ge, theil, mld, between = result.assertions
    assert [a.name for a in result.assertions] == [
        "GE",
        "GE(alpha=1)",
        "mean_log_deviation",
        "between_all_groups_generalized_entropy_index(alpha=3)",
    ]
    data = bias_counts.from_frame(THIRTY, facets=["sex"], label="y", prediction="p", positive_labels=[1])

    def value(name: str, **params: float) -> float | None:
        return bias_metrics.evaluate(data, [name], stage="post_training", **params)[name].value

    # benefits b = pred - y + 1 of the 30 rows: FN 2 + 2 (0), TP 2 + 10 and TN 5 + 6 (1), FP 1 + 2 (2)
    b = np.array([0] * (2 + 2) + [1] * (2 + 10 + 5 + 6) + [2] * (1 + 2), dtype=float)
    mu = b.mean()
    assert ge.observed == pytest.approx(np.mean((b / mu) ** 2 - 1) / 2, abs=1e-12)
    assert theil.observed == pytest.approx(value("theil_index"), abs=1e-15)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 log 0 is 0
        assert theil.observed == pytest.approx(np.mean(np.where(b > 0, b / mu * np.log(b / mu), 0.0)), abs=1e-12)
    assert mld.observed is None and mld.success is False  # a benefit of 0 makes -log(0) infinite
    assert mld.details["reason"].startswith("alpha = 0 <= 0 and a row has benefit 0")
    assert between.observed == pytest.approx(
        value("between_all_groups_generalized_entropy_index", alpha=3.0), abs=1e-15
    )
    assert [a.details["alpha"] for a in result.assertions] == [2.0, 1.0, 0.0, 3.0]
    assert result.metrics["catalogue"]["GE(alpha=1)"]["alpha"] == 1.0


@pytest.mark.parametrize(
    ("constraint", "message"),
    [
        ({"metric": "DI", "min": 0.8, "alpha": 1}, "constraints[0].alpha: DI has no alpha; GE, generalized_entropy"),
        ({"metric": "theil_index", "max": 1, "alpha": 2}, "constraints[0].alpha: theil_index has no alpha"),
        ({"metric": "GE", "max": 1, "alpha": "one"}, "constraints[0].alpha: expected a finite number"),
        ({"metric": "GE", "max": 1, "alpha": float("inf")}, "constraints[0].alpha: expected a finite number"),
        ({"metric": "GE", "max": 1, "alpha": True}, "constraints[0].alpha: expected a finite number"),
    ],
)
def test_alpha_is_checked_where_it_is_written(constraint, message):
    with pytest.raises(SpecError) as info:
        FairnessSpec(**{**BASE, "constraints": [constraint]})
    assert str(info.value).startswith(message), str(info.value)


def test_alpha_has_no_meaning_for_pre_training_metrics():
    from airflow_alignment.specs import DataBiasSpec

    with pytest.raises(
        SpecError, match=r"^constraints\[0\]\.alpha: DPL has no alpha: no pre-training metric takes one"
    ):
        DataBiasSpec(
            label="y",
            sensitive_features="sex",
            facet_values={"sex": "F"},
            constraints=[{"metric": "DPL", "max": 0.1, "alpha": 1}],
        )
