"""Real SQL servers for the tests: a throw-away PostgreSQL cluster and a table writer.

:func:`start_postgres` runs a private PostgreSQL server from the Debian packages (``postgresql``
in ``scripts/test.sh``'s ``APT_PACKAGES``): a fresh cluster in a temporary directory, listening
only on ``127.0.0.1`` on a free port, with durability switched off because nothing in it has to
survive the test session. As root (CI containers) it runs as the ``postgres`` system user,
because ``initdb`` and ``postgres`` refuse to run as root.

:func:`write_table` loads a pandas DataFrame into a table of any SQLAlchemy database, with
``COPY`` on PostgreSQL, so that a 100k-row table loads in about a second.

``tests/conftest.py`` wraps these in the ``postgres_server``, ``pg_conn_id`` and
``sqlite_conn_id`` fixtures.
"""

from __future__ import annotations

import atexit
import csv
import glob
import io
import os
import pwd
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: PostgreSQL drivers through which :func:`write_table` loads rows with ``COPY``.
COPY_DRIVERS = ("psycopg2", "psycopg")
#: Rows per ``executemany`` batch where :func:`write_table` cannot use ``COPY``.
INSERT_CHUNK = 50_000
#: How :func:`write_table` spells NULL in the CSV it streams to ``COPY`` (unless a value is that).
COPY_NULL = r"\N"
# Start-up settings: loopback only, and no durability (fsync, WAL full pages, commit flush).
_SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={socket_dir} "
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
)


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the server would not start."""


@dataclass
class PostgresServer:
    """A running throw-away PostgreSQL server (see :func:`start_postgres`).

    ``url`` is the SQLAlchemy URL of database ``database`` (psycopg2 driver) and
    ``airflow_connection`` the same target as an Airflow connection in JSON form, the value of
    an ``AIRFLOW_CONN_<ID>`` environment variable.
    """

    host: str
    port: int
    user: str
    password: str
    database: str
    bindir: Path
    directory: Path
    run_as: str | None = None
    _stopped: bool = field(default=False, init=False, repr=False)
    _watchdog: subprocess.Popen | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    @property
    def airflow_connection(self) -> str:
        import json

        return json.dumps(
            {
                "conn_type": "postgres",
                "host": self.host,
                "port": self.port,
                "login": self.user,
                "password": self.password,
                "schema": self.database,
            }
        )

    @property
    def log_file(self) -> Path:
        return self.directory / "server.log"

    def stop(self) -> None:
        """Stop the server (fast shutdown, immediate if that fails) and delete its directory.

        Idempotent: the fixture calls it at the end of the session and ``atexit`` once more in
        case the session died before that. Then it dismisses the watchdog (see
        :func:`start_postgres`).
        """
        if self._stopped:
            return
        self._stopped = True
        data = self.directory / "data"
        try:
            if (data / "postmaster.pid").exists():
                for mode in ("fast", "immediate"):
                    proc = _run(
                        [str(self.bindir / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "-t", "30", "stop"],
                        cwd=self.directory,
                        user=self.run_as,
                        check=False,
                    )
                    if proc.returncode == 0:
                        break
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
            if self._watchdog is not None:
                self._watchdog.stdin.close()  # EOF: the watchdog finds nothing left and exits
                self._watchdog.wait(timeout=30)


def find_postgres_bindir() -> Path:
    """The directory of ``initdb``/``pg_ctl``/``postgres``: ``$ALIGNMENT_PG_BINDIR``, else
    ``pg_config --bindir``, else the highest ``/usr/lib/postgresql/<version>/bin`` (Debian does
    not put the server binaries on ``PATH``). Raises :class:`PostgresUnavailable`.
    """
    candidates: list[Path] = []
    if os.environ.get("ALIGNMENT_PG_BINDIR"):
        candidates.append(Path(os.environ["ALIGNMENT_PG_BINDIR"]))
    if shutil.which("pg_config"):
        proc = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            candidates.append(Path(proc.stdout.strip()))

    def version(path: str) -> tuple[int, ...]:
        match = re.search(r"/postgresql/([\d.]+)/bin$", path)
        return tuple(int(p) for p in match.group(1).split(".") if p) if match else ()

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in "
        f"{[str(c) for c in candidates] or '/usr/lib/postgresql/*/bin'}. Install the Debian "
        "package: `apt-get install postgresql` (scripts/test.sh does this through APT_PACKAGES), "
        "or set ALIGNMENT_PG_BINDIR to the directory that holds them."
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(
    cmd: list[str], cwd: Path, user: str | None = None, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess:
    """Run ``cmd`` in ``cwd`` (as ``user`` when given), raising :class:`PostgresUnavailable`
    with its output when it fails and ``check`` is set."""
    if user is not None:
        runuser = shutil.which("runuser")
        cmd = [runuser, "-u", user, "--", *cmd] if runuser else ["su", user, "-s", "/bin/sh", "-c", shlex.join(cmd)]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise PostgresUnavailable(f"{shlex.join(cmd)} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def _server_user() -> tuple[str | None, int | None]:
    """The user to run the server binaries as, and its uid: ``postgres`` as root, else nobody
    in particular (``None``: the current user). ``initdb`` refuses to run as root; the Debian
    package creates the ``postgres`` user.
    """
    if os.geteuid() != 0:
        return None, None
    try:
        return "postgres", pwd.getpwnam("postgres").pw_uid
    except KeyError:
        raise PostgresUnavailable(
            "running as root, and there is no `postgres` user to run the server as "
            "(the Debian package `postgresql` creates it)"
        ) from None


def start_postgres(database: str = "alignment", attempts: int = 3) -> PostgresServer:
    """Create and start a private PostgreSQL cluster and create ``database`` in it.

    The cluster lives in a fresh temporary directory (data in ``data/``, the Unix socket and
    ``server.log`` beside it), listens on ``127.0.0.1`` only, on a free port (retried if another
    process takes the port between choosing and binding it), and authenticates TCP clients with a
    random password (``scram-sha-256``) so other local users cannot reach it.

    The caller must call :meth:`PostgresServer.stop`; an ``atexit`` hook does it too, should the
    caller end without. ``atexit`` does not run when the process is killed (SIGKILL, or SIGTERM
    from ``timeout``), and the postmaster, detached by ``pg_ctl``, would outlive it: a watchdog
    process (this file run with ``--watch``) holds the read end of a pipe from the caller and
    stops the server and deletes the directory when the pipe closes, however the caller ends.
    """
    bindir = find_postgres_bindir()
    user, uid = _server_user()
    directory = Path(tempfile.mkdtemp(prefix="alignment-pg-"))
    if uid is not None:
        os.chown(directory, uid, -1)
    password = secrets.token_hex(16)
    server = PostgresServer(
        host="127.0.0.1",
        port=0,
        user="postgres",
        password=password,
        database=database,
        bindir=bindir,
        directory=directory,
        run_as=user,
    )
    atexit.register(server.stop)
    server._watchdog = subprocess.Popen(
        [sys.executable, __file__, "--watch", str(bindir), str(directory), user or ""],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # no Ctrl-C from the terminal: it must outlive the caller
    )
    try:
        pwfile = directory / "pwfile"
        pwfile.write_text(password + "\n")
        if uid is not None:
            os.chown(pwfile, uid, -1)
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(directory / "data"),
                "-U",
                "postgres",
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
            cwd=directory,
            user=user,
        )
        pwfile.unlink()
        for attempt in range(1, attempts + 1):
            server.port = free_port()
            options = _SERVER_OPTIONS.format(port=server.port, socket_dir=directory)
            proc = _run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(directory / "data"),
                    "-l",
                    str(server.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                cwd=directory,
                user=user,
                check=False,
            )
            if proc.returncode == 0:
                break
            log = server.log_file.read_text(errors="replace") if server.log_file.exists() else ""
            if attempt == attempts or "could not bind" not in log:
                raise PostgresUnavailable(
                    f"pg_ctl start failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n"
                    f"server log:\n{log[-4000:]}"
                )
        _create_database(server)
    except BaseException:
        server.stop()
        raise
    return server


def _create_database(server: PostgresServer) -> None:
    import psycopg2
    from psycopg2 import sql

    conn = psycopg2.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        password=server.password,
        dbname="postgres",
        connect_timeout=10,
    )
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.database)))
    finally:
        conn.close()


def write_table(url_or_engine: Any, name: str, df: Any, *, schema: str | None = None) -> int:
    """Write DataFrame ``df`` (without its index) to table ``name``, replacing the table.

    ``url_or_engine`` is a SQLAlchemy URL (string or ``URL``) or an ``Engine``. pandas creates
    the table from the frame's dtypes. On PostgreSQL through psycopg2 or psycopg 3 the rows go
    in with ``COPY ... FROM STDIN`` whatever their number; elsewhere with pandas' default
    ``executemany`` in chunks of :data:`INSERT_CHUNK` rows. Everything happens in one
    transaction. Returns the number of rows written.

    Measured with 100k rows of six mixed columns: ``COPY`` 1.3-1.6 s, ``executemany`` on
    PostgreSQL 4.5-5.4 s, ``method="multi"`` 21-48 s (slower than ``executemany`` on both
    PostgreSQL and SQLite, hence not used); SQLite with ``executemany`` 2-3 s.
    """
    import sqlalchemy as sa

    engine = url_or_engine if isinstance(url_or_engine, sa.Engine) else sa.create_engine(url_or_engine)
    try:
        dialect = engine.dialect
        with engine.begin() as conn:
            if dialect.name == "postgresql" and dialect.driver in COPY_DRIVERS:
                df.head(0).to_sql(name, conn, schema=schema, if_exists="replace", index=False)
                _copy_rows(conn, dialect.driver, name, schema, df)
            else:
                df.to_sql(name, conn, schema=schema, if_exists="replace", index=False, chunksize=INSERT_CHUNK)
    finally:
        if engine is not url_or_engine:
            engine.dispose()
    return len(df)


def _copy_rows(conn: Any, driver: str, name: str, schema: str | None, df: Any) -> None:
    """Stream ``df`` as CSV into the existing table through the connection's DBAPI cursor.

    NULL is spelled :data:`COPY_NULL` (lengthened while some text value equals it) rather than
    CSV's default empty field, so that empty strings stay empty strings. Floats are written in
    repr precision (pandas' default), so they arrive bit for bit.
    """
    from pandas.api.types import is_object_dtype, is_string_dtype

    null = COPY_NULL
    # object columns, and the string dtypes (pandas 3 infers "str" for text by default).
    text_columns = [df[c] for c in df.columns if is_object_dtype(df[c]) or is_string_dtype(df[c])]
    while any(column.eq(null).any() for column in text_columns):
        null += "~"
    buf = io.StringIO()
    df.to_csv(buf, index=False, header=False, na_rep=null, quoting=csv.QUOTE_MINIMAL)
    buf.seek(0)
    quote = conn.dialect.identifier_preparer.quote
    target = f"{quote(schema)}.{quote(name)}" if schema else quote(name)
    columns = ", ".join(quote(str(c)) for c in df.columns)
    null_literal = null.replace("'", "''")
    statement = f"COPY {target} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '{null_literal}')"
    dbapi = conn.connection.driver_connection
    if driver == "psycopg2":
        with dbapi.cursor() as cur:
            cur.copy_expert(statement, buf)
    else:  # psycopg 3
        with dbapi.cursor() as cur, cur.copy(statement) as copy:
            while block := buf.read(1 << 20):
                copy.write(block)


def _watch(bindir: str, directory: str, run_as: str) -> None:
    """The watchdog of :func:`start_postgres`: wait for EOF on stdin, then stop the server."""
    sys.stdin.buffer.read()
    PostgresServer(
        host="",
        port=0,
        user="",
        password="",
        database="",
        bindir=Path(bindir),
        directory=Path(directory),
        run_as=run_as or None,
    ).stop()


if __name__ == "__main__" and sys.argv[1:2] == ["--watch"]:
    _watch(*sys.argv[2:5])
