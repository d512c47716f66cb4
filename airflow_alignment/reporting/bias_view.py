"""The bias section of a report: the metrics of the bias catalogue by facet, failing first, then
the label distribution of every group.

Input: a result as JSON (``doc``) and its assertion rows as the report page formats them
(:func:`airflow_alignment.reporting.html.render_report`, same order). The assertions on a
catalogue metric (their ``details`` name the ``library``) are grouped by the facet ``d`` they
compare (``details.facet_values``; ``None`` for the metrics of every group or every row). A
``data_bias`` result's metrics block adds each facet's two sides and each group
(:func:`airflow_alignment.engines.data_bias.evaluate`)::

    {"facets": [{"facet_values", "d": {"rows", "positive_share", "label_shares"}, "a": {...}}],
     "groups": [{"group", "rows", "positive_share", "label_shares", "in_facet"}],
     "labels": [...], "positive_labels": [...], "settings": {...}, "baseline": {...}}

A fairness result has no such block: its section lists the metrics by facet only.

Output: an HTML fragment that goes inside the report page (:func:`bias_section`). The rules of
:mod:`airflow_alignment.reporting.html` hold: no script, nothing loaded, every value that came
from data (facet and group names, label values, reasons) goes through Jinja's autoescaping,
inside the SVG too. The charts are a gauge per metric (its value, interval, bounds and ideal
on one axis) and stacked bars of label shares, written by the template from coordinates
computed here, as the drift section does. Element ids are numbered, never made from data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from airflow_alignment import __version__
from airflow_alignment.reporting._bias_templates import BIAS_TEMPLATES
from airflow_alignment.reporting._format import fmt
from airflow_alignment.reporting._templates import TEMPLATES
from airflow_alignment.reporting.charts import STATUS_COLOURS, group_label
from airflow_alignment.specs.bias_metrics import CATALOGUE, MetricInfo

GROUPS_LISTED = 1000  # the groups table lists at most this many (the stored result has them all)
_POSITIVE = ("#1565c0", "#42a5f5", "#0d47a1", "#90caf9", "#1e88e5", "#64b5f6")
_NEGATIVE = ("#b0bec5", "#ffb74d", "#78909c", "#ffe0b2", "#546e7a", "#ffa726")
_GAUGE = {"width": 220, "height": 34, "left": 8, "right": 8, "axis": 15}
_BAR = {"width": 200, "height": 14}
_RANK = {"failed": 0, "warned": 1, "passed": 2}


def bias_section(doc: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> str | None:
    """The bias section (an HTML fragment) of ``doc``, or ``None`` when no assertion is on a
    catalogue metric. ``rows``: the report's assertion rows, in ``doc["assertions"]``' order."""
    view = _view(doc, rows)
    if not view["facets"]:
        return None
    return _environment().get_template("bias_section.html").render(**view)


# -- the view model -----------------------------------------------------------------------------
def _view(doc: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    metrics = doc.get("metrics") if isinstance(doc.get("metrics"), Mapping) else {}
    features = list((metrics.get("settings") or {}).get("sensitive_features") or [])
    legend = _legend(metrics)
    colours = {item["label"]: item["colour"] for item in legend}
    sides = {_key(f.get("facet_values")): f for f in metrics.get("facets") or [] if isinstance(f, Mapping)}
    stage = "pre_training" if doc.get("kind") == "data_bias" else "post_training"
    by_facet: dict[str, list[dict[str, Any]]] = {}
    facet_values: dict[str, Any] = {}
    for assertion, row in zip(doc.get("assertions") or [], rows, strict=False):
        details = assertion.get("details") or {}
        if "library" not in details:  # fairlearn's aggregates: the fairness view shows them
            continue
        key = _key(details.get("facet_values"))
        facet_values[key] = details.get("facet_values")
        by_facet.setdefault(key, []).append(_metric_row(assertion, row, CATALOGUE[stage]))
    facets = []
    for key, metric_rows in by_facet.items():
        metric_rows.sort(key=lambda r: _RANK[r["state"]])  # stable: the order written within each state
        state = min((r["state"] for r in metric_rows), key=_RANK.__getitem__)
        side = sides.get(key)
        facets.append(
            {
                "title": _facet_title(facet_values[key], features),
                "state": state,
                "metrics": metric_rows,
                "sides": _sides(side, colours) if side else [],
            }
        )
    facets.sort(key=lambda f: _RANK[f["state"]])
    for i, facet in enumerate(facets):
        facet["id"] = f"bias-facet-{i}"  # numbered in the order shown, never made from data
    groups = [g for g in metrics.get("groups") or [] if isinstance(g, Mapping)]
    return {
        "facets": facets,
        "legend": legend if groups or sides else [],
        "groups": [_group_row(g, features, colours) for g in groups[:GROUPS_LISTED]],
        "groups_more": max(0, len(groups) - GROUPS_LISTED),
        "heading": "Data bias by facet" if stage == "pre_training" else "Clarify and AIF360 metrics by facet",
        # a fairness result's view shows its own baseline and settings
        "settings": _pretty(metrics.get("settings")) if stage == "pre_training" else None,
        "baseline": _baseline(metrics.get("baseline")) if stage == "pre_training" else None,
        "bar_box": _BAR,
        "gauge_box": _GAUGE,
    }


def _baseline(block: Any) -> str | None:
    return (block.get("message") or _pretty(block)) if isinstance(block, Mapping) else None


def _key(facet_values: Any) -> str:
    return json.dumps(facet_values, sort_keys=True, default=str)


def _metric_row(
    assertion: Mapping[str, Any], row: Mapping[str, Any], catalogue: Mapping[str, MetricInfo]
) -> dict[str, Any]:
    details = assertion.get("details") or {}
    name = str(details.get("metric"))
    info = catalogue.get(name)
    state = row.get("outcome") if row.get("outcome") in _RANK else "failed"  # the page's badge of the assertion
    expected = assertion.get("expected") if isinstance(assertion.get("expected"), Mapping) else {}
    ci = details.get("ci") if isinstance(details.get("ci"), (list, tuple)) and len(details["ci"]) == 2 else None
    observed = _number(assertion.get("observed"))
    return {
        "name": row.get("name"),
        "metric": name,
        "description": details.get("description"),
        "library": details.get("library"),
        "alpha": fmt(details["alpha"]) if "alpha" in details and "alpha=" not in str(row.get("name")) else None,
        "value": row.get("observed"),
        "bound": row.get("expected"),
        "interval": f"[{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "",
        "state": state,
        "notes": [n for n in row.get("notes") or [] if not str(n).endswith(", decided on the estimate")],
        "gauge": _gauge(observed, ci, _number(expected.get("min")), _number(expected.get("max")), info, state),
    }


def _facet_title(facet_values: Any, features: list[str]) -> str:
    if facet_values is None:
        return "Every group (no facet)"
    return f"Facet d: {_facet_text(facet_values, features)}, against the rest a"


def _facet_text(facet_values: Any, features: list[str]) -> str:
    """``{"sex": "F"}`` -> ``sex = F``; ``{"age": {"above": 40}}`` -> ``age > 40``; lists OR-ed."""
    if isinstance(facet_values, Mapping):
        return " and ".join(f"{k} {_condition(v)}" for k, v in facet_values.items())
    if isinstance(facet_values, (list, tuple)):
        if all(isinstance(v, Mapping) for v in facet_values):
            return " or ".join(f"({_facet_text(v, features)})" for v in facet_values)
        name = features[0] if len(features) == 1 else "facet"
        return f"{name} {_condition(list(facet_values))}"
    return str(facet_values)


def _condition(value: Any) -> str:
    if isinstance(value, Mapping) and "above" in value:
        return f"> {value['above']}"
    if isinstance(value, (list, tuple)):
        return "= " + " or ".join(str(v) for v in value) if len(value) > 1 else f"= {value[0]}"
    return f"= {value}"


def _sides(side: Mapping[str, Any], colours: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "rows": fmt((side.get(key) or {}).get("rows")),
            "positive_share": _percent((side.get(key) or {}).get("positive_share")),
            "bar": _bar(side.get(key) or {}, colours),
        }
        for key, name in (("d", "d (the facet)"), ("a", "a (the rest)"))
    ]


def _group_row(group: Mapping[str, Any], features: list[str], colours: Mapping[str, str]) -> dict[str, Any]:
    return {
        "group": group_label(group.get("group"), features),
        "rows": fmt(group.get("rows")),
        "in_facet": bool(group.get("in_facet")),
        "positive_share": _percent(group.get("positive_share")),
        "bar": _bar(group, colours),
    }


# -- charts: coordinates for the template's SVG --------------------------------------------------
def _legend(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A colour per label value: blues for the positive ones, greys and oranges for the others;
    ``positive`` / ``negative`` only for a label of too many values to list."""
    positive = {str(v) for v in metrics.get("positive_labels") or []}
    shares = [g.get("label_shares") for g in metrics.get("groups") or [] if isinstance(g, Mapping)]
    if not any(isinstance(s, Mapping) for s in shares):
        return [
            {"label": "negative", "colour": _NEGATIVE[0], "positive": False},
            {"label": "positive", "colour": _POSITIVE[0], "positive": True},
        ]
    out, counters = [], {True: 0, False: 0}
    for label in metrics.get("labels") or []:
        is_positive = str(label) in positive
        palette = _POSITIVE if is_positive else _NEGATIVE
        out.append(
            {"label": str(label), "colour": palette[counters[is_positive] % len(palette)], "positive": is_positive}
        )
        counters[is_positive] += 1
    return out


