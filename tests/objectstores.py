"""A real S3 endpoint for the tests: ``moto`` in server mode, and a TCP proxy that can go away.

:func:`start_moto` runs ``moto.server`` (PyPI ``moto[server]``, in the test extra) on a free
loopback port, as a :class:`tests.processes.Service` (its own process group, watched).

:class:`SwitchableProxy` forwards a loopback port to the moto server, byte for byte. The tests
use it to make the S3 endpoint disappear: :meth:`SwitchableProxy.go_down` closes the listening
socket and every connection (clients then get "connection refused", as from a stopped server);
:meth:`SwitchableProxy.come_up` listens on the same port again. Stopping moto itself would do
the same for the clients, but moto keeps its buckets in memory and a restart would lose them.
:meth:`SwitchableProxy.arm` makes the proxy go down by itself at the first request whose bytes
match a pattern (say, the ``PUT`` of a ``result.json``), before forwarding it: the endpoint
disappears while that object is being written.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from tests.processes import Service, Watchdog, port_open
from tests.sqlservers import free_port

ACCESS_KEY, SECRET_KEY, REGION = "alignment-test", "alignment-test-secret", "us-east-1"


def start_moto(workdir: Path, watchdog: Watchdog) -> tuple[Service, int]:
    """Start ``moto.server`` on 127.0.0.1; returns the service and its port."""
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
    service = Service(
        "moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env, cwd=workdir, log=workdir / "moto.log", watchdog=watchdog,
    ).start()  # fmt: skip
    service.wait_until(lambda: port_open(port), 60, "S3 endpoint")
    return service, port


def boto3_client(port: int) -> Any:
    """A plain boto3 S3 client on the endpoint (reads back what the tests' tasks wrote)."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{port}", aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, region_name=REGION,
    )  # fmt: skip


def aws_connection(port: int, **config_kwargs: Any) -> str:
    """An Airflow ``aws`` connection to the endpoint, as the JSON value of ``AIRFLOW_CONN_<ID>``.

    ``config_kwargs`` go to botocore's ``Config`` (e.g. ``retries``, ``connect_timeout``)."""
    extra: dict[str, Any] = {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": REGION}
    if config_kwargs:
        extra["config_kwargs"] = config_kwargs
    return json.dumps({"conn_type": "aws", "login": ACCESS_KEY, "password": SECRET_KEY, "extra": extra})


def keys(client: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix`` in ``bucket``, sorted."""
    found = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found += [item["Key"] for item in page.get("Contents", [])]
    return sorted(found)


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
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

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
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
