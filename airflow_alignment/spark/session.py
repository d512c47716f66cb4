"""Spark sessions from Airflow connections, and Spark's errors as ours.

Two connection types:

- ``spark_connect``: a Spark Connect server. The URL is built by the apache-spark provider's
  ``SparkConnectHook`` (``sc://host:port/;user_id=<login>;token=<password>;use_ssl=...``), so a
  connection made in the provider's form works as is. The session is a thin gRPC client
  (``pyspark-client`` is enough); the work runs on the server's cluster.
- ``spark``: an in-process session whose master is the connection's host, ``local``,
  ``local[N]`` or ``local[*]``: the Airflow worker's process starts a JVM (Java 17+). Good for
  tests and single machines; a cluster is reached through its Spark Connect server instead.

Extra fields (both types): ``conf``, a mapping of Spark settings applied to the session
(``{"spark.sql.shuffle.partitions": "8"}``); for ``spark_connect`` also ``max_retries``: how
many times the client retries an unreachable server, with exponential back-off from 50 ms
(default :data:`DEFAULT_MAX_RETRIES`, about 17 s in all; pyspark's own default waits 10 minutes,
which Airflow's task retries do better).

Sessions are kept per connection id and connection URI, so a long-lived process picks up an
edited connection, and :func:`stop` forgets them.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from airflow_alignment.exceptions import AlignmentError, DataError, SourceUnavailableError, SpecError
from airflow_alignment.io.sources import airflow_connection

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from airflow_alignment.io.spark_source import SparkSource

log = logging.getLogger(__name__)

CONNECTION_TYPES = ("spark_connect", "spark")
DEFAULT_MAX_RETRIES = 5
_LOCAL_MASTER = re.compile(r"^local(\[(\d+|\*)(,\s*\d+)?\])?$")
_SESSIONS: dict[str, Any] = {}
_LOCK = threading.Lock()


def session(source: SparkSource | str) -> SparkSession:
    """The Spark session of the source's Airflow connection (opened on first use, then kept)."""
    conn_id = source if isinstance(source, str) else source.conn_id
    conn = airflow_connection(conn_id, "SparkSource")
    key = f"{conn_id}\x1f{conn.get_uri()}"
    with _LOCK:
        if key not in _SESSIONS or _closed(_SESSIONS[key]):
            _SESSIONS[key] = _open(conn_id, conn)
        return _SESSIONS[key]


def stop(conn_id: str | None = None) -> None:
    """Forget the sessions of ``conn_id`` (of every connection with ``None``); a Spark Connect
    session is closed on its server. An in-process session is left running: other code of the
    process may hold it, and it ends with the process."""
    with _LOCK:
        for key in list(_SESSIONS):
            if conn_id is None or key.split("\x1f", 1)[0] == conn_id:
                spark = _SESSIONS.pop(key)
                if is_connect(spark):
                    with contextlib.suppress(Exception):
                        spark.stop()


def is_connect(spark: Any) -> bool:
    """Whether ``spark`` is a Spark Connect session (a client of a server)."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def functions(of: Any) -> ModuleType:
    """pyspark's column functions for ``of`` (a session or a DataFrame): Spark Connect's own
    for a Connect session. ``pyspark.sql.functions`` picks one kind for the whole process
    (``is_remote()``), and a column of one kind does not mix with a frame of the other, while
    a process may hold both sessions (tests; a worker with two connections)."""
    if type(of).__module__.startswith("pyspark.sql.connect"):
        from pyspark.sql.connect import functions as connect_functions

        return connect_functions
    from pyspark.sql import functions as classic_functions

    return classic_functions


def window_spec(of: Any) -> Any:
    """pyspark's ``Window`` for ``of``, as :func:`functions` chooses."""
    if type(of).__module__.startswith("pyspark.sql.connect"):
        from pyspark.sql.connect.window import Window as ConnectWindow

        return ConnectWindow
    from pyspark.sql.classic.window import Window as ClassicWindow

    return ClassicWindow


