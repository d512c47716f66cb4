"""The bias catalogue: SageMaker Clarify's and AIF360's group metrics by their names.

Pre-training metrics read labelled data (no model); post-training metrics read labels and
predictions. A *facet* metric compares the facet ``d`` (the groups named by ``facet_values``,
the disadvantaged side) with the rest of the data ``a``. A *groups* metric compares every group
(differential fairness, between-all-groups entropy) and a *data* metric reads every row (the
generalized entropy of the benefits): neither depends on ``facet_values``.

Imports nothing heavy: a policy naming these metrics is validated when the DAG is parsed
(:func:`check_names`, :func:`check_params`). ``docs/bias-metrics.md`` is the reference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from airflow_alignment.exceptions import SpecError, did_you_mean

Stage = Literal["pre_training", "post_training"]
Scope = Literal["facet", "groups", "data"]
CLARIFY = "smclarify 0.5"
AIF360 = "aif360 0.6.1"
INF = math.inf


class BiasValue(NamedTuple):
    """One metric's value, or ``None`` and why there is none."""

    value: float | None
    reason: str | None


@dataclass(frozen=True)
class MetricInfo:
    """What a metric is: its stage, what it compares, the library it equals, its range."""

    name: str
    stage: Stage
    scope: Scope
    library: str
    reference: str  # the library's function or method it equals
    description: str
    low: float  # range of the value
    high: float
    ideal: float  # the value when there is no bias
    params: tuple[str, ...] = ()


def _info(stage: Stage, rows: list[tuple[Any, ...]]) -> dict[str, MetricInfo]:
    return {row[0]: MetricInfo(row[0], stage, *row[1:]) for row in rows}


