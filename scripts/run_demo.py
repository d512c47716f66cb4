#!/usr/bin/env python3
"""Run the sample pipelines with a real ``dag.test()`` and print what each alignment check found.

Usage (``scripts/demo.sh`` sets up the venv and ``AIRFLOW_HOME`` first)::

    python scripts/run_demo.py                      # every template DAG without required params
    python scripts/run_demo.py alignment_data_quality

For each alignment check task it prints the task id, the task state, the result status, the
result summary and where the full result is stored; for each gate, its verdict. Airflow's own output goes to a log file
(``$AIRFLOW_HOME/logs/demo-run.log`` unless ``--log`` says otherwise), never to stdout.

The warehouse template (``alignment_warehouse_checks``) needs the Airflow connection
``alignment_warehouse``: unless ``AIRFLOW_CONN_ALIGNMENT_WAREHOUSE`` is already set, the demo
defines it as a SQLite file in the sample data folder (``$ALIGNMENT_SAMPLE_DATA``, by default
``$AIRFLOW_HOME/alignment-sample-data``), which the template's first task creates.

The lakehouse template (``alignment_lakehouse_checks``) needs the Airflow connection
``alignment_lakehouse``: unless ``AIRFLOW_CONN_ALIGNMENT_LAKEHOUSE`` is already set, the demo
defines it as an in-process Spark session (``local[2]``, no UI, loopback) when this machine can
start one (a Java runtime and the full ``pyspark`` package, which the test extra installs);
without Java the template is left out of the default run, and the demo says why: the demo never
requires Java.

Exit status: 0 when every pipeline ran as designed. A check that fails on bad data is a finding,
not a crash. It is non-zero when something crashed: a DAG did not parse, ``dag.test()`` raised,
a task that is not an alignment check failed, or a check failed without storing a result or
could not be evaluated (status ``error``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
DAGS = Path(os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", ROOT / "dags"))
TEMPLATE_TAG = "template"


@dataclass
class CheckRow:
    task_id: str
    map_index: int
    state: str
    status: str | None = None
    summary: str | None = None
    path: str | None = None
    gate: bool = False  # an AlignmentGateOperator: its verdict, not a check
    verdict: str | None = None


@dataclass
class DagOutcome:
    dag_id: str
    run_state: str | None = None
    run_id: str | None = None
    checks: list[CheckRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


# -- output plumbing ---------------------------------------------------------------------------
@contextlib.contextmanager
def airflow_output_to(log_path: Path) -> Iterator[IO[str]]:
    """Send everything written to fds 1 and 2 (Airflow's logging, structlog, subprocesses) to
    ``log_path``; yield a stream on the real stdout for the report."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    report = os.fdopen(os.dup(saved_out), "w", buffering=1)
    with open(log_path, "ab", buffering=0) as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        try:
            yield report
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            report.flush()


# -- connections -------------------------------------------------------------------------------
WAREHOUSE_ENV = "AIRFLOW_CONN_ALIGNMENT_WAREHOUSE"


def define_warehouse(home: Path) -> str:
    """Define the ``alignment_warehouse`` connection as a SQLite file in the sample data folder
    (where the templates write their data) unless it is already defined; say which it is."""
    if os.environ.get(WAREHOUSE_ENV):
        return f"{WAREHOUSE_ENV} (already set)"
    data = Path(os.environ.get("ALIGNMENT_SAMPLE_DATA", home / "alignment-sample-data"))
    path = data / "warehouse.db"
    os.environ[WAREHOUSE_ENV] = json.dumps({"conn_type": "sqlite", "host": str(path)})
    return f"SQLite {path}"


LAKEHOUSE_ENV = "AIRFLOW_CONN_ALIGNMENT_LAKEHOUSE"
LAKEHOUSE_DAG = "alignment_lakehouse_checks"
LOCAL_SPARK = {  # an in-process session that opens no port beyond loopback and no UI
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "4",
}


def define_lakehouse() -> tuple[str, str | None]:
    """Define the ``alignment_lakehouse`` connection as an in-process ``local[2]`` Spark session
    unless it is already defined: ``(what it is, None)``; or ``("skipped", why)`` when this
    machine cannot start Spark (the lakehouse template then stays out of the default run)."""
    if os.environ.get(LAKEHOUSE_ENV):
        return f"{LAKEHOUSE_ENV} (already set)", None
    missing = spark_missing()
    if missing:
        return f"skipped ({missing})", missing
    os.environ[LAKEHOUSE_ENV] = json.dumps({"conn_type": "spark", "host": "local[2]", "extra": {"conf": LOCAL_SPARK}})
    return "in-process Spark session, local[2]", None


def spark_missing() -> str | None:
    """Why an in-process Spark session cannot start here, or ``None`` (nothing is imported)."""
    home = os.environ.get("JAVA_HOME")
    if not (shutil.which("java", path=os.path.join(home, "bin")) if home else shutil.which("java")):
        return "no Java runtime: install openjdk-17-jre-headless (Debian) or set JAVA_HOME"
    spec = importlib.util.find_spec("pyspark")
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not any(Path(p, "bin", "spark-submit").exists() for p in locations):
        return "no full pyspark package: pip install 'airflow-alignment[spark-local]'"
    return None


# -- discovery ---------------------------------------------------------------------------------
def load_bag(dags_folder: Path) -> Any:
    """Parse the DAG files as Airflow does (examples stay out: LOAD_EXAMPLES is False)."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag

    return DagBag(dag_folder=str(dags_folder))


def runnable_with_defaults(dag: Any) -> bool:
    """True when every param of ``dag`` has a valid default (no run conf needed)."""
    try:
        dag.params.validate()
    except Exception:  # noqa: BLE001 - any invalid or missing param means "needs a run conf"
        return False
    return True


def default_dag_ids(bag: Any) -> list[str]:
    return sorted(
        dag_id for dag_id, dag in bag.dags.items() if TEMPLATE_TAG in (dag.tags or ()) and runnable_with_defaults(dag)
    )


def check_task_ids(dag: Any) -> set[str]:
    """Task ids of the DAG's alignment checks (plain and mapped operators)."""
    from airflow_alignment.operators.base import AlignmentCheckOperator

    ids = set()
    for task_id, task in dag.task_dict.items():
        cls = getattr(task, "operator_class", None) or type(task)  # MappedOperator keeps the class
        if isinstance(cls, type) and issubclass(cls, AlignmentCheckOperator):
            ids.add(task_id)
    return ids


def gate_task_ids(dag: Any) -> set[str]:
    """Task ids of the DAG's alignment gates."""
    from airflow_alignment.operators.gate import AlignmentGateOperator

    return {task_id for task_id, task in dag.task_dict.items() if isinstance(task, AlignmentGateOperator)}


# -- results -----------------------------------------------------------------------------------
def xcom_result(ti: Any) -> dict[str, Any] | None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(
                XComModel.dag_id == ti.dag_id,
                XComModel.run_id == ti.run_id,
                XComModel.task_id == ti.task_id,
                XComModel.map_index == ti.map_index,
                XComModel.key == "return_value",
            )
            .one_or_none()
        )
        value = None if row is None else row.value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def stored_result(ti: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The full result in the artifact store for this try (or the latest try), and its path."""
    from airflow_alignment.store.artifacts import ArtifactStore, result_key

    store = ArtifactStore()
    context = {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "task_id": ti.task_id,
        "map_index": ti.map_index,
        "try_number": ti.try_number,
    }
    key = result_key(context)
    if not store.exists(key):
        folder = key.rsplit("/", 2)[0]
        tries = [k for k in store.list(folder) if k.endswith("/result.json")]
        if not tries:
            return None, None
        key = max(tries, key=lambda k: int(k.split("/")[-2].removeprefix("try-") or 0))
    return json.loads(store.read_text(key)), store.uri(key)


def collect(dag: Any, run: Any) -> DagOutcome:
    outcome = DagOutcome(dag_id=dag.dag_id, run_state=str(getattr(run.state, "value", run.state)), run_id=run.run_id)
    checks, gates = check_task_ids(dag), gate_task_ids(dag)
    for ti in sorted(run.get_task_instances(), key=lambda t: (t.task_id in gates, t.task_id, t.map_index)):
        state = str(getattr(ti.state, "value", ti.state))
        if ti.task_id not in checks and ti.task_id not in gates:
            if state == "failed":
                outcome.problems.append(f"task {ti.task_id} (not a check) failed")
            continue
        row = CheckRow(task_id=ti.task_id, map_index=ti.map_index, state=state, gate=ti.task_id in gates)
        compact = xcom_result(ti)
        full, path = stored_result(ti)
        doc = full or compact
        if doc:
            row.status, row.summary = doc.get("status"), doc.get("summary")
            if row.gate:
                row.verdict = (doc.get("metrics") or {}).get("verdict")
        row.path = path or (compact or {}).get("full_result")
        outcome.checks.append(row)
        name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        what = "gate" if row.gate else "check"
        if state in ("success", "failed") and not doc:
            outcome.problems.append(f"{what} {name} ended {state} but stored no result")
        elif row.status == "error":
            outcome.problems.append(f"{what} {name} could not be evaluated: {row.summary}")
        elif state == "failed" and row.status not in ("failed", "error") and not row.gate:
            outcome.problems.append(f"check {name} failed but its result says {row.status}")
    return outcome


# -- running -----------------------------------------------------------------------------------
def run_dag(dag: Any) -> DagOutcome:
    t0 = time.perf_counter()
    try:
        run = dag.test()
    except Exception:  # noqa: BLE001 - report any crash, then go on with the next DAG
        traceback.print_exc()  # into the log
        outcome = DagOutcome(
            dag_id=dag.dag_id, problems=["dag.test() raised: " + traceback.format_exc(limit=1).strip()]
        )
    else:
        outcome = collect(dag, run)
    outcome.seconds = time.perf_counter() - t0
    return outcome


def run_page(ui_base: str, outcome: DagOutcome) -> str:
    """The plugin's page of this run on the api-server at ``ui_base``."""
    dag, run = quote(outcome.dag_id, safe=""), quote(outcome.run_id or "", safe="")
    return f"{ui_base.rstrip('/')}/alignment/dags/{dag}/runs/{run}"


def print_outcome(out: IO[str], outcome: DagOutcome, ui_base: str | None = None) -> None:
    out.write(f"\n== {outcome.dag_id}: run {outcome.run_state or 'did not finish'} ({outcome.seconds:.1f} s)\n")
    if ui_base and outcome.run_id:
        out.write(f"  page       : {run_page(ui_base, outcome)}\n")
    for row in outcome.checks:
        name = row.task_id if row.map_index < 0 else f"{row.task_id}[{row.map_index}]"
        if row.status == "failed" and row.state == "failed":
            verdict = "FINDING: a blocking check failed, the pipeline stopped here"
        elif row.status == "warned":
            verdict = "FINDING: warning only, the task succeeded"
        else:
            verdict = ""
        out.write(f"  {name}\n")
        out.write(f"    task state : {row.state}\n")
        if row.gate:
            out.write(f"    verdict    : {row.verdict or '-'}\n")
        else:
            out.write(f"    status     : {row.status or '-'}{'   <- ' + verdict if verdict else ''}\n")
        out.write(f"    summary    : {row.summary or '-'}\n")
        out.write(f"    result     : {row.path or '-'}\n")
    if not outcome.checks:
        out.write("  (no alignment check ran)\n")
    for problem in outcome.problems:
        out.write(f"  PROBLEM: {problem}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dag_ids", nargs="*", help="DAG ids to run (default: every template DAG)")
    parser.add_argument("--dags-folder", type=Path, default=DAGS)
    parser.add_argument("--log", type=Path, default=None, help="where Airflow's output goes")
    parser.add_argument(
        "--ui-base", default=None, help="print each run's page on the api-server at this URL (demo.sh --ui)"
    )
    args = parser.parse_args(argv)

    home = Path(os.environ.get("AIRFLOW_HOME", Path.home() / "airflow"))
    log_path = args.log or home / "logs" / "demo-run.log"
    out = sys.stdout
    warehouse = define_warehouse(home)
    lakehouse, no_spark = define_lakehouse()
    out.write(
        f"Airflow home : {home}\nAirflow log  : {log_path}\nWarehouse    : {warehouse}\nLakehouse    : {lakehouse}\n"
    )
    out.flush()
    outcomes: list[DagOutcome] = []
    problems: list[str] = []  # outside any one DAG run
    with airflow_output_to(log_path) as report:
        try:
            bag = load_bag(args.dags_folder)
            for path, error in sorted(bag.import_errors.items()):
                problems.append(f"{path} did not parse: {error.strip().splitlines()[-1]}")
                report.write(f"PROBLEM: {problems[-1]}\n")
            dag_ids = args.dag_ids or [d for d in default_dag_ids(bag) if not (no_spark and d == LAKEHOUSE_DAG)]
            report.write(f"DAGs         : {', '.join(dag_ids) or '(none)'}\n")
            for dag_id in dag_ids:
                if dag_id not in bag.dags:
                    problems.append(f"no DAG {dag_id!r} in {args.dags_folder}")
                    report.write(f"PROBLEM: {problems[-1]}\n")
                    continue
                outcome = run_dag(bag.dags[dag_id])
                print_outcome(report, outcome, args.ui_base)
                outcomes.append(outcome)
        except Exception:  # noqa: BLE001 - report the crash instead of a traceback on stdout
            traceback.print_exc()  # into the log
            problems.append(f"the demo crashed: {traceback.format_exc(limit=1).strip()}")
            report.write(f"PROBLEM: {problems[-1]}\n")
    findings = sum(row.status in ("failed", "warned") for o in outcomes for row in o.checks if not row.gate)
    n_checks = sum(not row.gate for o in outcomes for row in o.checks)
    n_gates = sum(row.gate for o in outcomes for row in o.checks)
    n_problems = len(problems) + sum(len(o.problems) for o in outcomes)
    ok = not n_problems and bool(outcomes)
    out.write(
        f"\n{len(outcomes)} pipeline(s), {n_checks} check(s), {n_gates} gate verdict(s), "
        f"{findings} finding(s), {n_problems} problem(s): "
        f"{'ran as designed' if ok else 'SOMETHING CRASHED, see ' + str(log_path)}\n"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
