"""How each kind of source is read: one registry, one backend per source type.

:func:`backend_for` finds the backend of a ``data=`` value (after :func:`~.sources.as_source`):

- a path or URI string, an ``os.PathLike`` (``pathlib.Path``, ``ObjectStoragePath``) or a
  :class:`~.sources.FileSource`: :class:`FileBackend` (CSV, Parquet, JSON lines; a large file
  is counted batch by batch);
- a :class:`~.sources.SqlSource`: :class:`SqlBackend` (counts, windows and label filters run
  inside the database);
- a ``pandas.DataFrame``: :class:`FrameBackend`;
- a callable returning a DataFrame (or a :class:`~.sources.CallableData`): :class:`CallableBackend`.

Operators, sensors, engines and the lineage ask the backend what to do with a source, never
``isinstance``; :func:`register_backend` adds a kind of source in one place: the Spark
backend (:class:`airflow_alignment.spark.backend.SparkBackend`, for a
:class:`~.spark_source.SparkSource`) registers itself when :mod:`airflow_alignment.spark` is
imported, which the task base does. Importing this module is cheap: pandas loads when a
backend reads.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_alignment.exceptions import DataError, SpecError
from airflow_alignment.io import files, sql
from airflow_alignment.io.cells import CellKeys, count_batches
from airflow_alignment.io.frames import select_columns
from airflow_alignment.io.sources import CallableData, FileSource, SqlSource, as_source, callable_name
from airflow_alignment.io.spark_source import SparkSource

if TYPE_CHECKING:
    import pandas as pd

    from airflow_alignment.io.window import Window

log = logging.getLogger(__name__)


class SourceBackend:
    """How one kind of source is read. A subclass says what its kind can do.

    ``in_place``: counts, time windows, label filters and readiness conditions run where the
    data lives (a database), so that only counts travel.
    """

    in_place: ClassVar[bool] = False
    #: ``score_metrics`` computes ROC AUC, log loss and Brier where the data lives (Spark).
    scores_in_place: ClassVar[bool] = False

    def describe(self, source: Any) -> str:
        """A short text naming the source, for results and logs."""
        return str(source)

    def frame(self, source: Any, columns: Sequence[str] | None, format: str | None) -> pd.DataFrame:
        """The ``columns`` (all with ``None``) of every row."""
        raise NotImplementedError

    def read(
        self,
        source: Any,
        columns: Sequence[str] | None = None,
        *,
        format: str | None = None,
        window: Window | None = None,
        not_null: Sequence[str] = (),
    ) -> pd.DataFrame:
        """The ``columns`` (all with ``None``) of the rows inside ``window`` whose ``not_null``
        columns have a value. Here: read, then filter; :class:`SqlBackend` filters in the database."""
        wanted = None if columns is None else list(dict.fromkeys(columns))
        extra = [window.column] if window is not None else []
        extra += list(not_null)
        frame = self.frame(source, None if wanted is None else list(dict.fromkeys(wanted + extra)), format)
        if window is not None:
            frame = window.keep(frame, self.describe(source))
        if not_null:
            frame = frame[frame[list(not_null)].notna().all(axis=1).to_numpy()]
        return frame if wanted is None or not extra else frame[wanted]

    def count_cells(self, source: Any, keys: CellKeys, **rows: Any) -> pd.DataFrame | None:
        """The summed cells (:mod:`airflow_alignment.io.cells`) counted where the data is, or
        ``None``: the rows are read instead."""
        return None

    def score_metrics(self, source: Any, *, features: Sequence[str], **roles: Any) -> pd.DataFrame:
        """ROC AUC, log loss and Brier score of each group of ``features``, computed where the data
        is (one row per group: :func:`airflow_alignment.spark.scores.score_metrics`; ``scores_in_place``
        backends only). ``roles``: ``y_true``, ``y_score``, ``pos_label``,
        ``sample_weight``, and ``window`` and ``not_null`` as for :meth:`read`."""
        raise NotImplementedError(f"{type(self).__name__} reads rows; compute score metrics after reading")

    def group_counts(
        self, source: Any, features: Sequence[str], label: str, *, window: Window | None = None
    ) -> list[tuple[tuple[Any, ...], int, int]]:
        """Rows and labelled rows (``label`` not missing) per group of ``features`` inside
        ``window``, counted where the data lives (``in_place`` backends only)."""
        raise NotImplementedError(f"{type(self).__name__} reads rows; count them after reading")

    def run_expectations(self, source: Any, specs: Sequence[Any], *, severity: str, check_name: str | None) -> Any:
        """The ``CheckResult`` of the expectations run where the data lives by this backend's own
        engine, or ``None``: the expectations engine takes the source (a frame, a SqlSource)."""
        return None

    def run_drift(self, reference: Any, current: Any, spec: Any, **options: Any) -> Any:
        """The drift ``CheckResult`` computed where both sides live, or ``None``: the rows are
        read and the drift engine judges the frames. ``options``: ``window``, ``check_name``."""
        return None

    def carry(self, source: Any, where: str) -> Any:
        """The source as plain values a trigger can carry (see :func:`plain_data`)."""
        what = "callable" if isinstance(source, CallableData) or callable(source) else type(source).__name__
        raise SpecError(
            f"{where}: a deferrable sensor needs a path, a URI, a FileSource or a SqlSource (the triggerer cannot "
            f"run a {what}); use mode='poke' or mode='reschedule' for a callable"
        )

    def lineage_name(self, source: Any) -> tuple[str, str] | None:
        """``(namespace, name)`` of the dataset by OpenLineage's naming, or ``None``."""
        return None


