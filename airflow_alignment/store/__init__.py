"""Where results live: the artifact store (full results, reports), the audit trail, the
approved baselines and the history index. Local folders or any Airflow object storage URI;
nothing here imports anything heavy."""

from __future__ import annotations

from airflow_alignment.store.artifacts import ArtifactStore, result_key, safe_segment
from airflow_alignment.store.audit import AuditLog, append, audit_record, export_csv, read_audit

__all__ = [
    "ArtifactStore",
    "AuditLog",
    "append",
    "audit_record",
    "export_csv",
    "read_audit",
    "result_key",
    "safe_segment",
]
