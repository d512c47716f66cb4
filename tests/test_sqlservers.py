"""The real SQL servers of the test suite: the session's PostgreSQL server, the SQLite connection
fixture, and ``write_table`` round trips through both (see tests/sqlservers.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from tests import sqlservers
from tests.sqlservers import PostgresUnavailable, write_table

ROWS = 50_000


def _frame(rows: int) -> pd.DataFrame:
    """Every kind of value a check reads: ints, floats with NaN, text that needs CSV quoting
    (commas, quotes, newlines, backslashes, ``COPY``'s NULL marker ``\\N``, empty strings) and
    NULLs, booleans, timestamps."""
    rng = np.random.default_rng(7)
    words = np.array(["plain", "", "comma, inside", 'quote " inside', "new\nline", "back\\slash", "\\N", "é ✓"])
    text = words[rng.integers(0, len(words), rows)].astype(object)
    text[rng.random(rows) < 0.05] = None
    score = rng.normal(size=rows)
    score[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "score": score,
            "amount": rng.integers(-(10**12), 10**12, rows),
            "label": text,
            "approved": rng.random(rows) < 0.5,
            "seen_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 10**9, rows), unit="s"),
        }
    )


def _read(url: str, name: str) -> pd.DataFrame:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            back = pd.read_sql_table(name, conn)
    finally:
        engine.dispose()
    return back.sort_values("id", ignore_index=True)


def _target(request: pytest.FixtureRequest, backend: str) -> str:
    """The SQLAlchemy URL of ``backend``'s database."""
    if backend == "sqlite":
        return request.getfixturevalue("sqlite_conn_id").url
    url = request.getfixturevalue("postgres_server").url
    # psycopg (3) is what PostgresHook.get_sqlalchemy_engine() uses with SQLAlchemy 2.
    return url.replace("+psycopg2", "+psycopg") if backend == "postgres-psycopg3" else url


def test_postgres_answers_through_the_airflow_connection(pg_conn_id: str, postgres_server: Any) -> None:
    from airflow.providers.postgres.hooks.postgres import PostgresHook
    from airflow.sdk import BaseHook

    hook = BaseHook.get_connection(pg_conn_id).get_hook()
    assert isinstance(hook, PostgresHook)
    engine = hook.get_sqlalchemy_engine()
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version()")).scalar_one()
            listen = conn.execute(sa.text("SHOW listen_addresses")).scalar_one()
            database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
    finally:
        engine.dispose()
    assert version.startswith("PostgreSQL ")
    assert listen == "127.0.0.1"
    assert database == "alignment"
    assert (engine.url.host, engine.url.port) == ("127.0.0.1", postgres_server.port)


@pytest.mark.parametrize("backend", ["postgres", "postgres-psycopg3", "sqlite"])
def test_write_table_round_trips_50k_rows(request: pytest.FixtureRequest, backend: str) -> None:
    url = _target(request, backend)
    df = _frame(ROWS)
    assert write_table(url, "rows_50k", df) == ROWS
    back = _read(url, "rows_50k")
    # Both databases give NULL text back as None, which is what pandas wrote.
    pd.testing.assert_frame_equal(back, df, check_dtype=False, check_exact=True)
    assert back["approved"].dtype == bool
    assert back["label"].eq("").sum() == df["label"].eq("").sum() > 0


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_write_table_replaces_the_table(request: pytest.FixtureRequest, backend: str) -> None:
    url = _target(request, backend)
    write_table(url, "replaced", _frame(100))
    small = pd.DataFrame({"id": [1, 2], "note": ["a", None]})
    write_table(url, "replaced", small)  # the INSERT path, below the COPY threshold
    pd.testing.assert_frame_equal(_read(url, "replaced"), small)


def test_sqlite_connection_through_sqlite_hook(sqlite_conn_id: Any) -> None:
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook
    from airflow.sdk import BaseHook

    write_table(sqlite_conn_id.url, "scores", pd.DataFrame({"id": [1, 2, 3], "score": [0.5, 0.25, None]}))
    hook = BaseHook.get_connection(sqlite_conn_id.conn_id).get_hook()
    assert isinstance(hook, SqliteHook)
    assert hook.get_records("SELECT id, score FROM scores ORDER BY id") == [(1, 0.5), (2, 0.25), (3, None)]
    engine = hook.get_sqlalchemy_engine()
    try:
        assert engine.url.database == str(sqlite_conn_id.path)
    finally:
        engine.dispose()
    SqliteHook(sqlite_conn_id=sqlite_conn_id.conn_id).run("CREATE TABLE made_by_hook (x INTEGER)")
    assert "made_by_hook" in sa.inspect(sa.create_engine(sqlite_conn_id.url)).get_table_names()


def test_missing_server_binaries_fail_with_the_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """No binaries is a broken CI image, reported with what to install (the fixture fails, not skips)."""
    monkeypatch.delenv("ALIGNMENT_PG_BINDIR", raising=False)
    monkeypatch.setattr(sqlservers.shutil, "which", lambda name: None)
    monkeypatch.setattr(sqlservers.glob, "glob", lambda pattern: [])
    with pytest.raises(PostgresUnavailable, match=r"apt-get install postgresql"):
        sqlservers.find_postgres_bindir()


def test_a_killed_test_process_leaves_no_server_behind() -> None:
    """SIGKILL skips atexit; the watchdog still stops the server and deletes its directory."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys; from tests.sqlservers import start_postgres; s = start_postgres(); "
            "print(s.directory, s.port, flush=True); sys.stdin.read()",
        ],
        cwd=Path(__file__).resolve().parents[1],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = child.stdout.readline()
        assert line, "the child process could not start PostgreSQL (its error is in the captured stderr)"
        directory, port = line.split()
        assert (Path(directory) / "data" / "postmaster.pid").exists()
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 30
    while Path(directory).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(directory).exists()
    with pytest.raises(sa.exc.OperationalError):
        sa.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres").connect()
