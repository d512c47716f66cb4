"""Great Expectations on a Spark source, run by GX's Spark execution engine inside Spark.

:func:`evaluate` is :func:`airflow_alignment.engines.expectations.evaluate` for a
:class:`~airflow_alignment.io.spark_source.SparkSource`: the same specs, the same judging, the
same result but ``data`` (``fingerprint`` is ``null``, as for SQL sources). GX gets the
source's lazy DataFrame (:func:`~.frames.dataframe`, ``NaN`` read as missing) through a
``spark`` data source (``persist=False``: GX would cache the whole table otherwise) and
computes its metrics as Spark aggregations; what comes back is GX's metrics and its sample of
at most ``SAMPLE_SIZE`` unexpected values per expectation.

GX's Spark data source opens its own session (``SparkSession.builder.getOrCreate()``: on a
worker with a Spark Connect connection it would start a local JVM), and builds its columns
with ``pyspark.sql.functions``, which make Spark Connect columns only in pyspark's "Connect
mode" (``SPARK_CONNECT_MODE_ENABLED`` in the environment). :func:`_gx_uses` makes GX take the
source's session, and for a Connect session turns that mode on, for the duration of the run
and under a lock (both are process-wide).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow_alignment.engines import expectations as engine
from airflow_alignment.exceptions import DataError
from airflow_alignment.io.spark_source import SparkSource
from airflow_alignment.results import CheckResult, utcnow
from airflow_alignment.spark.frames import dataframe, require, row_count
from airflow_alignment.spark.session import is_connect, spark_errors
from airflow_alignment.specs.common import check_severity

if TYPE_CHECKING:
    from airflow_alignment.results import CheckResult

_GX_SESSION_LOCK = threading.Lock()
_CONNECT_MODE = "SPARK_CONNECT_MODE_ENABLED"  # read by pyspark.sql.utils.is_remote()


def evaluate(
    source: SparkSource,
    expectations: Any = None,
    suite: Any = None,
    severity: str = "block",
    check_name: str | None = None,
) -> CheckResult:
    """Run the expectations on ``source`` inside Spark and judge them (arguments as for the
    engine's ``evaluate``).

    :raises SpecError: an unknown expectation type or invalid kwargs (names the position).
    :raises DataError: a missing table or column, an empty source, an expectation GX cannot
        evaluate on Spark.
    """

    started, t0 = utcnow(), time.perf_counter()
    default_severity = check_severity(severity, "severity")
    specs = engine.resolve_specs(expectations, suite)
    gx_expectations = engine.build_gx_expectations(specs)  # a bad spec fails before Spark runs
    frame = dataframe(source)
    for i, spec in enumerate(specs):
        try:
            require(frame, [str(c) for c in engine._spec_columns(spec)], source)
        except DataError as exc:
            raise DataError(f"expectations[{i}] ({spec['type']}): {exc}") from None
    rows = row_count(source)
    if rows == 0:
        raise DataError(f"the dataset from {source} is empty (0 rows): there is nothing to check")
    context = engine._gx_context()
    with _gx_uses(frame.sparkSession), spark_errors(source):
        batch = (
            context.data_sources.add_spark("airflow_alignment", persist=False)
            .add_dataframe_asset("data")
            .add_batch_definition_whole_dataframe("whole")
        )
        outcomes = engine._validate(context, batch, specs, gx_expectations, {"dataframe": frame})
    data = {
        "source": str(source),
        "rows": rows,
        "columns": engine.needed_columns(specs) or list(frame.columns),
        "fingerprint": None,
    }
    return engine._judge(
        specs, outcomes, default_severity, rows=rows, data=data, check_name=check_name, started=started, t0=t0
    )


@contextlib.contextmanager
def _gx_uses(spark: Any) -> Iterator[None]:
    """GX's Spark execution engine takes ``spark`` as "its" session inside the block. The
    hook is GX's one way to a session (``get_or_create_spark_session``), set and restored
    under a lock so that two checks of one process do not cross."""
    from great_expectations.execution_engine.sparkdf_execution_engine import SparkDFExecutionEngine

    with _GX_SESSION_LOCK:
        original = SparkDFExecutionEngine.__dict__["get_or_create_spark_session"]
        mode = os.environ.get(_CONNECT_MODE)
        SparkDFExecutionEngine.get_or_create_spark_session = staticmethod(lambda spark_config=None: spark)
        if is_connect(spark):
            os.environ[_CONNECT_MODE] = "1"
        try:
            yield
        finally:
            SparkDFExecutionEngine.get_or_create_spark_session = original
            if mode is None:
                os.environ.pop(_CONNECT_MODE, None)
            else:
                os.environ[_CONNECT_MODE] = mode
