"""Compute bias metrics with the reference libraries themselves (run in .venv-reference).

    .venv-reference/bin/python tests/reference/oracle.py CASES_DIR

``CASES_DIR/cases.json`` lists the cases; each names a Parquet file of rows in that folder and
the roles of its columns. The numbers go to ``CASES_DIR/results.json``: per case, per library
call, each metric's value, or ``{"error": "..."}`` when the library raised. Written by
tests/test_bias_oracle.py; nothing here imports airflow_alignment (its venv does not hold it).

Columns of a case (names fixed by the writer): ``facet`` (the facet column as Clarify reads it:
one string per intersectional group, or the numbers of a continuous facet cut at the case's
``facet_threshold``), ``y`` and ``p`` (label and prediction), ``g`` (the
stratum), ``w`` (weights), ``is_d`` (1 in the facet) and ``code_*`` (the sensitive features as
numbers, for AIF360).
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logging.disable(logging.CRITICAL)  # smclarify logs every failed metric with a traceback
warnings.filterwarnings("ignore")

PRE = ["CDDL", "CI", "DPL", "JS", "KL", "KS", "LP", "TVD"]
POST = ["AD", "CDDPL", "DAR", "DCA", "DCR", "DI", "DPPL", "DRR", "GE", "RD", "SD", "TE"]
CLASSIFICATION = [
    "statistical_parity_difference",
    "disparate_impact",
    "equal_opportunity_difference",
    "true_positive_rate_difference",
    "false_positive_rate_difference",
    "false_negative_rate_difference",
    "false_omission_rate_difference",
    "false_discovery_rate_difference",
    "false_positive_rate_ratio",
    "false_negative_rate_ratio",
    "false_omission_rate_ratio",
    "false_discovery_rate_ratio",
    "error_rate_difference",
    "error_rate_ratio",
    "average_odds_difference",
    "average_abs_odds_difference",
    "average_predictive_value_difference",
    "equalized_odds_difference",
]
ENTROPY = [
    "theil_index",
    "coefficient_of_variation",
    "between_group_theil_index",
    "between_group_coefficient_of_variation",
    "between_all_groups_theil_index",
    "between_all_groups_coefficient_of_variation",
]


def number(call: Any) -> Any:
    try:
        value = call()
    except Exception as exc:  # noqa: BLE001 - the library refused: record what it said
        return {"error": f"{type(exc).__name__}: {exc}"}
    return float(value)


def replicated(df: pd.DataFrame, case: dict[str, Any]) -> pd.DataFrame:
    """Rows repeated by their integer weight: what an unweighted library sees of weights."""
    if not case.get("weights"):
        return df
    return df.loc[df.index.repeat(df["w"].astype(int))].reset_index(drop=True)


def clarify(df: pd.DataFrame, case: dict[str, Any]) -> dict[str, Any]:
    from smclarify.bias import report
    from smclarify.bias.metrics import common, posttraining, pretraining

    out: dict[str, Any] = {}
    label_values = case["label_values"]
    facet = report.FacetColumn("facet", case["clarify_facet_values"])
    group = df["g"] if case.get("strata") else None
    label = report.LabelColumn("y", df["y"], label_values)
    for stage, metrics, key in (("PRE_TRAINING", PRE, "clarify_pre"), ("POST_TRAINING", POST, "clarify_post")):
        kwargs: dict[str, Any] = {"metrics": metrics, "group_variable": group}
        if stage == "POST_TRAINING":
            kwargs["predicted_label_column"] = report.LabelColumn("p", df["p"], label_values)
        try:
            reports = report.bias_report(df.drop(columns=["y", "p"]), facet, label, report.StageType[stage], **kwargs)
        except Exception as exc:  # noqa: BLE001 - Clarify refused: the test compares the refusal
            out[key] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        out[key] = [
            {"facet": r["value_or_threshold"], "metrics": {m["name"]: _reported(m) for m in r["metrics"]}}
            for r in reports
        ]
    if case.get("clarify_facet_values"):
        facet_index = (
            df["facet"] > case["clarify_facet_values"][0]
            if case.get("facet_threshold")
            else df["facet"].isin(case["clarify_facet_values"])
        )
        out["clarify_values"] = {
            "KL": number(lambda: pretraining.KL(df["y"], facet_index)),
            "JS": number(lambda: pretraining.JS(df["y"], facet_index)),
            "TVD": number(lambda: pretraining.TVD(df["y"], facet_index)),
            "KS": number(lambda: pretraining.KS(df["y"], facet_index)),
            **{f"LP{p}": number(lambda p=p: pretraining.LP_norm(df["y"], facet_index, p)) for p in case["p_values"]},
        }
    if case.get("alphas"):
        pos_label, pos_pred = _clarify_positives(df, case)
        out["clarify_ge"] = {str(a): number(lambda a=a: common.GE(pos_label, pos_pred, a)) for a in case["alphas"]}
        out["clarify_ge"]["registry"] = number(lambda: posttraining.GE(pos_label, pos_pred))
    return out


def _reported(metric: dict[str, Any]) -> Any:
    """A metric of Clarify's report: its value (the report writes infinity as "Infinity"), or its error."""
    if "error" in metric:
        return {"error": metric["error"]}
    return float(metric["value"])


