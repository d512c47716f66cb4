"""The bounds on every size-like input, written once.

A check runs on a worker and a policy loads in the dag-processor: an option that sets how much
is allocated (bootstrap replicates, bins, rows per batch) or how much is compared (groups) has
an upper bound here, so a typo such as ``n_boot: 1000000000000`` is a clear error naming the
option instead of an out-of-memory kill. The bounds sit well above any sensible value; each is
explained where it is defined, and ``docs/policy.md`` lists them.

Imports nothing heavy: policies and operators use it at DAG parse time.
"""

from __future__ import annotations

from typing import Any

from airflow_alignment.exceptions import SpecError

# Bootstrap replicates (fairness and performance ``n_boot``): an interval's percentiles settle
# long before 100,000 draws; each replicate costs one (groups x 4) table of counts.
MAX_N_BOOT = 100_000
# Replicates x groups of one fairness bootstrap: the replicate tables take 32 bytes per entry
# as counts and as weights, so 2,000,000 keeps a bootstrap under ~250 MB whatever the data.
MAX_BOOTSTRAP_DRAWS = 2_000_000
# Replicates x cells of one bias bootstrap (strata x groups x label values x predictions): the
# same memory as the fairness bound, whose groups hold 4 cells each.
MAX_BOOTSTRAP_CELLS = 4 * MAX_BOOTSTRAP_DRAWS
# Groups one fairness check compares (the distinct combinations of the sensitive features
# present in the data) and groups a drift check follows the selection rate of.
MAX_GROUPS = 10_000
# Quantile bins of a numeric drift feature.
MAX_BINS = 1_000
# Rows per batch of a file (``FileSource.batch_rows``) or per fetch of a SQL source
# (``SqlSource.chunk_rows``): one batch is in memory at a time.
MAX_BATCH_ROWS = 10_000_000
# Policy files: bytes, nesting depth, and values (mappings, lists and scalars) in one document.
MAX_POLICY_BYTES = 1024 * 1024
MAX_POLICY_DEPTH = 32
MAX_POLICY_VALUES = 100_000


def whole_number(value: Any, name: str, *, low: int, high: int, what: str = "") -> int:
    """``value`` when it is a whole number in ``[low, high]``; else a :class:`SpecError`
    naming ``name``, the value and the bounds. ``what`` says what the number counts."""
    counts = f" of {what}" if what else ""
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{name}: expected a whole number{counts} between {low:,} and {high:,}, got {value!r}")
    if value < low:
        raise SpecError(f"{name}: expected a whole number{counts} of at least {low:,}, got {value!r}")
    if value > high:
        raise SpecError(f"{name}: {value:,} is more than {high:,}, the most a check allows; lower it")
    return value
