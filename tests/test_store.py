from __future__ import annotations

import os

import pytest

from airflow_alignment.exceptions import StoreUnavailableError
from airflow_alignment.store.artifacts import ArtifactStore, result_key, safe_segment


def test_result_key_is_predictable_and_encodes_identifiers():
    ctx = {
        "dag_id": "d",
        "run_id": "manual__2026-01-01T00:00:00+00:00",
        "task_id": "g.t",
        "map_index": 3,
        "try_number": 2,
    }
    assert result_key(ctx) == "results/d/manual__2026-01-01T00%3A00%3A00%2B00%3A00/g.t/3/try-2/result.json"


@pytest.mark.parametrize("evil", ["..", ".", "../../etc", "a/b", "/abs", "..%2F"])
def test_segments_never_climb_out(evil):
    seg = safe_segment(evil)
    assert "/" not in seg and seg not in (".", "..") and not seg.startswith(".")


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    store = ArtifactStore(tmp_path)
    uri = store.write_text("results/a/b.json", '{"x": 1}')
    assert uri == os.path.join(str(tmp_path), "results", "a", "b.json")
    assert store.read_text("results/a/b.json") == '{"x": 1}'
    store.write_text("results/a/b.json", '{"x": 2}')
    assert store.read_text("results/a/b.json") == '{"x": 2}'
    assert sorted(p.name for p in (tmp_path / "results" / "a").iterdir()) == ["b.json"]
    assert store.list("results") == ["results/a/b.json"]


def test_a_failed_write_keeps_the_old_content(tmp_path, monkeypatch):
    store = ArtifactStore(tmp_path)
    store.write_text("k/v.json", "old")

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.write_text("k/v.json", "new")
    assert store.read_text("k/v.json") == "old"
    assert os.listdir(tmp_path / "k") == ["v.json"]


@pytest.mark.parametrize("key", ["../x", "a/../b", "/etc/passwd", "a//b"])
def test_keys_that_escape_are_refused(tmp_path, key):
    with pytest.raises(ValueError, match="invalid artifact key"):
        ArtifactStore(tmp_path).uri(key)


def test_base_comes_from_airflow_config_then_airflow_home(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW__ALIGNMENT__ARTIFACT_STORE", str(tmp_path / "configured"))
    assert ArtifactStore().base == str(tmp_path / "configured")
    monkeypatch.delenv("AIRFLOW__ALIGNMENT__ARTIFACT_STORE")
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "home"))
    assert ArtifactStore().base == str(tmp_path / "home" / "alignment")


def test_object_storage_uri_through_airflow(tmp_path):
    # memory:// is a real fsspec filesystem: the same code path as s3:// or gs://
    store = ArtifactStore("memory://alignment-test")
    uri = store.write_text("results/d/r/t/-1/try-1/result.json", "{}")
    assert uri == "memory://alignment-test/results/d/r/t/-1/try-1/result.json"
    assert store.read_text("results/d/r/t/-1/try-1/result.json") == "{}"
    assert store.exists("results/d/r/t/-1/try-1/result.json")
    assert store.list("results/d") == ["results/d/r/t/-1/try-1/result.json"]


# -- deployment: permissions, crashed writes, an object store that goes away ------------------
@pytest.fixture()
def umask():
    """Set the process umask for one test; restored after."""
    saved = os.umask(0o022)
    try:
        yield lambda mask: os.umask(mask)
    finally:
        os.umask(saved)


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"), [(0o002, 0o664, 0o775), (0o022, 0o644, 0o755)])
def test_files_follow_the_process_umask(tmp_path, umask, mask, file_mode, dir_mode):
    from airflow_alignment.store import audit
    from airflow_alignment.store.artifacts import process_umask

    umask(mask)
    assert process_umask() == mask
    store = ArtifactStore(tmp_path / "store")
    store.write_text("results/d/r/t/-1/try-1/result.json", "{}")
    store.write_text("results/d/r/t/-1/try-1/report.html", "<html></html>")
    audit.append({"time": "2026-03-01T09:00:00+00:00", "check": "c", "status": "passed"}, store)
    base = tmp_path / "store"
    for path in ("results/d/r/t/-1/try-1/result.json", "results/d/r/t/-1/try-1/report.html", "audit/audit.jsonl"):
        assert (base / path).stat().st_mode & 0o777 == file_mode, path
    for path in ("results", "results/d/r/t/-1/try-1", "audit"):
        assert (base / path).stat().st_mode & 0o777 == dir_mode, path


