"""``AlignmentGateOperator``: turn the check results upstream into approve / review / reject.

- ``approved``: the gate succeeds, downstream (deploy) runs, an Asset event is emitted whose
  ``extra`` carries the verdict, the policy hash, the run and the result summaries, and the
  approved results become the baseline for the policy and model.
- ``rejected``: the result is stored, then the gate is skipped (``on_reject="skip"``, so the
  deploy branch is skipped and no asset event is emitted) or fails (``on_reject="fail"``).
- ``needs_review`` with ``review=True``: a person decides in Airflow's human-in-the-loop UI
  (the gate is a standard-provider ``HITLOperator`` with options Approve / Reject), shown the
  summaries and links to the reports; the decision and who made it are recorded. With
  ``review=False`` warnings approve.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.sdk import Asset

from airflow_alignment.engines.gate import apply_review, decide, finding
from airflow_alignment.exceptions import SpecError
from airflow_alignment.io import object_path
from airflow_alignment.links import AlignmentReportLink
from airflow_alignment.operators.base import AlignmentCheckFailed, AlignmentCheckOperator
from airflow_alignment.policy import load_policy
from airflow_alignment.reporting.html import public_text
from airflow_alignment.results import SCHEMA_ID, CheckResult
from airflow_alignment.store.artifacts import ArtifactStore
from airflow_alignment.store.baselines import write_approved
from airflow_alignment.tasks.publish import publish_result
from airflow_alignment.urls import report_path

if TYPE_CHECKING:
    from airflow.sdk import Context

try:
    from airflow.sdk.exceptions import AirflowSkipException
except ImportError:  # pragma: no cover - Airflow 3.1
    from airflow.exceptions import AirflowSkipException

APPROVE, REJECT = "Approve", "Reject"


class AlignmentGateOperator(HITLOperator):
    """Decide whether the model may be deployed, from the alignment results upstream.

    :param checks: task ids whose results to judge; default: every alignment task directly
        upstream of the gate (the gate's trigger rule is ``all_done``, so failed checks are seen).
    :param policy: the alignment policy (YAML path, text or dict); names the asset and the
        baseline, and is recorded in the verdict.
    :param model: the model being judged (names the asset and the baseline).
    :param asset: the Asset (or its name) to emit on approval; default
        ``alignment/<policy>/<model>``; ``False`` for none.
    :param review: send ``needs_review`` verdicts to a person (Airflow's HITL UI); when
        ``False``, warnings approve.
    :param on_reject: ``skip`` (default: the gate and the deploy branch are skipped) or ``fail``.
    :param subject: the headline of the review request (templated).
    :param artifact_store: base folder or URI of the artifact store.
    """

    template_fields: Sequence[str] = ("subject", "body", "checks")
    ui_color = "#fdf0d5"
    operator_extra_links = (AlignmentReportLink(),)

    def __init__(
        self,
        *,
        checks: Sequence[str] | None = None,
        policy: Any = None,
        model: str | None = None,
        asset: Asset | str | bool | None = None,
        review: bool = False,
        on_reject: str = "skip",
        subject: str | None = None,
        artifact_store: str | None = None,
        **kwargs: Any,
    ) -> None:
        if on_reject not in ("skip", "fail"):
            raise SpecError(f"{type(self).__name__}.on_reject: expected 'skip' or 'fail', got {on_reject!r}")
        self.policy_loaded = load_policy(policy) if policy is not None else None
        self.policy_ref = self.policy_loaded.ref if self.policy_loaded is not None else None
        self.asset = self._asset(asset, self.policy_ref, model)
        if self.asset is not None:
            kwargs["outlets"] = [*(kwargs.get("outlets") or []), self.asset]
        kwargs.setdefault("trigger_rule", "all_done")
        what = " / ".join(x for x in (self.policy_ref and self.policy_ref["name"], model) if x)
        super().__init__(
            subject=subject or f"Alignment review{': ' + what if what else ''}",
            options=[APPROVE, REJECT],
            multiple=False,
            **kwargs,
        )
        self.checks = list(checks) if checks is not None else None
        self.model = model
        self.review = review
        self.on_reject = on_reject
        self.artifact_store = artifact_store

    @staticmethod
    def _asset(asset: Asset | str | bool | None, policy: dict[str, str] | None, model: str | None) -> Asset | None:
        if asset is False:
            return None
        if isinstance(asset, Asset):
            return asset
        if isinstance(asset, str):
            return Asset(asset)
        parts = [p for p in ("alignment", policy and policy["name"], model) if p]
        return Asset("/".join(parts)) if len(parts) > 1 else None

    # -- the decision ------------------------------------------------------------------------
    def execute(self, context: Context) -> Any:
        result = self._decide(context)
        if result.metrics["verdict"] == "needs_review":
            publish_result(
                result,
                context,
                store=self._store(),
                model=self.model,
                log=self.log,
                push=True,
                policy=self.policy_loaded,
            )
            self.body = review_body(result)
            return super().execute(context)  # waits for a person in Airflow's HITL UI
        return self._finish(result, context)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        response = super().execute_complete(context=context, event=event)
        result = self._decide(context)
        responded_at = response["responded_at"]
        apply_review(
            result,
            approved=response["chosen_options"] == [APPROVE],
            reviewer=dict(response["responded_by_user"] or {}),
            responded_at=responded_at.isoformat() if hasattr(responded_at, "isoformat") else responded_at,
        )
        return self._finish(result, context, reviewer=result.metrics["reviewer"])

    def _decide(self, context: Context) -> CheckResult:
        ti = context["ti"]
        findings = []
        for task_id in self._check_task_ids():
            values = ti.xcom_pull(task_ids=task_id, key="return_value")
            values = values if isinstance(values, list) else [values]
            results = [v for v in values if isinstance(v, dict) and v.get("schema") == SCHEMA_ID]
            findings += [finding(task_id, r) for r in results] or [finding(task_id, None)]
        return decide(findings, check_name=self.task_id, review=self.review, model=self.model, policy=self.policy_ref)

    def _check_task_ids(self) -> list[str]:
        if self.checks is not None:
            return list(self.checks)
        upstream = sorted(self.upstream_task_ids)
        ids = [t for t in upstream if isinstance(self.dag.get_task(t), AlignmentCheckOperator)]
        if not ids:
            raise SpecError(f"{self.task_id}: no alignment check upstream of the gate; give checks=[task ids]")
        return ids

    def _finish(self, result: CheckResult, context: Context, reviewer: Any = None) -> Any:
        verdict = result.metrics["verdict"]
        store = self._store()
        compact = publish_result(
            result,
            context,
            store=store,
            model=self.model,
            log=self.log,
            push=verdict != "approved",
            reviewer=reviewer,
            policy=self.policy_loaded,
        )
        if verdict == "approved":
            self._approve(result, context, store)
            return compact
        if self.on_reject == "fail":
            raise AlignmentCheckFailed(f"{self.task_id}: {result.summary}")
        raise AirflowSkipException(f"{self.task_id}: {result.summary}")

    def _approve(self, result: CheckResult, context: Context, store: ArtifactStore) -> None:
        extra = {
            "verdict": "approved",
            "policy": result.policy,
            "model": self.model,
            "dag_id": result.context["dag_id"],
            "run_id": result.context["run_id"],
            "gate_result": result.full_result,
            "reviewer": result.metrics.get("reviewer"),
            "checks": result.metrics["checks"],
        }
        if self.asset is not None:
            context["outlet_events"][self.asset].extra = extra
            self.log.info("approval published as an event of asset %s", self.asset.name)
        if result.policy and self.model:
            full = {}
            for assertion in result.assertions:
                path = assertion.details.get("full_result")
                if path:
                    full[assertion.name] = json.loads(_read(store, path))
            record = {**extra, "context": result.context, "results": full}
            where = write_approved(store, result.policy["name"], self.model, record)
            self.log.info("baseline for %s / %s updated: %s", result.policy["name"], self.model, where)

    def _store(self) -> ArtifactStore:
        return ArtifactStore(self.artifact_store)


def review_body(result: CheckResult) -> str:
    """Markdown for the reviewer: what warned, the numbers, and a link to each check's report
    page in the UI (never a path on the server: the reviewer reads it in the browser)."""
    lines = [f"**{result.summary}**", "", "| check | status | summary | report |", "|---|---|---|---|"]
    ctx = result.context or {}
    for a in result.assertions:
        report = ""
        if a.details.get("report") and ctx.get("dag_id") and ctx.get("run_id"):
            page = report_path(
                {"dag_id": ctx["dag_id"], "run_id": ctx["run_id"], "task_id": a.details["task_id"], "map_index": -1}
            )
            report = f"[report]({page})"
        summary = public_text(str(a.details.get("summary", ""))).replace("|", "\\|")
        lines.append(f"| {a.name} | {a.observed} | {summary} | {report} |")
    if result.policy:
        p = result.policy
        lines += ["", f"Policy {p['name']} v{p['version']} (sha256 {p['sha256'][:12]})"]
    return "\n".join(lines)


def _read(store: ArtifactStore, uri: str) -> str:
    if store.is_local:
        with open(uri, encoding="utf-8") as handle:
            return handle.read()
    return str(object_path(uri).read_text())
