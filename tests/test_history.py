"""The history index and the pages that read it, on a local folder and on S3 (a real moto server).

- the index orders runs newest first by ``run_after``, one object per task instance try;
- a page reads what it shows: the requests the S3 server receives are counted from its own log;
- a bad file (truncated, not JSON, another schema, vanished between listing and reading) is one
  "unreadable" entry on every page, HTML and JSON, never a 500;
- results stored before the index are indexed by ``python -m airflow_alignment.store.index
  rebuild``, with ``run_after`` from the metadata DB, and the history keeps runs that
  ``airflow db clean`` removed from it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from airflow_alignment.plugin import reader
from airflow_alignment.store import index
from airflow_alignment.store.artifacts import ArtifactStore, result_key
from tests.conftest import TEST_DAGS, load_dag
from tests.test_plugin_routes import airflow_api, get
from tests.test_reports import expectations_result, gate_result, publish

DAG = "lending_history"
TASKS = ("gate", "quality_a", "quality_b")
DAY0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
_REQUEST = re.compile(r'"(?:\x1b\[[\d;]*m)?([A-Z]+) (\S+) HTTP/1')


# -- stores ---------------------------------------------------------------------------------
@dataclass
class Place:
    """An artifact store and direct access to its files (not through the package): a local
    folder, a bucket on the moto server (``client``), or another fsspec store (``fs``)."""

    store: ArtifactStore
    bucket: str | None = None
    client: Any = None
    fs: Any = None

    def _object(self, key: str) -> str:
        return f"alignment/{key}"

    def _path(self, key: str) -> str:
        return f"/{self.bucket}/alignment/{key}"

    def read(self, key: str) -> bytes:
        if self.fs is not None:
            return bytes(self.fs.cat_file(self._path(key)))
        if self.client is not None:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=self._object(key))["Body"].read())
        return Path(self.store.uri(key)).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        if self.fs is not None:
            self.fs.pipe_file(self._path(key), data)
        elif self.client is not None:
            self.client.put_object(Bucket=self.bucket, Key=self._object(key), Body=data)
        else:
            Path(self.store.uri(key)).write_bytes(data)

    def delete(self, key: str) -> None:
        if self.fs is not None:
            self.fs.rm_file(self._path(key))
        elif self.client is not None:
            self.client.delete_object(Bucket=self.bucket, Key=self._object(key))
        else:
            os.remove(self.store.uri(key))

    def delete_folder(self, folder: str) -> None:
        if self.fs is not None:
            self.fs.rm(self._path(folder), recursive=True)
        elif self.client is not None:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._object(folder) + "/"
            )
            for page in pages:
                for item in page.get("Contents", []):
                    self.client.delete_object(Bucket=self.bucket, Key=item["Key"])
        else:
            shutil.rmtree(self.store.uri(folder))


def new_bucket(moto_server: Any, name: str) -> Place:
    client = moto_server.client()
    client.create_bucket(Bucket=name)
    return Place(ArtifactStore(f"s3://alignment_s3@{name}/alignment"), bucket=name, client=client)


@pytest.fixture(scope="module")
def s3_connection(moto_server):
    mp = pytest.MonkeyPatch()
    mp.setenv("AIRFLOW_CONN_ALIGNMENT_S3", moto_server.airflow_connection)
    yield moto_server
    mp.undo()


@pytest.fixture(params=["local", "s3", "fsspec"])
def place(request, tmp_path, s3_connection) -> Iterator[Place]:
    """An empty store: a local folder, a fresh bucket on the moto server, or fsspec's in-memory
    filesystem (the listing any other fsspec store gets: GCS, Azure...)."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:50].strip("-")
    if request.param == "local":
        yield Place(ArtifactStore(tmp_path / "store"))
    elif request.param == "s3":
        yield new_bucket(s3_connection, name)
    else:
        import fsspec

        memory = fsspec.filesystem("memory")
        yield Place(ArtifactStore(f"memory://{name}/alignment"), bucket=name, fs=memory)
        memory.rm(f"/{name}", recursive=True)


