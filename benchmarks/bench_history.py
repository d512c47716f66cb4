"""Benchmark: the history and run pages against the number of stored runs (not a test).

Run from the repository root::

    .venv/bin/python benchmarks/bench_history.py [--sizes 10,30,1000,10000] [--repeats 15]
                                                 [--clients 20] [--requests 10] [--no-s3]

A DAG of N runs x 10 tasks (a gate, 3 fairness checks, 6 expectation checks: real engine
results, each with its own context) is stored for each N in ``--sizes`` (one DAG id per size),
laid out as ``publish_result`` lays it out: ``results/.../result.json``, ``report.html`` and the
history index entry (``index.entry``). The files are written straight to disk, without the
store's fsync (2 ms a file here), so that 10,000 runs take a minute, not an hour.

1. **Local folder.** Through Airflow's own API app (``create_app("core")``, plugin mounted by its
   entry point, JWT auth): the history page (JSON and HTML, ``limit=30``) and the run page (JSON
   and HTML) of the newest run, for every size, timed interleaved; the 10-run DAG is the peer.
   The 30-run DAG shows as many runs as the larger ones: the peer for the same page content.
   The HTML history keeps the trend charts it drew (``html._trend_svg``); "charts drawn" is the
   page right after a new run, with every chart drawn again.
2. **S3 on a moto server** (``python -m moto.server`` on 127.0.0.1): the same pages, with the
   requests the server logged for each. The index holds every run; results are stored for the
   newest 30 runs only (no page lists ``results/`` beyond the one run it shows).
3. **Concurrent clients** on a real ``airflow api-server`` process over the local store, with
   one worker (Airflow's default) and with two (Airflow's advice: about one per core):
   ``--clients`` threads, each making ``--requests`` requests of the 1,000-run DAG's history
   (JSON, then HTML): p50 and p95 latency, requests per second. The clients run on the same two
   cores as the server.

Goals (issue 12): the 10,000-run history page within 1.5x of the 10-run page and under 300 ms on
a local store; at most ``limit x tasks + 10`` object-store requests; p95 under 1 s with 20
clients on the 1,000-run page.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import ROOT, airflow_sandbox, interleaved, median

HOME = airflow_sandbox()
STORE = HOME / "alignment"
PASSWORD = secrets.token_hex(8)
os.environ.update(
    {
        "AIRFLOW__ALIGNMENT__ARTIFACT_STORE": str(STORE),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(HOME / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
    }
)
(HOME / "passwords.json").write_text(json.dumps({"admin": PASSWORD}))
sys.path.insert(0, str(ROOT))

TASKS = 10
LIMIT = 30
DAY0 = datetime(2020, 1, 1, tzinfo=timezone.utc)
_REQUEST = re.compile(r'"(?:\x1b\[[\d;]*m)?([A-Z]+) (\S+) HTTP/1')


# -- the stored history -----------------------------------------------------------------------
def templates() -> list[tuple[str, dict[str, Any], str]]:
    """(task_id, result JSON, its rendered report) of the ten tasks of a run."""
    import pandas as pd

    from airflow_alignment.engines import expectations, fairness
    from airflow_alignment.engines.gate import decide, finding
    from airflow_alignment.reporting.html import render_report
    from airflow_alignment.samples import lending_applicants

    df = lending_applicants(3000, seed=7)
    df["approved"] = (df["credit_score"] > 600).astype(int)
    fair = fairness.evaluate(
        df,
        y_true="repaid",
        y_pred="approved",
        sensitive_features=["sex", "race"],
        constraints=[
            {"metric": "demographic_parity_ratio", "min": 0.8},
            {"metric": "equalized_odds_difference", "max": 0.1},
        ],
        confidence=0.9,
        n_boot=200,
    )
    quality = expectations.evaluate(
        pd.DataFrame(df),
        [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "credit_score", "min_value": 300, "max_value": 850},
            },
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "sex"}},
        ],
    )
    tasks = [(f"fairness_{i}", fair.to_dict()) for i in range(3)] + [
        (f"quality_{i}", quality.to_dict()) for i in range(6)
    ]
    gate = decide([finding(t, doc) for t, doc in tasks], model="credit").to_dict()
    return [(t, doc, render_report(doc)) for t, doc in [("gate", gate), *tasks]]


def run_of(day: int) -> tuple[str, datetime]:
    when = DAY0 + timedelta(days=day)
    return f"scheduled__{when.isoformat()}", when


def documents(dag_id: str, days: range, tasks: list[tuple[str, dict[str, Any], str]]) -> Any:
    """(key, text or the path of a file to link) of every stored file, as publish_result writes them."""
    from airflow_alignment.store import index
    from airflow_alignment.store.artifacts import result_key

    for day in days:
        run_id, when = run_of(day)
        for task_id, template, _ in tasks:
            ctx = {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": -1, "try_number": 1}
            doc = {**template, "context": ctx, "started_at": (when + timedelta(minutes=1)).isoformat()}
            yield result_key(ctx), json.dumps(doc)
            yield result_key(ctx, "report.html"), ("report", task_id)
            yield index.entry(doc, when)


def store_local(dag_id: str, runs: int, tasks: list[tuple[str, dict[str, Any], str]]) -> None:
    reports = {}
    for task_id, _, page in tasks:
        reports[task_id] = HOME / f"report-{task_id}.html"
        reports[task_id].write_text(page)
    for key, text in documents(dag_id, range(runs), tasks):
        path = STORE / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, tuple):
            os.link(reports[text[1]], path)  # one report's bytes for every run: disk, not speed
        else:
            path.write_text(text)


def store_s3(client: Any, bucket: str, dag_id: str, runs: int, tasks: list[tuple[str, dict[str, Any], str]]) -> None:
    newest = range(max(0, runs - LIMIT), runs)

    def put(item: tuple[str, str]) -> None:
        client.put_object(Bucket=bucket, Key=f"alignment/{item[0]}", Body=item[1].encode())

    wanted = (
        (key, text)
        for key, text in documents(dag_id, range(runs), tasks)
        if isinstance(text, str) and (key.startswith("index/") or _day_of(key) in newest)
    )
    with ThreadPoolExecutor(16) as pool:
        while batch := list(itertools.islice(wanted, 2000)):
            list(pool.map(put, batch))


def _day_of(key: str) -> int:
    from urllib.parse import unquote

    stamp = unquote(key.split("/")[2]).removeprefix("scheduled__")
    return (datetime.fromisoformat(stamp) - DAY0).days


# -- the pages --------------------------------------------------------------------------------
def pages(dag_id: str, runs: int) -> dict[str, str]:
    newest = quote(run_of(runs - 1)[0], safe="")
    return {
        "history json": f"/alignment/api/dags/{dag_id}/history?limit={LIMIT}",
        "history html": f"/alignment/dags/{dag_id}/history?limit={LIMIT}",
        "run json": f"/alignment/api/dags/{dag_id}/runs/{newest}",
        "run html": f"/alignment/dags/{dag_id}/runs/{newest}",
    }


def api_client() -> tuple[Any, dict[str, str]]:
    from airflow.api_fastapi.app import create_app, get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from fastapi.testclient import TestClient

    client = TestClient(create_app("core"))
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="admin", role="admin"))
    return client, {"Authorization": f"Bearer {token}"}


def fetch(client: Any, headers: dict[str, str], url: str) -> Any:
    response = client.get(url, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
    return response


def time_pages(client: Any, headers: dict[str, str], sizes: list[int], repeats: int) -> dict[tuple[int, str], float]:
    candidates = {}
    for n in sizes:
        for name, url in pages(f"history_{n}", n).items():
            candidates[f"{n}|{name}"] = lambda url=url: fetch(client, headers, url)
    times = interleaved(candidates, repeats=repeats, warmup=2)
    out = {(int(k.split("|")[0]), k.split("|")[1]): median(v) for k, v in times.items()}
    from airflow_alignment.reporting import html

    for n in sizes:  # the first view after a run was added: every trend chart drawn
        url = pages(f"history_{n}", n)["history html"]
        drawn = []
        for _ in range(max(3, repeats // 3)):
            html._trend_svg.cache_clear()
            drawn.append(time_one(client, headers, url))
        out[(n, "history html, charts drawn")] = median(drawn)
    return out


def s3_requests(log: Path, since: int) -> list[tuple[str, str]]:
    return _REQUEST.findall(log.read_bytes()[since:].decode("utf-8", "replace"))


def measure_s3(sizes: list[int], tasks: list[tuple[str, dict[str, Any], str]], repeats: int) -> list[tuple[Any, ...]]:
    from tests.objectstore import start_moto

    server = start_moto()
    rows = []
    try:
        os.environ["AIRFLOW_CONN_ALIGNMENT_S3"] = server.airflow_connection
        client = server.client()
        client.create_bucket(Bucket="history-bench")
        for n in sizes:
            t0 = time.perf_counter()
            store_s3(client, "history-bench", f"history_{n}", n, tasks)
            print(f"  s3: stored {n:,} runs in {time.perf_counter() - t0:.0f} s", flush=True)
        os.environ["AIRFLOW__ALIGNMENT__ARTIFACT_STORE"] = "s3://alignment_s3@history-bench/alignment"
        api, headers = api_client()
        fetch(api, headers, pages(f"history_{sizes[0]}", sizes[0])["history json"])  # connects
        for n in sizes:
            for name, url in pages(f"history_{n}", n).items():
                mark = server.log.stat().st_size
                fetch(api, headers, url)
                requests = s3_requests(server.log, mark)
                seconds = median([time_one(api, headers, url) for _ in range(repeats)])
                lists = sum(1 for m, p in requests if m == "GET" and "list-type=2" in p)
                gets = sum(1 for m, p in requests if m == "GET" and "list-type=2" not in p)
                rows.append((n, name, len(requests), lists, gets, len(requests) - lists - gets, seconds))
    finally:
        os.environ["AIRFLOW__ALIGNMENT__ARTIFACT_STORE"] = str(STORE)
        server.stop()
    return rows


def time_one(client: Any, headers: dict[str, str], url: str) -> float:
    t0 = time.perf_counter()
    fetch(client, headers, url)
    return time.perf_counter() - t0


# -- concurrent clients on a real api-server -------------------------------------------------
def start_api_server(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    from tests.sqlservers import free_port

    port = free_port()
    log = open(HOME / "api-server.log", "wb")  # noqa: SIM115 - the server writes to it until it stops
    command = [
        sys.executable,
        "-m",
        "airflow",
        "api-server",
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"api-server exited: {(HOME / 'api-server.log').read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop(process)
    raise RuntimeError("api-server did not answer within 180 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the server and the workers it started
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def concurrent(url: str, token: str, clients: int, per_client: int) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def client() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=120) as http:  # one connection each
            barrier.wait()
            for _ in range(per_client):
                t0 = time.perf_counter()
                response = http.get(url)
                elapsed = time.perf_counter() - t0
                if response.status_code != 200:
                    raise RuntimeError(f"{url}: {response.status_code}")
                with lock:
                    latencies.append(elapsed)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0
    latencies.sort()
    return {
        "p50": median(latencies),
        "p95": latencies[int(0.95 * (len(latencies) - 1))],
        "rps": len(latencies) / wall,
        "count": len(latencies),
    }


def measure_concurrency(clients: int, per_client: int, runs: int, workers: int) -> dict[str, dict[str, float]]:
    import httpx

    process, base = start_api_server(workers)
    try:
        token = httpx.post(f"{base}/auth/token", json={"username": "admin", "password": PASSWORD}).json()[
            "access_token"
        ]
        out = {}
        for name in ("history json", "history html"):
            url = base + pages(f"history_{runs}", runs)[name]
            concurrent(url, token, 4 * workers, 3)  # warm every worker (each keeps its own charts)
            out[f"{name}, {workers} worker(s)"] = concurrent(url, token, clients, per_client)
        return out
    finally:
        stop(process)


# -- main -------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,30,1000,10000")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10, help="requests per client")
    parser.add_argument("--workers", default="1,2", help="api-server worker counts to measure")
    parser.add_argument("--no-s3", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    migrated = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True)
    if migrated.returncode != 0:
        raise RuntimeError(migrated.stderr[-3000:])
    try:
        tasks = templates()
        for n in sizes:
            t0 = time.perf_counter()
            store_local(f"history_{n}", n, tasks)
            print(f"  local: stored {n:,} runs x {TASKS} tasks in {time.perf_counter() - t0:.0f} s", flush=True)
        client, headers = api_client()
        local = time_pages(client, headers, sizes, args.repeats)
        s3 = [] if args.no_s3 else measure_s3(sizes, tasks, max(3, args.repeats // 3))
        crowd = {}
        for workers in (int(w) for w in args.workers.split(",")):
            crowd.update(
                measure_concurrency(args.clients, args.requests, 1000 if 1000 in sizes else sizes[-1], workers)
            )
        report(sizes, local, s3, crowd, args)
    finally:
        shutil.rmtree(HOME, ignore_errors=True)


def report(
    sizes: list[int],
    local: dict[tuple[int, str], float],
    s3: list[tuple[Any, ...]],
    crowd: dict[str, dict[str, float]],
    args: argparse.Namespace,
) -> None:
    print(f"\nLocal folder, through Airflow's API app (median of {args.repeats}, interleaved), limit={LIMIT}")
    names = ["history json", "history html", "history html, charts drawn", "run json", "run html"]
    print(f"{'stored runs':>11}  " + "  ".join(f"{n:>12}" for n in names))
    for n in sizes:
        print(f"{n:>11,}  " + "  ".join(f"{local[(n, name)] * 1e3:>{max(12, len(name)) - 3}.1f} ms" for name in names))
    big, small = sizes[-1], sizes[0]
    for name in names[:3]:
        ratio = local[(big, name)] / local[(small, name)]
        met = "met" if ratio <= 1.5 else "MISSED"
        line = f"{name}: {big:,} runs / {small:,} runs = {ratio:.2f}x (goal <= 1.5x: {met})"
        if 30 in sizes:
            line += f"; / 30 runs (same runs shown) = {local[(big, name)] / local[(30, name)]:.2f}x"
        print(
            line
            + f"; {local[(big, name)] * 1e3:.0f} ms (goal < 300 ms: {'met' if local[(big, name)] < 0.3 else 'MISSED'})"
        )
    if s3:
        bound = LIMIT * TASKS + 10
        print(f"\nS3 (moto server on 127.0.0.1): requests per page (goal: history <= limit x tasks + 10 = {bound})")
        print(
            f"{'stored runs':>11}  {'page':<12}  {'requests':>8}  {'LIST':>4}  {'GET':>4}  {'other':>5}  {'median':>9}"
        )
        for n, name, total, lists, gets, other, seconds in s3:
            print(f"{n:>11,}  {name:<12}  {total:>8}  {lists:>4}  {gets:>4}  {other:>5}  {seconds * 1e3:>6.0f} ms")
    print(
        f"\n{args.clients} concurrent clients x {args.requests} requests, `airflow api-server --workers N`, "
        f"history of the {1000 if 1000 in sizes else sizes[-1]:,}-run DAG, limit={LIMIT}"
    )
    for name, numbers in crowd.items():
        print(
            f"{name}: p50 {numbers['p50']:.3f} s, p95 {numbers['p95']:.3f} s, {numbers['rps']:.1f} requests/s "
            f"({numbers['count']:.0f} requests; goal p95 < 1 s: {'met' if numbers['p95'] < 1 else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
