"""The HTML reports: self-contained, complete, escaped, and written next to the result.

The builders at the top (real engine results, or the expectations engine's shape by hand, since
Great Expectations takes seconds to import) are shared with ``test_plugin_routes.py``.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_alignment.reporting import html
from airflow_alignment.results import Assertion, CheckResult
from airflow_alignment.store.artifacts import ArtifactStore, result_key
from tests.conftest import checked

EVIL_IMG = "<img src=x onerror=alert(1)>"
EVIL_SCRIPT = "</script><script>alert(1)</script>"
EVIL = (EVIL_IMG, EVIL_SCRIPT)
CONSTRAINTS = [
    {"metric": "demographic_parity_ratio", "min": 0.8, "rationale": "Four-fifths rule"},
    {"metric": "equalized_odds_difference", "max": 0.1},
    {"metric": "true_positive_rate", "aggregate": "group_min", "min": 0.7, "severity": "warn"},
]


def fairness_result(*, evil: bool = False, bias: float = 50.0, n: int = 1500, seed: int = 7) -> CheckResult:
    """The lending sample scored by its biased credit score, judged by the template's constraints.

    With ``evil``, the sensitive column and its values are HTML/script payloads; race "E" is
    made small so that it is excluded (min_group_size).
    """
    from airflow_alignment.engines.fairness import evaluate
    from airflow_alignment.samples import lending_applicants

    df = lending_applicants(n, seed=seed, score_bias=bias)
    df["approved"] = (df["credit_score"] > df["credit_score"].median()).astype("int64")
    feature = "sex"
    if evil:
        df["sex"] = df["sex"].map({"F": EVIL_IMG, "M": EVIL_SCRIPT})
        df = df.rename(columns={"sex": EVIL_IMG})
        feature = EVIL_IMG
    df = df[(df["race"] != "E") | (df.index % 10 == 0)]  # a small group to exclude
    return evaluate(
        df,
        y_true="repaid",
        y_pred="approved",
        sensitive_features=[feature, "race"],
        constraints=CONSTRAINTS,
        min_group_size=30,
        confidence=0.9,
        n_boot=200,
        check_name="fairness_plain",
        source=EVIL_SCRIPT if evil else "applicants.parquet",
    )


def expectations_result(*, column: str = "income", sample: list[Any] | None = None) -> CheckResult:
    """An expectations result in the shape the expectations engine gives (see engines/expectations.py)."""
    sample = sample if sample is not None else [-1, 150]
    assertions = [
        Assertion(
            name=f"expect_column_values_to_be_between({column})",
            success=False,
            observed={"unexpected_count": len(sample), "unexpected_percent": 0.5},
            expected={"min_value": 18, "max_value": 100},
            severity="block",
            details={
                "index": 0,
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": column, "min_value": 18, "max_value": 100},
                "element_count": 3000,
                "unexpected_count": len(sample),
                "unexpected_percent": 0.5,
                "unexpected_sample": sample,
            },
        ),
        Assertion(
            name="expect_table_row_count_to_be_between",
            success=True,
            observed=3000,
            expected={"min_value": 1000},
            severity="block",
            details={"index": 1, "type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1000}},
        ),
    ]
    return CheckResult(
        check="data_quality",
        kind="expectations",
        status="failed",
        severity="block",
        summary=f"1 of 2 expectations failed; worst: expect_column_values_to_be_between({column})",
        assertions=assertions,
        metrics={"evaluated": 2, "failed": 1, "warned": 0},
        data={"source": "applicants.csv", "rows": 3000, "columns": [column], "fingerprint": "sha256:" + "0" * 64},
        policy={"name": "lending", "version": "3", "sha256": "a" * 64},
        started_at="2026-01-01T00:00:00.000+00:00",
    )


def gate_result(findings: list[tuple[str, CheckResult | None]]) -> CheckResult:
    from airflow_alignment.engines.gate import decide, finding

    return decide([finding(task_id, r.to_dict() if r else None) for task_id, r in findings], model="credit")


def publish(
    result: CheckResult,
    store: ArtifactStore,
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int = -1,
    try_number: int = 1,
    run_after: datetime | None = None,
) -> dict[str, Any]:
    """Store ``result`` the way an operator does (``publish_result``, with a stand-in TI and DAG
    run); ``run_after`` defaults to the date of a ``manual__<date>`` run id, else 2026-01-01."""
    from airflow_alignment.tasks.publish import publish_result

    if run_after is None:
        try:
            run_after = datetime.fromisoformat(run_id.split("__", 1)[-1])
        except ValueError:
            run_after = datetime(2026, 1, 1)
    ti = SimpleNamespace(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index, try_number=try_number)
    context = {
        "ti": ti,
        "dag_run": SimpleNamespace(run_id=run_id, run_after=run_after.replace(tzinfo=run_after.tzinfo or timezone.utc)),
    }
    return publish_result(result, context, store=store, model=None, log=logging.getLogger("test"), push=False)


def assert_escaped(page: str) -> None:
    """No payload appears as markup; each appears as text where it was shown."""
    for payload in EVIL:
        assert payload not in page
    assert "<script" not in page.lower()
    assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")  # only inside escaped text
    assert re.search(r"<img\b", page) is None


def svg_count(page: str) -> int:
    return len(re.findall(r"<svg\b", page))


@pytest.fixture(scope="module")
def fairness() -> CheckResult:
    return fairness_result()


# -- fairness -------------------------------------------------------------------------------
def test_fairness_report_is_complete_and_self_contained(fairness):
    page = html.render_report(checked(fairness))
    assert page.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # nothing is loaded from anywhere: no script, no external reference of any kind
    assert "<script" not in page and "<link" not in page and "<iframe" not in page
    assert re.search(r"""(src|href)=["']?(https?:)?//""", page) is None
    assert "url(http" not in page and "@import" not in page
    # header: status, check, data, fingerprint
    assert "fairness_plain" in page and "FAILED" in page.upper()
    assert fairness.data["fingerprint"] in page and "applicants.parquet" in page and "1,3" in page
    # assertions: observed against the bound, the pair of groups behind the aggregate
    dp = next(a for a in fairness.assertions if a.name == "demographic_parity_ratio")
    assert f"{dp.observed:.4g}" in page and "≥ 0.8" in page and "≤ 0.1" in page
    low, _high = dp.details["groups"]
    assert f"between {' / '.join(low.values())} ({dp.details['values'][0]:.4g})" in page
    assert "Four-fifths rule" in page
    # one chart per reported metric, with thresholds and intervals
    metrics = [m for m, b in fairness.metrics.items() if isinstance(b, dict) and "by_group" in b]
    assert set(metrics) == {"selection_rate", "true_positive_rate", "false_positive_rate"}
    assert svg_count(page) == len(metrics)
    assert "demographic_parity_ratio: 0.8 × highest" in page
    assert "true_positive_rate.group_min: min 0.7" in page
    assert "confidence interval" in page
    # the small group is reported as excluded
    excluded = fairness.metrics["excluded_groups"]
    assert excluded and all(g["group"]["race"] == "E" for g in excluded)
    section = page.split("Groups left out", 1)[1]
    assert "F / E" in section and "M / E" in section


