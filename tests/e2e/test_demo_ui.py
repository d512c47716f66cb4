"""``bash scripts/demo.sh --ui``: the README's run command with the option that serves what it made.

It runs the demo (one template DAG, a temporary Airflow home), then starts ``airflow api-server``
on a free loopback port; the test reads the printed URL, login and run page as a newcomer would,
logs in and opens the run page, the check's report and the DAG history, checks that an anonymous
request is refused, then stops the server with Ctrl-C (SIGINT) as the banner says.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG = "alignment_data_quality"
TIMEOUT_S = 400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(proc: subprocess.Popen[str], out: Path, needle: str) -> str:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        text = out.read_text()
        if needle in text:
            return text
        if proc.poll() is not None:
            pytest.fail(f"demo.sh --ui exited {proc.returncode} before {needle!r}:\n{text[-3000:]}")
        time.sleep(1)
    pytest.fail(f"no {needle!r} within {TIMEOUT_S} s:\n{out.read_text()[-3000:]}")


@pytest.mark.e2e
def test_demo_ui_serves_the_runs_it_made(tmp_path: Path) -> None:
    home, port, out = tmp_path / "home", _free_port(), tmp_path / "demo.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_HOME", "AIRFLOW_CONN"))}
    env["ALIGNMENT_DEMO_HOME"] = str(home)
    with open(out, "w") as sink:
        proc = subprocess.Popen(
            ["bash", "scripts/demo.sh", "--ui", "--port", str(port), DAG],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        text = _wait_for(proc, out, "[demo] UI ready")
        base = f"http://127.0.0.1:{port}"
        assert f"[demo] UI ready: {base}/" in text
        login = re.search(r"\[demo\] login\s+: admin / (\S+)", text)
        assert login, text
        password = login.group(1)
        assert json.loads((home / "demo-ui-passwords.json").read_text()) == {"admin": password}
        assert (home / "demo-ui-passwords.json").stat().st_mode & 0o077 == 0
        page = re.search(r"page\s+: (\S+)", text)
        assert page and page.group(1).startswith(f"{base}/alignment/dags/{DAG}/runs/"), text

        assert httpx.get(page.group(1), timeout=30).status_code == 401  # behind Airflow's auth
        token = httpx.post(
            f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        run_page = httpx.get(page.group(1), headers=auth, timeout=30)
        assert run_page.status_code == 200
        assert "validate_broken_batch" in run_page.text and "validate_clean_batch" in run_page.text
        report = httpx.get(f"{page.group(1)}/tasks/validate_broken_batch/report", headers=auth, timeout=30)
        assert report.status_code == 200 and "expect_column_values_to_not_be_null" in report.text
        history = httpx.get(f"{base}/alignment/api/dags/{DAG}/history", headers=auth, timeout=30)
        assert history.status_code == 200
        tasks = {r["task_id"]: r["status"] for run in history.json()["runs"] for r in run["results"]}
        assert tasks == {"validate_broken_batch": "failed", "validate_clean_batch": "passed"}

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as the banner says
        assert proc.wait(timeout=60) == 0  # the demo itself ran as designed
        with pytest.raises(httpx.ConnectError):  # the server is gone
            httpx.get(base, timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
