"""A real Airflow for the end-to-end tests: ``airflow standalone`` (scheduler, dag-processor,
triggerer, api-server, LocalExecutor) on a free loopback port, SQLite in a temporary
AIRFLOW_HOME, the repository's ``dags/`` plus ``tests/dags/triggerer_cases.py`` as DAG folder,
the repository root on ``PYTHONPATH`` (for the test-only triggerer probe), SimpleAuthManager
with a known admin password. Started once per session, stopped (its whole process group) at
its end.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("ALIGNMENT_CHROMIUM", "/usr/bin/chromium")
USER, PASSWORD = "admin", "alignment-e2e-password"
START_TIMEOUT_S = 240


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: starts airflow standalone and drives a real browser")


class Airflow:
    """The running server: its URL, a token, and REST helpers."""

    def __init__(self, url: str, home: Path, log: Path) -> None:
        self.url, self.home, self.log = url, home, log
        self.token = ""

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _dag_folder(home: Path) -> Path:
    """The templates and the triggerer test's DAGs, linked (not copied)."""
    folder = home / "dags"
    folder.mkdir()
    for src in [*(ROOT / "dags").iterdir(), ROOT / "tests" / "dags" / "triggerer_cases.py"]:
        if not src.name.startswith((".", "__")):
            (folder / src.name).symlink_to(src)
    return folder


def _environment(home: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_HOME"))}
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    base = f"http://127.0.0.1:{port}"
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
            "AIRFLOW__CORE__DAGS_FOLDER": str(_dag_folder(home)),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            # paused: only the DAG a test unpauses runs (the daily templates would compete for SQLite)
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": base,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": "alignment-e2e-" + "s" * 64,
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "300",
            "ALIGNMENT_SAMPLE_DATA": str(home / "sample-data"),
            "GX_ANALYTICS_ENABLED": "false",
            "NO_COLOR": "1",
        }
    )
    return env


@pytest.fixture(scope="session")
def airflow_server() -> Iterator[Airflow]:
    with standalone() as server:
        yield server


@contextlib.contextmanager
def standalone() -> Iterator[Airflow]:
    """Start ``airflow standalone`` (see the module's docstring), log in, stop it at the end
    (its log is copied to ``test-artifacts/``). ``benchmarks/bench_triggerer.py`` uses it too."""
    home = Path(tempfile.mkdtemp(prefix="alignment-e2e-home-"))
    port = _free_port()
    log = home / "standalone.log"
    server = Airflow(f"http://127.0.0.1:{port}", home, log)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "airflow", "standalone"],
            env=_environment(home, port),
            cwd=home,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_up(server, proc)
        response = httpx.post(f"{server.url}/auth/token", json={"username": USER, "password": PASSWORD}, timeout=30)
        assert response.status_code in (200, 201), response.text
        server.token = response.json()["access_token"]
        yield server
    finally:
        _stop(proc)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copy(log, ARTIFACTS / "airflow-standalone.log")
        shutil.rmtree(home, ignore_errors=True)


def _wait_until_up(server: Airflow, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow standalone exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            health = httpx.get(f"{server.url}/api/v2/monitor/health", timeout=5)
            if health.status_code == 200 and health.json().get("scheduler", {}).get("status") == "healthy":
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(2)
    raise RuntimeError(f"airflow standalone did not come up in {START_TIMEOUT_S} s:\n{server.log_tail()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop standalone and every component it started: they share its process group."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        except ProcessLookupError:
            return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers (task runners, gunicorn workers)
