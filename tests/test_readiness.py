"""Readiness conditions, what a deferred sensor waits on in the triggerer: a local file, an S3
object on a real moto server reached through Airflow's ObjectStoragePath, a SQL row count and
labelled rows per group on SQLite and on the session's PostgreSQL server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import pandas as pd
import pytest

from airflow_alignment.exceptions import DataError, SourceUnavailableError, SpecError
from airflow_alignment.io import sql
from airflow_alignment.triggers.readiness import Observation, file_condition, observe
from tests.sqlservers import write_table

HEAVY = ("pandas", "numpy", "pyarrow", "great_expectations", "fairlearn", "sklearn", "scipy")
END = "2026-03-08T00:00:00+00:00"
WINDOW = {"column": "ts", "seconds": 7 * 86400.0, "end": END}


def _write(path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


# -- files ------------------------------------------------------------------------------------
def test_file_appears_changes_and_reaches_min_bytes(tmp_path):
    path = tmp_path / "batch.csv"
    condition = file_condition(str(path), min_bytes=10)
    missing = observe(condition)
    assert missing == Observation(None, False, f"{path} does not exist yet")
    assert not missing.ready_after(None)

    _write(path, "a\n1\n")  # 4 bytes: there, not enough
    small = observe(condition)
    assert small.fingerprint["size"] == 4 and not small.enough
    assert small.note == f"{path} holds 4 bytes, fewer than min_bytes=10" and not small.ready_after(None)

    _write(path, "a\n1\n2\n3\n4\n")  # 10 bytes
    big = observe(condition)
    assert big.enough and big.ready_after(None) and big.ready_after(small.fingerprint)
    assert not big.ready_after(big.fingerprint)  # evaluated already: nothing new to see
    assert observe(condition) == big  # looking changes nothing

    _write(path, "a\n5\n6\n7\n8\n")  # same size, new content (an atomic replace)
    again = observe(condition)
    assert again.fingerprint["size"] == 10 and again.ready_after(big.fingerprint)


def test_file_condition_of_a_file_source_and_file_uri(tmp_path):
    path = tmp_path / "b.csv"
    _write(path, "a\n1\n")
    mapping = {"path": f"file://{path}", "format": "csv", "storage_options": {}}
    condition = file_condition(mapping)
    assert condition == {"kind": "file", "path": f"file://{path}", "storage_options": {}, "min_bytes": 1}
    assert observe(condition).ready_after(None)
    assert not observe(file_condition(str(tmp_path / "empty.csv"))).enough
    (tmp_path / "empty.csv").write_text("")
    empty = observe(file_condition(str(tmp_path / "empty.csv")))
    assert empty.fingerprint["size"] == 0 and not empty.enough  # an empty file is not data yet


def test_unknown_condition_kind_is_a_spec_error():
    with pytest.raises(SpecError, match=r"unknown kind 'fil'\. Did you mean 'file'\? Kinds: file, rows, labelled"):
        observe({"kind": "fil"})


# -- S3 through ObjectStoragePath, on a moto server ----------------------------------------------
def test_object_appears_and_changes_on_s3(s3_bucket):
    condition = file_condition(s3_bucket.uri("landing/batch.csv"), min_bytes=5)
    assert observe(condition) == Observation(None, False, f"{condition['path']} does not exist yet")

    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="landing/batch.csv", Body=b"a\n")
    small = observe(condition)
    assert small.fingerprint["size"] == 2 and not small.enough

    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="landing/batch.csv", Body=b"a\n1\n2\n")
    first = observe(condition)
    assert first.enough and first.ready_after(small.fingerprint) and not first.ready_after(first.fingerprint)
    head = s3_bucket.client.head_object(Bucket=s3_bucket.name, Key="landing/batch.csv")
    assert first.fingerprint["ETag"] == head["ETag"]

    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="landing/batch.csv", Body=b"a\n3\n4\n")  # same size
    second = observe(condition)
    assert second.fingerprint["size"] == first.fingerprint["size"] and second.ready_after(first.fingerprint)


def test_a_prefix_is_not_an_object(s3_bucket):
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="day/part-0.csv", Body=b"a\n1\n")
    assert observe(file_condition(s3_bucket.uri("day"))).fingerprint is None


def test_an_unreachable_store_means_wait(monkeypatch):
    from tests.sqlservers import free_port

    conn = {
        "conn_type": "aws",
        "login": "k",
        "password": "s",
        "extra": {
            "endpoint_url": f"http://127.0.0.1:{free_port()}",
            "region_name": "us-east-1",
            "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_NOWHERE_S3", json.dumps(conn))
    with pytest.raises(SourceUnavailableError, match=r"could not look at s3://nowhere_s3@bucket/x\.csv: "):
        observe(file_condition("s3://nowhere_s3@bucket/x.csv"))


def test_trigger_wakes_when_the_object_lands(s3_bucket):
    """The real trigger loop over S3: it polls the missing object, then fires once it lands."""
    from airflow_alignment.triggers import AlignmentSensorTrigger

    trigger = AlignmentSensorTrigger(
        file_condition(s3_bucket.uri("in/b.csv")),
        poke_interval=0.1,
        deadline=time.time() + 30,
        carry={"evaluations": 1},
    )

    async def scenario():
        async def land():
            await asyncio.sleep(0.5)
            await asyncio.to_thread(s3_bucket.client.put_object, Bucket=s3_bucket.name, Key="in/b.csv", Body=b"a\n1\n")

        lander = asyncio.create_task(land())
        events = [event async for event in trigger.run()]
        await lander
        return events

    [event] = asyncio.run(scenario())
    assert event.payload["status"] == "changed" and event.payload["polls"] >= 3
    assert event.payload["fingerprint"]["size"] == 4 and event.payload["carry"] == {"evaluations": 1}


# -- SQL: row counts and labelled rows per group -------------------------------------------------
def _forget(conn_id: str) -> None:
    sql.dispose(conn_id)


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request, tmp_path):
    """An empty SQL database behind an Airflow connection: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        db = request.getfixturevalue("sqlite_conn_id")
        target = SimpleNamespace(conn_id=db.conn_id, url=db.url)
    else:
        server = request.getfixturevalue("postgres_server")
        target = SimpleNamespace(conn_id=request.getfixturevalue("pg_conn_id"), url=server.url)
    _forget(target.conn_id)
    yield target
    _forget(target.conn_id)