def test_chart_ids_are_unique_within_a_page(fairness):
    page = html.render_report(fairness)
    clip_ids = re.findall(r'<clipPath id="([^"]+)"', page)
    assert clip_ids and len(clip_ids) == len(set(clip_ids))


def test_group_names_are_text_not_math_in_charts():
    from airflow_alignment.reporting import charts

    block = {
        "overall": 0.5,
        "by_group": [
            {"group": {"g": "$x^2$"}, "value": 0.4, "count": 40},
            {"group": {"g": "a_b"}, "value": 0.6, "count": 50},
        ],
    }
    svg = charts.group_chart("selection_rate", block, features=["g"])
    assert "$x^2$" in svg and "a_b" in svg


# -- expectations, gates, errors ------------------------------------------------------------
def test_expectations_report_lists_each_expectation_with_count_and_sample():
    result = expectations_result(sample=list(range(100, 113)))
    page = html.render_report(result)
    assert "expect_column_values_to_be_between" in page and "expect_table_row_count_to_be_between" in page
    assert "min_value=18, max_value=100" in page
    assert ">13 (0.5%)" in page and "of 3,000" in page
    assert "<code>100</code>" in page and "<code>109</code>" in page and "<code>110</code>" not in page
    assert "+3 more" in page
    assert "observed 3,000" in page
    assert "lending version 3" in page and "a" * 64 in page


