"""Where data comes from: files and object storage, SQL tables and queries, Spark, callables.

The sources a ``data=`` argument names (:mod:`.sources`, :mod:`.spark_source`), how each kind is read
(:mod:`.backends`, one registry), files (:mod:`.files`), SQL (:mod:`.sql`), counts taken where
the data lives (:mod:`.cells`), time windows (:mod:`.window`) and the checks of a loaded frame
(:mod:`.frames`). Nothing here imports pandas, pyarrow or SQLAlchemy until data is read.
"""

from __future__ import annotations

from airflow_alignment.io.backends import (
    SourceBackend,
    backend_for,
    describe_source,
    load_frame,
    plain_data,
    register_backend,
)
from airflow_alignment.io.files import (
    DEFAULT_BATCH_ROWS,
    STREAM_BYTES,
    batch_rows,
    infer_format,
    iter_batches,
    object_path,
)
from airflow_alignment.io.frames import require_unique_columns
from airflow_alignment.io.sources import (
    FORMATS,
    CallableData,
    FileSource,
    SqlSource,
    as_source,
    keep_callable,
    validate_data_arg,
)
from airflow_alignment.io.spark_source import SparkSource
from airflow_alignment.io.window import Window

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "FORMATS",
    "STREAM_BYTES",
    "CallableData",
    "FileSource",
    "SourceBackend",
    "SparkSource",
    "SqlSource",
    "Window",
    "as_source",
    "backend_for",
    "batch_rows",
    "describe_source",
    "infer_format",
    "iter_batches",
    "keep_callable",
    "load_frame",
    "object_path",
    "plain_data",
    "register_backend",
    "require_unique_columns",
    "validate_data_arg",
]
