"""Spark as the engine: checks on data that lives in Spark, counted where it lives.

The source itself, :class:`~airflow_alignment.io.spark_source.SparkSource`, lives in
:mod:`airflow_alignment.io` (cheap to import: DAG files and policies build it at parse time).
This package reads it:

- :mod:`.backend`: the Spark backend of the source registry, registered on import (the task
  base imports this package, so every operator and sensor reads a SparkSource);
- :mod:`.session`: Spark sessions from Airflow connections (``spark_connect``, ``spark`` with
  a local master), Spark's errors as ours;
- :mod:`.frames`: the source's rows as a lazy Spark DataFrame (quoted names, bound values,
  ``NaN`` read as missing, time windows);
- :mod:`.counts`: the cell table of count-based fairness and performance metrics, and
  labelled rows per group, each one Spark aggregation;
- :mod:`.scores`: ROC AUC (from per-score counts), log loss and Brier score per group;
- :mod:`.drift`: drift statistics from counts computed in Spark;
- :mod:`.expectations`: Great Expectations run by GX's Spark execution engine.

Only this package imports pyspark, inside its functions.
"""

from __future__ import annotations

from airflow_alignment.spark.backend import SPARK, SparkBackend

__all__ = ["SPARK", "SparkBackend"]
