"""Jinja templates of the HTML pages (rendered with autoescaping by ``reporting/html.py``).

Kept as Python strings so the package needs no data files. ``|safe`` appears only on SVG that
matplotlib wrote.
"""

from __future__ import annotations

_BASE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="airflow-alignment {{ version }}">
<title>{{ title }}</title>
<style>
:root { --fg: #1f2933; --muted: #5f6b7a; --line: #e3e8ee; --bg: #fff; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--fg); background: var(--bg); margin: 0; padding: 16px 20px 40px; }
h1 { font-size: 20px; margin: 0 0 4px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
h2 { font-size: 16px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 18px 0 6px; }
p.summary { margin: 6px 0 14px; font-size: 15px; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         color: #fff; background: #78909c; text-transform: uppercase; letter-spacing: .02em; white-space: nowrap; }
.b-passed, .b-approved { background: {{ status_colours.passed }}; }
.b-warned, .b-needs_review { background: {{ status_colours.warned }}; }
.b-failed, .b-rejected { background: {{ status_colours.failed }}; }
.b-error { background: {{ status_colours.error }}; }
.b-unreadable { background: #37474f; }
.verdict { border-radius: 6px; padding: 12px 16px; margin: 10px 0 16px; color: #fff; font-size: 16px; }
.verdict strong { font-size: 20px; margin-right: 10px; }
.v-approved { background: {{ status_colours.passed }}; }
.v-needs_review { background: {{ status_colours.warned }}; }
.v-rejected { background: {{ status_colours.failed }}; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: 600; font-size: 13px; }
table.meta { width: auto; }
table.meta th { background: none; color: var(--muted); font-weight: 500; padding-right: 18px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; word-break: break-all; }
ul.notes { margin: 0; padding-left: 16px; color: var(--muted); font-size: 13px; }
.chart { margin: 6px 0 4px; max-width: 760px; }
.chart svg { width: 100%; height: auto; }
details { margin: 4px 0 14px; }
summary { cursor: pointer; color: var(--muted); }
pre { background: var(--soft); padding: 10px; overflow: auto; font-size: 12px; }
.error { border-left: 4px solid {{ status_colours.error }}; background: #f3e5f5; padding: 8px 12px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
a { color: #1565c0; }
</style>
</head>
<body>
{% block body %}{% endblock %}
<footer>airflow-alignment {{ version }}{% block footer %}{% endblock %}</footer>
</body>
</html>
"""

_REPORT = """{% extends "base.html" %}
{% macro badge(status) %}<span class="badge b-{{ status }}">{{ (verdict_text.get(status) or status or "no result") }}</span>{% endmacro %}
{% block body %}
<h1>{{ doc.check }} {{ badge(gate.verdict if gate else doc.status) }}</h1>
<p class="summary">{{ doc.summary }}</p>
{% if gate %}
<div class="verdict v-{{ gate.verdict }}" id="verdict"><strong>{{ gate.verdict_text }}</strong>
{% if gate.reviewed %}by {{ gate.reviewer }}{% if gate.responded_at %} at {{ gate.responded_at }}{% endif %}
{% elif gate.auto_approved %}with warnings (review is off){% endif %}
{% if gate.model %}<span> · model {{ gate.model }}</span>{% endif %}</div>
{% endif %}
<table class="meta">
{% for key, value in header %}<tr><th>{{ key }}</th><td{% if key in ("Fingerprint", "Policy sha256") %} class="mono"{% endif %}>{{ value }}</td></tr>
{% endfor %}
</table>
{% if doc.error %}<div class="error"><strong>{{ doc.error.type }}</strong>: {{ doc.error.message }}</div>{% endif %}
{% if gate %}
<h2>Checks</h2>
<table>
<tr><th>Task</th><th>Check</th><th>Status</th><th>Severity</th><th>Summary</th></tr>
{% for c in gate.checks %}
<tr><td>{% if c.href %}<a href="{{ c.href }}">{{ c.task_id }}</a>{% else %}{{ c.task_id }}{% endif %}</td>
<td>{{ c.check }}</td><td>{{ badge(c.status) }}</td><td>{{ c.severity }}</td><td>{{ c.summary }}</td></tr>
{% endfor %}
</table>
{% elif assertions and not expectations %}
<h2>Assertions</h2>
<table>
<tr><th>Assertion</th><th>Severity</th><th>Result</th><th>Observed</th><th>Expected</th><th>Why</th></tr>
{% for a in assertions %}
<tr><td>{{ a.name }}</td><td>{{ a.severity }}</td><td>{{ badge(a.outcome) }}</td>
<td class="num">{{ a.observed }}</td><td class="num">{{ a.expected }}</td>
<td>{% if a.notes %}<ul class="notes">{% for n in a.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}</td></tr>
{% endfor %}
</table>
{% endif %}
{% if fairness %}
{% for view in fairness %}
<h2>Metrics {{ view.title }}</h2>
{% for c in view.charts %}
<h3>{{ c.metric }} <span class="muted">overall {{ c.overall }}{% for k, v in c.aggregates %} · {{ k }} {{ v }}{% endfor %}</span></h3>
{% if c.judged_by %}<div class="muted">judged by {{ c.judged_by | join(", ") }}</div>{% endif %}
{% if c.note %}<div class="muted">{{ c.note }}</div>{% endif %}
<div class="chart">{{ c.svg | safe }}</div>
<details><summary>{{ c.metric }} by group (table)</summary>
<table><tr><th>Group</th><th>Rows</th><th>Value</th><th>Interval</th><th></th></tr>
{% for r in c.rows %}<tr><td>{{ r.group }}</td><td class="num">{{ r.count }}</td><td class="num">{{ r.value }}</td><td class="num">{{ r.ci }}</td><td>{{ r.reason or "" }}</td></tr>
{% endfor %}{% if c.more %}<tr><td colspan="5" class="muted">+{{ c.more }} more groups in the stored result</td></tr>{% endif %}</table></details>
{% endfor %}
<h3>Groups left out</h3>
{% if view.excluded %}
<p class="muted">Fewer rows than min_group_size{% if view.min_group_size %} ({{ view.min_group_size }}){% endif %}: reported, not judged.</p>
<table class="meta"><tr><th>Group</th><th>Rows</th></tr>
{% for g in view.excluded %}<tr><td>{{ g.group }}</td><td class="num">{{ g.count }}</td></tr>{% endfor %}
{% if view.excluded_more %}<tr><td colspan="2" class="muted">+{{ view.excluded_more }} more groups in the stored result</td></tr>{% endif %}
</table>
{% else %}<p class="muted">None: every group had at least min_group_size{% if view.min_group_size %} ({{ view.min_group_size }}){% endif %} rows.</p>{% endif %}
{% endfor %}
{% if fairness[0].baseline %}<h3>Baseline</h3><p class="muted">{{ fairness[0].baseline }}</p>{% endif %}
{% if fairness[0].settings %}<details><summary>Settings</summary><pre>{{ fairness[0].settings }}</pre></details>{% endif %}
{% endif %}
{% if expectations %}
<h2>Expectations</h2>
<table>
<tr><th>Expectation</th><th>Column</th><th>Arguments</th><th>Result</th><th>Unexpected</th><th>Sample of unexpected values</th></tr>
{% for e in expectations %}
<tr><td>{{ e.type }}<div class="muted">{{ e.severity }}</div></td><td>{{ e.column or "" }}</td><td>{{ e.kwargs }}</td>
<td>{{ badge(e.outcome) }}</td>
<td class="num">{% if e.observed %}observed {{ e.observed }}{% else %}{{ e.unexpected }}{% if e.percent %} ({{ e.percent }}){% endif %}<div class="muted">of {{ e.elements }}</div>{% endif %}</td>
<td>{% for v in e.sample %}<code>{{ v }}</code>{% if not loop.last %}, {% endif %}{% endfor %}{% if e.more %} +{{ e.more }} more{% endif %}
{% if e.error %}<div class="error">{{ e.error }}</div>{% endif %}</td></tr>
{% endfor %}
</table>
{% endif %}
{% if other_metrics %}<h2>Metrics</h2><pre>{{ other_metrics }}</pre>{% endif %}
{% endblock %}
{% block footer %} · {{ doc.schema }}{% if doc.full_result %} · full result: <span class="mono">{{ doc.full_result }}</span>{% endif %}{% endblock %}
"""

_RUN = """{% extends "base.html" %}
{% block body %}
<h1>Alignment of run {{ s.run_id }}</h1>
<p class="muted">DAG {{ s.dag_id }}{% if s.get('history_url') %} · <a href="{{ s.get('history_url') }}">history of this DAG</a>{% endif %}{% if s.get('json_url') %} · <a href="{{ s.get('json_url') }}">JSON</a>{% endif %}</p>
{% for g in gates %}
<div class="verdict v-{{ g.verdict }}" id="verdict"><strong>{{ verdict_text.get(g.verdict, g.verdict) }}</strong>{{ g.summary }}</div>
{% endfor %}
{% if rows %}
<table>
<tr><th>Task</th><th>Check</th><th>Kind</th><th>Status</th><th>Summary</th><th>Try</th></tr>
{% for r in rows %}
<tr><td>{% if r.get('report_url') %}<a href="{{ r.get('report_url') }}">{{ r.task_id }}</a>{% else %}{{ r.task_id }}{% endif %}{% if r.map != "" %} [{{ r.map }}]{% endif %}</td>
<td>{{ r.check }}</td><td>{{ r.kind }}</td><td><span class="badge b-{{ r.badge }}">{{ verdict_text.get(r.badge, r.badge) }}</span></td>
<td>{{ r.summary }}</td><td class="num">{{ r.get('try_number') }}</td></tr>
{% endfor %}
</table>
{% else %}<p>No alignment result was stored for this run.</p>{% endif %}
{% endblock %}
"""

_HISTORY = """{% extends "base.html" %}
{% block body %}
<h1>Alignment history of {{ h.dag_id }}</h1>
<p class="muted">{{ rows | length }} run(s) with alignment results, newest first{% if h.get('newest_url') %} · <a href="{{ h.get('newest_url') }}">newest runs</a>{% endif %}{% if h.get('json_url') %} · <a href="{{ h.get('json_url') }}">JSON</a>{% endif %}</p>
{% if h.get('unindexed_results') %}<p class="error">This DAG has results stored before the history index existed. Index them once with <code>python -m airflow_alignment.store.index rebuild --dag {{ h.dag_id }}</code>.</p>{% endif %}
{% if rows %}
<table>
<tr><th>Run</th><th>Started</th><th>Outcome</th>{% for t in tasks %}<th>{{ t }}</th>{% endfor %}</tr>
{% for row in rows %}
<tr><td>{% if row.run.get('run_url') %}<a href="{{ row.run.get('run_url') }}">{{ row.run.run_id }}</a>{% else %}{{ row.run.run_id }}{% endif %}</td>
<td class="num">{{ row.run.get('started_at') or "" }}</td>
<td><span class="badge b-{{ row.badge }}">{{ verdict_text.get(row.badge, row.badge) }}</span></td>
{% for cell in row.cells %}<td>{% if cell %}{% if cell.href %}<a href="{{ cell.href }}" title="{{ cell.summary }}">{% endif %}<span class="badge b-{{ cell.badge }}">{{ verdict_text.get(cell.badge, cell.badge) }}</span>{% if cell.href %}</a>{% endif %}
{% if cell.headline %}<div class="muted">{{ cell.headline }}</div>{% endif %}{% else %}<span class="muted">—</span>{% endif %}</td>{% endfor %}
</tr>
{% endfor %}
</table>
{% if h.get('older_url') %}<p><a href="{{ h.get('older_url') }}" id="older">Older runs</a></p>{% endif %}
{% if charts %}<h2>Trends</h2>
{% for c in charts %}<div class="chart">{{ c.svg | safe }}</div>{% endfor %}
{% elif rows | length < 2 %}<p class="muted">Trend charts appear from the second run on.</p>{% endif %}
{% else %}<p>No alignment result was stored for this DAG yet.</p>{% endif %}
{% endblock %}
"""

_MESSAGE = """{% extends "base.html" %}
{% block body %}
<h1>{{ title }}</h1>
<p>{{ message }}</p>
{% endblock %}
"""

TEMPLATES = {
    "base.html": _BASE,
    "report.html": _REPORT,
    "run.html": _RUN,
    "history.html": _HISTORY,
    "message.html": _MESSAGE,
}
