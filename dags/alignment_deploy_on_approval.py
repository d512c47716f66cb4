"""Deploy on approval: runs only when the lending gate approves a model.

Scheduled on the asset ``alignment/lending/credit-risk``, which ``AlignmentGateOperator``
updates only on approval. The event's ``extra`` carries the verdict, the policy (name, version,
sha256), the run that produced the model and the summary of every check.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Asset, dag, task

APPROVED_CREDIT_MODEL = Asset("alignment/lending/credit-risk")


@dag(
    dag_id="alignment_deploy_on_approval",
    schedule=[APPROVED_CREDIT_MODEL],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["alignment"],
    doc_md=__doc__,
)
def alignment_deploy_on_approval():
    @task(inlets=[APPROVED_CREDIT_MODEL])
    def promote(inlet_events=None) -> dict:
        events = inlet_events[APPROVED_CREDIT_MODEL]
        if not events:
            raise ValueError("no approval event for alignment/lending/credit-risk")
        extra = events[-1].extra
        if extra.get("verdict") != "approved":
            raise ValueError(f"refusing to promote: verdict is {extra.get('verdict')!r}")
        print(
            f"promoting the model of run {extra['run_id']} ({extra['dag_id']}), "
            f"policy {extra['policy']['name']} v{extra['policy']['version']} sha256 {extra['policy']['sha256'][:12]}"
        )
        for check in extra["checks"]:
            print(f"  {check['check']}: {check['status']} - {check['summary']}")
        return extra

    promote()


alignment_deploy_on_approval()