_DIFF, _RATIO = (-1.0, 1.0, 0.0), (0.0, INF, 1.0)
_CM = "aif360.metrics.ClassificationMetric."
_BM = "aif360.metrics.BinaryLabelDatasetMetric."
# name, scope, library, reference, description, low, high, ideal, params
PRE_TRAINING: dict[str, MetricInfo] = _info(
    "pre_training",
    [
        ("CI", "facet", CLARIFY, "pretraining.CI", "class imbalance: (n_a - n_d) / (n_a + n_d)", -1.0, 1.0, 0.0),
        ("DPL", "facet", CLARIFY, "pretraining.DPL", "difference in positive proportions of labels, q_a - q_d", *_DIFF),
        (
            "KL",
            "facet",
            CLARIFY,
            "pretraining.KL",
            "Kullback-Leibler divergence KL(P_a || P_d) of the labels",
            0.0,
            INF,
            0.0,
            ("label_distribution",),
        ),
        (
            "JS",
            "facet",
            CLARIFY,
            "pretraining.JS",
            "Jensen-Shannon divergence of the label distributions",
            0.0,
            math.log(2),
            0.0,
            ("label_distribution",),
        ),
        (
            "LP",
            "facet",
            CLARIFY,
            "pretraining.LP_norm",
            "Lp-norm of the difference of the label distributions",
            0.0,
            2.0,
            0.0,
            ("p", "label_distribution"),
        ),
        (
            "TVD",
            "facet",
            CLARIFY,
            "pretraining.TVD",
            "total variation distance of the label distributions",
            0.0,
            1.0,
            0.0,
            ("label_distribution",),
        ),
        (
            "KS",
            "facet",
            CLARIFY,
            "pretraining.KS",
            "largest difference of the label distributions",
            0.0,
            1.0,
            0.0,
            ("label_distribution",),
        ),
        (
            "CDDL",
            "facet",
            CLARIFY,
            "pretraining.CDDL",
            "conditional demographic disparity in labels, by group_variable",
            -1.0,
            1.0,
            0.0,
        ),
        (
            "statistical_parity_difference",
            "facet",
            AIF360,
            _BM + "statistical_parity_difference",
            "base rate of d minus base rate of a",
            *_DIFF,
        ),
        ("mean_difference", "facet", AIF360, _BM + "mean_difference", "alias of statistical_parity_difference", *_DIFF),
        ("disparate_impact", "facet", AIF360, _BM + "disparate_impact", "base rate of d over base rate of a", *_RATIO),
        ("class_imbalance", "facet", AIF360, "aif360.sklearn.metrics.class_imbalance", "(n_d - n_a) / n", *_DIFF),
        (
            "kl_divergence",
            "facet",
            AIF360,
            "aif360.sklearn.metrics.kl_divergence",
            "KL(P_a || P_d) over every label value",
            0.0,
            INF,
            0.0,
        ),
        (
            "smoothed_empirical_differential_fairness",
            "groups",
            AIF360,
            _BM + "smoothed_empirical_differential_fairness",
            "largest log-ratio of smoothed base rates between groups",
            0.0,
            INF,
            0.0,
            ("concentration",),
        ),
    ],
)
_POST_AIF360_RATES = [
    (
        name,
        "facet",
        AIF360,
        _CM + name,
        text,
        *(_RATIO if name.endswith("ratio") or name == "disparate_impact" else _DIFF),
    )
    for name, text in [
        ("statistical_parity_difference", "selection rate of d minus that of a"),
        ("disparate_impact", "selection rate of d over that of a"),
        ("equal_opportunity_difference", "true positive rate of d minus that of a"),
        ("true_positive_rate_difference", "true positive rate of d minus that of a"),
        ("false_positive_rate_difference", "false positive rate of d minus that of a"),
        ("false_negative_rate_difference", "false negative rate of d minus that of a"),
        ("false_omission_rate_difference", "false omission rate of d minus that of a"),
        ("false_discovery_rate_difference", "false discovery rate of d minus that of a"),
        ("false_positive_rate_ratio", "false positive rate of d over that of a"),
        ("false_negative_rate_ratio", "false negative rate of d over that of a"),
        ("false_omission_rate_ratio", "false omission rate of d over that of a"),
        ("false_discovery_rate_ratio", "false discovery rate of d over that of a"),
        ("error_rate_difference", "error rate of d minus that of a"),
        ("error_rate_ratio", "error rate of d over that of a"),
        ("average_odds_difference", "mean of the FPR and TPR differences (d - a)"),
        ("average_predictive_value_difference", "mean of the PPV and FOR differences (d - a)"),
    ]
]
_GE = "generalized entropy of the benefits b = y_pred - y_true + 1"
POST_TRAINING: dict[str, MetricInfo] = _info(
    "post_training",
    [
        ("DPPL", "facet", CLARIFY, "posttraining.DPPL", "difference in positive proportions of predictions", *_DIFF),
        ("DI", "facet", CLARIFY, "posttraining.DI", "disparate impact: q̂_d / q̂_a", *_RATIO),
        (
            "DCA",
            "facet",
            CLARIFY,
            "posttraining.DCA",
            "difference in conditional acceptance, c_a - c_d",
            -INF,
            INF,
            0.0,
        ),
        ("DCR", "facet", CLARIFY, "posttraining.DCR", "difference in conditional rejection, r_d - r_a", -INF, INF, 0.0),
        ("RD", "facet", CLARIFY, "posttraining.RD", "recall difference, TPR_a - TPR_d", *_DIFF),
        ("SD", "facet", CLARIFY, "posttraining.SD", "specificity difference, TNR_d - TNR_a", *_DIFF),
        ("DAR", "facet", CLARIFY, "posttraining.DAR", "difference in acceptance rates (precision), a - d", *_DIFF),
        ("DRR", "facet", CLARIFY, "posttraining.DRR", "difference in rejection rates (NPV), d - a", *_DIFF),
        ("AD", "facet", CLARIFY, "posttraining.AD", "accuracy difference, ACC_a - ACC_d", *_DIFF),
        ("TE", "facet", CLARIFY, "posttraining.TE", "treatment equality, FN_d/FP_d - FN_a/FP_a", -INF, INF, 0.0),
        (
            "CDDPL",
            "facet",
            CLARIFY,
            "posttraining.CDDPL",
            "conditional demographic disparity in predicted labels",
            -1.0,
            1.0,
            0.0,
        ),
        ("GE", "data", CLARIFY, "posttraining.GE (common.GE for alpha != 2)", _GE, 0.0, INF, 0.0, ("alpha",)),
        *_POST_AIF360_RATES,
        (
            "average_abs_odds_difference",
            "facet",
            AIF360,
            _CM + "average_abs_odds_difference",
            "mean of the absolute FPR and TPR differences",
            0.0,
            1.0,
            0.0,
        ),
        (
            "equalized_odds_difference",
            "facet",
            AIF360,
            _CM + "equalized_odds_difference",
            "larger absolute difference of FPR and TPR (d vs a)",
            0.0,
            1.0,
            0.0,
        ),
        (
            "generalized_entropy_index",
            "data",
            AIF360,
            _CM + "generalized_entropy_index",
            _GE,
            0.0,
            INF,
            0.0,
            ("alpha",),
        ),
        ("theil_index", "data", AIF360, _CM + "theil_index", "generalized entropy with alpha = 1", 0.0, INF, 0.0),
        (
            "coefficient_of_variation",
            "data",
            AIF360,
            _CM + "coefficient_of_variation",
            "sqrt(2 * generalized entropy with alpha = 2)",
            0.0,
            INF,
            0.0,
        ),
        (
            "between_group_generalized_entropy_index",
            "facet",
            AIF360,
            _CM + "between_group_generalized_entropy_index",
            "generalized entropy of the mean benefits of d and a",
            0.0,
            INF,
            0.0,
            ("alpha",),
        ),
        (
            "between_group_theil_index",
            "facet",
            AIF360,
            _CM + "between_group_theil_index",
            "between-group generalized entropy, alpha = 1",
            0.0,
            INF,
            0.0,
        ),
        (
            "between_group_coefficient_of_variation",
            "facet",
            AIF360,
            _CM + "between_group_coefficient_of_variation",
            "sqrt(2 * between-group generalized entropy, alpha = 2)",
            0.0,
            INF,
            0.0,
        ),
        (
            "between_all_groups_generalized_entropy_index",
            "groups",
            AIF360,
            _CM + "between_all_groups_generalized_entropy_index",
            "generalized entropy of every group's mean benefit",
            0.0,
            INF,
            0.0,
            ("alpha",),
        ),
        (
            "between_all_groups_theil_index",
            "groups",
            AIF360,
            _CM + "between_all_groups_theil_index",
            "between-all-groups generalized entropy, alpha = 1",
            0.0,
            INF,
            0.0,
        ),
        (
            "between_all_groups_coefficient_of_variation",
            "groups",
            AIF360,
            _CM + "between_all_groups_coefficient_of_variation",
            "sqrt(2 * between-all-groups entropy, alpha = 2)",
            0.0,
            INF,
            0.0,
        ),
        (
            "differential_fairness_bias_amplification",
            "groups",
            AIF360,
            _CM + "differential_fairness_bias_amplification",
            "smoothed EDF of the predictions minus that of the labels",
            -INF,
            INF,
            0.0,
            ("concentration",),
        ),
    ],
)
CATALOGUE: dict[Stage, dict[str, MetricInfo]] = {"pre_training": PRE_TRAINING, "post_training": POST_TRAINING}
# Names that fairlearn (and so the fairness engine) also uses, with another meaning: fairlearn's
# is the largest gap over every group (0 or more); AIF360's is facet d minus the rest (signed).
FAIRLEARN_NAME_CLASHES: tuple[str, ...] = ("equal_opportunity_difference", "equalized_odds_difference")
LABEL_DISTRIBUTIONS: tuple[str, ...] = ("binary", "values")