def _feedback(labelled_b: int, *, aware: bool = True) -> pd.DataFrame:
    """Groups A and B, 6 predictions each in the window, 4 more A rows before it; all of A
    labelled, ``labelled_b`` of B."""
    stamps = [f"2026-03-0{d} 12:00:00" for d in (2, 3, 4, 5, 6, 7)]
    rows = [{"ts": t, "grp": "A", "pred": 1, "label": 1} for t in stamps]
    rows += [{"ts": t, "grp": "B", "pred": 0, "label": 1 if i < labelled_b else None} for i, t in enumerate(stamps)]
    rows += [{"ts": "2026-02-01 00:00:00", "grp": "A", "pred": 1, "label": None} for _ in range(4)]
    frame = pd.DataFrame(rows)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=aware)
    frame["label"] = frame["label"].astype("Int64")
    return frame


def test_row_count_grows_to_min_rows(warehouse):
    condition = {"kind": "rows", "source": {"conn_id": warehouse.conn_id, "table": "arrivals"}, "min_rows": 3}
    with pytest.raises(DataError, match="arrivals"):
        observe(condition)  # the trigger waits on: the table may be created later
    write_table(warehouse.url, "arrivals", pd.DataFrame({"a": [1, 2]}))
    two = observe(condition)
    assert two == Observation({"rows": 2}, False, f"sql://{warehouse.conn_id}/arrivals holds 2 rows, fewer than 3")
    write_table(warehouse.url, "arrivals", pd.DataFrame({"a": [1, 2, 3]}))
    three = observe(condition)
    assert three.enough and three.ready_after(two.fingerprint) and not three.ready_after(three.fingerprint)
    filtered = {**condition, "source": {**condition["source"], "where": "a > :low", "parameters": {"low": 1}}}
    assert observe(filtered).fingerprint == {"rows": 2}


