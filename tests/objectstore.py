"""A real S3 endpoint for the tests: moto in server mode on a free loopback port.

:func:`start_moto` runs ``python -m moto.server`` (``moto[server]`` in the ``test`` extra) on
``127.0.0.1``; the server dies with the test process even when that one is killed (Linux
``PR_SET_PDEATHSIG``), and :meth:`MotoServer.stop` ends it normally. Code under test reaches it
through an Airflow connection of type ``aws`` whose extra names the ``endpoint_url``, as a
deployment on MinIO or Ceph would: ``s3://<conn_id>@<bucket>/<key>`` through Airflow's
``ObjectStoragePath``. Tests read and write objects with boto3 directly, not through our code.

``tests/conftest.py`` wraps this in the ``moto_server`` and ``s3_bucket`` fixtures.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.sqlservers import free_port

REGION = "us-east-1"
# moto accepts any credentials; these only have to be the same on both sides
ACCESS_KEY, SECRET_KEY = "alignment-test-key", "alignment-test-secret"
START_TIMEOUT_S = 60


@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen
    log: Path

    def client(self) -> Any:
        """A boto3 S3 client of this server."""
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY)  # fmt: skip

    @property
    def airflow_connection(self) -> str:
        """This server as an Airflow ``aws`` connection (JSON, the value of ``AIRFLOW_CONN_<ID>``)."""
        return json.dumps({"conn_type": "aws", "login": ACCESS_KEY, "password": SECRET_KEY,
                           "extra": {"endpoint_url": self.url, "region_name": REGION}})  # fmt: skip

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_moto() -> MotoServer:
    """Start a moto S3 server on a free ``127.0.0.1`` port and wait until it answers."""
    import httpx

    port = free_port()
    log = Path(tempfile.mkstemp(prefix="alignment-moto-", suffix=".log")[1])
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        )  # fmt: skip
    server = MotoServer(url=f"http://127.0.0.1:{port}", process=process, log=log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/moto-api/", timeout=2).status_code < 500:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"moto server did not answer within {START_TIMEOUT_S} s:\n{log.read_text()[-3000:]}")
