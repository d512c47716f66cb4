"""Real Spark for the tests: an in-process ``local[2]`` session and a Spark Connect server.

Both come from the ``pyspark`` package of the test extra and need a Java 17+ runtime
(``openjdk-17-jre-headless`` in ``scripts/test.sh``'s ``APT_PACKAGES``). Nothing is downloaded
at run time: tables are Parquet files registered in each session's in-memory catalog
(``CREATE TABLE ... USING parquet LOCATION``), not Delta tables, whose jars would come from
Maven through ``--packages``.

- :func:`local_session` starts (or returns) the process's in-process session: master
  ``local[2]``, no UI, bound to 127.0.0.1, a small heap, four shuffle partitions, a warehouse
  in a temporary directory.
- :func:`start_connect_server` runs ``org.apache.spark.sql.connect.service.SparkConnectServer``
  (the class ``start-connect-server.sh`` runs; the pip package ships its jar but not the
  script) through ``spark-submit`` in a process group of its own, listening on 127.0.0.1 on a
  free port. :meth:`ConnectServer.stop` ends it; the session's
  :class:`tests.processes.Watchdog` ends it should the test process die first.

``tests/conftest.py`` wraps these in the ``spark_local`` and ``spark_connect_server`` fixtures
(session-scoped: a JVM costs seconds to start).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from tests.processes import Service, Watchdog, port_open
from tests.sqlservers import free_port

START_TIMEOUT_S = 120
# Settings of both Spark processes: loopback only, no UI, small and quick for test data.
SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.session.timeZone": "UTC",
}
DRIVER_MEMORY = "512m"


class SparkUnavailable(RuntimeError):
    """Java or the pyspark package is missing, or Spark would not start."""


def spark_home() -> Path:
    """The Spark distribution inside the pyspark package (``bin/spark-submit``, ``jars/``)."""
    try:
        import pyspark
    except ImportError as exc:
        raise SparkUnavailable("pyspark is not installed: pip install -e '.[test]'") from exc
    home = Path(pyspark.__file__).parent
    if not (home / "bin" / "spark-submit").exists():
        raise SparkUnavailable(
            f"{home} has no bin/spark-submit: the pyspark-client package alone cannot run Spark; "
            "install the full pyspark at the same version"
        )
    return home


def require_java() -> str:
    java = (
        shutil.which("java", path=os.path.join(os.environ["JAVA_HOME"], "bin"))
        if os.environ.get("JAVA_HOME")
        else shutil.which("java")
    )
    if not java:
        raise SparkUnavailable(
            "no Java runtime: install the Debian package openjdk-17-jre-headless (scripts/test.sh "
            "does this through APT_PACKAGES), or set JAVA_HOME"
        )
    return java


def local_session(warehouse: Path) -> Any:
    """The process's in-process Spark session (master ``local[2]``), started if needed."""
    require_java()
    spark_home()
    import logging

    from pyspark.sql import SparkSession

    # py4j logs "Closing down clientserver connection" from __del__ after pytest closed its streams
    logging.getLogger("py4j").setLevel(logging.WARNING)

    builder = SparkSession.builder.master("local[2]").appName("airflow-alignment-tests")
    for key, value in {
        **SETTINGS,
        "spark.driver.memory": DRIVER_MEMORY,
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={warehouse}",
    }.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def local_connection(**conf: str) -> str:
    """The in-process session as an Airflow ``spark`` connection (JSON for ``AIRFLOW_CONN_*``)."""
    return json.dumps({"conn_type": "spark", "host": "local[2]", "extra": {"conf": conf}})