def run_id_of(day: int) -> str:
    return f"scheduled__{(DAY0 + timedelta(days=day)).isoformat()}"


def store_runs(store: ArtifactStore, days: range, dag_id: str = DAG) -> list[str]:
    """One run a day: two expectation checks and the gate over them, published as operators
    publish (report, result, index entry, audit). Returns the run ids, oldest first."""
    runs = []
    for day in days:
        run_id, when = run_id_of(day), DAY0 + timedelta(days=day)
        a, b = expectations_result(), expectations_result()
        a.summary = f"day {day}"
        for task_id, result in (("quality_a", a), ("quality_b", b)):
            result.started_at = (when + timedelta(minutes=1)).isoformat()
            publish(result, store, dag_id=dag_id, run_id=run_id, task_id=task_id, run_after=when)
        gate = gate_result([("quality_a", a), ("quality_b", b)])
        gate.started_at = (when + timedelta(minutes=2)).isoformat()
        publish(gate, store, dag_id=dag_id, run_id=run_id, task_id="gate", run_after=when)
        runs.append(run_id)
    return runs


def shown(history: dict[str, Any]) -> list[str]:
    return [run["run_id"] for run in history["runs"]]


# -- the index ------------------------------------------------------------------------------
def test_run_folders_sort_newest_first_and_name_their_run():
    times = [DAY0, DAY0 + timedelta(microseconds=1), DAY0 + timedelta(days=3650)]
    folders = [index.run_folder(t, f"manual__{i}") for i, t in enumerate(times)]
    assert sorted(folders) == folders[::-1]
    assert index.folder_run(folders[1]) == ("manual__1", "2026-01-01T00:00:00.000001+00:00")
    evil = index.run_folder("2026-01-01T00:00:00+00:00", "../../x/..~y")
    assert "/" not in evil and index.folder_run(evil) == ("../../x/..~y", "2026-01-01T00:00:00+00:00")
    key = index.entry_key("d", evil, "group.task", 12, 3)
    assert index.parse_entry_key(key) == (evil, "group.task", 12, 3)
    assert index.parse_entry_key("index/d/not-a-run/t~-1~try-1.json") is None


def test_publish_writes_one_entry_per_task_try_under_its_run(tmp_path):
    store = ArtifactStore(tmp_path)
    store_runs(store, range(1))
    retried = expectations_result()
    publish(retried, store, dag_id=DAG, run_id=run_id_of(0), task_id="quality_a", try_number=2, run_after=DAY0)
    folder = index.run_folder(DAY0, run_id_of(0))
    names = sorted(os.listdir(tmp_path / "index" / DAG / folder))
    assert names == [
        "gate~-1~try-1.json",
        "quality_a~-1~try-1.json",
        "quality_a~-1~try-2.json",
        "quality_b~-1~try-1.json",
    ]
    entry = json.loads((tmp_path / "index" / DAG / folder / "gate~-1~try-1.json").read_text())
    assert entry["schema"] == index.ENTRY_SCHEMA and entry["run_after"] == DAY0.isoformat()
    assert entry["kind"] == "gate" and entry["verdict"] == "rejected" and entry["run_id"] == run_id_of(0)
    history = reader.dag_history(store, DAG, 30)
    (run,) = history["runs"]
    assert [(e["task_id"], e["try_number"]) for e in run["results"]] == [
        ("gate", 1),
        ("quality_a", 2),
        ("quality_b", 1),
    ]


# -- pages cost what they show --------------------------------------------------------------
def test_history_pages_go_back_in_time_run_by_run(place):
    runs = store_runs(place.store, range(7))
    pages, before = [], None
    while True:
        history = reader.dag_history(place.store, DAG, 3, before)
        pages.append(shown(history))
        before = history["next_before"]
        if before is None:
            break
    assert pages == [runs[4:7], runs[1:4], runs[0:1]]
    assert reader.dag_history(place.store, DAG, 7)["next_before"] is None
    assert (
        shown(reader.dag_history(place.store, DAG, 2, index.run_folder(DAY0 + timedelta(days=6), runs[6]))) == runs[4:6]
    )


