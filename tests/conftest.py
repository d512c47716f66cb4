"""Test harness: a temporary AIRFLOW_HOME on SQLite, migrated once per session, and a helper
that runs a DAG file with a real ``dag.test()``.

Every ``CheckResult`` a test produces goes through :func:`checked`, which validates it against
the shipped JSON Schema and round-trips it through ``to_dict`` / ``from_dict``.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"

TEST_DAGS = Path(__file__).resolve().parent / "dags"

# Airflow reads its configuration when first imported: set it before any test imports it.
# ``tests.conftest`` may be imported a second time under that name: reuse the first home.
if "ALIGNMENT_TEST_HOME" not in os.environ:
    os.environ["ALIGNMENT_TEST_HOME"] = tempfile.mkdtemp(prefix="alignment-airflow-home-")
    atexit.register(shutil.rmtree, os.environ["ALIGNMENT_TEST_HOME"], ignore_errors=True)
_HOME = Path(os.environ["ALIGNMENT_TEST_HOME"])
DAG_FOLDER = _HOME / "dags"
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAG_FOLDER)
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME / 'airflow.db'}"
os.environ.pop("AIRFLOW__ALIGNMENT__ARTIFACT_STORE", None)
os.environ["ALIGNMENT_SAMPLE_DATA"] = str(_HOME / "sample-data")
# The SQL database of the warehouse template (dags/alignment_warehouse_checks.py): a SQLite file
# that its first task creates (set, not defaulted: the template replaces partitions of its table,
# which must never be a real warehouse's). tests/test_warehouse_template.py also runs it on PostgreSQL.
os.environ["AIRFLOW_CONN_ALIGNMENT_WAREHOUSE"] = json.dumps(
    {"conn_type": "sqlite", "host": str(_HOME / "sample-data" / "warehouse.db")}
)
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

# dag.test() runs DAGs from the configured bundle: the dags folder holds the templates and
# the test DAGs, linked (not copied) so a test always runs the files in the repository.
DAG_FOLDER.mkdir(exist_ok=True)
for _folder in (DAGS, TEST_DAGS):
    for _src in _folder.iterdir():
        _link = DAG_FOLDER / _src.name
        if not _link.exists() and not _src.name.startswith((".", "__")):
            _link.symlink_to(_src)


def checked(result: Any) -> Any:
    """Validate a CheckResult (object or dict) against the schema and its round trip."""
    from airflow_alignment.results import CheckResult, validate

    doc = result.to_dict() if isinstance(result, CheckResult) else result
    validate(doc)
    again = CheckResult.from_dict(json.loads(json.dumps(doc))).to_dict()
    assert again == doc
    return result


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """The migrated SQLite metadata DB of this test session."""
    marker = _HOME / ".migrated"
    if not marker.exists():
        proc = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        if proc.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{proc.stdout}\n{proc.stderr}")
        marker.write_text("ok")
    return _HOME


@pytest.fixture()
def artifact_root(airflow_home: Path) -> Path:
    return airflow_home / "alignment"


def load_dag(path: Path, dag_id: str) -> Any:
    """Parse a DAG file as Airflow does and return the DAG ``dag_id`` it defines."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FOLDER / path.name))
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


def task_states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def xcom_value(run: Any, task_id: str, key: str = "return_value") -> Any:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == task_id,
                XComModel.key == key,
            )
            .one_or_none()
        )
        if row is None:
            return None
        value = row.value
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


