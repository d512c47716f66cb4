from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

from airflow_alignment.results import CheckResult
from airflow_alignment.store.artifacts import ArtifactStore
from airflow_alignment.store.audit import AUDIT_FILE, append, audit_record, export_csv, read_audit


def _result(check="fairness", status="passed", policy="lending"):
    return CheckResult(
        check=check,
        kind="fairness",
        status=status,
        severity="block",
        summary=f"{check} {status}",
        data={"source": "x", "rows": 1, "columns": [], "fingerprint": "sha256:ab"},
        policy={"name": policy, "version": "1", "sha256": "c" * 64},
        context={"dag_id": "d", "run_id": "r1", "task_id": check, "map_index": -1, "try_number": 1},
        full_result="/store/results/x.json",
    )


def test_records_carry_what_an_auditor_asks_for(tmp_path):
    store = ArtifactStore(tmp_path)
    append(audit_record(_result(), model="credit-risk"), store)
    (record,) = read_audit(store).records
    for key in ("time", "dag_id", "run_id", "task_id", "try_number", "policy", "data_fingerprint", "status"):
        assert record[key] is not None, key
    assert record["policy"] == {"name": "lending", "version": "1", "sha256": "c" * 64}
    assert record["model"] == "credit-risk" and record["data_fingerprint"] == "sha256:ab"
    assert len((tmp_path / AUDIT_FILE).read_text().splitlines()) == 1


def test_filters_and_csv_export(tmp_path):
    store = ArtifactStore(tmp_path)
    append(audit_record(_result("a"), model="m1"), store)
    append(audit_record(_result("b", policy="other"), model="m1"), store)
    append({**audit_record(_result("c", status="failed"), model="m2"), "reviewer": {"id": "u1", "name": "Ada"}}, store)
    assert [r["check"] for r in read_audit(store, policy="lending").records] == ["a", "c"]
    assert [r["check"] for r in read_audit(store, model="m1").records] == ["a", "b"]
    future = datetime.now(timezone.utc) + timedelta(hours=1)
    assert read_audit(store, since=future).records == []
    assert len(read_audit(store, until=future.isoformat()).records) == 3
    out = tmp_path / "audit.csv"
    text = export_csv(read_audit(store, policy="lending").records, str(out))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["check"] for r in rows] == ["a", "c"]
    assert rows[1]["reviewer"] == "Ada" and rows[1]["policy_sha256"] == "c" * 64 and rows[1]["status"] == "failed"
    assert out.read_bytes().decode() == text


def test_appends_never_rewrite_earlier_lines(tmp_path):
    store = ArtifactStore(tmp_path)
    append(audit_record(_result("a")), store)
    first = (tmp_path / AUDIT_FILE).read_bytes()
    append(audit_record(_result("b")), store)
    assert (tmp_path / AUDIT_FILE).read_bytes().startswith(first)


def test_the_log_survives_a_crash_between_and_during_appends(tmp_path):
    """A process appends one record, tears the next (as a crash mid-write would), and is killed.
    The next writer isolates the fragment on its own line; nothing complete is lost."""
    script = textwrap.dedent(f"""
        import os, json
        from airflow_alignment.store.audit import append, AUDIT_FILE
        from airflow_alignment.store.artifacts import ArtifactStore
        store = ArtifactStore({str(tmp_path)!r})
        append({{"time": "2026-01-01T00:00:00+00:00", "check": "first", "policy": {{"name": "p"}}}}, store)
        with open(store.uri(AUDIT_FILE), "ab") as handle:
            handle.write(b'{{"time": "2026-01-01T00:00:01+00:00", "check": "torn", "po')
            handle.flush()
        os.kill(os.getpid(), {int(signal.SIGKILL)})
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    store = ArtifactStore(tmp_path)
    log = read_audit(store)
    assert [r["check"] for r in log.records] == ["first"] and log.damaged == 1

    append({"time": "2026-01-01T00:00:02+00:00", "check": "after", "policy": {"name": "p"}}, store)
    lines = (tmp_path / AUDIT_FILE).read_text().split("\n")
    assert lines[-1] == ""  # ends with a newline
    assert json.loads(lines[0])["check"] == "first"
    assert lines[1].startswith('{"time": "2026-01-01T00:00:01+00:00", "check": "torn"')
    assert json.loads(lines[2])["check"] == "after"
    log = read_audit(store)
    assert [r["check"] for r in log.records] == ["first", "after"] and log.damaged == 1


def test_concurrent_writers_lose_nothing(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from airflow_alignment.store.audit import append
        from airflow_alignment.store.artifacts import ArtifactStore
        store = ArtifactStore({str(tmp_path)!r})
        for i in range(100):
            record = {{"time": "2026-01-01T00:00:00+00:00", "check": f"w{{sys.argv[1]}}-{{i}}", "pad": "x" * 5000}}
            append(record, store)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in range(3)]
    assert [p.wait() for p in procs] == [0, 0, 0]
    log = read_audit(ArtifactStore(tmp_path))
    assert log.damaged == 0 and len(log.records) == 300
    assert len({r["check"] for r in log.records}) == 300


def test_object_storage_keeps_one_object_per_record():
    store = ArtifactStore("memory://audit-test")
    append(audit_record(_result("a")), store)
    append(audit_record(_result("b")), store)
    assert len(store.list("audit/records")) == 2
    assert [r["check"] for r in read_audit(store).records] == ["a", "b"]
