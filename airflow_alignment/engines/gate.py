"""The gate's decision: check results in, a verdict out (``approved``, ``needs_review``,
``rejected``), itself a ``CheckResult`` of kind ``gate``.

- ``rejected``: a block-severity check failed or could not be evaluated, or a check left no
  result at all;
- ``needs_review``: something warned (a warn-severity finding, or a warn-severity check that
  could not be evaluated);
- ``approved``: every check passed. With ``review=False``, warnings approve too, and the
  summary says so.

Pure Python; the operator in ``operators/gate.py`` adds Airflow (HITL review, asset events).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_alignment.exceptions import SpecError
from airflow_alignment.results import SEVERITIES, STATUSES, Assertion, CheckResult, utcnow

_STATUS_OF_VERDICT = {"approved": "passed", "needs_review": "warned", "rejected": "failed"}


def finding(task_id: str, result: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the gate keeps of one upstream result (``None``: the task left no result).

    An upstream document is read defensively: a status the gate does not know counts as
    ``error`` and a severity it does not know as ``block`` (an unreadable finding never
    approves), names and summaries are text.
    """
    if result is not None and not isinstance(result, Mapping):
        raise SpecError(
            f"result of {task_id!r}: expected a CheckResult document (a mapping) or None, got {type(result).__name__}"
        )
    if result is None:
        return {
            "task_id": task_id,
            "check": task_id,
            "status": "error",
            "severity": "block",
            "summary": f"{task_id} left no alignment result (did it crash before publishing one?)",
            "full_result": None,
            "report": None,
            "policy": None,
        }
    status, severity = result.get("status"), result.get("severity")
    return {
        "task_id": task_id,
        "check": _text(result.get("check"), task_id),
        "status": status if status in STATUSES else "error",
        "severity": severity if severity in SEVERITIES else "block",
        "summary": _text(result.get("summary"), "" if status in STATUSES else f"unknown status {status!r}"),
        "full_result": _text(result.get("full_result"), None),
        "report": _text(result.get("report"), None),
        "policy": _policy_ref(result.get("policy")),
    }


def _policy_ref(value: Any) -> dict[str, Any] | None:
    """A result's ``policy`` block when it is one (name, version and sha256), else ``None``."""
    if not isinstance(value, Mapping):
        return None
    name, version, sha = value.get("name"), value.get("version"), value.get("sha256")
    if not (
        isinstance(name, str)
        and isinstance(version, (str, int, float))
        and not isinstance(version, bool)
        and isinstance(sha, str)
        and re.fullmatch(r"[0-9a-f]{64}", sha)
    ):
        return None
    return {"name": name, "version": version, "sha256": sha}


def _text(value: Any, default: str | None) -> str | None:
    return value if isinstance(value, str) and value else default if value in (None, "") else str(value)


def verdict_of(findings: Sequence[Mapping[str, Any]]) -> str:
    if any(_blocks(f) for f in findings):
        return "rejected"
    if any(f["status"] != "passed" for f in findings):
        return "needs_review"
    return "approved"


def decide(
    findings: Sequence[Mapping[str, Any]],
    *,
    check_name: str = "gate",
    review: bool = True,
    model: str | None = None,
    policy: Mapping[str, Any] | None = None,
) -> CheckResult:
    """The gate's result. ``metrics["verdict"]`` is the decision before any human review."""
    started, t0 = utcnow(), time.perf_counter()
    if not findings:
        raise SpecError("checks: the gate has no check to judge; give it upstream alignment tasks or checks=")
    verdict = verdict_of(findings)
    auto_approved = verdict == "needs_review" and not review
    if auto_approved:
        verdict = "approved"
    assertions = [
        Assertion(
            name=f["check"],
            success=f["status"] == "passed",
            observed=f["status"],
            expected="passed",
            severity="block" if _blocks(f) or f["status"] == "passed" else "warn",
            details={k: f[k] for k in ("task_id", "summary", "full_result", "report")},
        )
        for f in findings
    ]
    return CheckResult(
        check=check_name,
        kind="gate",
        status=_STATUS_OF_VERDICT[verdict],  # type: ignore[arg-type]
        severity="block",
        summary=_summary(verdict, findings, auto_approved),
        assertions=assertions,
        metrics={
            "verdict": verdict,
            "model": model,
            "auto_approved_warnings": auto_approved,
            "checks": [{k: f[k] for k in ("task_id", "check", "status", "summary")} for f in findings],
        },
        policy=dict(policy) if policy else _common_policy(findings),
        started_at=started,
        duration_s=round(time.perf_counter() - t0, 6),
    )


def apply_review(result: CheckResult, *, approved: bool, reviewer: Any, responded_at: str | None) -> CheckResult:
    """Record a person's decision on a ``needs_review`` result."""
    verdict = "approved" if approved else "rejected"
    who = reviewer.get("name") if isinstance(reviewer, Mapping) else reviewer
    result.metrics.update({"verdict": verdict, "reviewed": True, "reviewer": reviewer, "responded_at": responded_at})
    result.status = _STATUS_OF_VERDICT[verdict]  # type: ignore[assignment]
    result.summary = f"{verdict} by {who} after review; {result.summary}"
    return result


def _blocks(f: Mapping[str, Any]) -> bool:
    return f["status"] == "failed" or (f["status"] == "error" and f["severity"] == "block")


def _summary(verdict: str, findings: Sequence[Mapping[str, Any]], auto_approved: bool) -> str:
    n = len(findings)
    if verdict == "rejected":
        decisive = [f for f in findings if _blocks(f)]
        head = f"rejected: {len(decisive)} of {n} checks block deployment"
    elif verdict == "needs_review":
        decisive = [f for f in findings if f["status"] != "passed"]
        head = f"needs review: {len(decisive)} of {n} checks warned"
    elif auto_approved:
        decisive = [f for f in findings if f["status"] != "passed"]
        head = f"approved with {len(decisive)} warning(s) (review is off)"
    else:
        return f"approved: all {n} checks passed"
    return head + "; " + "; ".join(f"{f['check']} {f['status']}: {f['summary']}" for f in decisive)


def _common_policy(findings: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    policies = {tuple(sorted(p.items())) for f in findings if (p := f.get("policy"))}
    return dict(next(iter(policies))) if len(policies) == 1 else None