def test_gate_report_has_a_verdict_banner_and_the_checks():
    fair, quality = fairness_result(n=800), expectations_result()
    gate = gate_result([("fairness_plain", fair), ("data_quality", quality), ("drift", None)])
    gate.context = {"dag_id": "d", "run_id": "r", "task_id": "gate", "map_index": -1, "try_number": 1}
    page = html.render_report(gate, link=lambda task_id, map_index: f"/alignment/{task_id}/{map_index}")
    assert re.search(r'class="verdict v-rejected" id="verdict"><strong>Rejected</strong>', page)
    for task_id in ("fairness_plain", "data_quality", "drift"):
        assert f'<a href="/alignment/{task_id}/-1">{task_id}</a>' in page
    assert "left no alignment result" in page
    assert "model credit" in page


def test_error_result_shows_the_error():
    result = CheckResult(
        check="c",
        kind="fairness",
        status="error",
        severity="block",
        summary="c could not be evaluated: column 'x' not found",
        error={"type": "DataError", "message": "column 'x' not found"},
    )
    page = html.render_report(result)
    assert "DataError" in page and "column &#39;x&#39; not found" in page


def test_a_truncated_result_still_renders(fairness):
    compact = fairness.compact(limit=2000)
    assert compact["metrics"] == {"truncated": True} or not compact["assertions"]
    assert "fairness_plain" in html.render_report(compact)


# -- escaping -------------------------------------------------------------------------------
def test_payloads_in_column_group_and_policy_names_render_as_text_everywhere():
    fair = fairness_result(evil=True)
    fair.policy = {"name": EVIL_IMG, "version": EVIL_SCRIPT, "sha256": "b" * 64}
    fair.context = {"dag_id": "d", "run_id": EVIL_SCRIPT, "task_id": "t", "map_index": -1, "try_number": 1}
    quality = expectations_result(column=EVIL_IMG, sample=[EVIL_SCRIPT, EVIL_IMG])
    gate = gate_result([(EVIL_IMG, fair), ("q", quality)])
    pages = [html.render_report(fair), html.render_report(quality), html.render_report(gate)]
    from airflow_alignment.store.index import compact_entry, unreadable_entry

    entries = [{**compact_entry(r.to_dict()), "task_id": EVIL_SCRIPT, "report_url": "/x"} for r in (gate, fair)]
    entries.append(unreadable_entry(f"index/{EVIL_IMG}.json", EVIL_SCRIPT, task_id=EVIL_IMG))
    pages.append(html.render_run({"dag_id": EVIL_IMG, "run_id": EVIL_SCRIPT, "results": entries}))
    runs = [
        {"run_id": EVIL_SCRIPT + str(i), "started_at": None, "status": "failed", "results": entries} for i in range(2)
    ]
    pages.append(html.render_history({"dag_id": EVIL_IMG, "runs": runs}))
    pages.append(html.render_message(EVIL_IMG, EVIL_SCRIPT))
    for page in pages:
        assert_escaped(page)
    assert "&lt;img src=x onerror=alert(1)&gt;" in pages[0]  # the column, as text
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1]  # a sample value, as text
    assert svg_count(pages[0]) == 3 and svg_count(pages[4]) >= 1


