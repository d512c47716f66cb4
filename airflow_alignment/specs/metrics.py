"""The vocabulary of binary-classification constraints: metric names, aggregates and their options.

Each name is written here once; the specs validate against it and the engines compute it.
"""

from __future__ import annotations

from typing import Literal, get_args

# Count-based metrics: functions of the cells [tn, fp, fn, tp] of a group.
COUNT_METRICS: tuple[str, ...] = (
    "count",
    "selection_rate",
    "base_rate",
    "true_positive_rate",
    "false_positive_rate",
    "true_negative_rate",
    "false_negative_rate",
    "precision",
    "negative_predictive_value",
    "false_discovery_rate",
    "false_omission_rate",
    "accuracy",
    "error_rate",
    "balanced_accuracy",
    "f1",
)
# Score-based metrics: computed from y_score by scikit-learn (through fairlearn's MetricFrame per group).
SCORE_METRICS: tuple[str, ...] = ("roc_auc", "log_loss", "brier_score")
METRICS: tuple[str, ...] = COUNT_METRICS + SCORE_METRICS
# fairlearn's named aggregates: (metric, aggregate); equalized odds judges two metrics.
NAMED_AGGREGATES: dict[str, tuple[tuple[str, ...], str]] = {
    "demographic_parity_difference": (("selection_rate",), "difference"),
    "demographic_parity_ratio": (("selection_rate",), "ratio"),
    "equalized_odds_difference": (("true_positive_rate", "false_positive_rate"), "difference"),
    "equalized_odds_ratio": (("true_positive_rate", "false_positive_rate"), "ratio"),
    "equal_opportunity_difference": (("true_positive_rate",), "difference"),
    "equal_opportunity_ratio": (("true_positive_rate",), "ratio"),
}
Aggregate = Literal["difference", "ratio", "group_min", "group_max", "per_group", "overall"]
AGGREGATES: tuple[str, ...] = get_args(Aggregate)
Method = Literal["between_groups", "to_overall"]
METHODS: tuple[str, ...] = get_args(Method)
Agg = Literal["worst_case", "mean"]
AGGS: tuple[str, ...] = get_args(Agg)
MissingGroups = Literal["error", "drop", "as_group"]
MISSING_GROUPS: tuple[str, ...] = get_args(MissingGroups)
# Keys of a fairness result's metrics block that are not metric names.
RESERVED_KEYS: tuple[str, ...] = ("settings", "excluded_groups", "dropped_rows", "baseline", "marginal", "catalogue")
# Metrics whose every value lies in [0, 1]: a bound outside cannot be met.
UNIT_METRICS = frozenset(METRICS) - {"count", "log_loss"}

# Model quality (performance) judges the whole data: no group, no aggregate.
# Another name for a fairness metric: the formula is the same.
ALIASES: dict[str, str] = {"recall": "true_positive_rate"}
PERFORMANCE_COUNT_METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "precision",
    "recall",
    "f1",
    "error_rate",
    "selection_rate",
    "base_rate",
    "true_positive_rate",
    "false_positive_rate",
    "true_negative_rate",
    "false_negative_rate",
    "negative_predictive_value",
    "false_discovery_rate",
    "false_omission_rate",
)
PERFORMANCE_METRICS: tuple[str, ...] = PERFORMANCE_COUNT_METRICS + SCORE_METRICS
# Score metrics that need probabilities of the positive class, not any score.
PROBABILITY_METRICS: tuple[str, ...] = ("log_loss", "brier_score")
