"""Benchmark: ``ExpectationsCheckOperator`` against raw Great Expectations (not a timed test).

Run from the repository root::

    .venv/bin/python benchmarks/bench_expectations.py [--rows 1000000] [--repeats 3]

One Parquet file of ``--rows`` loan applications (``airflow_alignment.samples``), five
expectations. Both sides start from the same file path and end with a validation result:

- raw GX: ``pandas.read_parquet`` of the five columns, an ephemeral context (progress bars off),
  a suite, a whole-dataframe batch, ``ValidationDefinition.run(result_format=SUMMARY)``;
- ours: ``ExpectationsCheckOperator(...).execute(context)`` with a minimal task instance,
  writing its result to a temporary artifact store (load, GX, judge, fingerprint, store).

One warm-up round, then ``--repeats`` interleaved rounds; medians and their ratio (goal:
ours <= 1.15x raw GX).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import airflow_sandbox, fmt_times, interleaved, median, timed, verdict

GOAL = 1.15
EXPECTATIONS: list[dict[str, Any]] = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "income"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}},
    {
        "type": "expect_column_values_to_be_between",
        "kwargs": {"column": "credit_score", "min_value": 300, "max_value": 850},
    },
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "sex", "value_set": ["F", "M"]}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "race", "value_set": ["A", "B", "C", "D", "E"]}},
]
COLUMNS = ["income", "age", "credit_score", "sex", "race"]


class BenchTI:
    """The part of a task instance the operator uses."""

    dag_id = "bench_expectations"
    run_id = "bench"
    task_id = "validate"
    map_index = -1
    try_number = 1

    def __init__(self) -> None:
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


def raw_gx(path: str) -> Any:
    import great_expectations as gx
    import pandas as pd
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    df = pd.read_parquet(path, columns=COLUMNS)
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        ),
    )
    batch = context.data_sources.add_pandas("raw").add_dataframe_asset("data").add_batch_definition_whole_dataframe("w")
    gxe = gx.expectations
    suite = context.suites.add(
        gx.ExpectationSuite(
            name="raw",
            expectations=[
                gxe.ExpectColumnValuesToNotBeNull(column="income"),
                gxe.ExpectColumnValuesToBeBetween(column="age", min_value=18, max_value=100),
                gxe.ExpectColumnValuesToBeBetween(column="credit_score", min_value=300, max_value=850),
                gxe.ExpectColumnValuesToBeInSet(column="sex", value_set=["F", "M"]),
                gxe.ExpectColumnValuesToBeInSet(column="race", value_set=["A", "B", "C", "D", "E"]),
            ],
        )
    )
    definition = context.validation_definitions.add(gx.ValidationDefinition(data=batch, suite=suite, name="raw"))
    result = definition.run(batch_parameters={"dataframe": df}, result_format="SUMMARY")
    assert len(result.results) == len(EXPECTATIONS) and result.success, "the clean sample should pass every expectation"
    return result


def operator_run(path: str, store: str) -> Any:
    from airflow_alignment.operators import ExpectationsCheckOperator

    op = ExpectationsCheckOperator(task_id="validate", data=path, expectations=EXPECTATIONS, artifact_store=store)
    compact = op.execute({"ti": BenchTI()})  # type: ignore[arg-type]
    assert compact["status"] == "passed", compact["summary"]
    return compact


def profile_operator(path: str, store: str, repeats: int) -> None:
    """Where the operator's time goes: the engine's steps timed one by one (medians)."""
    from airflow_alignment.engines.common import describe
    from airflow_alignment.engines.expectations import _run_gx, needed_columns, resolve_specs
    from airflow_alignment.io import load_frame

    specs = resolve_specs(EXPECTATIONS)
    columns = needed_columns(specs)
    df = load_frame(path, columns=columns)
    steps = interleaved(
        {
            "load (read_parquet)": lambda: load_frame(path, columns=columns),
            "GX validation": lambda: _run_gx(df, specs),
            "data description (fingerprint)": lambda: describe(df, path, columns),
            "whole execute()": lambda: operator_run(path, store),
        },
        repeats=repeats,
        warmup=0,
    )
    whole = median(steps["whole execute()"])
    print("operator breakdown, medians:")
    for name, values in steps.items():
        print(f"  {name:<32} {median(values):.3f} s  ({median(values) / whole:.0%} of execute())")


def quiet_logs() -> None:
    """Keep the task's and GX's info logs out of the benchmark's output."""
    import logging

    import airflow.sdk  # noqa: F401  (configures logging first, so that our levels stick)

    logging.getLogger("great_expectations").setLevel(logging.ERROR)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also time the operator's steps")
    args = parser.parse_args()

    airflow_sandbox()
    quiet_logs()
    from airflow_alignment.samples import lending_applicants

    work = Path(tempfile.mkdtemp(prefix="alignment-bench-expectations-"))
    path = str(work / "applicants.parquet")
    t_gen, frame = timed(lambda: lending_applicants(args.rows, seed=3))
    frame.to_parquet(path, index=False)
    size_mb = os.path.getsize(path) / 1e6
    del frame
    print(
        f"data: {args.rows:,} rows, {len(EXPECTATIONS)} expectations, {path} ({size_mb:.1f} MB, made in {t_gen:.1f} s)"
    )

    store = str(work / "store")
    t0 = time.perf_counter()
    cpu: dict[str, list[float]] = {}
    times = interleaved(
        {"raw GX": lambda: raw_gx(path), "operator": lambda: operator_run(path, store)},
        repeats=args.repeats,
        cpu=cpu,
    )
    raw, ours = median(times["raw GX"]), median(times["operator"])
    print(
        f"raw GX   : median {raw:.3f} s wall, {median(cpu['raw GX']):.3f} s CPU  (runs: {fmt_times(times['raw GX'])})"
    )
    print(
        f"operator : median {ours:.3f} s wall, {median(cpu['operator']):.3f} s CPU  "
        f"(runs: {fmt_times(times['operator'])})"
    )
    print(f"ratio operator / raw GX (wall): {verdict(ours / raw, GOAL)}")
    # CPU time hardly moves when other processes compete for the cores; wall time does.
    print(f"ratio operator / raw GX (CPU time): {median(cpu['operator']) / median(cpu['raw GX']):.3f}x")
    if args.profile or ours / raw > GOAL:
        profile_operator(path, store, args.repeats)
    print(f"benchmark took {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