def test_history_reads_only_the_runs_it_shows(place):
    runs = store_runs(place.store, range(6))
    for day, run_id in enumerate(runs[:3]):  # every stored file of the three oldest runs is broken
        folder = index.run_folder(DAY0 + timedelta(days=day), run_id)
        for task_id in TASKS:
            place.write(index.entry_key(DAG, folder, task_id, -1, 1), b"{broken")
    for run_id in runs:
        for task_id in TASKS:
            place.write(result_key({"dag_id": DAG, "run_id": run_id, "task_id": task_id, "try_number": 1}), b"{broken")
    newest = reader.dag_history(place.store, DAG, 3)
    assert shown(newest) == runs[3:]
    assert [e["status"] for run in newest["runs"] for e in run["results"]] == ["failed"] * 9
    older = reader.dag_history(place.store, DAG, 3, newest["next_before"])
    assert shown(older) == runs[:3]  # the broken files are read once their runs are shown
    assert {e["status"] for run in older["runs"] for e in run["results"]} == {"unreadable"}


def s3_requests(moto_server: Any, since: int) -> list[tuple[str, str]]:
    """The requests the moto server logged after byte ``since`` of its log: (method, path)."""
    return _REQUEST.findall(moto_server.log.read_bytes()[since:].decode("utf-8", "replace"))


def test_s3_pages_make_a_bounded_number_of_requests(s3_connection, tmp_path, airflow_home):
    """1,200 index objects of 400 older runs plus 10 published runs: the history page lists once
    and reads limit x tasks entries; the run and task pages list their folder and read what they show."""
    place = new_bucket(s3_connection, "bounded-requests")
    runs = store_runs(place.store, range(400, 410))
    template = json.loads(
        place.read(index.entry_key(DAG, index.run_folder(DAY0 + timedelta(days=400), runs[0]), "quality_a", -1, 1))
    )
    for day in range(400):  # older runs, written straight to the bucket
        folder = index.run_folder(DAY0 + timedelta(days=day), run_id_of(day))
        for task_id in TASKS:
            entry = {**template, "task_id": task_id, "run_id": run_id_of(day)}
            place.write(index.entry_key(DAG, folder, task_id, -1, 1), json.dumps(entry).encode())
    limit = 5
    with airflow_api(tmp_path, place.store.base) as api:
        world = {**api}
        get(world, f"/alignment/api/dags/{DAG}/history", params={"limit": 1})  # connects, as any first request
        mark = s3_connection.log.stat().st_size
        first = get(world, f"/alignment/api/dags/{DAG}/history", params={"limit": limit}).json()
        first_requests = s3_requests(s3_connection, mark)
        mark = s3_connection.log.stat().st_size
        second = get(world, first["older_json_url"]).json()
        second_requests = s3_requests(s3_connection, mark)
        mark = s3_connection.log.stat().st_size
        deep = get(
            world,
            f"/alignment/api/dags/{DAG}/history",
            params={"limit": limit, "before": index.run_folder(DAY0 + timedelta(days=200), run_id_of(200))},
        ).json()
        deep_requests = s3_requests(s3_connection, mark)
        mark = s3_connection.log.stat().st_size
        run_page = get(world, f"/alignment/dags/{DAG}/runs/{quote(runs[-1], safe='')}")
        run_requests = s3_requests(s3_connection, mark)
        mark = s3_connection.log.stat().st_size
        report = get(world, f"/alignment/dags/{DAG}/runs/{quote(runs[-1], safe='')}/tasks/gate/report")
        report_requests = s3_requests(s3_connection, mark)
    assert shown(first) == runs[-limit:] and shown(second) == runs[:limit]
    assert shown(deep) == [run_id_of(day) for day in range(195, 200)]
    assert run_page.status_code == report.status_code == 200 and "Rejected" in report.text
    for requests in (first_requests, second_requests, deep_requests):
        lists = [path for method, path in requests if method == "GET" and "list-type=2" in path]
        gets = [path for method, path in requests if method == "GET" and "list-type=2" not in path]
        assert len(lists) == 1 and len(gets) == limit * len(TASKS) and len(requests) == len(lists) + len(gets)
        assert all("/index/" in path for path in gets)
    assert len(deep_requests) <= limit * len(TASKS) + 10
    assert sorted(m for m, p in run_requests) == ["GET"] * (1 + len(TASKS))  # a LIST of the run, its results
    assert len(report_requests) == 2  # a LIST of the task's folder, the stored report