def test_a_crashed_write_leaves_a_temporary_file_that_the_next_writer_removes(tmp_path):
    import time

    from airflow_alignment.store.artifacts import STALE_TEMP_S

    store = ArtifactStore(tmp_path)
    try_1 = tmp_path / "results" / "d" / "r" / "t" / "-1" / "try-1"
    try_1.mkdir(parents=True)
    stale = try_1 / ".tmp-crashed.part"  # a worker died between mkstemp and rename
    stale.write_text('{"half": ')
    old = time.time() - STALE_TEMP_S - 60
    os.utime(stale, (old, old))
    fresh = try_1 / ".tmp-writing.part"  # another writer is at work right now
    fresh.write_text("{")
    assert store.list("results") == []  # never listed

    store.write_text("results/d/r/t/-1/try-1/report.html", "<html></html>")
    assert not stale.exists() and fresh.exists()

    # try 2 writes next door: it removes what try 1's crash left once it is old enough
    os.utime(fresh, (old, old))
    store.write_text("results/d/r/t/-1/try-2/result.json", "{}")
    assert not fresh.exists()
    assert store.list("results") == ["results/d/r/t/-1/try-1/report.html", "results/d/r/t/-1/try-2/result.json"]


def test_all_or_nothing_removes_what_a_failed_group_wrote(tmp_path, monkeypatch):
    store = ArtifactStore(tmp_path)
    store.write_text("keep/old.json", "old")
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith("result.json"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(StoreUnavailableError) as caught, store.all_or_nothing():
        store.write_text("results/d/r/t/-1/try-1/report.html", "<html></html>")
        store.write_text("results/d/r/t/-1/try-1/result.json", "{}")
    assert caught.value.key == "results/d/r/t/-1/try-1/result.json" and caught.value.store == str(tmp_path)
    assert f"in the artifact store {str(tmp_path)!r}" in str(caught.value)
    assert "No space left on device" in str(caught.value)
    assert store.list("results") == [] and store.list("keep") == ["keep/old.json"]


def test_object_store_on_s3(s3_store):
    """A real S3 endpoint (moto server): what the store writes is what boto3 reads back."""
    from tests.objectstore import keys

    store = ArtifactStore(s3_store.base)
    uri = store.write_text("results/d/r/t/-1/try-1/result.json", '{"x": 1}')
    assert uri == f"{s3_store.base}/results/d/r/t/-1/try-1/result.json"
    got = s3_store.client.get_object(Bucket=s3_store.bucket, Key="alignment/results/d/r/t/-1/try-1/result.json")
    assert got["Body"].read() == b'{"x": 1}'
    assert store.read_text("results/d/r/t/-1/try-1/result.json") == '{"x": 1}'
    assert store.list("results") == ["results/d/r/t/-1/try-1/result.json"]
    store.delete("results/d/r/t/-1/try-1/result.json")
    store.delete("results/d/r/t/-1/try-1/result.json")  # gone already: no error
    assert keys(s3_store.client, s3_store.bucket, "alignment/") == []


def test_an_unreachable_object_store_is_a_retryable_error_naming_store_and_key(s3_store):
    s3_store.proxy.go_down()
    store = ArtifactStore(s3_store.base)
    key = "results/d/r/t/-1/try-1/result.json"
    with pytest.raises(StoreUnavailableError) as caught:
        store.write_text(key, "{}")
    error = caught.value
    assert isinstance(error, OSError)  # Airflow retries it
    assert error.store == s3_store.base and error.key == key
    assert str(error).startswith(f"could not write {key!r} in the artifact store {s3_store.base!r}: ")
    with pytest.raises(StoreUnavailableError, match="could not list 'results' in the artifact store"):
        store.list("results")
    s3_store.proxy.come_up()
    store.write_text(key, "{}")
    assert store.read_text(key) == "{}"


def test_the_next_try_removes_what_an_interrupted_publish_left(s3_store):
    """The endpoint goes away while the result is written, after the report: the report
    cannot be removed then; the next try of the task removes it."""
    from airflow_alignment.store.artifacts import remove_unfinished_tries
    from tests.objectstore import keys

    store = ArtifactStore(s3_store.base)
    ctx = {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "try_number": 1}
    store.write_text("results/d/r/t/-1/try-0/result.json", "{}")  # an earlier try that finished
    s3_store.proxy.arm(rb"PUT /[^ ]*/try-1/result\.json ")
    with pytest.raises(StoreUnavailableError, match=r"try-1/result.json"), store.all_or_nothing():
        store.write_text("results/d/r/t/-1/try-1/report.html", "<html></html>")
        store.write_text("results/d/r/t/-1/try-1/result.json", "{}")
    assert s3_store.proxy.tripped.is_set()
    left = keys(s3_store.client, s3_store.bucket, "alignment/results/")
    assert left == ["alignment/results/d/r/t/-1/try-0/result.json", "alignment/results/d/r/t/-1/try-1/report.html"]
    s3_store.proxy.come_up()
    removed = remove_unfinished_tries(store, {**ctx, "try_number": 2})
    assert removed == ["results/d/r/t/-1/try-1/report.html"]
    assert keys(s3_store.client, s3_store.bucket, "alignment/results/") == [
        "alignment/results/d/r/t/-1/try-0/result.json"
    ]
