"""The drift report section: verdict on top, drifted features first, the numbers shown, hostile
names escaped (in HTML and inside the SVG), bars drawn to the shares."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines.drift_stats.compare import compare_frames, dataset_verdict
from airflow_alignment.reporting.drift_view import (
    BINS_CHARTED,
    BINS_LISTED,
    _chart,
    drift_metrics,
    drift_page,
    drift_section,
)

SMALL_BOX = {"width": 300, "height": 130, "left": 40, "right": 10, "top": 10, "bottom": 20}
HOSTILE = "<script>alert(1)</script>\"'&"
IMG = '"><img src=x onerror=alert(2)>'


def feature(method="psi", value=0.1, threshold=0.25, drifted=False, bins=None, kind="numeric", **extra):
    bins = bins or [("(-inf, 1]", 50, 80), ("(1, inf)", 50, 20)]
    block = {
        "type": kind,
        "method": method,
        "reason": "asked",
        "drifted": drifted,
        "results": {method: {"value": value, "threshold": threshold, "drifted": drifted, "statistic": None}},
        "bins": [{"bin": b, "reference": r, "current": c} for b, r, c in bins],
        "constant": False,
        "new_categories": [],
        "new_count": 0,
        "rows": {"reference": sum(r for _, r, _ in bins), "current": sum(c for _, _, c in bins)},
        "missing": {"reference": {"count": 0, "share": 0.0}, "current": {"count": 0, "share": 0.0}},
        "infinite": None,
        "unusual_values_ok": {"missing": None, "infinite": None},
        "notes": [],
    }
    block.update(extra)
    return block


def metrics(features, drifted, share, judged, bound=0.5):
    names = [n for n, f in features.items() if f["drifted"]]
    return {
        "dataset": {
            "drifted": drifted,
            "share": share,
            "drifted_features": names,
            "judged": judged,
            "drift_share": bound,
        },
        "features": features,
    }


class Tags(HTMLParser):
    """Every tag name and attribute name of a page, as a browser's parser reads them."""

    def __init__(self):
        super().__init__()
        self.names, self.attributes = set(), set()

    def handle_starttag(self, tag, attrs):
        self.names.add(tag)
        self.attributes |= {name for name, _ in attrs}


def headings(html):
    """Feature names in the order of their detail headings."""
    return [re.sub(r"\s*<span.*", "", h) for h in re.findall(r'<h3 id="drift-feature-\d+">(.*?)</h3>', html)]


def test_dataset_verdict_on_top_with_its_numbers():
    feats = {
        "a": feature(drifted=True, value=0.4),
        "b": feature(),
        "c": feature(),
        "d": feature(drifted=True, value=0.3),
    }
    html = drift_section(metrics(feats, True, 0.5, 4))
    verdict = html.index('id="drift-verdict"')
    assert verdict < html.index('class="drift-grid"') < html.index('id="drift-feature-')
    assert "Dataset drift</strong>2 of 4 features drifted (50%); the dataset drifts when 50% or more" in html
    assert 'class="drift-verdict drift-drifted"' in html
    calm = drift_section(metrics({"a": feature()}, False, 0.0, 1))
    assert "No dataset drift</strong>0 of 1 features drifted (0%)" in calm
    none = drift_section(metrics({"a": feature(value=None, drifted=None)}, False, None, 0))
    assert "Dataset drift not judged</strong>no feature could be judged" in none


def test_drifted_first_then_warned_then_unusual_values_then_undefined_then_stable_in_given_order():
    in_band = feature(value=0.18)
    in_band["results"]["psi"]["warn_above"] = 0.1
    feats = {
        "stable_1": feature(),
        "warned": in_band,
        "undefined": feature(method="ks", value=None, threshold=0.05, drifted=None),
        "drifted_1": feature(drifted=True, value=0.9),
        "too_many_missing": feature(unusual_values_ok={"missing": False, "infinite": None}),
        "stable_2": feature(),
        "drifted_2": feature(method="ks", value=1e-9, threshold=0.05, drifted=True),
    }
    html = drift_section(metrics(feats, True, 2 / 5, 5))
    order = ["drifted_1", "drifted_2", "warned", "too_many_missing", "undefined", "stable_1", "stable_2"]
    assert headings(html) == order
    cards = re.findall(r'<div class="name" title="[^"]*">(.*?)</div>', html)
    assert cards == order  # the overview in the same order
    assert html.count("unusual values</span>") == 1


