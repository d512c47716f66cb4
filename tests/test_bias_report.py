"""The bias section of the HTML report (reporting/bias_view.py): a data_bias result by facet,
failing first, with each metric's value, bound, interval and gauge, the label distribution of
each facet's sides and of every group; the Clarify / AIF360 constraints of a fairness result;
self-contained and escaped like every report."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines.data_bias import evaluate
from airflow_alignment.reporting import bias_view, html
from tests.test_reports import EVIL_IMG, EVIL_SCRIPT, assert_escaped

# F: 4 rows, 1 positive; M: 6 rows, 4 positive (CI = 0.2, DPL = 4/6 - 1/4)
EIGHT = pd.DataFrame({"sex": ["F"] * 4 + ["M"] * 6, "y": [1, 0, 0, 0, 1, 1, 1, 0, 1, 0]})


def _section(page: str) -> str:
    return page[page.index('<section class="bias"') : page.index("</section>")]


def test_data_bias_report_lists_each_facet_failing_first_with_values_bounds_and_label_shares():
    result = evaluate(
        EIGHT,
        label="y",
        sensitive_features="sex",
        facet_values={"sex": "F"},
        constraints=[
            {"metric": "CI", "max": 0.1, "facet_values": {"sex": "M"}, "name": "CI_men"},  # -0.2: passes
            {"metric": "CI", "max": 0.3},  # 0.2: passes
            {"metric": "DPL", "max": 0.4},  # 0.4167: fails
            {"metric": "smoothed_empirical_differential_fairness", "max": 10},
            # 1/4 - 4/6 < 0: fails at severity warn
            {"metric": "DPL", "min": 0, "facet_values": {"sex": "M"}, "severity": "warn", "name": "DPL_men"},
        ],
    )
    page = html.render_report(result)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page and "<script" not in page
    section = _section(page)
    titles = re.findall(r'<h3 id="bias-facet-\d+">(.*?) <span class="badge b-(\w+)">', section)
    assert titles == [
        ("Facet d: sex = F, against the rest a", "failed"),  # failing first, though written second
        ("Facet d: sex = M, against the rest a", "warned"),  # a warning, after the failure
        ("Every group (no facet)", "passed"),
    ]
    first = section[: section.index('id="bias-facet-1"')]
    assert re.findall(r'<tr><td class="bias-metric">(\w+)<div', first) == ["DPL", "CI"]  # failing first
    assert ">0.4167<" in first and "≤ 0.4" in first and "≤ 0.3" in first
    # each side of the facet: rows, share of positive labels, a bar of label shares (tooltips)
    assert re.search(r"d \(the facet\)</td><td class=\"num\">4</td><td class=\"num\">25%</td>", first)
    assert re.search(r"a \(the rest\)</td><td class=\"num\">6</td><td class=\"num\">66.7%</td>", first)
    assert "<title>0: 75%</title>" in first and "<title>1: 66.7%</title>" in first
    # every group with its label distribution, the facet's groups marked
    assert re.search(r"<td>F</td><td class=\"num\">4</td><td class=\"bias-in\">d</td>", section)
    assert re.search(r"<td>M</td><td class=\"num\">6</td><td class=\"bias-in\"></td>", section)
    assert "<h2>Metrics</h2>" not in page  # the raw JSON dump is replaced by the section
    assert "Settings" in section and "&#34;facet_values&#34;" in section
    assert '<h3>Baseline</h3><p class="muted">no baseline result given' in section


def test_intervals_and_alpha_are_shown_and_a_weighted_check_has_its_interval():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], 500), "y": rng.integers(0, 2, 500)})
    frame["w"] = rng.uniform(0.5, 2, 500)
    result = evaluate(
        frame,
        label="y",
        sensitive_features="sex",
        facet_values={"sex": "F"},
        sample_weight="w",
        constraints=[{"metric": "DPL", "min": -0.5, "max": 0.5}],
        confidence=0.9,
        n_boot=200,
    )
    low, high = result.assertions[0].details["ci"]
    section = _section(html.render_report(result))
    assert f"[{html.fmt(low)}, {html.fmt(high)}]" in section


def test_gauge_places_value_interval_bounds_and_ideal_on_one_axis():
    info = bias_view.CATALOGUE["post_training"]["DI"]  # range [0, inf), ideal 1
    gauge = bias_view._gauge(0.5, [0.4, 0.6], 0.8, None, info, "failed")
    assert gauge is not None
    assert gauge["ci"]["x1"] < gauge["value"] < gauge["ci"]["x2"] < gauge["allowed"]["x"] < gauge["ideal"]
    # the axis spans 0.4 .. 1.0 padded by 8% of 0.6: x = 8 + 204 * (v - 0.352) / 0.696
    assert gauge["value"] == pytest.approx(8 + 204 * (0.5 - 0.352) / 0.696, abs=0.05)
    assert gauge["allowed"]["x"] == pytest.approx(8 + 204 * (0.8 - 0.352) / 0.696, abs=0.05)
    assert gauge["allowed"]["x"] + gauge["allowed"]["w"] == pytest.approx(212, abs=0.1)  # no max: to the end
    assert bias_view._gauge(None, None, 0.8, None, info, "failed") is None  # an undefined value: no dot
    ci = bias_view.CATALOGUE["pre_training"]["CI"]  # range [-1, 1]: the padding stops at the range
    assert bias_view._gauge(1.0, None, None, 0.3, ci, "failed")["ticks"][1]["label"] == "1"


def test_bars_are_drawn_to_the_shares_and_a_label_of_many_values_as_positive_vs_negative():
    colours = {"0": "#a", "1": "#b"}
    bar = bias_view._bar({"label_shares": {"0": 0.25, "1": 0.75}}, colours)
    assert [(s["x"], s["w"], s["colour"]) for s in bar] == [(0, 50.0, "#a"), (50.0, 150.0, "#b")]
    many = {"stage": "pre_training", "groups": [{"label_shares": None, "positive_share": 0.3}], "labels": ["x"] * 30}
    assert [item["label"] for item in bias_view._legend(many)] == ["negative", "positive"]
    two = bias_view._bar({"label_shares": None, "positive_share": 0.3}, {"negative": "#n", "positive": "#p"})
    assert [(s["colour"], s["w"]) for s in two] == [("#n", pytest.approx(140.0)), ("#p", pytest.approx(60.0))]


def test_continuous_label_report_shows_positive_vs_negative():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], 300), "score": rng.normal(0, 1, 300).round(3)})
    result = evaluate(
        frame,
        label="score",
        label_threshold=0.0,
        sensitive_features="sex",
        facet_values={"sex": "F"},
        constraints=[{"metric": "DPL", "max": 0.5}],
    )
    assert result.metrics["groups"][0]["label_shares"] is None  # hundreds of label values
    assert len(result.metrics["labels"]) == 20 and result.metrics["label_count"] > 250
    section = _section(html.render_report(result))
    assert "negative</p>" not in section and "positive (positive)" in section


def test_fairness_report_shows_its_clarify_constraints_by_facet_with_alpha():
    from airflow_alignment.engines.fairness import evaluate as fairness

    frame = EIGHT.assign(p=[1, 0, 0, 1, 1, 1, 0, 0, 1, 0])
    result = fairness(
        frame,
        y_true="y",
        y_pred="p",
        sensitive_features="sex",
        facet_values={"sex": "F"},
        min_group_size=1,
        constraints=[
            {"metric": "DI", "min": 0.8},
            {"metric": "GE", "alpha": 1, "max": 1, "name": "theil"},
            {"metric": "demographic_parity_ratio", "min": 0.8},
        ],
    )
    page = html.render_report(result)
    section = _section(page)
    assert "<h2>Clarify and AIF360 metrics by facet</h2>" in section
    assert "Facet d: sex = F" in section and "(alpha 1)" in section
    assert "demographic_parity_ratio" not in section  # fairlearn's aggregate: the fairness view shows it
    assert "Settings" not in section and page.count("<summary>Settings</summary>") == 1  # the fairness view's
    plain = fairness(frame, y_true="y", y_pred="p", sensitive_features="sex", min_group_size=1,
                     constraints=[{"metric": "demographic_parity_ratio", "min": 0.8}])  # fmt: skip
    assert 'class="bias"' not in html.render_report(plain)


def test_hostile_facet_group_and_label_names_render_as_text():
    frame = pd.DataFrame(
        {
            EVIL_IMG: [EVIL_SCRIPT] * 4 + [EVIL_IMG] * 6,
            "y": [EVIL_SCRIPT, "n", "n", "n"] + [EVIL_SCRIPT] * 3 + ["n"] * 3,
        }
    )
    result = evaluate(
        frame,
        label="y",
        pos_label=EVIL_SCRIPT,
        sensitive_features=EVIL_IMG,
        facet_values={EVIL_IMG: EVIL_SCRIPT},
        constraints=[{"metric": "DPL", "max": 0.1, "rationale": EVIL_IMG}],
    )
    page = html.render_report(result)
    assert_escaped(page)
    section = _section(page)
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; (positive)" in section  # a label value, as text
    assert "Facet d: &lt;img src=x onerror=alert(1)&gt; = &lt;/script&gt;" in section
