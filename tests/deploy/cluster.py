"""A distributed Airflow on loopback, started and stopped by the deployment test.

What runs (each in its own process group, see ``tests/processes.py``; all on 127.0.0.1):

- PostgreSQL: the session's server (``tests/sqlservers.py``), database ``airflow_deploy``, as
  Airflow's metadata database;
- Redis: Debian's ``redis-server`` on a free port, with a password, as the Celery broker;
- S3: the session's ``moto`` server; the bucket ``alignment-deploy`` holds the sample data, the
  model registry, the artifact store (``alignment/``) and the task logs (``logs/``). The
  connection ``alignment_s3`` (data, registry, artifact store) goes through a
  :class:`tests.objectstore.SwitchableProxy`, so a test can take the endpoint away; the task
  logs go straight to moto (connection ``moto_logs``);
- ``airflow api-server``, ``airflow scheduler``, ``airflow dag-processor``,
  ``airflow triggerer`` and two ``airflow celery worker`` (``worker-a``, ``worker-b``).

Every component has its own ``AIRFLOW_HOME``, working directory, ``HOME`` and ``TMPDIR``: no
two share a folder, so nothing passes between tasks through a local disk. What they share is
what a real deployment shares: the configuration (environment variables), the DAG files, the
metadata database, the broker and the bucket. Timeouts are short so that a lost worker is
noticed in seconds.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from tests.objectstore import SwitchableProxy, aws_connection
from tests.processes import Service, Watchdog, port_open
from tests.sqlservers import free_port

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "alignment-deploy"
STORE_CONN, LOGS_CONN = "alignment_s3", "moto_logs"
ARTIFACT_STORE = f"s3://{STORE_CONN}@{BUCKET}/alignment"
USER, PASSWORD = "admin", "alignment-deploy-password"
#: The DAG files every component sees (baked into the image, in a real deployment).
DAG_FILES = [
    ROOT / "dags" / "alignment_lending_pipeline.py",
    ROOT / "dags" / "alignment_deploy_on_approval.py",
    ROOT / "dags" / "alignment_monitoring.py",
    ROOT / "dags" / "alignment_data_arrival.py",
    ROOT / "dags" / "policies",
    ROOT / "tests" / "dags" / "deploy_cases.py",
]
WORKERS = ("worker-a", "worker-b")
START_TIMEOUT_S = 180


@dataclass
class Cluster:
    """The running deployment: its services, the REST API, and the S3 endpoint."""

    home: Path
    url: str
    api_port: int
    proxy: SwitchableProxy
    s3: Any  # boto3 client, straight to moto
    watchdog: Watchdog
    env: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)
    token: str = ""
    started_in_s: float = 0.0

    # -- REST ----------------------------------------------------------------------------------
    def login(self) -> str:
        """A JWT from SimpleAuthManager's login endpoint (the same check as the login form)."""
        response = httpx.post(f"{self.url}/auth/token", json={"username": USER, "password": PASSWORD}, timeout=30)
        response.raise_for_status()
        self.token = str(response.json()["access_token"])
        return self.token

    def api(self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=60, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.api("GET", path, **kwargs)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def run_path(self, dag_id: str, run_id: str) -> str:
        return f"/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}"

    def wait_for_dag(self, dag_id: str, timeout_s: float = 120) -> None:
        """Wait until the dag-processor has parsed ``dag_id``, then unpause it."""
        deadline = time.monotonic() + timeout_s
        while self.api("GET", f"/api/v2/dags/{dag_id}").status_code != 200:
            self._check(deadline, f"{dag_id} was never parsed")
            time.sleep(1)
        response = self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
        assert response.status_code == 200, response.text

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        self.wait_for_dag(dag_id)
        response = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        assert response.status_code == 200, response.text
        return str(response.json()["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"/api/v2/dags/{dag_id}/dagRuns", params={"order_by": "start_date"})["dag_runs"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout_s: float = 600) -> str:
        """Wait until the run is over; its final state."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = self.get(self.run_path(dag_id, run_id))["state"]
            if state in ("success", "failed"):
                return str(state)
            self._check(deadline, f"run {run_id} of {dag_id} still {state}: {self.task_states(dag_id, run_id)}")
            time.sleep(2)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        tis = self.get(self.run_path(dag_id, run_id) + "/taskInstances")["task_instances"]
        return {ti["task_id"]: ti["state"] for ti in tis}

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        return dict(self.get(f"{self.run_path(dag_id, run_id)}/taskInstances/{task_id}"))

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        found = self.get(f"{self.run_path(dag_id, run_id)}/taskInstances/{task_id}/tries")["task_instances"]
        return sorted(found, key=lambda t: t["try_number"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        entry = self.get(f"{self.run_path(dag_id, run_id)}/taskInstances/{task_id}/xcomEntries/{key}")
        value = entry["value"]
        return json.loads(value) if isinstance(value, str) and value[:1] in "{[" else value

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, timeout_s: float = 30) -> str:
        """The task log of one try, as the UI shows it, once the api-server reads it from S3
        (the worker uploads it when the try ends, a moment after the state changes)."""
        return str(
            self.wait_until(
                f"the log of try {try_number} of {task_id} on S3",
                lambda: self._log_from_s3(dag_id, run_id, task_id, try_number),
                timeout_s,
            )
        )

    def _log_from_s3(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str | None:
        path = f"{self.run_path(dag_id, run_id)}/taskInstances/{task_id}/logs/{try_number}"
        response = self.api("GET", path, params={"full_content": "true"}, headers={"Accept": "application/x-ndjson"})
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:500]}"
        lines = []
        for line in response.text.splitlines():
            entry = json.loads(line) if line.strip() else {}
            text = entry.get("event") if isinstance(entry, dict) else None
            lines.append(str(text) if text is not None else line)
        text = "\n".join(lines)
        return text if f"Log message source details\ns3://{BUCKET}/logs/" in text else None

    def wait_until(self, what: str, ready: Any, timeout_s: float = 300, every_s: float = 1.0) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            value = ready()
            if value:
                return value
            self._check(deadline, what)
            time.sleep(every_s)

    def _check(self, deadline: float, what: str) -> None:
        for name, service in self.services.items():
            if not service.running() and not name.startswith("worker"):
                raise AssertionError(f"{name} died while waiting: {what}\n{service.log_tail()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what}\n" + "\n".join(s.log_tail(30) for s in self.services.values()))

    # -- components ----------------------------------------------------------------------------
    def component(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> Service:
        """An Airflow component with its own home, working directory and TMPDIR."""
        home = self.home / name
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        env = {
            **self.env,
            "AIRFLOW_HOME": str(home),
            "HOME": str(home),
            "TMPDIR": str(home / "tmp"),
            "ALIGNMENT_COMPONENT": name,
            **(extra_env or {}),
        }
        service = Service(
            name,
            [sys.executable, "-m", "airflow", *args],
            env=env,
            cwd=home,
            log=self.home / "logs" / f"{name}.log",
            watchdog=self.watchdog,
        )
        self.services[name] = service
        return service

    def start_api_server(self) -> None:
        service = self.services.get("api-server") or self.component("api-server", ["api-server"])
        service.start()
        service.wait_until(
            lambda: httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).status_code == 200,
            START_TIMEOUT_S,
            "health endpoint",
        )

    def start_worker(self, name: str) -> Service:
        service = self.services.get(name) or self.component(
            name,
            [
                "celery",
                "worker",
                "--celery-hostname",
                f"{name}@%h",
                "--concurrency",
                "2",
                "--skip-serve-logs",
                "--without-mingle",
                "--without-gossip",
            ],
        )
        mark = service.log.stat().st_size if service.log.exists() else 0
        service.start()
        service.wait_until(
            lambda: re.search(rb"@\S+ ready\.", service.log.read_bytes()[mark:]) is not None,
            START_TIMEOUT_S,
            "Celery 'ready'",
        )
        return service

    def healthy(self) -> bool:
        health = httpx.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
        return all(
            health.get(c, {}).get("status") == "healthy"
            for c in ("metadatabase", "scheduler", "triggerer", "dag_processor")
        )

    def stop(self) -> None:
        for service in reversed(list(self.services.values())):
            if service.running():
                service.stop()

    def keep_logs(self, where: Path) -> None:
        where.mkdir(parents=True, exist_ok=True)
        for log in (self.home / "logs").glob("*.log"):
            shutil.copy(log, where / log.name)


def environment(
    home: Path, *, api_port: int, database_url: str, broker_url: str, proxy_port: int, moto_port: int, dags: Path
) -> dict[str, str]:
    """The configuration every component shares, as environment variables."""
    from cryptography.fernet import Fernet

    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    base = f"http://127.0.0.1:{api_port}"
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),  # for [core] hostname_callable (tests/deploy/naming.py)
        "LANG": "C.UTF-8",
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.deploy.naming.component_name",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + database_url,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(64),
        # a lost worker is noticed in seconds, not minutes
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "3",
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "120",
        # task logs: on S3, since the workers share no disk (and serve none)
        "AIRFLOW__LOGGING__REMOTE_LOGGING": "True",
        "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER": f"s3://{BUCKET}/logs",
        "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID": LOGS_CONN,
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        # the package: results, sample data and the model registry on S3
        "AIRFLOW__ALIGNMENT__ARTIFACT_STORE": ARTIFACT_STORE,
        "ALIGNMENT_SAMPLE_DATA": f"s3://{STORE_CONN}@{BUCKET}/sample-data",
        "ALIGNMENT_MODEL_REGISTRY": f"s3://{STORE_CONN}@{BUCKET}/model-registry",
        f"AIRFLOW_CONN_{STORE_CONN.upper()}": aws_connection(
            f"http://127.0.0.1:{proxy_port}", retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=3
        ),
        f"AIRFLOW_CONN_{LOGS_CONN.upper()}": aws_connection(f"http://127.0.0.1:{moto_port}"),
        "GX_ANALYTICS_ENABLED": "false",
        "NO_COLOR": "1",
    }


def start_redis(home: Path, watchdog: Watchdog) -> tuple[Service, str]:
    """Debian's redis-server on a free loopback port, password protected, nothing persisted."""
    redis = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(redis).exists():
        raise RuntimeError("redis-server not found: `apt-get install redis-server` (scripts/test.sh APT_PACKAGES)")
    port, password = free_port(), secrets.token_hex(16)
    folder = home / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    service = Service(
        "redis",
        [
            redis,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(folder),
        ],
        env={"PATH": "/usr/bin:/bin"},
        cwd=folder,
        log=home / "logs" / "redis.log",
        watchdog=watchdog,
    ).start()
    service.wait_until(lambda: port_open(port), 30, "port open")
    return service, f"redis://:{password}@127.0.0.1:{port}/0"


def create_database(server: Any, name: str) -> str:
    """A new database on the session's PostgreSQL server; its SQLAlchemy URL."""
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        dbname="postgres",
        connect_timeout=10,
    )
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    return f"postgresql+psycopg2://{server.user}:{server.password}@{server.host}:{server.port}/{name}"


def start_cluster(home: Path, *, postgres: Any, moto_port: int, s3: Any, watchdog: Watchdog) -> Cluster:
    """Start everything (see the module docstring); the caller must call :meth:`Cluster.stop`."""
    (home / "logs").mkdir(parents=True, exist_ok=True)
    dags = home / "dags"
    dags.mkdir()
    for source in DAG_FILES:
        (dags / source.name).symlink_to(source)
    s3.create_bucket(Bucket=BUCKET)
    proxy = SwitchableProxy(moto_port)
    api_port = free_port()
    cluster = Cluster(
        home=home, url=f"http://127.0.0.1:{api_port}", api_port=api_port, proxy=proxy, s3=s3, watchdog=watchdog, env={}
    )
    try:
        redis, broker_url = start_redis(home, watchdog)
        cluster.services["redis"] = redis
        database_url = create_database(postgres, "airflow_deploy")
        cluster.env = environment(
            home,
            api_port=api_port,
            database_url=database_url,
            broker_url=broker_url,
            proxy_port=proxy.port,
            moto_port=moto_port,
            dags=dags,
        )
        migrate = cluster.component("db-migrate", ["db", "migrate"])
        migrate.start()
        assert migrate.proc is not None
        if migrate.proc.wait(timeout=300) != 0:
            raise RuntimeError(f"airflow db migrate failed\n{migrate.log_tail()}")
        del cluster.services["db-migrate"]
        cluster.start_api_server()
        for name, args in (
            ("scheduler", ["scheduler"]),
            ("dag-processor", ["dag-processor"]),
            ("triggerer", ["triggerer"]),
        ):
            cluster.component(name, args).start()
        for worker in WORKERS:
            cluster.start_worker(worker)
        cluster.wait_until("every component healthy", cluster.healthy, START_TIMEOUT_S)
        cluster.login()
    except BaseException:
        cluster.stop()
        proxy.go_down()
        raise
    return cluster