class FileBackend(SourceBackend):
    """A path or URI (``str``, ``os.PathLike``) or a :class:`FileSource`."""

    def frame(self, source: Any, columns: Sequence[str] | None, format: str | None) -> pd.DataFrame:
        if isinstance(source, FileSource):
            return files.read_file(
                source.path, source.format or format, columns, source.storage_options, source.read_options
            )
        return files.read_file(source, format, columns)

    def count_cells(self, source: Any, keys: CellKeys, **rows: Any) -> pd.DataFrame | None:
        """A large file (or a ``FileSource`` with ``batch_rows``), counted batch by batch."""
        size = files.batch_rows(source) if not rows else None
        if size is None:
            return None
        log.info("reading %s in batches of %s rows and counting cells", source, f"{size:,}")
        return count_batches(files.iter_batches(source, keys.read, size), keys)

    def carry(self, source: Any, where: str) -> Any:
        if isinstance(source, FileSource):
            return dataclasses.asdict(source)
        return str(source)

    def lineage_name(self, source: Any) -> tuple[str, str] | None:
        namespace, key = getattr(source, "namespace", None), getattr(source, "key", None)
        if isinstance(namespace, str) and isinstance(key, str):  # an ObjectStoragePath
            path = f"{namespace}/{key}"
        else:
            path = str(source.path if isinstance(source, FileSource) else source)
        if not path.strip():
            return None
        return file_dataset_name(path)


class SqlBackend(SourceBackend):
    """A :class:`SqlSource`: its checks run inside the database."""

    in_place = True

    def frame(self, source: Any, columns: Sequence[str] | None, format: str | None) -> pd.DataFrame:
        return sql.read_frame(source, columns)

    def read(
        self,
        source: Any,
        columns: Sequence[str] | None = None,
        *,
        format: str | None = None,
        window: Window | None = None,
        not_null: Sequence[str] = (),
    ) -> pd.DataFrame:
        return sql.read_frame(source, columns, window=window, not_null=not_null)

    def count_cells(self, source: Any, keys: CellKeys, **rows: Any) -> pd.DataFrame | None:
        log.info("counting cells inside the database of %s", source)
        return sql.count_cells(source, keys, **rows)

    def group_counts(
        self, source: Any, features: Sequence[str], label: str, *, window: Window | None = None
    ) -> list[tuple[tuple[Any, ...], int, int]]:
        return sql.group_counts(source, features, label, window=window)

    def carry(self, source: Any, where: str) -> Any:
        return dataclasses.asdict(source)

    def lineage_name(self, source: Any) -> tuple[str, str] | None:
        return sql.dataset_name(source)


class FrameBackend(SourceBackend):
    """A ``pandas.DataFrame`` (an engine called from a notebook, a test)."""

    def describe(self, source: Any) -> str:
        return "dataframe"

    def frame(self, source: Any, columns: Sequence[str] | None, format: str | None) -> pd.DataFrame:
        return select_columns(source, columns, "the DataFrame")


