"""Child process of the smoke tests: ``python _dag_test_runner.py DAGS_FOLDER DAG_ID OUT.json``.

Parses the DAG folder, runs ``dag.test()`` of DAG_ID (none when DAG_ID is ``-``) and writes
what the tests assert on, including the folder's import errors.
"""

from __future__ import annotations

import json
import sys


def main(dags_folder: str, dag_id: str, out: str) -> None:
    import airflow
    from airflow.utils.session import create_session

    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag
    from airflow.models.xcom import XComModel

    from airflow_alignment.store.artifacts import ArtifactStore, result_key

    bag = DagBag(dag_folder=dags_folder)
    report: dict = {
        "airflow_version": airflow.__version__,
        "dag_ids": sorted(bag.dags),
        "import_errors": {str(k): v for k, v in bag.import_errors.items()},
        "states": {},
        "xcom": {},
        "stored": {},
    }
    if dag_id == "-":
        with open(out, "w") as handle:
            json.dump(report, handle, default=str)
        return
    if dag_id not in bag.dags:
        raise SystemExit(f"no DAG {dag_id!r} in {dags_folder}; import errors: {bag.import_errors}")
    run = bag.dags[dag_id].test()
    store = ArtifactStore()
    report["run_state"] = str(getattr(run.state, "value", run.state))
    with create_session() as session:
        for ti in run.get_task_instances(session=session):
            report["states"][ti.task_id] = str(getattr(ti.state, "value", ti.state))
            row = (
                session.query(XComModel)
                .filter_by(dag_id=ti.dag_id, run_id=ti.run_id, task_id=ti.task_id, map_index=ti.map_index)
                .filter_by(key="return_value")
                .one_or_none()
            )
            value = None if row is None else row.value
            report["xcom"][ti.task_id] = json.loads(value) if isinstance(value, str) else value
            key = result_key(
                {
                    "dag_id": ti.dag_id,
                    "run_id": ti.run_id,
                    "task_id": ti.task_id,
                    "map_index": ti.map_index,
                    "try_number": ti.try_number,
                }
            )
            if store.exists(key):
                report["stored"][ti.task_id] = {"path": store.uri(key), "doc": json.loads(store.read_text(key))}
    with open(out, "w") as handle:
        json.dump(report, handle, default=str)


if __name__ == "__main__":
    main(*sys.argv[1:4])
