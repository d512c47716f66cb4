"""The statistics behind drift checks, computed from sufficient statistics.

Each method reads what a database or Spark can compute where the data lives, so that only
small tables travel:

- numeric features: the sorted non-missing values (one sort per sample), or a table of
  distinct values and their counts (``SELECT v, COUNT(*) ... GROUP BY v``);
- categorical features: a table of categories and their counts;
- binned features: the counts of each bin on both sides.

Modules (import them directly; this package imports nothing heavy):

- :mod:`.ks`: the two-sample Kolmogorov-Smirnov statistic from two sorted samples,
  and its p-value as a function of ``(D, n, m, method)``, both equal to ``scipy.stats.ks_2samp``.
- :mod:`.binning`: the reference-quantile bins, bin counts and the Population Stability Index,
  equal to the drift engine's.
- :mod:`.methods`: Wasserstein distance (normed by the reference standard deviation),
  Jensen-Shannon distance, the two-proportion z-test and the chi-square test, each equal to
  scipy on the same data.
- :mod:`.samples`: one column reduced to its sufficient statistics (missing and infinite values
  counted, never binned silently).
- :mod:`.compare`: every method on two samples, the ``method="auto"`` rule, the per-feature
  missing/infinite judgement, the dataset-level verdict, and the thread pool over columns.

numpy is imported by the modules (they only run when a check runs); scipy is imported inside
the functions that need it. Nothing here imports airflow.
"""