def check_names(metrics: Any, stage: Any, where: str = "metrics") -> list[str]:
    """The metric names, validated against the catalogue of ``stage`` (cheap: parse time).

    :raises SpecError: naming the position and the closest valid name.
    """
    if stage not in CATALOGUE:
        raise SpecError(f"stage: expected one of {', '.join(CATALOGUE)}, got {stage!r}")
    if isinstance(metrics, (str, bytes)) or not isinstance(metrics, Sequence) or not metrics:
        raise SpecError(f"{where}: expected a non-empty list of metric names, e.g. ['CI', 'DPL'], got {metrics!r}")
    valid = CATALOGUE[stage]
    for i, name in enumerate(metrics):
        if name not in valid:
            other: Stage = "post_training" if stage == "pre_training" else "pre_training"
            hint = f" ({name!r} is a {other} metric)" if name in CATALOGUE[other] else did_you_mean(str(name), valid)
            raise SpecError(f"{where}[{i}]: unknown {stage} metric {name!r}.{hint} Valid: {', '.join(valid)}")
    return list(metrics)


# The parameters' defaults: Clarify's (p, alpha, the binary label distribution of its report)
# and AIF360's (concentration).
DEFAULTS: dict[str, Any] = {"p": 2.0, "alpha": 2.0, "concentration": 1.0, "label_distribution": "binary"}


def check_params(*, p: Any, alpha: Any, concentration: Any, label_distribution: Any) -> None:
    """Refuse parameters that have no meaning (cheap: parse time)."""
    if not _number(p) or not p >= 1:
        raise SpecError(f"p: the Lp-norm order must be a number of at least 1 (or inf), got {p!r}")
    if not _number(alpha) or not math.isfinite(alpha):
        raise SpecError(f"alpha: expected a finite number (2 is Clarify's default), got {alpha!r}")
    if not _number(concentration) or not (math.isfinite(concentration) and concentration >= 0):
        raise SpecError(
            f"concentration: expected a number of at least 0 (1 is AIF360's default), got {concentration!r}"
        )
    if label_distribution not in LABEL_DISTRIBUTIONS:
        raise SpecError(
            f"label_distribution: expected one of {', '.join(LABEL_DISTRIBUTIONS)}, got {label_distribution!r}"
        )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
