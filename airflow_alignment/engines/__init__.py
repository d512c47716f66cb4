"""Pure-Python engines: data and a spec in, a ``CheckResult`` out. Never imports airflow.

::

    from airflow_alignment.engines import evaluate_fairness
    result = evaluate_fairness(df, y_true="repaid", y_pred="approved", sensitive_features="sex",
                               constraints=[{"metric": "demographic_parity_ratio", "min": 0.8}])

Each ``evaluate_*`` takes its kind's spec (:mod:`airflow_alignment.specs`) or the spec's fields
as keyword arguments. Importing this package is cheap: numpy, pandas, Great Expectations,
fairlearn and SciPy load when an evaluation runs.
"""

from __future__ import annotations

from airflow_alignment.engines.data_bias import evaluate as evaluate_data_bias
from airflow_alignment.engines.drift import evaluate as evaluate_drift
from airflow_alignment.engines.expectations import evaluate as evaluate_expectations
from airflow_alignment.engines.fairness import evaluate as evaluate_fairness
from airflow_alignment.engines.gate import decide as decide_gate
from airflow_alignment.engines.performance import evaluate as evaluate_performance

__all__ = [
    "decide_gate",
    "evaluate_data_bias",
    "evaluate_drift",
    "evaluate_expectations",
    "evaluate_fairness",
    "evaluate_performance",
]