# -- written next to the result -------------------------------------------------------------
def test_publish_writes_the_report_next_to_the_result_and_names_it(tmp_path, fairness):
    store = ArtifactStore(tmp_path)
    compact = publish(fairness, store, dag_id="d", run_id="manual__1", task_id="t", try_number=2)
    context = {"dag_id": "d", "run_id": "manual__1", "task_id": "t", "map_index": -1, "try_number": 2}
    assert compact["report"] == store.uri(result_key(context, "report.html"))
    stored = json.loads(store.read_text(result_key(context)))
    assert stored["report"] == compact["report"]
    checked(stored)
    page = store.read_text(result_key(context, "report.html"))
    assert "fairness_plain" in page and svg_count(page) == 3
    assert '<a href="' not in page.split("<h2>Assertions", 1)[0]  # nothing to link in a check's report


def test_a_rendering_bug_does_not_cost_the_result(tmp_path, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(html, "render_report", broken)
    store = ArtifactStore(tmp_path)
    result = expectations_result()
    compact = publish(result, store, dag_id="d", run_id="r", task_id="t")
    assert compact["report"] is None
    context = {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": -1, "try_number": 1}
    assert json.loads(store.read_text(result_key(context)))["check"] == "data_quality"
    assert not store.exists(result_key(context, "report.html"))
    assert "could not render the HTML report" in caplog.text


def test_marginal_views_render_with_their_exclusions():
    """Each feature judged alone gets its own section, with the min_group_size it excluded by."""
    from airflow_alignment.engines.fairness import evaluate
    from airflow_alignment.samples import lending_applicants

    df = lending_applicants(1500, seed=3)
    df["approved"] = (df["credit_score"] > df["credit_score"].median()).astype("int64")
    result = evaluate(
        df,
        y_true="repaid",
        y_pred="approved",
        sensitive_features=["sex", "race"],
        marginal=True,
        constraints=CONSTRAINTS[:1],
        min_group_size=30,
    )
    page = html.render_report(checked(result))
    assert "by sex and race" in page and "by sex alone" in page and "by race alone" in page
    assert page.count("min_group_size (30)") == 3


# -- drift ----------------------------------------------------------------------------------
def drift_result(feature: str = "income", category: str = "a") -> CheckResult:
    import numpy as np
    import pandas as pd

    from airflow_alignment.engines.drift import evaluate

    rng = np.random.default_rng(5)
    ref = pd.DataFrame({feature: rng.normal(50, 10, 2000), "city": rng.choice([category, "b"], 2000)})
    cur = pd.DataFrame({feature: rng.normal(56, 10, 1500), "city": rng.choice([category, "b"], 1500)})
    return evaluate(ref, cur, method="auto", drift_share=0.5, check_name="inputs_drift")


def test_drift_report_shows_the_drift_view_not_the_raw_metrics():
    result = checked(drift_result())
    page = html.render_report(result)
    assert "Content-Security-Policy" in page and "<script" not in page
    assert 'id="drift-verdict"' in page and "1 of 2 features drifted (50%)" in page
    # each feature's distributions as a chart (a small multiple and a detail chart), drifted first
    assert page.count("<svg") == 4 and page.index(">income <") < page.index(">city <")
    assert 'Kolmogorov-Smirnov <span class="muted">(judged)' in page and "z-test" in page  # n_eff 857: tests
    # the per-feature bins are not dumped as JSON any more; what the view does not show still is
    assert "&#34;empty_bins&#34;" not in page and "columns_not_compared" in page


def test_drift_report_escapes_feature_and_category_names():
    page = html.render_report(checked(drift_result(feature=EVIL_IMG, category=EVIL_SCRIPT)))
    assert_escaped(page)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_a_drift_result_stored_before_the_methods_block_shows_its_metrics_as_before():
    doc = checked(drift_result()).to_dict()
    del doc["metrics"]["methods"]
    page = html.render_report(doc)
    assert 'id="drift-verdict"' not in page and "&#34;empty_bins&#34;" in page