def test_numbers_shown():
    feats = {
        "age": feature(
            "wasserstein",
            0.51234,
            0.1,
            True,
            [("(-inf, 30]", 500, 200), ("(30, inf)", 500, 800)],
            results={
                "wasserstein": {"value": 0.51234, "threshold": 0.1, "drifted": True, "statistic": 5.1234},
                "ks": {"value": 3.2e-7, "threshold": 0.05, "drifted": True, "statistic": 0.3},
            },
        ),
        "plan": feature(
            "chi2",
            0.2,
            0.05,
            False,
            [("basic", 600, 590), ("pro", 400, 390), ("(missing)", 0, 20)],
            kind="categorical",
            missing={"reference": {"count": 0, "share": 0.0}, "current": {"count": 20, "share": 0.02}},
            unusual_values_ok={"missing": True, "infinite": None},
            new_categories=["gold"],
            new_count=7,
            notes=["1 category not in the reference (7 current rows)"],
        ),
    }
    html = drift_section(metrics(feats, True, 0.5, 2))
    assert "Wasserstein (normed) 0.5123 &gt; 0.1" in html  # the headline: value, sign, bound
    assert '<td class="num">0.5123</td><td class="num">5.123</td><td class="num">&gt; 0.1</td>' in html
    assert '<td class="num">3.2e-07</td><td class="num">0.3</td><td class="num">p &lt; 0.05</td>' in html
    assert "chi-square p-value 0.2 ≥ 0.05" in html
    # the bin table: counts and shares of each side
    assert (
        '<td>(-inf, 30]</td><td class="num">500</td><td class="num">50%</td>\n'
        '<td class="num">200</td><td class="num">20%</td>'
    ) in html
    assert '<td>(missing)</td><td class="num">0</td><td class="num">0%</td>' in html
    assert "current 20 (2%)" in html and "within" in html
    assert "Not in the reference (7 current rows): gold" in html
    assert "<li>1 category not in the reference (7 current rows)</li>" in html
    assert "rows: reference 1,000, current 1,000" in html