def _bar(block: Mapping[str, Any], colours: Mapping[str, str]) -> list[dict[str, Any]]:
    """The segments of a 100% bar of label shares (or of negative vs positive)."""
    shares = block.get("label_shares")
    if not isinstance(shares, Mapping):
        share = _number(block.get("positive_share"))
        if share is None:
            return []
        shares = {"negative": 1 - share, "positive": share}
    out, x = [], 0.0
    for label, share in shares.items():
        share = _number(share) or 0.0
        width = _BAR["width"] * share
        if width > 0:
            out.append(
                {
                    "x": round(x, 2),
                    "w": round(width, 2),
                    "colour": colours.get(str(label), "#9e9e9e"),
                    "tip": f"{label}: {_percent(share)}",
                }
            )
        x += width
    return out


def _gauge(
    value: float | None,
    ci: Sequence[Any] | None,
    low: float | None,
    high: float | None,
    info: MetricInfo | None,
    state: str,
) -> dict[str, Any] | None:
    """The value (a dot), its interval (a bar), the allowed region (shaded) and the ideal (a tick)
    on an axis spanning them, cut to the metric's range."""
    interval = [v for v in (_number(c) for c in ci or ()) if v is not None]
    ideal = info.ideal if info else None
    points = [v for v in (value, *interval, low, high, ideal) if v is not None]
    if value is None or not points:
        return None
    lo, hi = min(points), max(points)
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    lo, hi = lo - 0.08 * span, hi + 0.08 * span
    if info is not None:
        lo, hi = max(lo, info.low), min(hi, info.high)
    box = _GAUGE
    width = box["width"] - box["left"] - box["right"]

    def x(v: float) -> float:
        return round(box["left"] + width * (min(max(v, lo), hi) - lo) / (hi - lo), 1)

    allowed = None
    if low is not None or high is not None:
        start, end = x(low if low is not None else lo), x(high if high is not None else hi)
        allowed = {"x": start, "w": round(max(end - start, 1.0), 1)}
    return {
        "value": x(value),
        "colour": STATUS_COLOURS.get(state, "#9e9e9e"),
        "ci": {"x1": x(interval[0]), "x2": x(interval[1])} if len(interval) == 2 else None,
        "allowed": allowed,
        "ideal": x(ideal) if ideal is not None and lo <= ideal <= hi else None,
        "ticks": [{"x": x(lo), "label": fmt(lo), "anchor": "start"}, {"x": x(hi), "label": fmt(hi), "anchor": "end"}],
        "tip": f"value {fmt(value)}" + (f", interval [{fmt(interval[0])}, {fmt(interval[1])}]" if interval else ""),
    }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _percent(share: Any) -> str:
    share = _number(share)
    return "—" if share is None else f"{share * 100:.3g}%"


def _pretty(value: Any) -> str | None:
    return None if value in (None, {}, []) else json.dumps(value, indent=2, sort_keys=True, default=str)


@cache
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.DictLoader({**TEMPLATES, **BIAS_TEMPLATES}),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(version=__version__, status_colours=STATUS_COLOURS)
    return env