# -- a bad file is one bad entry ------------------------------------------------------------
def truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


CORRUPTIONS = {
    "truncated": truncate,
    "not json": lambda data: b"<html>502 Bad Gateway</html>",
    "another schema": lambda data: json.dumps({"schema": "someone-else/report/v2", "rows": [1, 2, 3]}).encode(),
    "not utf-8": lambda data: b"\xff\xfe" + data,
}
VANISHED = "vanished"


@pytest.fixture(scope="module")
def stores(tmp_path_factory, s3_connection, airflow_home):
    """Three runs on a local folder and in a bucket, and Airflow's API app."""
    root = tmp_path_factory.mktemp("bad-files")
    places = {"local": Place(ArtifactStore(root / "store")), "s3": new_bucket(s3_connection, "bad-files")}
    for place in places.values():
        store_runs(place.store, range(3))
    with airflow_api(root, str(root / "store")) as api:
        yield {**api, "places": places}


PAGES = {
    # page: (url, the file it reads that goes bad)
    "history html": (f"/alignment/dags/{DAG}/history", "entry"),
    "history json": (f"/alignment/api/dags/{DAG}/history", "entry"),
    "run html": (f"/alignment/dags/{DAG}/runs/{quote(run_id_of(1), safe='')}", "result"),
    "run json": (f"/alignment/api/dags/{DAG}/runs/{quote(run_id_of(1), safe='')}", "result"),
    "report html": (f"/alignment/dags/{DAG}/runs/{quote(run_id_of(1), safe='')}/tasks/quality_b/report", "result"),
    "result json": (f"/alignment/api/dags/{DAG}/runs/{quote(run_id_of(1), safe='')}/tasks/quality_b/result", "result"),
}


@pytest.mark.parametrize("where", ["local", "s3"])
@pytest.mark.parametrize("damage", [*CORRUPTIONS, VANISHED])
@pytest.mark.parametrize("page", list(PAGES))
def test_a_bad_file_is_one_unreadable_entry(stores, monkeypatch, where, damage, page):
    place = stores["places"][where]
    monkeypatch.setenv("AIRFLOW__ALIGNMENT__ARTIFACT_STORE", place.store.base)
    url, which = PAGES[page]
    context = {"dag_id": DAG, "run_id": run_id_of(1), "task_id": "quality_b", "map_index": -1, "try_number": 1}
    if which == "entry":
        bad = index.entry_key(DAG, index.run_folder(DAY0 + timedelta(days=1), run_id_of(1)), "quality_b", -1, 1)
    else:
        bad = result_key(context)
    report = result_key(context, "report.html")
    saved = {key: place.read(key) for key in (bad, report)}
    try:
        if page == "report html":
            place.delete(report)  # the page renders from the result
        if damage == VANISHED:
            real = reader.read_texts

            def vanish_then_read(store, keys):
                keys = list(keys)
                if bad in keys:
                    place.delete(bad)  # listed a moment ago, gone now
                return real(store, keys)

            monkeypatch.setattr(reader, "read_texts", vanish_then_read)
        else:
            place.write(bad, CORRUPTIONS[damage](saved[bad]))
        response = get(stores, url)
        assert response.status_code == 200, response.text[:500]
        assert_one_unreadable(page, response, bad, damage)
    finally:
        for key, data in saved.items():
            place.write(key, data)


