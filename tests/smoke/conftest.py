"""Airflow smoke test harness, independent of ``tests/conftest.py``.

Every Airflow step runs in a child process on a fresh temporary ``AIRFLOW_HOME`` (SQLite), so
this folder works with any installed Airflow and never depends on what the main suite set up.
``scripts/test.sh`` runs it in ``.venv-airflow31`` (Airflow 3.1) with
``pytest --confcutdir=tests/smoke tests/smoke``; the main suite's run ignores it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
RUNNER = Path(__file__).with_name("_dag_test_runner.py")


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def smoke_env() -> dict[str, str]:
    """Environment of a fresh, migrated Airflow home on SQLite."""
    home = Path(tempfile.mkdtemp(prefix="alignment-smoke-home-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        ALIGNMENT_SAMPLE_DATA=str(home / "sample-data"),
        # the SQL database of dags/alignment_warehouse_checks.py (created by its first task)
        AIRFLOW_CONN_ALIGNMENT_WAREHOUSE=json.dumps(
            {"conn_type": "sqlite", "host": str(home / "sample-data" / "warehouse.db")}
        ),
        GX_ANALYTICS_ENABLED="false",
    )
    log = home / "db-migrate.log"
    with open(log, "w") as handle:
        proc = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=False,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
    assert proc.returncode == 0, f"airflow db migrate failed:\n{_tail(log)}"
    return env


@pytest.fixture(scope="session")
def run_dag_test(smoke_env: dict[str, str]) -> Callable[[str], dict[str, Any]]:
    """``run_dag_test(dag_id)`` runs ``dag.test()`` in a child process and returns its report:
    ``airflow_version``, ``dag_ids``, ``import_errors``, ``run_state``, ``states`` (task id ->
    state), ``xcom`` (task id -> return value) and ``stored`` (task id -> {"path", "doc"} from
    the artifact store). ``run_dag_test("-")`` only parses the folder."""
    home = Path(smoke_env["AIRFLOW_HOME"])

    def run(dag_id: str) -> dict[str, Any]:
        out, log = home / f"{dag_id}.report.json", home / f"{dag_id}.log"
        with open(log, "w") as handle:
            proc = subprocess.run(
                [sys.executable, str(RUNNER), str(DAGS), dag_id, str(out)],
                check=False,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=smoke_env,
                timeout=900,
            )
        assert proc.returncode == 0 and out.exists(), f"dag.test() of {dag_id} crashed:\n{_tail(log)}"
        report: dict[str, Any] = json.loads(out.read_text())
        report["log"] = str(log)
        return report

    return run
