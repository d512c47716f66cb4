"""The binary-classification core that fairness and performance share.

- :mod:`.cells`: predictions reduced to cell counts (:class:`~.cells.CellTable`), from a frame,
  from batches, or counted where the data lives;
- :mod:`.inputs`: the label, prediction, score, weight and group columns checked and turned
  into arrays (:func:`~.inputs.prepare`, :func:`~.inputs.check_table`);
- :mod:`.metrics`: cell counts, metric formulas, fairlearn's aggregates and the multinomial
  bootstrap, one formula for the estimate and its interval;
- :mod:`.judging`: a value against a constraint's bounds, intervals, baselines and the summary.

Importing it is cheap; numpy, pandas, fairlearn and scikit-learn load when a check runs.
"""

from __future__ import annotations

from airflow_alignment.engines.binary import cells, inputs, judging, metrics
from airflow_alignment.engines.binary.cells import CellTable
from airflow_alignment.engines.binary.judging import Baseline, load_baseline

__all__ = ["Baseline", "CellTable", "cells", "inputs", "judging", "load_baseline", "metrics"]
