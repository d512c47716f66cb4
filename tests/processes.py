"""Server processes for the tests: each in its own process group, stopped by the test, and by a
watchdog should the test process die first.

:class:`Service` runs one command (a Redis server, the moto S3 server, an Airflow component) in a
new session, so that it and everything it forks (Celery pool processes, task supervisors,
uvicorn workers) form one process group that :meth:`Service.stop` or :meth:`Service.kill` ends
at once. :class:`Watchdog` is a separate process (this file run with ``--watch``) that reads
the groups it guards from a pipe; when the pipe closes, however the test process ended
(``atexit`` does not run on SIGKILL), it stops every group still registered. The same idea as
the PostgreSQL watchdog in ``tests/sqlservers.py``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

#: How long a group gets between SIGTERM and SIGKILL.
STOP_GRACE_S = 15.0


class Watchdog:
    """Stops the registered process groups when this process's end of the pipe closes."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, __file__, "--watch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # no Ctrl-C from the terminal: it must outlive the caller
        )

    def _say(self, line: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(f"{line}\n".encode())
        self._proc.stdin.flush()

    def guard(self, pgid: int) -> None:
        self._say(f"+{pgid}")

    def release(self, pgid: int) -> None:
        self._say(f"-{pgid}")

    def close(self) -> None:
        """Stop whatever is still guarded, and the watchdog."""
        if self._proc.stdin and not self._proc.stdin.closed:
            self._proc.stdin.close()
        self._proc.wait(timeout=STOP_GRACE_S + 30)


def stop_group(
    pgid: int, grace_s: float = STOP_GRACE_S, sig: int = signal.SIGTERM, leader: subprocess.Popen | None = None
) -> None:
    """Signal the group (SIGTERM), wait up to ``grace_s`` for it to be gone, then SIGKILL what
    is left. ``leader``: the group leader when it is our child (reaped here, else its zombie
    would count as a member)."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if leader is not None:
            leader.poll()
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


class Service:
    """One server process (and its children) in a process group of its own.

    :param name: for messages and the log file name.
    :param cmd: the command line.
    :param env: the whole environment of the process.
    :param cwd: its working directory (created if missing).
    :param log: where its stdout and stderr go.
    """

    def __init__(
        self,
        name: str,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log: Path,
        watchdog: Watchdog,
    ) -> None:
        self.name, self.cmd, self.env, self.cwd, self.log = name, list(cmd), dict(env), cwd, log
        self.watchdog = watchdog
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pgid(self) -> int:
        assert self.proc is not None
        return self.proc.pid  # start_new_session: the leader's pid is the group id

    def start(self) -> Service:
        self.cwd.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            out.write(f"\n==== start {self.starts + 1}: {' '.join(self.cmd)}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.cmd, env=self.env, cwd=self.cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.watchdog.guard(self.pgid)
        self.starts += 1
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Signal the group, SIGKILL what is left after a grace period."""
        if self.proc is None:
            return
        stop_group(self.pgid, leader=self.proc)
        self.proc.wait(timeout=30)
        self.watchdog.release(self.pgid)

    def kill(self) -> None:
        """SIGKILL the whole group at once: the machine running it died."""
        assert self.proc is not None
        os.killpg(self.pgid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.watchdog.release(self.pgid)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ({self.log}) ---\n" + "\n".join(text.splitlines()[-lines:])

    def wait_until(self, ready: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Poll ``ready`` until it is true; fail with the log's tail if the process exits or
        ``timeout_s`` passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(
                    f"{self.name} exited ({self.proc and self.proc.returncode}) before {what}\n{self.log_tail()}"
                )
            try:
                if ready():
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{self.name}: no {what} within {timeout_s:g} s\n{self.log_tail()}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def _watch() -> None:
    """The watchdog's loop: remember the groups announced on stdin; at EOF, stop them."""
    guarded: list[int] = []
    for line in sys.stdin:
        line = line.strip()
        if line.startswith("+"):
            guarded.append(int(line[1:]))
        elif line.startswith("-") and int(line[1:]) in guarded:
            guarded.remove(int(line[1:]))
    for pgid in reversed(guarded):
        stop_group(pgid, grace_s=5)


if __name__ == "__main__" and sys.argv[1:2] == ["--watch"]:
    _watch()
