from __future__ import annotations

import os

import pytest

from airflow_alignment.reporting.store import ArtifactStore, result_key, safe_segment


def test_result_key_is_predictable_and_encodes_identifiers():
    ctx = {"dag_id": "d", "run_id": "manual__2026-01-01T00:00:00+00:00", "task_id": "g.t", "map_index": 3, "try_number": 2}
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