class CallableBackend(SourceBackend):
    """A callable taking no argument and returning a DataFrame, called when the data is read."""

    def describe(self, source: Any) -> str:
        return callable_name(source.func if isinstance(source, CallableData) else source)

    def frame(self, source: Any, columns: Sequence[str] | None, format: str | None) -> pd.DataFrame:
        import pandas as pd

        func = source.func if isinstance(source, CallableData) else source
        frame = func()
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"data callable {callable_name(func)} returned {type(frame).__name__}, expected a pandas.DataFrame"
            )
        return select_columns(frame, columns, callable_name(func))


FILES, SQL, FRAMES, CALLABLES = FileBackend(), SqlBackend(), FrameBackend(), CallableBackend()
_BACKENDS: dict[type, SourceBackend] = {
    str: FILES,
    FileSource: FILES,
    SqlSource: SQL,
    CallableData: CALLABLES,
}


def register_backend(source_type: type, backend: SourceBackend) -> None:
    """Read sources of ``source_type`` (and its subclasses) with ``backend``."""
    _BACKENDS[source_type] = backend


def backend_for(source: Any) -> SourceBackend:
    """The backend of ``source`` (a value :func:`~.sources.as_source` returned).

    :raises SpecError: nothing here can read it.
    """
    for cls in type(source).__mro__:
        if cls in _BACKENDS:
            return _BACKENDS[cls]
    if hasattr(source, "columns"):  # a pandas DataFrame, asked without importing pandas
        return FRAMES
    if isinstance(source, os.PathLike) or _is_object_path(source):
        return FILES
    if callable(source):
        return CALLABLES
    if isinstance(source, SparkSource):  # read by airflow_alignment.spark, which registers itself
        raise SpecError(
            "data: a SparkSource is read by the Spark backend: import airflow_alignment.spark (operators and "
            "sensors do) and install pyspark (pip install 'airflow-alignment[spark]')"
        )
    raise SpecError(
        f"data: cannot read a {type(source).__name__}; pass a path, a URI, a FileSource, a callable or a DataFrame"
    )


def _is_object_path(source: Any) -> bool:
    """An Airflow ``ObjectStoragePath`` (not an ``os.PathLike`` for a remote store): a namespace and a key."""
    return isinstance(getattr(source, "namespace", None), str) and isinstance(getattr(source, "key", None), str)


def load_frame(data: Any, columns: Sequence[str] | None = None, format: str | None = None) -> pd.DataFrame:
    """Load ``data`` as a ``pandas.DataFrame``, reading only ``columns`` when the format allows.

    Raises :class:`SourceUnavailableError` (retryable) when the file cannot be reached,
    :class:`DataError` when it cannot be parsed or lacks a requested column, and
    :class:`SpecError` when the source itself is malformed.
    """
    source = as_source(data)
    return backend_for(source).frame(source, columns, format)


def describe_source(data: Any) -> str:
    """A short text naming the source, for results and logs."""
    try:
        source = as_source(data)
        return backend_for(source).describe(source)
    except SpecError:
        return str(data)


def plain_data(data: Any, where: str) -> Any:
    """``data`` as plain values a trigger can carry: a path string, or a FileSource or
    SqlSource as the mapping that :func:`~.sources.as_source` reads back.

    :raises SpecError: the source cannot travel (a callable, a DataFrame)."""
    if isinstance(data, (str, dict)):
        return data
    source = as_source(data)
    try:
        backend = backend_for(source)
    except SpecError:
        backend = SourceBackend()
    return backend.carry(source, where)


def file_dataset_name(path: str) -> tuple[str, str]:
    """``(namespace, name)`` of a path or URI, following OpenLineage's naming conventions: a
    local path is ``file`` and its absolute path, a URI ``scheme://bucket`` and its key (an
    ``s3://conn_id@bucket/key`` drops the connection id, as ``ObjectStoragePath.namespace`` does)."""
    from urllib.parse import urlsplit

    if "://" not in path or path.startswith("file://"):
        return "file", os.path.abspath(path.removeprefix("file://"))
    parts = urlsplit(path)
    bucket = parts.netloc.rpartition("@")[2]  # s3://aws_default@bucket/key: the conn id is not a name
    return f"{parts.scheme}://{bucket}", parts.path.lstrip("/")