# --- Real SQL servers (tests/sqlservers.py) ---------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Any:
    """A private PostgreSQL server for the session, from the Debian ``postgresql`` packages.

    Yields a :class:`tests.sqlservers.PostgresServer`: ``.host`` (``"127.0.0.1"``, the only
    address it listens on), ``.port`` (a free port), ``.user`` (``"postgres"``), ``.password``
    (random), ``.database`` (``"alignment"``, created empty), ``.url`` (the SQLAlchemy URL
    ``postgresql+psycopg2://postgres:<password>@127.0.0.1:<port>/alignment``) and
    ``.airflow_connection`` (the JSON value for an ``AIRFLOW_CONN_*`` variable). The server is
    stopped and its directory deleted at the end of the session, or at exit if the session dies.

    Fails (does not skip) when the server binaries are missing: ``scripts/test.sh`` installs
    them, so their absence is a broken environment, not an optional feature.
    """
    from tests.sqlservers import PostgresUnavailable, start_postgres

    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        pytest.fail(f"cannot start the test PostgreSQL server: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def pg_conn_id(postgres_server: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The Airflow connection id ``"alignment_pg"`` for :func:`postgres_server`'s database.

    Registered as ``AIRFLOW_CONN_ALIGNMENT_PG`` (JSON form) for the duration of the test, so
    ``BaseHook.get_connection("alignment_pg")`` and tasks run in-process by ``dag.test()`` both
    see it; its hook is a ``PostgresHook``.
    """
    monkeypatch.setenv("AIRFLOW_CONN_ALIGNMENT_PG", postgres_server.airflow_connection)
    return "alignment_pg"


@pytest.fixture()
def sqlite_conn_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An Airflow SQLite connection ``"alignment_sqlite"`` to a new file ``tmp_path/warehouse.db``.

    Returns an object with ``.conn_id`` (``"alignment_sqlite"``), ``.path`` (the database file,
    not created yet: SQLite creates it on first connect) and ``.url`` (its SQLAlchemy URL, for
    :func:`tests.sqlservers.write_table`). Registered as ``AIRFLOW_CONN_ALIGNMENT_SQLITE`` in JSON
    form with the path as ``host``, which is where the sqlite provider's ``SqliteHook`` reads it.
    """
    from types import SimpleNamespace

    path = tmp_path / "warehouse.db"
    connection = json.dumps({"conn_type": "sqlite", "host": str(path)})
    monkeypatch.setenv("AIRFLOW_CONN_ALIGNMENT_SQLITE", connection)
    return SimpleNamespace(conn_id="alignment_sqlite", path=path, url=f"sqlite:///{path}")


# --- A real S3 endpoint (tests/objectstore.py) ------------------------------------------------


@pytest.fixture(scope="session")
def moto_server() -> Any:
    """A moto S3 server on a free ``127.0.0.1`` port for the session (``.url``, ``.client()``,
    ``.airflow_connection``); stopped at the end of the session."""
    from tests.objectstore import start_moto

    server = start_moto()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def s3_bucket(moto_server: Any, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """A fresh bucket on :func:`moto_server`, reached through the Airflow connection
    ``"alignment_s3"`` (``AIRFLOW_CONN_ALIGNMENT_S3``, type ``aws``, ``endpoint_url`` in extra).

    Returns an object with ``.name``, ``.client`` (boto3, for the test's own reads and writes)
    and ``.uri(key)`` (``s3://alignment_s3@<bucket>/<key>``, as a DAG would write it).
    """
    import re
    from types import SimpleNamespace

    monkeypatch.setenv("AIRFLOW_CONN_ALIGNMENT_S3", moto_server.airflow_connection)
    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-") + f"-{os.getpid()}"
    client = moto_server.client()
    client.create_bucket(Bucket=name)
    return SimpleNamespace(name=name, client=client, uri=lambda key: f"s3://alignment_s3@{name}/{key}")


@pytest.fixture(scope="session")
def process_watchdog() -> Any:
    """Stops the session's server process groups even if pytest is killed (tests/processes.py)."""
    from tests.processes import Watchdog

    watchdog = Watchdog()
    try:
        yield watchdog
    finally:
        watchdog.close()


@pytest.fixture()
def s3_store(moto_server: Any, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Any:
    """A fresh bucket on :func:`moto_server` behind a :class:`tests.objectstore.SwitchableProxy`,
    and a new Airflow ``aws`` connection to it (through the proxy, with botocore's retries cut to
    one attempt so that an unreachable store fails in seconds). A new connection id per test:
    Airflow caches a filesystem per connection id, and each test's proxy has its own port.

    Returns ``.base`` (``s3://<conn_id>@<bucket>/alignment``), ``.bucket``, ``.proxy`` and
    ``.client`` (boto3, straight to moto: what the store really holds)."""
    import re
    import uuid
    from types import SimpleNamespace

    from tests.objectstore import SwitchableProxy, aws_connection

    bucket = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:50].strip("-") + "-bkt"
    client = moto_server.client()
    client.create_bucket(Bucket=bucket)
    proxy = SwitchableProxy(moto_server.port)
    connection = aws_connection(proxy.url, retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2)
    conn_id = f"s3_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection)
    try:
        yield SimpleNamespace(base=f"s3://{conn_id}@{bucket}/alignment", bucket=bucket, proxy=proxy, client=client)
    finally:
        proxy.go_down()


# --- Real Spark (tests/sparkservers.py) -------------------------------------------------------


@pytest.fixture(scope="session")
def spark_local(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The in-process Spark session of the test process (master ``local[2]``, no UI, loopback),
    for the session; reached by code under test through :func:`spark_conn_ids` ``.local``.
    Fails (does not skip) without Java or pyspark: ``scripts/test.sh`` installs both."""
    from tests.sparkservers import SparkUnavailable, local_session

    try:
        spark = local_session(tmp_path_factory.mktemp("spark-warehouse"))
    except SparkUnavailable as exc:
        pytest.fail(f"cannot start the in-process Spark session: {exc}", pytrace=False)
    try:
        yield spark
    finally:
        spark.stop()


@pytest.fixture(scope="session")
def spark_connect_server(process_watchdog: Any) -> Any:
    """A Spark Connect server on a free ``127.0.0.1`` port for the session
    (:class:`tests.sparkservers.ConnectServer`: ``.url``, ``.session()``,
    ``.airflow_connection()``), stopped at the end of the session."""
    from tests.sparkservers import SparkUnavailable, start_connect_server

    try:
        server = start_connect_server(process_watchdog)
    except SparkUnavailable as exc:
        pytest.fail(f"cannot start the Spark Connect server: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spark_pair(spark_local: Any, spark_connect_server: Any) -> Any:
    """Both Spark paths behind Airflow connections (:class:`tests.sparkservers.SparkPair`:
    ``.conn_ids["local" | "connect"]``, ``.session(kind)``, ``.register(table, parquet_path)``)."""
    from tests.sparkservers import SparkPair

    pair = SparkPair(spark_local, spark_connect_server)
    try:
        yield pair
    finally:
        pair.close()
