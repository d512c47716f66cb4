"""The drift section of a report: the dataset verdict, a small-multiples overview, then each
feature's reference and current distributions overlaid, drifted features first.

Input: a drift result's metrics block, as :func:`drift_metrics` builds it from
``drift_stats.compare``::

    {"dataset": {"drifted", "share", "drifted_features", "judged", "drift_share"},
     "features": {name: FeatureDrift.to_dict()}}

(each feature: ``type``, ``method``, ``drifted``, ``results`` per method with ``value``,
``threshold``, ``drifted``, ``statistic``; ``bins`` with both sides' counts; ``rows``,
``missing``, ``infinite``, ``unusual_values_ok``, ``new_categories``, ``notes``).

Output: an HTML fragment that goes inside the report page (:func:`drift_section`), or a whole
page with the report's header, CSS and ``Content-Security-Policy`` (:func:`drift_page`).

The same rules as :mod:`airflow_alignment.reporting.html`: no script, nothing loaded, and every
value that came from data (feature names, category labels, notes) goes through Jinja's
autoescaping, inside the SVG too. The charts are not drawn by matplotlib
(:mod:`.charts`): they are bars, so the template writes the SVG itself from coordinates
computed here, and the only text in them is escaped like any other. That also keeps the page
cheap: 20 features are 40 charts, about 0.1 s each in matplotlib; the whole section renders
in about 30 ms here.
Element ids are numbered (``drift-feature-3``), never made from a feature's name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from airflow_alignment import __version__
from airflow_alignment.reporting._drift_templates import DRIFT_TEMPLATES
from airflow_alignment.reporting._format import fmt
from airflow_alignment.reporting._templates import TEMPLATES
from airflow_alignment.reporting.charts import STATUS_COLOURS
from airflow_alignment.specs.drift import TESTS

METHOD_NAMES = {
    "psi": "PSI", "ks": "Kolmogorov-Smirnov", "wasserstein": "Wasserstein (normed)",
    "jensenshannon": "Jensen-Shannon", "chi2": "chi-square", "z": "z-test",
}  # fmt: skip
BINS_CHARTED = 30  # more bins (categories) than this: the smallest are drawn as one "other" bar
BINS_LISTED = 1000  # a bin table lists at most this many bins (the stored result has them all)
LABEL_CHARS = 18  # a longer bin label is cut on the axis (the bar's tooltip has it whole)
_REFERENCE, _CURRENT = "#b0bec5", "#1565c0"
_UNUSUAL_BINS = ("(missing)", "(infinite)", "(new)")
# the detail chart and the small multiple, in SVG units
_BIG = {"width": 640, "height": 230, "left": 46, "right": 10, "top": 24, "bottom": 30}
_SMALL = {"width": 220, "height": 70, "left": 2, "right": 2, "top": 4, "bottom": 2}


# -- entry points -----------------------------------------------------------------------------
def drift_metrics(features: Mapping[str, Any], verdict: Any) -> dict[str, Any]:
    """The metrics block this view reads, from ``compare_frames``' features and
    ``dataset_verdict``'s verdict (JSON-ready)."""
    return {
        "dataset": verdict.to_dict(),
        "features": {str(name): feature.to_dict() for name, feature in features.items()},
    }


def drift_section(metrics: Mapping[str, Any]) -> str:
    """The drift section (an HTML fragment) of ``metrics`` (see the module docstring)."""
    return _environment().get_template("drift_section.html").render(**_view(metrics))


def drift_page(metrics: Mapping[str, Any], title: str = "Drift") -> str:
    """:func:`drift_section` as a self-contained page (the reports' CSS and CSP)."""
    return _environment().get_template("drift_page.html").render(title=title, **_view(metrics))


# -- the view model ---------------------------------------------------------------------------
def _view(metrics: Mapping[str, Any]) -> dict[str, Any]:
    entries = list((metrics.get("features") or {}).items())
    features = [_feature(i, str(name), block, TESTS) for i, (name, block) in enumerate(entries)]
    features.sort(key=lambda f: f["rank"])  # stable: the given order within each rank
    return {"dataset": _dataset(metrics.get("dataset") or {}, len(features)), "features": features,
            "colours": {"reference": _REFERENCE, "current": _CURRENT}}  # fmt: skip


