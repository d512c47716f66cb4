#!/usr/bin/env python3
"""Helpers for ``scripts/demo.sh --ui``: pick a port, the api-server's environment, wait, banner.

    demo_ui.py port [PORT]          print PORT, or 8080 if free, or a free port on 127.0.0.1
    demo_ui.py env HOME PORT        print shell ``export`` lines for the api-server
    demo_ui.py wait URL PID         wait until the api-server answers (exit 1 if PID died first)
    demo_ui.py banner HOME URL RC   print where to look and how to log in

The login is user ``admin`` with a password generated once per Airflow home and kept in
``HOME/demo-ui-passwords.json`` (Airflow's simple auth manager reads that file), so a second
``--ui`` on the same home keeps the same password. Everything listens on loopback only.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

USER = "admin"
PASSWORDS = "demo-ui-passwords.json"
SECRET = "demo-ui-jwt-secret"
START_TIMEOUT_S = 180


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port(wanted: str = "") -> int:
    if wanted:
        number = int(wanted)
        if not _free(number):
            sys.exit(f"[demo] port {number} on 127.0.0.1 is in use: pick another with --port")
        return number
    if _free(8080):
        return 8080
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kept(path: Path, make) -> str:
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text()


def password(home: Path) -> str:
    text = _kept(home / PASSWORDS, lambda: json.dumps({USER: secrets.token_urlsafe(12)}))
    return json.loads(text)[USER]


def environment(home: Path, number: int) -> dict[str, str]:
    password(home)  # written before the server reads it
    base = f"http://127.0.0.1:{number}"
    return {
        "AIRFLOW__CORE__AUTH_MANAGER": (
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
        ),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / PASSWORDS),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(number),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": _kept(home / SECRET, lambda: secrets.token_urlsafe(48)),
    }


def wait(url: str, pid: int) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    return False


def banner(home: Path, url: str, status: int) -> str:
    lines = [
        "",
        f"[demo] UI ready: {url}/",
        f"[demo] login   : {USER} / {password(home)}   (kept in {home / PASSWORDS})",
        f"[demo] reports : each run's 'page' above; every DAG's history at {url}/alignment/dags/<dag_id>/history",
        "[demo] a task's 'Alignment report' link in the Airflow UI opens its report. Ctrl-C stops the server.",
    ]
    if status:
        lines.insert(1, "[demo] the demo reported a problem above; the UI shows what did run.")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    if command == "port":
        print(port(rest[0] if rest else ""))
    elif command == "env":
        for key, value in environment(Path(rest[0]), int(rest[1])).items():
            print(f"export {key}={shlex.quote(value)}")
    elif command == "wait":
        return 0 if wait(rest[0], int(rest[1])) else 1
    elif command == "banner":
        print(banner(Path(rest[0]), rest[1], int(rest[2])), flush=True)
    else:
        sys.exit(f"unknown command {command!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
