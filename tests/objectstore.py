"""A real S3 endpoint for the tests: moto in server mode on a free loopback port.

:func:`start_moto` runs ``python -m moto.server`` (``moto[server]`` in the ``test`` extra) on
``127.0.0.1``; the server dies with the test process even when that one is killed (Linux
``PR_SET_PDEATHSIG``), and :meth:`MotoServer.stop` ends it normally. Code under test reaches it
through an Airflow connection of type ``aws`` whose extra names the ``endpoint_url``, as a
deployment on MinIO or Ceph would: ``s3://<conn_id>@<bucket>/<key>`` through Airflow's
``ObjectStoragePath``. Tests read and write objects with boto3 directly, not through our code.

:class:`SwitchableProxy` forwards a loopback port to the moto server, byte for byte. Tests use
it to make the S3 endpoint disappear: :meth:`SwitchableProxy.go_down` closes the listening
socket and every connection (clients then get "connection refused", as from a stopped server);
:meth:`SwitchableProxy.come_up` listens on the same port again. Stopping moto itself would do
the same for the clients, but moto keeps its buckets in memory and a restart would lose them.
:meth:`SwitchableProxy.arm` makes the proxy go down by itself at the first request whose bytes
match a pattern (say, the ``PUT`` of a ``result.json``), before forwarding it: the endpoint
disappears while that object is being written.

``tests/conftest.py`` wraps this in the ``moto_server``, ``s3_bucket`` and ``s3_store`` fixtures.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
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

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def airflow_connection(self) -> str:
        """This server as an Airflow ``aws`` connection (JSON, the value of ``AIRFLOW_CONN_<ID>``)."""
        return aws_connection(self.url)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def aws_connection(endpoint_url: str, **config_kwargs: Any) -> str:
    """An Airflow ``aws`` connection to an S3 endpoint, as the JSON value of ``AIRFLOW_CONN_<ID>``.

    ``config_kwargs`` go to botocore's ``Config`` (e.g. ``retries``, ``connect_timeout``)."""
    extra: dict[str, Any] = {"endpoint_url": endpoint_url, "region_name": REGION}
    if config_kwargs:
        extra["config_kwargs"] = config_kwargs
    return json.dumps({"conn_type": "aws", "login": ACCESS_KEY, "password": SECRET_KEY, "extra": extra})


def keys(client: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix`` in ``bucket``, sorted (boto3, not our code)."""
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [item["Key"] for item in page.get("Contents", [])]
    return sorted(found)


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
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
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


class SwitchableProxy:
    """Forward ``127.0.0.1:port`` to ``127.0.0.1:upstream``; can go down and come back."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._pattern: re.Pattern[bytes] | None = None
        self.tripped = threading.Event()  # set when an armed pattern took the proxy down
        self.tripped_on = b""
        self.come_up()

    # -- switching -----------------------------------------------------------------------------
    def come_up(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def go_down(self) -> None:
        """Refuse new connections and cut the open ones."""
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, set()
        for sock in ([listener] if listener else []) + list(connections):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def up(self) -> bool:
        return self._listener is not None

    def arm(self, pattern: bytes) -> None:
        """Go down at the first request from a client whose bytes match ``pattern`` (a regex)."""
        self.tripped.clear()
        self._pattern = re.compile(pattern)

    def disarm(self) -> None:
        self._pattern = None

    # -- forwarding ----------------------------------------------------------------------------
    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # went down
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # went down meanwhile
                    client.close()
                    server.close()
                    return
                self._connections |= {client, server}
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, from_client: bool) -> None:
        tail = b""
        try:
            while chunk := source.recv(65536):
                pattern = self._pattern
                if from_client and pattern is not None:
                    match = pattern.search(tail + chunk)
                    if match:
                        self._pattern = None
                        self.tripped_on = match.group(0)
                        self.go_down()
                        self.tripped.set()
                        return
                    tail = (tail + chunk)[-512:]
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                self._connections -= {source, target}
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