@pytest.mark.parametrize("aware", [True, False], ids=["timestamptz", "naive"])
def test_labelled_rows_per_group_in_the_window(warehouse, aware):
    source = {"conn_id": warehouse.conn_id, "table": "feedback"}
    condition = {
        "kind": "labelled",
        "source": source,
        "features": ["grp"],
        "label": "label",
        "min_per_group": 4,
        "window": WINDOW,
    }
    write_table(warehouse.url, "feedback", _feedback(labelled_b=2, aware=aware))
    short = observe(condition)
    # the 4 rows before the window (unlabelled A rows) are not counted
    assert short.fingerprint == {"groups": [[["A"], 6, 6], [["B"], 6, 2]]}
    assert not short.enough and short.note == (
        "1 of 2 groups have fewer than 4 labelled rows (8 labelled): 'grp=B (2)'"
    )
    write_table(warehouse.url, "feedback", _feedback(labelled_b=4, aware=aware))
    enough = observe(condition)
    assert enough.fingerprint == {"groups": [[["A"], 6, 6], [["B"], 6, 4]]}
    assert enough.ready_after(short.fingerprint) and not enough.ready_after(enough.fingerprint)
    everything = observe({**condition, "window": None})  # no window: the 4 old rows count
    assert everything.fingerprint == {"groups": [[["A"], 10, 6], [["B"], 6, 4]]}


def test_no_rows_in_the_window_is_not_ready(warehouse):
    write_table(warehouse.url, "feedback", _feedback(labelled_b=6))
    condition = {
        "kind": "labelled",
        "source": {"conn_id": warehouse.conn_id, "table": "feedback"},
        "features": ["grp"],
        "label": "label",
        "min_per_group": 1,
        "window": {**WINDOW, "end": "2026-01-01T00:00:00+00:00"},
    }
    seen = observe(condition)
    assert seen.fingerprint == {"groups": []} and not seen.enough and seen.note.startswith("no rows in sql://")


def test_group_counts_equal_pandas_on_sqlite_text_timestamps(sqlite_conn_id):
    """SQLite keeps timestamps as text in any ISO form: 'T' or ' ', with or without an offset."""
    from airflow_alignment.io import SqlSource
    from airflow_alignment.io.window import Window

    frame = pd.DataFrame(
        {
            "ts": [
                "2026-03-01T00:00:00+00:00",
                "2026-03-01 00:00:00.001",
                "2026-03-07T23:30:00-01:00",
                "2026-03-08T00:00:00Z",
                "2026-03-08 00:00:00.001",
                "2026-03-05T12:00:00",
                None,
            ],
            "grp": ["A", "A", "B", "B", "A", None, "B"],
            "label": [1, None, 0, 1, 1, 0, 1],
        }
    )
    write_table(sqlite_conn_id.url, "feedback", frame)
    window = Window(column="ts", seconds=7 * 86400.0, end=END)
    counts = sql.group_counts(SqlSource(sqlite_conn_id.conn_id, table="feedback"), ["grp"], "label", window=window)
    inside = window.keep(frame)  # pandas: (2026-03-01 00:00, 2026-03-08 00:00] in UTC
    assert list(inside.index) == [1, 3, 5]
    assert counts == [(("A",), 1, 0), (("B",), 1, 1), ((None,), 1, 1)]  # a missing group sorts last


def test_readiness_never_imports_the_heavy_libraries(tmp_path, s3_bucket, warehouse):
    """What the triggerer runs (the trigger module and every condition kind), in a fresh
    interpreter: none of pandas, numpy, pyarrow, GX, fairlearn, sklearn, scipy gets imported."""
    write_table(warehouse.url, "feedback", _feedback(labelled_b=4))
    s3_bucket.client.put_object(Bucket=s3_bucket.name, Key="b.csv", Body=b"a\n1\n")
    (tmp_path / "b.csv").write_text("a\n1\n")
    source = {"conn_id": warehouse.conn_id, "table": "feedback"}
    conditions = [
        file_condition(str(tmp_path / "b.csv")),
        file_condition(s3_bucket.uri("b.csv")),
        {"kind": "rows", "source": source, "min_rows": 1},
        {
            "kind": "labelled",
            "source": source,
            "features": ["grp"],
            "label": "label",
            "min_per_group": 4,
            "window": WINDOW,
        },
    ]
    probe = (
        "import asyncio, json, sys\n"
        "from airflow_alignment.triggers import AlignmentSensorTrigger\n"
        "async def main(conditions):\n"
        "    for c in conditions:\n"
        "        [e] = [e async for e in AlignmentSensorTrigger(c, poke_interval=0.01).run()]\n"
        "        assert e.payload['status'] == 'changed', e.payload\n"
        "asyncio.run(main(json.loads(sys.argv[1])))\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(conditions)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