def _clarify_positives(df: pd.DataFrame, case: dict[str, Any]) -> tuple[pd.Series, pd.Series]:
    """Clarify's own positive-label and positive-prediction indexes (its binning rules)."""
    from smclarify.bias import report
    from smclarify.bias.metrics import common

    values = list(case["label_values"])
    label_type, label_series = common.ensure_series_data_type(df["y"], values)
    pos_label, _ = report._positive_label_index(label_series, label_type, values)
    pred_type, pred_series = common.ensure_series_data_type(df["p"], values)
    # report._positive_predicted_index, without its refusal of data with no predicted positive
    if pred_type == common.DataType.CONTINUOUS:
        pred_series = pred_series.astype(label_series.dtype)
        intervals = report._interval_index(pd.concat([label_series, pred_series]), values)
        pos_pred = report._continuous_data_idx(pred_series, intervals)
    else:
        pos_pred = report._categorical_data_idx(pred_series, values)
    return pos_label.astype(bool), pos_pred.astype(bool)


def aif360(df: pd.DataFrame, case: dict[str, Any]) -> dict[str, Any]:
    """AIF360 on Clarify's binarised labels and predictions, weighted by ``w``."""
    from aif360.datasets import BinaryLabelDataset
    from aif360.metrics import BinaryLabelDatasetMetric, ClassificationMetric
    from aif360.sklearn import metrics as skm

    pos_label, pos_pred = _clarify_positives(df, case)
    codes = [c for c in df.columns if c.startswith("code_")]
    frame = df[[*codes, "is_d"]].astype(float)
    frame["y"] = pos_label.astype(float).to_numpy()
    weight = df["w"].astype(float).to_numpy() if case.get("weights") else np.ones(len(df))
    frame["w"] = weight
    kwargs = {
        "favorable_label": 1.0,
        "unfavorable_label": 0.0,
        "label_names": ["y"],
        "protected_attribute_names": [*codes, "is_d"],
        "instance_weights_name": "w",
    }
    truth = BinaryLabelDataset(df=frame, **kwargs)
    predicted = truth.copy()
    predicted.labels = pos_pred.astype(float).to_numpy().reshape(-1, 1)
    groups = {"unprivileged_groups": [{"is_d": 1.0}], "privileged_groups": [{"is_d": 0.0}]}
    out: dict[str, Any] = {}
    data = BinaryLabelDatasetMetric(truth, **groups)
    out["dataset"] = {
        "statistical_parity_difference": number(data.statistical_parity_difference),
        "mean_difference": number(data.mean_difference),
        "disparate_impact": number(data.disparate_impact),
        **{
            f"smoothed_empirical_differential_fairness@{c}": number(
                lambda c=c: data.smoothed_empirical_differential_fairness(concentration=c)
            )
            for c in case["concentrations"]
        },
    }
    cm = ClassificationMetric(truth, predicted, **groups)
    out["classification"] = {name: number(getattr(cm, name)) for name in CLASSIFICATION}
    out["classification"].update(
        {
            f"differential_fairness_bias_amplification@{c}": number(
                lambda c=c: cm.differential_fairness_bias_amplification(concentration=c)
            )
            for c in case["concentrations"]
        }
    )
    y = pd.Series(pos_label.to_numpy().astype(int), index=pd.MultiIndex.from_arrays([df["is_d"].to_numpy()]))
    sw = weight if case.get("weights") else None
    out["sklearn"] = {
        "class_imbalance": number(lambda: skm.class_imbalance(y, prot_attr=0, priv_group=0, sample_weight=sw)),
    }
    labels = pd.Series(np.asarray(df["y"]), index=y.index)
    out["sklearn"]["kl_divergence"] = number(
        lambda: skm.kl_divergence(labels, prot_attr=0, priv_group=0, sample_weight=sw)
    )
    out["entropy"] = _entropy(replicated(df, case), case) if _integral(case, df) else {}
    return out


def _integral(case: dict[str, Any], df: pd.DataFrame) -> bool:
    return not case.get("weights") or bool(np.all(df["w"] == np.round(df["w"])))


def _entropy(df: pd.DataFrame, case: dict[str, Any]) -> dict[str, Any]:
    """AIF360's entropy indexes, which read no weights: on the rows repeated by their weight."""
    from aif360.datasets import BinaryLabelDataset
    from aif360.metrics import ClassificationMetric

    pos_label, pos_pred = _clarify_positives(df, case)
    codes = [c for c in df.columns if c.startswith("code_")]
    frame = df[[*codes, "is_d"]].astype(float)
    frame["y"] = pos_label.astype(float).to_numpy()
    truth = BinaryLabelDataset(
        df=frame,
        favorable_label=1.0,
        unfavorable_label=0.0,
        label_names=["y"],
        protected_attribute_names=[*codes, "is_d"],
    )
    predicted = truth.copy()
    predicted.labels = pos_pred.astype(float).to_numpy().reshape(-1, 1)
    cm = ClassificationMetric(truth, predicted, unprivileged_groups=[{"is_d": 1.0}], privileged_groups=[{"is_d": 0.0}])
    out = {name: number(getattr(cm, name)) for name in ENTROPY}
    for alpha in case["alphas"]:
        out[f"generalized_entropy_index@{alpha}"] = number(lambda a=alpha: cm.generalized_entropy_index(alpha=a))
        out[f"between_group_generalized_entropy_index@{alpha}"] = number(
            lambda a=alpha: cm.between_group_generalized_entropy_index(alpha=a)
        )
        out[f"between_all_groups_generalized_entropy_index@{alpha}"] = number(
            lambda a=alpha: cm.between_all_groups_generalized_entropy_index(alpha=a)
        )
    return out


def main(folder: Path) -> None:
    cases = json.loads((folder / "cases.json").read_text())
    results = {}
    for case in cases:
        df = pd.read_parquet(folder / case["file"])
        for column in case.get("categorical", []):
            df[column] = df[column].astype("category")
        plain = replicated(df, case) if _integral(case, df) else None
        entry: dict[str, Any] = {"clarify": clarify(plain, case) if plain is not None else {}}
        if case.get("aif360", True):
            entry["aif360"] = aif360(df, case)
        results[case["id"]] = entry
    (folder / "results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