@dataclass
class ConnectServer:
    """A running Spark Connect server (see :func:`start_connect_server`)."""

    port: int
    service: Service
    directory: Path

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def airflow_connection(self, **extra: Any) -> str:
        """This server as an Airflow ``spark_connect`` connection (JSON for ``AIRFLOW_CONN_*``),
        host and port as the provider's form holds them."""
        return json.dumps({"conn_type": "spark_connect", "host": "127.0.0.1", "port": self.port, "extra": extra})

    def session(self) -> Any:
        """A new Spark Connect session of this server, for the tests' own set-up."""
        from pyspark.sql.connect.session import SparkSession

        return SparkSession.builder.remote(self.url).create()

    def stop(self) -> None:
        self.service.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def start_connect_server(watchdog: Watchdog) -> ConnectServer:
    """Start a Spark Connect server (master ``local[2]``) on a free 127.0.0.1 port."""
    require_java()
    home = spark_home()
    directory = Path(tempfile.mkdtemp(prefix="alignment-spark-connect-"))
    port = free_port()
    settings = {
        **SETTINGS,
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.connect.grpc.binding.port": str(port),
        "spark.sql.warehouse.dir": str(directory / "warehouse"),
        "spark.driver.extraJavaOptions": f"-Djava.io.tmpdir={directory}",
    }
    cmd = [
        str(home / "bin" / "spark-submit"),
        "--master",
        "local[2]",
        "--driver-memory",
        DRIVER_MEMORY,
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--name",
        "alignment-tests",
    ]
    for key, value in settings.items():
        cmd += ["--conf", f"{key}={value}"]
    cmd.append("spark-internal")
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("SPARK_REMOTE", None)
    service = Service("spark-connect", cmd, env=env, cwd=directory, log=directory / "server.log", watchdog=watchdog)
    service.start()
    try:
        service.wait_until(lambda: port_open(port), START_TIMEOUT_S, f"Spark Connect listening on port {port}")
    except RuntimeError as exc:
        service.stop()
        raise SparkUnavailable(str(exc)) from exc
    return ConnectServer(port=port, service=service, directory=directory)


def register_parquet(spark: Any, name: str, path: Path | str) -> None:
    """Make the Parquet files at ``path`` the table ``name`` of ``spark``'s catalog (replacing it)."""
    quoted = ".".join(f"`{p}`" for p in name.split("."))
    if "." in name:
        spark.sql(f"CREATE DATABASE IF NOT EXISTS `{name.split('.')[0]}`")
    spark.sql(f"DROP TABLE IF EXISTS {quoted}")
    location = str(path).replace("'", "\\'")
    spark.sql(f"CREATE TABLE {quoted} USING parquet LOCATION '{location}'")


class SparkPair:
    """Both Spark paths of the tests behind Airflow connections, set for the test session:
    ``alignment_spark_local`` (type ``spark``, the in-process ``local[2]`` session) and
    ``alignment_spark_connect`` (type ``spark_connect``, the Spark Connect server).

    :meth:`register` makes a Parquet folder a table of both catalogs, so a test reads the same
    table through either connection.
    """

    KINDS: ClassVar[tuple[str, ...]] = ("local", "connect")
    ENV: ClassVar[dict[str, str]] = {
        "local": "AIRFLOW_CONN_ALIGNMENT_SPARK_LOCAL",
        "connect": "AIRFLOW_CONN_ALIGNMENT_SPARK_CONNECT",
    }

    def __init__(self, local: Any, server: ConnectServer) -> None:
        self.local, self.server = local, server
        self.remote = server.session()
        self._saved = {name: os.environ.get(name) for name in self.ENV.values()}
        os.environ[self.ENV["local"]] = local_connection()
        os.environ[self.ENV["connect"]] = server.airflow_connection()
        self.conn_ids = {kind: f"alignment_spark_{kind}" for kind in self.KINDS}

    def session(self, kind: str) -> Any:
        return self.local if kind == "local" else self.remote

    def register(self, name: str, path: Path | str) -> None:
        for kind in self.KINDS:
            register_parquet(self.session(kind), name, path)

    def close(self) -> None:
        from airflow_alignment.spark import session as sessions

        sessions.stop()
        self.remote.stop()
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
