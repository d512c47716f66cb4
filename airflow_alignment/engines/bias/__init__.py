"""Data and model bias by the names of SageMaker Clarify and AIF360 (``docs/bias-metrics.md``).

- :mod:`airflow_alignment.specs.bias_metrics` (the catalogue, a spec's vocabulary): the metric
  names, what each compares and the library it equals; the parse-time checks of names and
  parameters. Imports nothing heavy.
- :mod:`.counts`: a cell table (or a DataFrame) reduced to the counts every metric reads.
- :mod:`.metrics`: :func:`~.metrics.evaluate` and :func:`~.metrics.one_vs_rest`.
- :mod:`.pretraining` and :mod:`.posttraining`: each stage's metrics from the counts of the
  facet and the rest (or of every group), and why a value is undefined; :mod:`.compute` splits
  the counts into the sides for them (for many facets and bootstrap replicates at once);
  :mod:`.formulas`: the formulas on count arrays.

::

    from airflow_alignment.engines.bias import counts, metrics
    data = counts.from_frame(df, facets=["sex", "race"], label="approved", prediction="pred",
                             group_variable="region", positive_labels=[1])
    pre = metrics.evaluate(data, ["CI", "DPL", "CDDL"], stage="pre_training",
                           facet_values={"sex": "F"})
    post = metrics.evaluate(data, ["DI", "DPPL", "average_odds_difference"],
                            stage="post_training", facet_values={"sex": "F"})

Importing this package loads only the catalogue; numpy and pandas load with the counts.
"""

from __future__ import annotations

from airflow_alignment.specs.bias_metrics import (
    CATALOGUE,
    POST_TRAINING,
    PRE_TRAINING,
    BiasValue,
    MetricInfo,
    check_names,
    check_params,
)

__all__ = ["CATALOGUE", "POST_TRAINING", "PRE_TRAINING", "BiasValue", "MetricInfo", "check_names", "check_params"]
