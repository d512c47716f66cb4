"""The deployment test's cluster (``tests/deploy/cluster.py``), shared by every test in this
folder: started once, stopped after the last one (or by the watchdogs, should pytest die).
Component logs are copied to ``test-artifacts/deploy/``."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.cluster import ROOT, Cluster, start_cluster


@pytest.fixture(scope="package")
def cluster(postgres_server: Any, moto_server: Any, process_watchdog: Any) -> Iterator[Cluster]:
    import shutil

    home = Path(tempfile.mkdtemp(prefix="alignment-deploy-"))
    t0 = time.monotonic()
    running = start_cluster(
        home, postgres=postgres_server, moto_port=moto_server.port, s3=moto_server.client(), watchdog=process_watchdog
    )
    running.started_in_s = round(time.monotonic() - t0, 1)
    try:
        yield running
    finally:
        running.stop()
        running.proxy.go_down()
        running.keep_logs(ROOT / "test-artifacts" / "deploy")
        shutil.rmtree(home, ignore_errors=True)