def assert_one_unreadable(page: str, response: Any, bad: str, damage: str) -> None:
    error = {
        "truncated": "JSONDecodeError",
        "not json": "JSONDecodeError",
        "another schema": "schema",
        "not utf-8": "UnicodeDecodeError",
        VANISHED: "FileNotFoundError",
    }[damage]
    if page == "result json":
        doc = response.json()
        assert doc["status"] == "unreadable" and doc["key"] == bad and error in doc["error"]
        return
    if page.endswith("html"):
        text = response.text
        assert "nreadable" in text and bad in text
        if page == "report html":
            assert "Unreadable alignment result" in text
        elif page == "history html":
            assert text.count("badge b-unreadable") == 1 and text.count("badge b-rejected") >= 3  # 3 runs shown
        else:
            assert text.count("badge b-unreadable") == 1 and "quality_a" in text and "Rejected" in text
        return
    data = response.json()
    runs = data["runs"] if page == "history json" else [data]
    entries = [e for run in runs for e in run["results"]]
    bad_entries = [e for e in entries if e["status"] == "unreadable"]
    assert len(entries) == len(runs) * len(TASKS) and len(runs) == (3 if page == "history json" else 1)
    (entry,) = bad_entries
    assert entry["key"] == bad and error in entry["error"]
    assert (entry["task_id"], entry["map_index"], entry["try_number"]) == ("quality_b", -1, 1)
    assert entry["report_url"].endswith("/tasks/quality_b/report?map_index=-1&try_number=1")
    assert all(e["status"] == "failed" for e in entries if e is not entry)


def test_a_stored_report_is_served_when_its_result_is_bad(stores, monkeypatch):
    place = stores["places"]["local"]
    monkeypatch.setenv("AIRFLOW__ALIGNMENT__ARTIFACT_STORE", place.store.base)
    context = {"dag_id": DAG, "run_id": run_id_of(2), "task_id": "gate", "map_index": -1, "try_number": 1}
    saved = place.read(result_key(context))
    place.write(result_key(context), b"")
    try:
        page = get(
            stores,
            PAGES["report html"][0]
            .replace(quote(run_id_of(1), safe=""), quote(run_id_of(2), safe=""))
            .replace("quality_b", "gate"),
        )
        assert page.status_code == 200 and page.text == place.read(result_key(context, "report.html")).decode()
    finally:
        place.write(result_key(context), saved)


@pytest.mark.parametrize("where", ["local", "s3"])
def test_a_report_that_vanishes_is_rendered_from_its_result(stores, monkeypatch, where):
    place = stores["places"][where]
    monkeypatch.setenv("AIRFLOW__ALIGNMENT__ARTIFACT_STORE", place.store.base)
    context = {"dag_id": DAG, "run_id": run_id_of(0), "task_id": "quality_a", "map_index": -1, "try_number": 1}
    report = result_key(context, "report.html")
    saved = place.read(report)
    real = reader.read_texts

    def vanish_then_read(store, keys):
        keys = list(keys)
        if report in keys:
            place.delete(report)
        return real(store, keys)

    monkeypatch.setattr(reader, "read_texts", vanish_then_read)
    try:
        page = get(stores, f"/alignment/dags/{DAG}/runs/{quote(run_id_of(0), safe='')}/tasks/quality_a/report")
        assert page.status_code == 200 and "expect_column_values_to_be_between" in page.text and "day 0" in page.text
    finally:
        place.write(report, saved)


def test_history_html_links_older_runs_and_back(stores, monkeypatch):
    monkeypatch.setenv("AIRFLOW__ALIGNMENT__ARTIFACT_STORE", stores["places"]["local"].store.base)
    first = get(stores, f"/alignment/dags/{DAG}/history", params={"limit": 2}).text
    older = re.search(r'<a href="([^"]+)" id="older">Older runs</a>', first)
    assert older and run_id_of(2) in first and run_id_of(0) not in first
    second = get(stores, older[1].replace("&amp;", "&")).text
    assert run_id_of(0) in second and run_id_of(2) not in second and 'id="older"' not in second
    assert "newest runs" in second
    assert get(stores, f"/alignment/api/dags/{DAG}/history", params={"before": "../x"}).status_code == 400


