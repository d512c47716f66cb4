"""``bash scripts/demo.sh --ui``: the README's run command with the option that serves what it made.

It runs the demo (one template DAG, a temporary Airflow home), then starts ``airflow api-server``
on a free loopback port; the test reads the printed URL, login and run page as a newcomer would,
logs in and opens the run page, the check's report and the DAG history, checks that an anonymous
request is refused, opens the Alignment overview in Airflow's navigation in headless Chromium
(login through the form; the screenshot goes to ``test-artifacts/`` and, with
``ALIGNMENT_UPDATE_SCREENSHOTS=1``, to ``docs/screenshots/``), then stops the server with
Ctrl-C (SIGINT) as the banner says.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
DAG = "alignment_lending_pipeline"
TIMEOUT_S = 400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(proc: subprocess.Popen[str], out: Path, needle: str) -> str:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        text = out.read_text()
        if needle in text:
            return text
        if proc.poll() is not None:
            pytest.fail(f"demo.sh --ui exited {proc.returncode} before {needle!r}:\n{text[-3000:]}")
        time.sleep(1)
    pytest.fail(f"no {needle!r} within {TIMEOUT_S} s:\n{out.read_text()[-3000:]}")


def _browse_the_overview(base: str, password: str) -> None:
    """Log in through the form; the Alignment summary on the home dashboard; "Alignment" from the
    navigation's plugin route, then the model's dossier from its link; a screenshot of each."""
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.conftest import ARTIFACTS, CHROMIUM
    from tests.e2e.test_airflow_ui import CHROMIUM_FLAGS, _screenshot

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: scripts/test.sh installs Debian's chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(base + "/")
            page.wait_for_url("**/auth/login**")
            page.locator("input[name=username]").fill("admin")
            page.locator("input[name=password]").fill(password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/auth/login" not in url)
            # the home dashboard: the Alignment summary (a React app plugin rendering the compact overview)
            page.goto(base + "/")
            summary = page.frame_locator("iframe[title='Alignment summary']")
            expect(summary.locator("#counts")).to_contain_text("1 model(s)")
            expect(summary.locator("#models")).to_contain_text("credit-risk")
            expect(summary.locator("#models .badge").first).to_have_text("Approved")
            _screenshot(page, "alignment-dashboard.png")
            page.goto(base + "/plugin/alignment-overview")
            frame = page.frame_locator("iframe[title='Alignment']")
            expect(frame.locator("h1")).to_have_text("Alignment overview")
            expect(frame.locator("#models")).to_contain_text("credit-risk")
            expect(frame.locator("#models .badge").first).to_have_text("Approved")
            expect(frame.locator("#models svg.spark").first).to_be_visible()
            assert (ARTIFACTS / _screenshot(page, "alignment-overview.png").name).exists()
            # the model's dossier, from its link on the overview
            frame.get_by_role("link", name="dossier").first.click()
            expect(frame.locator("h1")).to_have_text("Compliance dossier: lending / credit-risk")
            expect(frame.locator("#verdict")).to_contain_text("Approved")
            expect(frame.locator("#policy-verified")).to_be_visible()
            expect(frame.locator("#audit-verified")).to_contain_text("every checksum verified")
            expect(frame.locator("#checks")).to_contain_text("fairness")
            _screenshot(page, "alignment-dossier.png")
        finally:
            browser.close()


@pytest.mark.e2e
def test_demo_ui_serves_the_runs_it_made(tmp_path: Path) -> None:
    home, port, out = tmp_path / "home", _free_port(), tmp_path / "demo.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_HOME", "AIRFLOW_CONN"))}
    env["ALIGNMENT_DEMO_HOME"] = str(home)
    with open(out, "w") as sink:
        proc = subprocess.Popen(
            ["bash", "scripts/demo.sh", "--ui", "--port", str(port), DAG],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        text = _wait_for(proc, out, "[demo] UI ready")
        base = f"http://127.0.0.1:{port}"
        assert f"[demo] UI ready: {base}/" in text
        login = re.search(r"\[demo\] login\s+: admin / (\S+)", text)
        assert login, text
        password = login.group(1)
        assert json.loads((home / "demo-ui-passwords.json").read_text()) == {"admin": password}
        assert (home / "demo-ui-passwords.json").stat().st_mode & 0o077 == 0
        page = re.search(r"page\s+: (\S+)", text)
        assert page and page.group(1).startswith(f"{base}/alignment/dags/{DAG}/runs/"), text

        assert httpx.get(page.group(1), timeout=30).status_code == 401  # behind Airflow's auth
        token = httpx.post(f"{base}/auth/token", json={"username": "admin", "password": password}, timeout=30).json()[
            "access_token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        run_page = httpx.get(page.group(1), headers=auth, timeout=30)
        assert run_page.status_code == 200
        assert "alignment.gate" in run_page.text and "alignment.fairness" in run_page.text
        report = httpx.get(f"{page.group(1)}/tasks/alignment.fairness/report", headers=auth, timeout=30)
        assert report.status_code == 200 and "demographic_parity" in report.text
        history = httpx.get(f"{base}/alignment/api/dags/{DAG}/history", headers=auth, timeout=30)
        assert history.status_code == 200
        (run,) = history.json()["runs"]
        assert run["verdict"] == "approved"
        overview = httpx.get(f"{base}/alignment/api/overview", headers=auth, timeout=30).json()
        (model,) = overview["models"]
        assert (model["policy_name"], model["model"], model["verdict"]) == ("lending", "credit-risk", "approved")
        _browse_the_overview(base, password)

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as the banner says
        assert proc.wait(timeout=60) == 0  # the demo itself ran as designed
        with pytest.raises(httpx.ConnectError):  # the server is gone
            httpx.get(base, timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