@contextlib.contextmanager
def one_partition_window() -> Iterator[None]:
    """Running a plan with a window over all rows (no ``partitionBy``) on purpose: a running
    count over the distinct values of one column (drift; ungrouped ROC AUC). Spark Connect's
    client warns each time it sends such a plan; docs/decisions.md says why we accept it."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*No Partition Defined for Window", category=UserWarning)
        yield


def _closed(spark: Any) -> bool:
    if is_connect(spark):
        return bool(getattr(spark.client, "is_closed", False))
    return spark.sparkContext._jsc is None  # stopped by someone else


def _open(conn_id: str, conn: Any) -> SparkSession:
    extra = conn.extra_dejson or {}
    conf = extra.get("conf") or {}
    if not isinstance(conf, dict):
        raise SpecError(
            f"connection {conn_id!r}: extra 'conf' must be a mapping of Spark settings, got {type(conf).__name__}"
        )
    if conn.conn_type == "spark_connect":
        return _connect_session(conn_id, extra, conf)
    if conn.conn_type == "spark":
        return _local_session(conn_id, conn, conf)
    raise SpecError(
        f"SparkSource.conn_id: connection {conn_id!r} has type {conn.conn_type!r}; a SparkSource needs "
        "a 'spark_connect' connection (a Spark Connect server, sc://host:port) or a 'spark' connection "
        "whose host is local[N] (an in-process session)"
    )


def _connect_session(conn_id: str, extra: dict[str, Any], conf: dict[str, Any]) -> SparkSession:
    try:
        from airflow.providers.apache.spark.hooks.spark_connect import SparkConnectHook
    except ImportError as exc:
        raise SpecError(
            f"connection {conn_id!r} is a spark_connect connection: install the provider that reads it, "
            "pip install 'airflow-alignment[spark]' (apache-airflow-providers-apache-spark)"
        ) from exc
    try:
        url = SparkConnectHook(conn_id).get_connection_url()
    except ValueError as exc:
        raise SpecError(f"connection {conn_id!r}: {exc}") from exc
    retries = extra.get("max_retries", DEFAULT_MAX_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise SpecError(f"connection {conn_id!r}: extra 'max_retries' must be a whole number >= 0, got {retries!r}")
    from pyspark.sql.connect.client.retries import DefaultPolicy
    from pyspark.sql.connect.session import SparkSession

    # The Connect builder itself: pyspark's generic builder would mark the whole process as
    # "Spark Connect mode" and refuse an in-process session afterwards.
    spark = SparkSession.builder.remote(url).create()
    spark.client.set_retry_policies([DefaultPolicy(max_retries=retries)])
    with spark_errors(f"Spark Connect server of connection {conn_id!r}"):
        for key, value in conf.items():
            spark.conf.set(str(key), str(value))
    log.info("Spark Connect session on %s (connection %r)", url.split(";", 1)[0], conn_id)
    return spark


def _local_session(conn_id: str, conn: Any, conf: dict[str, Any]) -> SparkSession:
    master = str(conn.host or "").strip()
    if not _LOCAL_MASTER.match(master):
        raise SpecError(
            f"connection {conn_id!r}: a 'spark' connection runs an in-process session, so its host must "
            f"be a local master (local, local[4], local[*]), not {master!r}; reach a cluster through its "
            "Spark Connect server with a 'spark_connect' connection (sc://host:15002)"
        )
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    running = SparkContext._active_spark_context  # the process's one JVM-backed context, if any
    if running is not None and running.master != master:
        raise SpecError(
            f"connection {conn_id!r} asks for master {master!r}, but this process already runs a Spark "
            f"session on {running.master!r}; one process holds one in-process session"
        )
    builder = SparkSession.builder.master(master).appName("airflow-alignment")
    for key, value in conf.items():
        builder = builder.config(str(key), str(value))
    try:
        return builder.getOrCreate()
    except Exception as exc:  # the JVM would not start: no Java, or a bad setting
        raise SpecError(
            f"connection {conn_id!r}: could not start an in-process Spark session on {master} "
            f"({first_line(exc)}); it needs a Java 17+ runtime (java on PATH or JAVA_HOME) and "
            "the full pyspark package"
        ) from exc


# -- errors ---------------------------------------------------------------------------------
@contextlib.contextmanager
def spark_errors(where: Any) -> Iterator[None]:
    """Spark's errors raised inside the block as ours (see :func:`translate`); ``where`` names
    the source in the message."""
    try:
        yield
    except AlignmentError:
        raise
    except Exception as exc:
        mapped = translate(where, exc)
        if mapped is exc:
            raise
        raise mapped from exc


def translate(where: Any, exc: Exception) -> Exception:
    """What a Spark error means for a check:

    - the server or the JVM cannot be reached (gRPC ``UNAVAILABLE`` / ``DEADLINE_EXCEEDED``
      after the client's retries, a py4j network error): :class:`SourceUnavailableError`,
      retryable;
    - Spark refused the SQL (``AnalysisException``, ``ParseException``: a missing table or
      column, bad syntax) or could not evaluate it (a failed cast, an overflow):
      :class:`DataError`, naming Spark's error class;
    - anything else: returned as it is.
    """
    import grpc
    from pyspark.errors import AnalysisException, PySparkException
    from pyspark.errors.exceptions.connect import SparkConnectGrpcException

    unreachable = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED)
    if isinstance(exc, SparkConnectGrpcException) and exc.getGrpcStatusCode() in unreachable:
        return SourceUnavailableError(f"could not reach the Spark server for {where}: {first_line(exc)}")
    if isinstance(exc, grpc.RpcError) or type(exc).__module__.startswith("py4j") or isinstance(exc, ConnectionError):
        return SourceUnavailableError(f"could not reach Spark for {where}: {first_line(exc)}")
    if isinstance(exc, AnalysisException):
        return DataError(f"{where}: Spark refused the query: {first_line(exc)}")
    if isinstance(exc, PySparkException) and exc.getCondition() is not None:
        return DataError(f"{where}: Spark could not evaluate the query: {first_line(exc)}")
    return exc


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (Spark appends plans and stack traces)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
