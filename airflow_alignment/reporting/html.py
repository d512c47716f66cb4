"""Self-contained HTML: the report of a ``CheckResult`` (a check or a gate decision), the summary
of a DAG run and the alignment history of a DAG.

A page needs nothing but itself: CSS is inline, charts are inline SVG drawn by matplotlib
(:mod:`airflow_alignment.reporting.charts`), and there is no script at all; a
``Content-Security-Policy`` meta tag forbids loading anything, so the file opens offline and
cannot be made to run code. Every value that came from data or configuration (column and
group names, policy text, summaries, run ids) goes through Jinja's autoescaping; the only
markup inserted as is, is the SVG that matplotlib wrote (it escapes text as XML).

The templates live in :mod:`airflow_alignment.reporting._templates`; this module prepares
plain values for them (numbers formatted, bounds spelled out, thresholds placed on charts).

Pages are read by anyone who can read the DAG, so they show no absolute path of the server:
a file of the artifact store is shown relative to the store (``results/<dag>/.../result.json``),
a local data file by its name (``…/batch.parquet``; the fingerprint tells versions apart), and
a URI without credentials. The stored result and the task log keep the full paths for
operators (see :func:`public_path`).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache, lru_cache
from html import escape
from typing import Any

from airflow_alignment import __version__
from airflow_alignment.reporting import charts
from airflow_alignment.reporting._format import fmt
from airflow_alignment.reporting._templates import TEMPLATES
from airflow_alignment.reporting.bias_view import bias_section
from airflow_alignment.reporting.drift_view import drift_section
from airflow_alignment.results import CheckResult
from airflow_alignment.specs.metrics import NAMED_AGGREGATES
from airflow_alignment.store.artifacts import ArtifactStore, result_key
from airflow_alignment.store.index import UNREADABLE
from airflow_alignment.urls import report_path

REPORT_NAME = "report.html"
VERDICT_TEXT = {"approved": "Approved", "needs_review": "Needs review", "rejected": "Rejected"}
# an unreadable entry (a stored file that cannot be shown): above warned, since it may hide a failure
_STATUS_RANK = {"error": 5, "failed": 4, UNREADABLE: 3, "warned": 2, "passed": 1}
_FAIRNESS_RESERVED = ("settings", "excluded_groups", "dropped_rows", "baseline", "marginal")
_SAMPLE_SHOWN = 10
# A chart draws at most this many groups (bars), a table lists at most _GROUPS_LISTED: a check
# of thousands of groups renders in about a second; the stored result has every group.
_GROUPS_CHARTED = 40
_GROUPS_LISTED = 1000

log = logging.getLogger(__name__)

LinkFor = Callable[[str, int], str]  # (task_id, map_index) -> href of that task's report


# -- entry points ---------------------------------------------------------------------------
def write_report(result: CheckResult, store: ArtifactStore) -> str | None:
    """Render ``result``'s report, store it next to the result and return its URI.

    A rendering bug must not cost the result: it is logged and ``None`` is returned, and the
    result is stored without a report. Storage errors propagate (Airflow's retries apply).
    """
    ctx = result.context or {}

    def link(task_id: str, map_index: int) -> str:  # a gate's upstream checks: same run
        return report_path({**ctx, "task_id": task_id, "map_index": map_index})

    try:
        page = render_report(result, link=link, store_base=store.base)
    except Exception:
        log.exception("could not render the HTML report of %s; the result is stored without one", result.check)
        return None
    return store.write_text(result_key(ctx, REPORT_NAME), page)


def render_report(
    result: CheckResult | Mapping[str, Any], *, link: LinkFor | None = None, store_base: str | None = None
) -> str:
    """The report of one result (a ``CheckResult`` or its JSON form) as a self-contained page.

    :param store_base: the artifact store the result is in (default: the configured one); its
        paths are shown relative to it.
    """
    doc = public_result(result.to_dict() if isinstance(result, CheckResult) else dict(result), store_base)
    page: dict[str, Any] = {
        "doc": doc,
        "header": _header(doc),
        "assertions": _assertion_rows(doc),
        "fairness": None,
        "expectations": None,
        "gate": None,
        "drift": None,
    }
    kind = doc.get("kind")
    if kind == "fairness" and isinstance(doc.get("metrics"), Mapping) and not doc["metrics"].get("truncated"):
        page["fairness"] = _fairness_views(doc)
    elif kind == "expectations":
        page["expectations"] = _expectation_rows(doc)
    elif kind == "gate":
        page["gate"] = _gate(doc, link)
    metrics = doc.get("metrics")
    if kind == "drift" and isinstance(metrics, Mapping) and isinstance(metrics.get("methods"), Mapping):
        page["drift"] = drift_section(metrics["methods"])
        metrics = {k: v for k, v in metrics.items() if k not in ("methods", "features", "prediction")}
    page["bias"] = bias_section(doc, page["assertions"]) if kind in ("data_bias", "fairness") else None
    page["other_metrics"] = _pretty(metrics) if kind not in ("fairness", "gate") and not page["bias"] else None
    return _template("report.html").render(title=f"{doc.get('check')} ({doc.get('status')})", **page)


def render_run(summary: Mapping[str, Any]) -> str:
    """The page of one DAG run: its gate verdicts first, then every alignment result.

    :param summary: ``{dag_id, run_id, results: [{task_id, map_index, try_number, check, kind,
        status, summary, verdict?, report_url?}], history_url?, json_url?}``; a result with
        status ``unreadable`` (a stored file that could not be read) shows its ``key`` and ``error``.
    """
    base = _store_base(None)
    rows = [_summary_row({**r, "summary": public_text(r.get("summary"), base)}) for r in summary.get("results", [])]
    gates = [r for r in rows if r["kind"] == "gate"]
    return _template("run.html").render(title=f"Alignment: {summary.get('run_id')}", s=summary, rows=rows, gates=gates)


def render_history(history: Mapping[str, Any]) -> str:
    """The alignment history of a DAG: one row per run and a trend chart per check.

    :param history: ``{dag_id, json_url?, runs: [{run_id, started_at, label?, status,
        verdict?, run_url?, results: [{task_id, check, kind, status, verdict?, summary,
        report_url?, assertions: [{name, observed, expected, success, severity}]}]}], older_url?,
        newest_url?, unindexed_results?}``, oldest run first; ``older_url`` and ``newest_url``
        link to the next and the first page.
    """
    base = _store_base(None)
    runs = [
        {**run, "results": [{**r, "summary": public_text(r.get("summary"), base)} for r in run.get("results", [])]}
        for run in history.get("runs", [])
    ]
    tasks = sorted({r["task_id"] for run in runs for r in run.get("results", [])}, key=_gate_first(runs))
    rows = []
    for run in runs:
        by_task = {r["task_id"]: r for r in run.get("results", [])}
        cells = [_history_cell(by_task.get(t)) for t in tasks]
        rows.append({"run": run, "cells": cells, "badge": run.get("verdict") or run.get("status")})
    return _template("history.html").render(
        title=f"Alignment history: {history.get('dag_id')}",
        h=history,
        tasks=tasks,
        rows=rows[::-1],
        charts=_trend_charts(runs, tasks),
    )


def render_overview(overview: Mapping[str, Any]) -> str:
    """The Alignment overview: one row per policy x model (newest verdict, when, policy version
    and hash, owner, last approved run, a sparkline of recent verdicts) and the reviews waiting
    for a person.

    :param overview: ``{models: [{policy_name, model, verdict, run_after, dag_id, policy?, owner?,
        reviewer?, checks, last_approved?: {run_after, run_url}, sparkline: [verdict, ...],
        run_url, policy_url?, owner_url?}], reviews: [{subject, dag_id, run_id, created_at,
        url}], counts: {verdict: {count, url}}, filters, all_url, json_url}``.
    """
    rows, counts = _overview_rows(overview), _verdict_counts(overview)
    return _template("overview.html").render(title="Alignment overview", o=overview, rows=rows, counts=counts)


SUMMARY_MODELS = 6


def _overview_rows(overview: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for row in overview.get("models", []):
        approved = row.get("last_approved")
        rows.append(
            {
                **row,
                "when": _when(row.get("run_after")),
                "failing": [
                    c.get("check") or c.get("task_id")
                    for c in row.get("checks", [])
                    if c.get("status") in ("failed", "error")
                ],
                "last_approved": approved and {**approved, "when": _when(approved.get("run_after"))},
                "sparkline": _sparkline(row.get("sparkline", [])),
            }
        )
    return rows


def _verdict_counts(overview: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return sorted(
        (overview.get("counts") or {}).items(),
        key=lambda kv: list(VERDICT_TEXT).index(kv[0]) if kv[0] in VERDICT_TEXT else len(VERDICT_TEXT),
    )


def render_overview_summary(overview: Mapping[str, Any], full_page: str) -> str:
    """The overview's compact form for Airflow's home dashboard: the counts per verdict, the
    reviews waiting, the models with the newest decisions; links open ``full_page`` (the
    overview in Airflow's navigation) and the runs in the whole window."""
    rows = sorted(_overview_rows(overview), key=lambda r: r.get("run_after") or "", reverse=True)
    return _template("overview_summary.html").render(
        title="Alignment summary",
        o=overview,
        rows=rows,
        counts=_verdict_counts(overview),
        full_page=full_page,
        shown=SUMMARY_MODELS,
    )


def render_dossier(dossier: Mapping[str, Any]) -> str:
    """The compliance dossier of one decision (see :mod:`airflow_alignment.reporting.dossier`),
    self-contained, with print styles: the browser's "Print to PDF" gives the PDF."""
    decision = dossier["decision"]
    reviewer = decision.get("reviewer")
    who = reviewer.get("name") if isinstance(reviewer, Mapping) else reviewer
    return _template("dossier.html").render(
        title=f"Dossier: {dossier.get('policy_name')} / {dossier.get('model')} / {decision.get('run_id')}",
        d=dossier,
        dec=decision,
        p=dossier["policy"],
        a=dossier["audit"],
        prev=dossier.get("previous_approved"),
        reviewer=who,
        bound=_bound,
    )


def _when(value: Any) -> str:
    return value[:16].replace("T", " ") if isinstance(value, str) else ""


_SPARK_COLOURS = {"approved": "passed", "needs_review": "warned", "rejected": "failed"}


def _sparkline(verdicts: Sequence[str]) -> str:
    """Recent verdicts, oldest first, as a row of coloured squares (inline SVG, no script)."""
    size, gap = 9, 2
    cells = []
    for i, verdict in enumerate(verdicts):
        colour = charts.STATUS_COLOURS.get(_SPARK_COLOURS.get(verdict, ""), "#78909c")
        cells.append(
            f'<rect x="{i * (size + gap)}" y="0" width="{size}" height="{size}" rx="2" fill="{colour}">'
            f"<title>{escape(verdict)}</title></rect>"
        )
    width = max(len(verdicts) * (size + gap) - gap, 1)
    label = escape(", ".join(verdicts))
    return (
        f'<svg class="spark" role="img" aria-label="{label}" width="{width}" height="{size}" '
        f'viewBox="0 0 {width} {size}">{"".join(cells)}</svg>'
    )


def render_message(title: str, message: str) -> str:
    """A small page for "nothing here" answers (shown in the Airflow UI's iframe)."""
    return _template("message.html").render(title=title, message=message)


def worst_status(statuses: Sequence[str | None]) -> str | None:
    """The most serious of ``statuses`` (``error`` > ``failed`` > ``unreadable`` > ``warned`` > ``passed``)."""
    known = [s for s in statuses if s in _STATUS_RANK]
    return max(known, key=_STATUS_RANK.__getitem__) if known else None


# -- paths a reader may see -----------------------------------------------------------------
_LOCAL_PATH = re.compile(r"(?:file://|(?<![\w.~:/\\-]))/(?:[^\s'\"<>|/]+/)+([^\s'\"<>|/]*)")
_CREDENTIALS = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@\s]*:[^/@\s]*@", re.I)


def public_path(value: Any, store_base: str | None = None) -> Any:
    """A path or URI as a report shows it: relative to the artifact store when it is inside it,
    a local file by its name (``…/batch.parquet``), a URI without ``user:password@``."""
    if not isinstance(value, str):
        return value
    base = _store_base(store_base)
    value = value.removeprefix("file://")
    if base and value.startswith(base.rstrip("/") + "/"):
        return value[len(base.rstrip("/")) + 1 :]
    if "://" in value:
        return _CREDENTIALS.sub(r"\1", value)
    return public_text(value, base)


def public_text(value: Any, store_base: str | None = None) -> Any:
    """``value`` with every path of the store made relative and every other absolute local path
    cut to its last part (messages such as ``data file not found: /srv/x.csv``)."""
    if not isinstance(value, str):
        return value
    base = _store_base(store_base)
    if base and "://" not in base:
        value = value.replace(base.rstrip("/") + "/", "")
    return _LOCAL_PATH.sub(lambda m: "…/" + m.group(1), value)


def _store_base(store_base: str | None) -> str | None:
    if store_base is not None:
        return store_base
    try:
        return ArtifactStore().base
    except Exception:  # noqa: BLE001 - no configured store: nothing to make relative
        return None


def public_result(doc: dict[str, Any], store_base: str | None = None) -> dict[str, Any]:
    """A copy of a result without absolute server paths, in the fields that carry paths or
    messages (data samples and group values are shown as they are)."""
    doc = json.loads(json.dumps(doc, default=str))
    base = _store_base(store_base)
    paths, texts = ("full_result", "report", "source"), ("summary", "message")
    blocks = [doc, doc.get("data"), (doc.get("data") or {}).get("reference"), doc.get("error")]
    metrics = doc.get("metrics") if isinstance(doc.get("metrics"), dict) else {}
    blocks += [metrics.get("baseline"), *(metrics.get("checks") or [])]
    for a in doc.get("assertions") or []:
        details = a.get("details") if isinstance(a, dict) else None
        blocks += [details, (details or {}).get("baseline")]
    if isinstance(doc.get("error"), str):  # an unreadable entry's reason
        doc["error"] = public_text(doc["error"], base)
    for block in blocks:
        if isinstance(block, dict):
            for key in paths + texts:
                if key in block:
                    block[key] = (public_path if key in paths else public_text)(block[key], base)
    return doc


# -- the header and the assertions ----------------------------------------------------------
def _header(doc: Mapping[str, Any]) -> list[tuple[str, Any]]:
    policy, data, ctx = doc.get("policy") or {}, doc.get("data") or {}, doc.get("context") or {}
    rows: list[tuple[str, Any]] = [("Kind", doc.get("kind")), ("Severity", doc.get("severity"))]
    if policy:
        rows.append(("Policy", f"{policy.get('name')} version {policy.get('version')}"))
        rows.append(("Policy sha256", policy.get("sha256")))
    if data:
        rows.append(("Data", data.get("source")))
        rows.append(("Rows", fmt(data.get("rows"))))
        if data.get("columns"):
            rows.append(("Columns", ", ".join(str(c) for c in data["columns"])))
        rows.append(("Fingerprint", data.get("fingerprint")))
    if ctx:
        rows.append(("Run", f"{ctx.get('dag_id')} / {ctx.get('run_id')}"))
        task = str(ctx.get("task_id"))
        if ctx.get("map_index") not in (None, -1):
            task += f" [{ctx.get('map_index')}]"
        rows.append(("Task", f"{task}, try {ctx.get('try_number')}"))
    rows.append(("Started", doc.get("started_at")))
    if doc.get("duration_s") is not None:
        rows.append(("Duration", f"{doc['duration_s']:.3f} s"))
    return [(k, v) for k, v in rows if v not in (None, "")]


def _assertion_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for a in doc.get("assertions") or []:
        details = a.get("details") or {}
        rows.append(
            {
                "name": a.get("name"),
                "severity": a.get("severity"),
                "outcome": _outcome(a),
                "observed": _observed(a.get("observed")),
                "expected": _bound(a.get("expected")),
                "notes": _notes(details),
            }
        )
    return rows


def _outcome(assertion: Mapping[str, Any]) -> str:
    """An assertion's badge: one that did not hold at severity ``warn`` warns, it does not fail."""
    success = assertion.get("success")
    if success is False and assertion.get("severity") == "warn":
        return "warned"
    return {True: "passed", False: "failed", None: "not judged"}[success]


def _notes(details: Mapping[str, Any]) -> list[str]:
    notes = []
    groups, values = details.get("groups") or [], details.get("values") or []
    features = details.get("features") or ()
    if groups:
        shown = [f"{charts.group_label(g, features)} ({fmt(v)})" for g, v in zip(groups, values, strict=False)]
        notes.append(("between " + " and ".join(shown)) if len(shown) == 2 else "group " + ", ".join(shown))
    if details.get("component"):
        notes.append(f"worst component: {details['component']}")
    if details.get("ci"):
        level = details.get("confidence")
        notes.append(
            f"{fmt(level * 100) + '% ' if level else ''}interval [{fmt(details['ci'][0])}, "
            f"{fmt(details['ci'][1])}], decided on the {details.get('decide_on', 'estimate')}"
        )
    if details.get("failing_count"):
        notes.append(f"{details['failing_count']} group(s) outside the bounds")
    for key in ("reason", "note", "rationale"):
        if details.get(key):
            notes.append(str(details[key]))
    baseline = details.get("baseline")
    if isinstance(baseline, Mapping) and baseline.get("status") in ("compared", "reference"):
        notes.append(f"baseline {fmt(baseline.get('baseline_observed'))}, change {fmt(baseline.get('change'))}")
    elif isinstance(baseline, Mapping) and baseline.get("message"):
        notes.append(str(baseline["message"]))
    return notes


# -- fairness -------------------------------------------------------------------------------
def _fairness_views(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    metrics = doc["metrics"]
    features = list((metrics.get("settings") or {}).get("sensitive_features") or [])
    views = [("", features, metrics)]
    for key, block in (metrics.get("marginal") or {}).items():
        views.append((key, [key], block))
    out = []
    for i, (key, view_features, block) in enumerate(views):
        judged = [a for a in doc.get("assertions") or [] if _features_of(a, features) == view_features]
        names = [
            m for m, b in block.items() if m not in _FAIRNESS_RESERVED and isinstance(b, Mapping) and "by_group" in b
        ]
        out.append(
            {
                "title": f"by {' and '.join(map(str, view_features))}" if key == "" else f"by {key} alone",
                "charts": [
                    _metric_chart(m, block[m], view_features, judged, salt=f"{i}-{j}") for j, m in enumerate(names)
                ],
                "excluded": [
                    {"group": charts.group_label(g.get("group"), view_features), "count": fmt(g.get("count"))}
                    for g in (block.get("excluded_groups") or [])[:_GROUPS_LISTED]
                ],
                "excluded_more": max(0, len(block.get("excluded_groups") or []) - _GROUPS_LISTED),
            }
        )
    settings = metrics.get("settings") or {}
    for view in out:  # every view (the marginal ones too) says the size below which it excludes
        view["min_group_size"] = settings.get("min_group_size")
    out[0]["baseline"] = (metrics.get("baseline") or {}).get("message") or _pretty(metrics.get("baseline"))
    out[0]["settings"] = _pretty(settings)
    return out


def _features_of(assertion: Mapping[str, Any], default: list[str]) -> list[str]:
    return list((assertion.get("details") or {}).get("features") or default)


def _metric_chart(
    metric: str, block: Mapping[str, Any], features: list[str], judged: list[Mapping[str, Any]], salt: str
) -> dict[str, Any]:
    related = [a for a in judged if metric in _underlying(a.get("details") or {})]
    lines = [line for a in related for line in _threshold_lines(a, block)]
    highlight = [g for a in related for g in (a.get("details") or {}).get("groups") or [] if isinstance(g, Mapping)]
    by_group = list(block.get("by_group") or [])
    rows = [
        {
            "group": charts.group_label(r.get("group"), features),
            "count": fmt(r.get("count")),
            "value": fmt(r.get("value")),
            "ci": _interval(r.get("ci")),
            "reason": r.get("reason"),
        }
        for r in by_group[:_GROUPS_LISTED]
    ]
    charted = _charted(by_group, highlight)
    note = None
    if len(charted) < len(by_group):
        note = (
            f"The chart shows {len(charted)} of {len(by_group):,} groups: those behind the judged aggregates "
            "and those with the lowest and highest values."
        )
    return {
        "metric": metric,
        "svg": charts.group_chart(
            metric, {**block, "by_group": charted}, features=features, lines=lines, highlight=highlight, salt=salt
        ),
        "rows": rows,
        "more": max(0, len(by_group) - _GROUPS_LISTED),
        "note": note,
        "overall": fmt(block.get("overall")),
        "aggregates": [(k, fmt(block[k])) for k in ("difference", "ratio", "group_min", "group_max") if k in block],
        "judged_by": [a.get("name") for a in related],
    }


def _charted(rows: list[Mapping[str, Any]], highlight: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """At most :data:`_GROUPS_CHARTED` of ``rows``, in their order: the highlighted groups,
    then the lowest and highest values in turn."""
    if len(rows) <= _GROUPS_CHARTED:
        return rows
    keep = {i for i, r in enumerate(rows) if r.get("group") in highlight}
    ranked = sorted(
        (i for i, r in enumerate(rows) if _number(r.get("value")) is not None), key=lambda i: rows[i]["value"]
    )
    ends = [i for pair in zip(ranked, reversed(ranked), strict=True) for i in pair]
    for i in ends:
        if len(keep) >= _GROUPS_CHARTED:
            break
        keep.add(i)
    return [rows[i] for i in sorted(keep)]


def _underlying(details: Mapping[str, Any]) -> list[str]:
    """The per-group metrics an assertion was computed from."""
    if details.get("components"):
        return list(details["components"])
    metric = str(details.get("metric"))
    return list(NAMED_AGGREGATES[metric][0]) if metric in NAMED_AGGREGATES else [metric]


def _threshold_lines(assertion: Mapping[str, Any], block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Where an assertion's bounds fall on its metric's axis.

    Bounds on a group value (``group_min``, ``per_group``...) are drawn as they are. A bound on
    a ratio or a difference is drawn where a group would have to be: ``0.8 x`` the highest group
    (between groups) or the overall value (to overall), ``highest - 0.1`` for a difference.
    """
    expected = assertion.get("expected") if isinstance(assertion.get("expected"), Mapping) else {}
    details = assertion.get("details") or {}
    low, high = _number(expected.get("min")), _number(expected.get("max"))
    aggregate, to_overall = details.get("aggregate"), details.get("method") == "to_overall"
    top = _number(block.get("group_max"))
    overall = _number(block.get("overall"))
    ref, ref_name = (overall, "overall") if to_overall else (top, "highest")
    found: list[tuple[float | None, str]] = []
    if aggregate in ("group_min", "group_max", "per_group", "overall"):
        found = [(low, f"min {fmt(low)}"), (high, f"max {fmt(high)}")]
    elif aggregate == "ratio" and ref is not None and low:
        found = [(low * ref, f"{fmt(low)} × {ref_name}")]
        if to_overall:
            found.append((ref / low, f"{ref_name} / {fmt(low)}"))
    elif aggregate == "difference" and ref is not None and high is not None:
        found = [(ref - high, f"{ref_name} − {fmt(high)}")]
        if to_overall:
            found.append((ref + high, f"{ref_name} + {fmt(high)}"))
    return [
        {"x": x, "severity": assertion.get("severity"), "label": f"{assertion.get('name')}: {text} ({fmt(x)})"}
        for x, text in found
        if x is not None and math.isfinite(x)
    ]


# -- expectations and gates -----------------------------------------------------------------
def _expectation_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for a in doc.get("assertions") or []:
        d = a.get("details") or {}
        kwargs = dict(d.get("kwargs") or {})
        column = kwargs.pop("column", None) or kwargs.pop("column_list", None)
        sample = list(d.get("unexpected_sample") or [])
        rows.append(
            {
                "type": d.get("type") or a.get("name"),
                "column": column,
                "kwargs": _bound(kwargs),
                "outcome": _outcome(a),
                "severity": a.get("severity"),
                "elements": fmt(d.get("element_count")),
                "unexpected": fmt(d.get("unexpected_count")),
                "percent": _percent(d.get("unexpected_percent")),
                "sample": [_observed(v) for v in sample[:_SAMPLE_SHOWN]],
                "more": max(0, len(sample) - _SAMPLE_SHOWN),
                "error": d.get("exception") or d.get("error"),
                "observed": None
                if isinstance(a.get("observed"), Mapping) or a.get("observed") is None
                else _observed(a.get("observed")),
            }
        )
    return rows


def _gate(doc: Mapping[str, Any], link: LinkFor | None) -> dict[str, Any]:
    metrics = doc.get("metrics") or {}
    checks = []
    for a in doc.get("assertions") or []:
        d = a.get("details") or {}
        task_id = d.get("task_id") or a.get("name")
        checks.append(
            {
                "task_id": task_id,
                "check": a.get("name"),
                "status": a.get("observed"),
                "severity": a.get("severity"),
                "summary": d.get("summary"),
                "href": link(str(task_id), -1) if link and task_id else None,
            }
        )
    reviewer = metrics.get("reviewer")
    return {
        "verdict": metrics.get("verdict"),
        "verdict_text": VERDICT_TEXT.get(str(metrics.get("verdict")), str(metrics.get("verdict"))),
        "model": metrics.get("model"),
        "reviewed": metrics.get("reviewed"),
        "reviewer": reviewer.get("name") if isinstance(reviewer, Mapping) else reviewer,
        "responded_at": metrics.get("responded_at"),
        "auto_approved": metrics.get("auto_approved_warnings"),
        "checks": checks,
    }


# -- run summary and history ----------------------------------------------------------------
def _summary_row(r: Mapping[str, Any]) -> dict[str, Any]:
    summary = r.get("summary")
    if r.get("status") == UNREADABLE:
        summary = f"unreadable result {r.get('key')}: {r.get('error')}"
    return {
        **r,
        "badge": r.get("verdict") or r.get("status"),
        "summary": summary,
        "map": "" if r.get("map_index") in (None, -1) else r.get("map_index"),
    }


def _gate_first(runs: Sequence[Mapping[str, Any]]) -> Callable[[str], tuple[int, str]]:
    gates = {r["task_id"] for run in runs for r in run.get("results", []) if r.get("kind") == "gate"}
    return lambda task_id: (0 if task_id in gates else 1, task_id)


def _history_cell(result: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if result is None:
        return None
    numeric = [a for a in result.get("assertions") or [] if _number(a.get("observed")) is not None]
    headline = f"{numeric[0]['name']} {fmt(numeric[0]['observed'])}" if numeric else None
    if result.get("status") == UNREADABLE:
        return {
            "badge": UNREADABLE,
            "headline": f"unreadable result {result.get('key')}",
            "summary": result.get("error"),
            "href": result.get("report_url"),
        }
    return {
        "badge": result.get("verdict") or result.get("status"),
        "headline": headline,
        "summary": result.get("summary"),
        "href": result.get("report_url"),
    }


def _trend_charts(runs: Sequence[Mapping[str, Any]], tasks: Sequence[str]) -> list[dict[str, Any]]:
    labels = [str(run.get("label") or run.get("run_id")) for run in runs]
    out = []
    for t_index, task_id in enumerate(tasks):
        series: dict[str, dict[str, Any]] = {}
        for i, run in enumerate(runs):
            for r in run.get("results", []):
                if r["task_id"] != task_id:
                    continue
                for a in r.get("assertions") or []:
                    if _number(a.get("observed")) is None or (a["name"] not in series and len(series) >= 6):
                        continue
                    s = series.setdefault(
                        a["name"],
                        {
                            "name": a["name"],
                            "values": [None] * len(runs),
                            "statuses": [None] * len(runs),
                            **_bounds_of(a),
                        },
                    )
                    s["values"][i] = a["observed"]
                    s["statuses"][i] = {True: "passed", False: "failed"}.get(a.get("success"))
        if series and len(runs) > 1:
            svg = _trend_svg(json.dumps([task_id, labels, list(series.values()), f"trend-{t_index}"]))
            out.append({"task_id": task_id, "svg": svg})
    return out


@lru_cache(maxsize=256)
def _trend_svg(spec: str) -> str:
    """A trend chart, drawn once per distinct content (``spec``: its arguments as JSON): the
    history page of a DAG shows the same charts to every viewer until a run is added, and
    drawing is most of that page's cost."""
    title, labels, series, salt = json.loads(spec)
    return charts.trend_chart(title, labels, series, salt=salt)


def _bounds_of(assertion: Mapping[str, Any]) -> dict[str, Any]:
    expected = assertion.get("expected")
    if not isinstance(expected, Mapping):
        return {}
    return {k: expected[k] for k in ("min", "max") if _number(expected.get(k)) is not None}


# -- formatting -----------------------------------------------------------------------------
def _observed(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_observed(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_observed(v) for v in value) + "]"
    return "null" if value is None else fmt(value)


def _bound(expected: Any) -> str:
    if isinstance(expected, Mapping) and set(expected) <= {"min", "max"}:
        low, high = expected.get("min"), expected.get("max")
        if low is not None and high is not None:
            return f"between {fmt(low)} and {fmt(high)}"
        if low is not None:
            return f"≥ {fmt(low)}"
        if high is not None:
            return f"≤ {fmt(high)}"
        return "—"
    if isinstance(expected, Mapping):
        return ", ".join(f"{k}={_observed(v)}" for k, v in expected.items()) or "—"
    return _observed(expected)


def _interval(ci: Any) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]" if isinstance(ci, (list, tuple)) and len(ci) == 2 else ""


def _percent(value: Any) -> str:
    return "" if _number(value) is None else f"{value:.3g}%"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _pretty(value: Any) -> str | None:
    return None if value in (None, {}, []) else json.dumps(value, indent=2, sort_keys=True, default=str)


@cache
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.DictLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(version=__version__, fmt=fmt, verdict_text=VERDICT_TEXT, status_colours=charts.STATUS_COLOURS)
    return env


def _template(name: str) -> Any:
    return _environment().get_template(name)