def _dataset(block: Mapping[str, Any], count: int) -> dict[str, Any]:
    share, bound = block.get("share"), block.get("drift_share")
    drifted = list(block.get("drifted_features") or [])
    judged = block.get("judged", count)
    if share is None:
        text = "no feature could be judged"
    else:
        text = f"{len(drifted)} of {judged} features drifted ({share:.0%})"
    if bound is not None:
        text += f"; the dataset drifts when {bound:.0%} or more of the judged features drift"
    state = "undefined" if share is None else {True: "drifted", False: "stable"}.get(block.get("drifted"), "undefined")
    headline = {"drifted": "Dataset drift", "stable": "No dataset drift", "undefined": "Dataset drift not judged"}
    return {"state": state, "headline": headline[state], "text": text, "drifted": drifted}


def _feature(index: int, name: str, block: Mapping[str, Any], tests: frozenset[str]) -> dict[str, Any]:
    method = str(block.get("method"))
    results = block.get("results") or {}
    unusual = _unusual(block)
    state = {True: "drifted", False: "stable"}.get(block.get("drifted"), "undefined")
    flagged = any(u["ok"] is False for u in unusual)
    judged = results.get(method) or {}
    if state == "stable" and _above_warning(judged):
        state = "warned"  # PSI in the warning band: the check warns on it, the view says so
    bins = list(block.get("bins") or [])
    return {
        "id": f"drift-feature-{index}",
        "name": name,
        "kind": block.get("type"),
        "state": state,
        "flagged": flagged,
        "rank": {"drifted": 0, "warned": 1}.get(state, 2 if flagged else 3 if state == "undefined" else 4),
        "headline": _headline(method, judged, tests),
        "reason": block.get("reason"),
        "results": [_result_row(m, r, m == method, tests) for m, r in results.items()],
        "rows": {side: fmt((block.get("rows") or {}).get(side)) for side in ("reference", "current")},
        "unusual": unusual,
        "new_categories": [str(c) for c in block.get("new_categories") or []],
        "new_count": block.get("new_count") or 0,
        "notes": [str(n) for n in block.get("notes") or []],
        "chart": _chart(bins, _BIG, labels=True),
        "mini": _chart(bins, _SMALL, labels=False),
        "table": _bin_rows(bins[:BINS_LISTED], _totals(bins)),
        "table_more": max(0, len(bins) - BINS_LISTED),
    }


def _above_warning(result: Mapping[str, Any]) -> bool:
    """Whether a distance lies in its warning band (``warn_above``: PSI's ``psi_warn``)."""
    value, warn = result.get("value"), result.get("warn_above")
    return value is not None and warn is not None and value > warn


def _headline(method: str, result: Mapping[str, Any], tests: frozenset[str]) -> str:
    name, value, bound = METHOD_NAMES.get(method, method), result.get("value"), result.get("threshold")
    if value is None:
        return f"{name}: not computed"
    if not result.get("drifted") and _above_warning(result):
        return f"{name} {fmt(value)} > {fmt(result['warn_above'])} (warning), ≤ {fmt(bound)}"
    if method in tests:
        sign = "<" if result.get("drifted") else "≥"
        return f"{name} p-value {fmt(value)} {sign} {fmt(bound)}"
    return f"{name} {fmt(value)} {'>' if result.get('drifted') else '≤'} {fmt(bound)}"


def _result_row(method: str, result: Mapping[str, Any], judged: bool, tests: frozenset[str]) -> dict[str, Any]:
    test = method in tests
    return {
        "method": METHOD_NAMES.get(method, method),
        "judged": judged,
        "number": "p-value" if test else "distance",
        "value": fmt(result.get("value")),
        "statistic": "" if result.get("statistic") is None else fmt(result.get("statistic")),
        "bound": f"{'p <' if test else '>'} {fmt(result.get('threshold'))}",
        "outcome": {True: "drifted", False: "stable"}.get(result.get("drifted"), "undefined"),
    }


