"""airflow-alignment: AI alignment checks as first-class Apache Airflow tasks.

The public surface is small and stable:

- :mod:`airflow_alignment.operators` (Airflow operators),
- :mod:`airflow_alignment.engines` (plain-Python ``evaluate`` functions),
- :class:`airflow_alignment.results.CheckResult` (the result contract),
- :mod:`airflow_alignment.io` (where data comes from).
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
