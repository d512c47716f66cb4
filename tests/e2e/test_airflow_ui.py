"""End to end in a real browser: the lending template runs in ``airflow standalone``, and the
Alignment tab of ``fairness_plain`` shows its verdict and charts.

Headless Chromium is Debian's ``chromium`` (Playwright drives it; no browser is downloaded).
Screenshots go to ``test-artifacts/``; with ``ALIGNMENT_UPDATE_SCREENSHOTS=1`` they are also
copied to ``docs/screenshots/`` for ``docs/ui.md``.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.e2e.conftest import ARTIFACTS, CHROMIUM, PASSWORD, ROOT, USER, Airflow

pytestmark = pytest.mark.e2e

DAG = "alignment_lending_fairness"
RUN_TIMEOUT_S = 360
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module", autouse=True)
def _chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)")


@pytest.fixture(scope="module")
def finished_run(airflow_server: Airflow) -> str:
    """Trigger the lending template twice through the REST API (two runs make a trend) and wait
    until both are over; the id of the second."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while airflow_server.api("GET", f"/api/v2/dags/{DAG}").status_code != 200:
        assert time.monotonic() < deadline, f"{DAG} was never parsed:\n{airflow_server.log_tail()}"
        time.sleep(2)
    airflow_server.api("PATCH", f"/api/v2/dags/{DAG}", json={"is_paused": False}).raise_for_status()
    run_ids = []
    for _ in range(2):
        response = airflow_server.api("POST", f"/api/v2/dags/{DAG}/dagRuns", json={"logical_date": None})
        assert response.status_code == 200, response.text
        run_ids.append(response.json()["dag_run_id"])
    for run_id in run_ids:
        state = None
        while state not in ("success", "failed"):
            assert time.monotonic() < deadline, f"run {run_id} still {state}:\n{airflow_server.log_tail()}"
            time.sleep(3)
            run = airflow_server.api("GET", f"/api/v2/dags/{DAG}/dagRuns/{quote(run_id, safe='')}")
            state = run.json()["state"]
    return run_ids[-1]


def _task_states(server: Airflow, run_id: str) -> dict[str, str]:
    response = server.api("GET", f"/api/v2/dags/{DAG}/dagRuns/{quote(run_id, safe='')}/taskInstances")
    return {ti["task_id"]: ti["state"] for ti in response.json()["task_instances"]}


def _screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)
    if os.environ.get("ALIGNMENT_UPDATE_SCREENSHOTS") == "1":
        target = ROOT / "docs" / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / name)
    return path


def test_alignment_tab_shows_the_verdict_and_charts(airflow_server: Airflow, finished_run: str):
    from playwright.sync_api import expect, sync_playwright

    states = _task_states(airflow_server, finished_run)
    assert states["fairness_plain"] == "failed" and states["fairness_mitigated"] == "success", states
    ti_page = f"{airflow_server.url}/dags/{DAG}/runs/{quote(finished_run, safe='')}/tasks/fairness_plain"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(30_000)
            # log in through SimpleAuthManager's form
            page.goto(airflow_server.url + "/")
            page.wait_for_url("**/auth/login**")
            page.locator("input[name=username]").fill(USER)
            page.locator("input[name=password]").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/auth/login" not in url)
            # the task instance, then its Alignment tab
            page.goto(ti_page)
            # the task instance's tab (url_route "alignment"), not the navigation's "Alignment" overview
            page.get_by_role("tab", name="Alignment", exact=True).or_(
                page.locator("a[href$='plugin/alignment']")
            ).first.click()
            frame = page.frame_locator("iframe[title='Alignment']")
            expect(frame.locator("h1")).to_contain_text("fairness_plain")
            expect(frame.locator("h1 .badge")).to_have_text("failed")
            expect(frame.locator("p.summary")).to_contain_text("constraints failed")
            expect(frame.locator(".chart svg").first).to_be_visible()
            assert frame.locator(".chart svg").count() >= 2
            frame.locator("h2", has_text="Metrics").first.scroll_into_view_if_needed()
            _screenshot(page, "alignment-tab.png")
            frame.locator("h1").scroll_into_view_if_needed()
            _screenshot(page, "alignment-tab-header.png")

            # the DAG's Alignment history view
            page.goto(f"{airflow_server.url}/dags/{DAG}")
            page.get_by_role("tab", name="Alignment history").or_(
                page.get_by_role("link", name="Alignment history")
            ).first.click()
            history = page.frame_locator("iframe[title='Alignment history']")
            expect(history.locator("h1")).to_contain_text(DAG)
            expect(history.locator("table")).to_contain_text(finished_run)
            expect(history.locator(".chart svg").first).to_be_visible()  # the trend, from two runs
            _screenshot(page, "alignment-history.png")
        finally:
            browser.close()


def test_extra_link_resolves_to_the_report(airflow_server: Airflow, finished_run: str):
    run = quote(finished_run, safe="")
    links = airflow_server.api("GET", f"/api/v2/dags/{DAG}/dagRuns/{run}/taskInstances/fairness_plain/links").json()
    url = links["extra_links"]["Alignment report"]
    assert url.startswith(airflow_server.url + "/alignment/dags/")
    response = airflow_server.api("GET", url.removeprefix(airflow_server.url))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "fairness_plain" in response.text and "<svg" in response.text
    # and without a token, nothing
    import httpx

    assert httpx.get(url, timeout=30).status_code == 401