# -- stores from before the index -----------------------------------------------------------
def test_rebuild_indexes_results_stored_before_the_index(place, capsys):
    runs = store_runs(place.store, range(4))
    before = reader.dag_history(place.store, DAG, 30)
    place.delete_folder(f"index/{DAG}")
    emptied = reader.dag_history(place.store, DAG, 30)
    assert emptied["runs"] == [] and emptied["unindexed_results"] is True
    command = ["rebuild", "--no-db", "--store", place.store.base]  # the command's main() (memory:// is per process)
    assert index.main(command) == 0
    assert f"{DAG}: 12 entries written for 4 runs, 0 unreadable results skipped" in capsys.readouterr().out
    after = reader.dag_history(place.store, DAG, 30)
    assert shown(after) == runs and after["unindexed_results"] is False

    def entries(history):  # without the DB, a rebuilt run is placed at its first result's start
        return [[{k: v for k, v in e.items() if k != "run_after"} for e in r["results"]] for r in history["runs"]]

    assert entries(after) == entries(before)
    assert [r["run_after"] for r in after["runs"]] == [
        (DAY0 + timedelta(days=d, minutes=1)).isoformat() for d in range(4)
    ]
    assert index.main(command) == 0
    assert f"{DAG}: 0 entries written for 0 runs" in capsys.readouterr().out  # idempotent


@pytest.mark.airflow
def test_dag_test_runs_are_indexed_by_run_after_and_outlive_db_clean(airflow_home, tmp_path, monkeypatch):
    import pandas as pd
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    monkeypatch.setenv("AIRFLOW__ALIGNMENT__ARTIFACT_STORE", str(tmp_path / "store"))
    data = tmp_path / "predictions.parquet"
    pd.DataFrame({"label": [1, 0, 1, 0] * 50, "score": [0.9, 0.2, 0.8, 0.3] * 50}).to_parquet(data)
    dag = load_dag(TEST_DAGS / "history_cases.py", "history_runs")
    run_ids = [dag.test(run_conf={"path": str(data)}).run_id for _ in range(2)]
    with create_session() as session:
        run_after = dict(session.query(DagRun.run_id, DagRun.run_after).filter(DagRun.dag_id == "history_runs"))
    store = ArtifactStore()
    history = reader.dag_history(store, "history_runs", 30)
    assert shown(history)[-2:] == run_ids
    for run in history["runs"][-2:]:
        assert run["run_after"] == run_after[run["run_id"]].isoformat()
        assert [(e["task_id"], e["map_index"]) for e in run["results"]] == [("check", 0), ("check", 1)]
    ordered = sorted(run_after, key=run_after.__getitem__)
    assert shown(history) == ordered[-len(history["runs"]) :]

    # the documented command rebuilds the same index from the results and the DB's run_after
    shutil.rmtree(Path(store.base) / "index" / "history_runs")
    rebuild = [sys.executable, "-m", "airflow_alignment.store.index", "rebuild", "--dag", "history_runs"]
    done = subprocess.run(rebuild, capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"history_runs: 4 entries written for 2 runs, 0 unreadable results skipped ({store.base})" in done.stdout
    assert reader.dag_history(store, "history_runs", 30)["runs"] == history["runs"]

    # airflow db clean removes the DagRuns; the history still shows the stored runs
    clean = [
        sys.executable,
        "-m",
        "airflow",
        "db",
        "clean",
        "--clean-before-timestamp",
        (datetime.now(timezone.utc) + timedelta(days=1)).isoformat(),
        "--tables",
        "dag_run",
        "--dag-ids",
        "history_runs",
        "--skip-archive",
        "--yes",
    ]
    done = subprocess.run(clean, capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    with create_session() as session:
        assert session.query(DagRun).filter(DagRun.run_id.in_(run_ids)).count() == 0
    assert reader.dag_history(store, "history_runs", 30)["runs"] == history["runs"]