def test_hostile_names_are_escaped_in_html_and_svg():
    bins = [(HOSTILE, 10, 5), (IMG, 10, 15), ("</svg><script>alert(3)</script>", 1, 1)]
    feats = {
        HOSTILE: feature(drifted=True, bins=bins, kind="categorical", notes=[IMG], new_categories=[HOSTILE]),
        IMG: feature(bins=bins),
    }
    page = drift_page(metrics(feats, True, 0.5, 2), title=HOSTILE)
    assert "<script" not in page and "<img" not in page
    assert "onerror=alert" not in page.replace("onerror=alert(2)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;&amp;" in page
    # the ids come from positions, never from names
    assert re.findall(r'id="([^"]+)"', page) == ["drift", "drift-verdict", "drift-feature-0", "drift-feature-1"]
    # every SVG is well-formed XML, and its text is the names, unescaped once parsed
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(svgs) == 4  # two small multiples, two detail charts
    texts = set()
    for svg in svgs:
        root = ET.fromstring(svg)
        texts |= {el.text for el in root.iter() if el.text and el.text.strip()}
    assert f"{HOSTILE}: reference 47.6%, current 23.8%" in texts  # the tooltip of the first bar
    assert "</svg><script>ale…" in texts  # the axis label, cut to 18 characters
    assert 'http-equiv="Content-Security-Policy" content="default-src \'none\'' in page
    tags = Tags()
    tags.feed(page)
    assert {"script", "img", "iframe", "object", "embed", "link"}.isdisjoint(tags.names)
    assert not [a for a in tags.attributes if a == "src" or a.startswith("on")]  # nothing loads or runs
    assert set(re.findall(r'href="([^"]*)"', page)) == {"#drift-feature-0", "#drift-feature-1"}


def test_bars_are_drawn_to_the_shares():
    chart = _chart(
        [{"bin": "a", "reference": 50, "current": 80}, {"bin": "b", "reference": 50, "current": 20}],
        SMALL_BOX,
        labels=True,
    )
    assert chart is not None
    (a, b), base = chart["bars"], chart["base"]
    assert base == 110  # plot height 100, the axis top at 0.8 (step 0.2)
    assert [t["label"] for t in chart["ticks"]] == ["0%", "20%", "40%", "60%", "80%"]
    assert (a["ref"]["h"], a["cur"]["h"], b["ref"]["h"], b["cur"]["h"]) == (62.5, 100.0, 62.5, 25.0)
    assert a["cur"]["y"] + a["cur"]["h"] == base and b["ref"]["y"] + b["ref"]["h"] == base
    assert a["ref"]["x"] < a["cur"]["x"] < a["cur"]["x"] + a["cur"]["w"] < a["ref"]["x"] + a["ref"]["w"]  # overlaid


def test_many_categories_fold_into_one_bar_and_the_table_lists_all():
    cats = [(f"c{i:03d}", 1000 - i, 1000 - i) for i in range(100)] + [("(new)", 0, 50), ("(missing)", 3, 4)]
    chart = _chart(
        [{"bin": b, "reference": r, "current": c} for b, r, c in cats],
        {**SMALL_BOX, "width": 640, "height": 230},
        labels=True,
    )
    assert chart is not None
    labels = [bar["label"] for bar in chart["bars"]]
    assert len(labels) == BINS_CHARTED
    assert labels[:27] == [f"c{i:03d}" for i in range(27)]  # the largest, in order
    assert labels[27:] == ["(other 73)", "(new)", "(missing)"]
    assert chart["more"] == 73
    html = drift_section(metrics({"city": feature("chi2", 0.3, 0.05, bins=cats, kind="categorical")}, False, 0.0, 1))
    assert html.count("<td>c0") == 100
    assert "73 bins with the fewest rows are drawn as one bar" in html
    ids = [(f"id{i:05d}", 1, 1) for i in range(BINS_LISTED + 234)]
    html = drift_section(metrics({"user": feature("chi2", 0.3, 0.05, bins=ids, kind="categorical")}, False, 0.0, 1))
    assert html.count("<td>id") == BINS_LISTED and "+234 more bins in the stored result" in html
    assert f'<td>id00000</td><td class="num">1</td><td class="num">{100 / (BINS_LISTED + 234):.3g}%</td>' in html


def test_a_real_comparison_renders_every_feature():
    rng = np.random.default_rng(1)
    n = 3000
    ref = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    cur = pd.DataFrame({"x": rng.normal(1.0, size=n), "y": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], n)})
    cur.loc[:299, "y"] = np.nan
    found = compare_frames(ref, cur, missing_share_max=0.05)
    verdict = dataset_verdict(found)
    html = drift_page(drift_metrics(found, verdict))
    assert headings(html) == ["x", "y", "g"]  # x drifted; y too many missing values; g stable
    assert found["x"].drifted and not found["y"].drifted and found["y"].unusual["missing"] is False
    value = found["x"].results[found["x"].method].value
    from airflow_alignment.reporting.html import fmt

    assert f"Wasserstein (normed) {fmt(value)} &gt; 0.1" in html
    assert "1 of 3 features drifted (33%)" in html
    assert "current 300 (10%)" in html
    for svg in re.findall(r"<svg .*?</svg>", html, flags=re.S):
        ET.fromstring(svg)


@pytest.mark.parametrize("largest", [1e-6, 0.013, 0.1, 0.37, 0.999, 1.0])
def test_axis_top_covers_the_largest_share(largest):
    bins = [{"bin": "a", "reference": largest, "current": 0}, {"bin": "b", "reference": 1 - largest, "current": 1}]
    chart = _chart(bins, SMALL_BOX, labels=True)
    assert chart is not None
    assert all(bar["ref"]["y"] >= chart["top"] - 1e-9 and bar["cur"]["y"] >= chart["top"] for bar in chart["bars"])
    assert 2 <= len(chart["ticks"]) <= 6