def _unusual(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    ok = block.get("unusual_values_ok") or {}
    out = []
    for what in ("missing", "infinite"):
        counts = block.get(what)
        if not isinstance(counts, Mapping):
            continue
        ref, cur = counts.get("reference") or {}, counts.get("current") or {}
        out.append({"what": what, "ok": ok.get(what),
                    "reference": f"{fmt(ref.get('count'))} ({_percent(ref.get('share'))})",
                    "current": f"{fmt(cur.get('count'))} ({_percent(cur.get('share'))})"})  # fmt: skip
    return out


def _bin_rows(bins: Sequence[Mapping[str, Any]], totals: tuple[int, int]) -> list[dict[str, str]]:
    ref_total, cur_total = totals
    return [{"bin": str(b.get("bin")), "reference": fmt(b.get("reference")), "current": fmt(b.get("current")),
             "reference_share": _percent(_share(b.get("reference"), ref_total)),
             "current_share": _percent(_share(b.get("current"), cur_total))} for b in bins]  # fmt: skip


# -- charts: coordinates for the template's SVG -------------------------------------------------
def _chart(bins: Sequence[Mapping[str, Any]], box: Mapping[str, int], *, labels: bool) -> dict[str, Any] | None:
    """Bars of both sides' shares on shared bins: each bin one band, the reference a wide grey bar,
    the current a narrow blue bar over it (overlaid, so a shift reads at a glance)."""
    shown = _charted(bins)
    if not shown:
        return None
    ref_total, cur_total = _totals(bins)
    shares = [(_share(b["reference"], ref_total) or 0.0, _share(b["current"], cur_total) or 0.0) for b in shown]
    top, ticks = _scale(max(max(pair) for pair in shares))
    rotate = labels and (len(shown) > 8 or max(len(str(b["bin"])) for b in shown) > 12)
    bottom = box["bottom"] + (62 if rotate else 0)
    left = box["left"] + (40 if rotate else 0)  # room for the first label, slanted to the left
    width = box["width"] - left - box["right"]
    height = box["height"] - box["top"] - box["bottom"]
    band = width / len(shown)

    def y(share: float) -> float:
        return round(box["top"] + height * (1 - share / top), 1)

    bars = []
    for i, (b, (r, c)) in enumerate(zip(shown, shares, strict=True)):
        x = left + i * band
        text = str(b["bin"])
        bars.append({
            "ref": _bar(x + band * 0.08, band * 0.84, y(r), height * r / top),
            "cur": _bar(x + band * 0.3, band * 0.4, y(c), height * c / top),
            "tip": f"{text}: reference {_percent(r)}, current {_percent(c)}",
            "label": text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…",
            "label_x": round(x + band / 2, 1),
            "unusual": text in _UNUSUAL_BINS or text.startswith("(other"),
        })  # fmt: skip
    return {
        "width": box["width"], "height": box["height"] + bottom - box["bottom"], "left": left, "right": left + width,
        "top": box["top"], "base": box["top"] + height, "bars": bars, "rotate": rotate,
        "ticks": [{"y": y(t), "label": _percent(t)} for t in ticks] if labels else [],
        "more": len(bins) - len(shown) + (1 if len(shown) < len(bins) else 0),
    }  # fmt: skip


def _bar(x: float, width: float, y: float, height: float) -> dict[str, float]:
    return {"x": round(x, 1), "y": y, "w": round(width, 1), "h": round(height, 1)}


def _charted(bins: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """At most :data:`BINS_CHARTED` bars, in the bins' order: the missing/infinite/new bins and the
    largest others; the rest summed into one ``(other N)`` bar before the unusual bins."""
    if len(bins) <= BINS_CHARTED:
        return list(bins)
    special = [i for i, b in enumerate(bins) if str(b.get("bin")) in _UNUSUAL_BINS]
    plain = [i for i in range(len(bins)) if i not in special]
    room = BINS_CHARTED - len(special) - 1
    ranked = sorted(plain, key=lambda i: -max(bins[i].get("reference") or 0, bins[i].get("current") or 0))
    keep, rest = sorted(ranked[:room]), ranked[room:]
    other = {"bin": f"(other {len(rest)})", "reference": sum(bins[i].get("reference") or 0 for i in rest),
             "current": sum(bins[i].get("current") or 0 for i in rest)}  # fmt: skip
    return [bins[i] for i in keep] + [other] + [bins[i] for i in special]


def _scale(largest: float) -> tuple[float, list[float]]:
    """The axis' top and ticks: a round step (1, 2, 2.5 or 5 x 10^k) giving 2 to 5 ticks."""
    if largest <= 0:
        return 1.0, [0.0, 0.5, 1.0]
    magnitude = 10 ** math.floor(math.log10(largest))
    step = next(s * magnitude for s in (0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5, 10) if largest / (s * magnitude) <= 4)
    count = math.ceil(largest / step - 1e-9)
    return step * count, [step * k for k in range(count + 1)]


def _totals(bins: Sequence[Mapping[str, Any]]) -> tuple[int, int]:
    return sum(b.get("reference") or 0 for b in bins), sum(b.get("current") or 0 for b in bins)


def _share(count: Any, total: int) -> float | None:
    return count / total if total and isinstance(count, (int, float)) else None


def _percent(share: Any) -> str:
    if share is None:
        return "—"
    text = f"{share * 100:.3g}"
    return f"{text}%" if "e" not in text else f"{share * 100:.1e}%"


@cache
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.DictLoader({**TEMPLATES, **DRIFT_TEMPLATES}),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )  # fmt: skip
    env.globals.update(version=__version__, status_colours=STATUS_COLOURS)
    return env
