"""Jinja templates of the HTML pages (rendered with autoescaping by ``reporting/html.py``).

Kept as Python strings so the package needs no data files. ``|safe`` appears only on SVG that
matplotlib wrote and on the drift and bias sections (rendered, escaped, by their own views).
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
{% if bias %}{{ bias | safe }}{% endif %}
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
{% if drift %}{{ drift | safe }}{% endif %}
{% if other_metrics %}<h2>{{ "Other metrics" if drift else "Metrics" }}</h2><pre>{{ other_metrics }}</pre>{% endif %}
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

_OVERVIEW = """{% extends "base.html" %}
{% block body %}
<h1>Alignment overview</h1>
<p class="muted">{{ rows | length }} model(s) across the DAGs you may read, newest decision of each{% if o.get('filters') %} · filtered by {% for k, v in o.filters.items() %}{{ k }} = <strong>{{ v }}</strong>{% if not loop.last %}, {% endif %}{% endfor %} · <a href="{{ o.all_url }}">show all</a>{% endif %} · <a href="{{ o.json_url }}">JSON</a></p>
<p class="muted" id="counts">{% for v, n in counts %}<a href="{{ n.url }}"><span class="badge b-{{ v }}">{{ verdict_text.get(v, v) }}</span></a> {{ n.count }}{% if not loop.last %} · {% endif %}{% endfor %}</p>
{% if o.reviews %}
<h2 id="reviews">Waiting for a person ({{ o.reviews | length }})</h2>
<table>
<tr><th>Review</th><th>DAG</th><th>Run</th><th>Waiting since</th></tr>
{% for r in o.reviews %}<tr><td><a href="{{ r.url }}" target="_top">{{ r.subject }}</a></td><td>{{ r.dag_id }}</td><td>{{ r.run_id }}</td><td class="num">{{ r.created_at }}</td></tr>
{% endfor %}
</table>
{% endif %}
{% if rows %}
<h2>Models</h2>
<table id="models">
<tr><th>Policy</th><th>Model</th><th>Latest verdict</th><th>When</th><th>Policy version</th><th>Owner</th><th>Last approved</th><th>Recent verdicts</th></tr>
{% for r in rows %}
<tr><td>{% if r.policy_name %}<a href="{{ r.policy_url }}">{{ r.policy_name }}</a>{% else %}<span class="muted">—</span>{% endif %}</td>
<td><strong>{{ r.model }}</strong><div class="muted">{{ r.dag_id }}</div></td>
<td><a href="{{ r.run_url }}"><span class="badge b-{{ r.verdict }}">{{ verdict_text.get(r.verdict, r.verdict) }}</span></a>{% if r.reviewer %}<div class="muted">reviewed by {{ r.reviewer }}</div>{% endif %}{% if r.failing %}<div class="muted">failing: {{ r.failing | join(", ") }}</div>{% endif %}{% if r.unreadable %}<div class="error">unreadable entry: {{ r.unreadable }}</div>{% endif %}{% if r.get('dossier_url') %}<div><a href="{{ r.dossier_url }}">dossier</a></div>{% endif %}</td>
<td class="num">{{ r.when }}</td>
<td>{% if r.policy %}{{ r.policy.get('version') }} <code title="sha256 {{ r.policy.get('sha256') }}">{{ (r.policy.get('sha256') or '')[:12] }}</code>{% else %}<span class="muted">—</span>{% endif %}</td>
<td>{% if r.owner %}<a href="{{ r.owner_url }}">{{ r.owner }}</a>{% else %}<span class="muted">—</span>{% endif %}</td>
<td>{% if r.last_approved %}<a href="{{ r.last_approved.run_url }}">{{ r.last_approved.when }}</a>{% else %}<span class="muted">never</span>{% endif %}</td>
<td>{{ r.sparkline | safe }}</td></tr>
{% endfor %}
</table>
{% else %}<p>No gate decision about a model is stored yet{% if o.get('filters') %} for these filters{% endif %}. A gate with <code>model=</code> records one each time it decides.</p>{% endif %}
{% endblock %}
"""

_DOSSIER = """{% extends "base.html" %}
{% block body %}
<style>
@media print { body { padding: 0; font-size: 11px; } a { color: inherit; text-decoration: none; }
               tr, .verdict, pre { break-inside: avoid; } h2 { break-after: avoid; } }
pre.policy { background: var(--soft); padding: 10px; border-radius: 6px; white-space: pre-wrap; font-size: 12px; }
.ok { color: {{ status_colours.passed }}; font-weight: 600; } .bad { color: {{ status_colours.failed }}; font-weight: 600; }
</style>
<h1>Compliance dossier: {{ d.policy_name }} / {{ d.model }}</h1>
<p class="muted">Decision in run {{ dec.run_id }} of DAG {{ dec.dag_id }} · generated {{ d.generated_at }}{% if d.get('json_url') %} · <a href="{{ d.json_url }}">JSON</a>{% endif %}</p>
<div class="verdict v-{{ dec.verdict }}" id="verdict"><strong>{{ verdict_text.get(dec.verdict, dec.verdict) }}</strong>{{ dec.summary }}</div>
<table class="meta" id="decision">
<tr><th>Run</th><td>{% if d.get('run_url') %}<a href="{{ d.run_url }}">{{ dec.run_id }}</a>{% else %}{{ dec.run_id }}{% endif %} (run after {{ dec.run_after }})</td></tr>
<tr><th>Gate</th><td>{{ dec.task_id }}, try {{ dec.try_number }}, decided {{ dec.decided_at or "—" }}</td></tr>
<tr><th>Review</th><td>{% if dec.reviewed %}{{ verdict_text.get(dec.verdict, dec.verdict) }} by <strong>{{ reviewer }}</strong> at {{ dec.responded_at }}{% else %}no person reviewed this decision (the checks decided){% endif %}</td></tr>
<tr><th>Policy</th><td>{{ p.name }} version {{ p.version }} · sha256 <code>{{ p.sha256 }}</code> {% if p.snapshot and p.snapshot.verified %}<span class="ok" id="policy-verified">✓ snapshot matches the hash</span>{% elif p.snapshot %}<span class="bad">✗ the stored snapshot does not match the hash</span>{% else %}<span class="muted">{{ p.get('note') }}</span>{% endif %}</td></tr>
<tr><th>Audit</th><td>{% if a.complete %}<span class="ok" id="audit-verified">✓ {{ a.verified }} record(s), every checksum verified, every check and the gate recorded</span>{% else %}<span class="bad" id="audit-incomplete">✗ {{ a.verified }} verified record(s){% if a.damaged_in_window %}, {{ a.damaged_in_window }} damaged{% endif %}{% if not a.gate_recorded %}, the gate's decision has no record{% endif %}{% if a.checks_without_record %}, no record of {{ a.checks_without_record | join(", ") }}{% endif %}</span>{% endif %}</td></tr>
</table>

{% if d.coverage %}<h2>Requirements coverage</h2>
<table id="coverage"><tr><th>Requirement</th><th>Evidenced by</th><th>Status</th></tr>
{% for r in d.coverage %}<tr><td>{{ r.requirement }}</td><td>{% for c in r.checks %}{{ c.check }} <span class="badge b-{{ c.status }}">{{ c.status }}</span>{% if not loop.last %}<br>{% endif %}{% endfor %}</td><td><span class="badge b-{{ r.status }}">{{ r.status }}</span></td></tr>
{% endfor %}</table>{% endif %}

<h2>Checks and the data they read</h2>
<table id="checks"><tr><th>Check</th><th>Status</th><th>Summary</th><th>Data</th></tr>
{% for c in d.checks %}<tr><td>{% if c.get('report_url') %}<a href="{{ c.report_url }}">{{ c.check }}</a>{% else %}{{ c.check }}{% endif %}<div class="muted">{{ c.kind or "" }} · {{ c.severity }}</div></td>
<td><span class="badge b-{{ c.status }}">{{ c.status }}</span></td><td>{{ c.summary or c.get('error') or "" }}</td>
<td>{% if c.data.source %}{{ c.data.source }}{% endif %}{% if c.data.rows is not none %}<div>{{ fmt(c.data.rows) }} rows</div>{% endif %}{% if c.data.fingerprint %}<div class="muted"><code>{{ c.data.fingerprint }}</code></div>{% endif %}{% if c.data.dataset %}<div class="muted">OpenLineage: {{ c.data.dataset.namespace }} · {{ c.data.dataset.name }}</div>{% endif %}</td></tr>
{% endfor %}</table>
{% for c in d.checks if c.assertions %}<h3>{{ c.check }}</h3>
<table><tr><th>Assertion</th><th>Observed</th><th>Bound</th><th>Result</th></tr>
{% for x in c.assertions %}<tr><td>{{ x.name }}</td><td class="num">{{ fmt(x.observed) }}</td><td>{{ bound(x.expected) }}</td><td>{% if x.success %}<span class="ok">pass</span>{% else %}<span class="bad">fail</span>{% endif %}</td></tr>
{% endfor %}</table>{% endfor %}

<h2>Compared with the previous approved version</h2>
{% if prev %}<p>Run {% if prev.get('run_url') %}<a href="{{ prev.run_url }}">{{ prev.run_id }}</a>{% else %}{{ prev.run_id }}{% endif %} of {{ prev.dag_id }}{% if prev.policy %}, policy version {{ prev.policy.version }}{% if prev.policy.sha256 != p.sha256 %} (<strong>a different policy version</strong>){% endif %}{% endif %}: {{ prev.summary }}</p>
<table id="changes"><tr><th>Check</th><th>Assertion</th><th>Then</th><th>Now</th><th>Bound</th></tr>
{% for x in prev.changes %}<tr><td>{{ x.check }}</td><td>{{ x.assertion }}</td><td class="num">{{ fmt(x.before) }}{% if x.passed_before is false %} <span class="bad">fail</span>{% endif %}</td><td class="num">{{ fmt(x.after) }}{% if x.passed_after is false %} <span class="bad">fail</span>{% endif %}</td><td>{{ bound(x.expected) }}</td></tr>
{% endfor %}</table>
{% else %}<p class="muted">No earlier approved version of this model.</p>{% endif %}

<h2>Policy as it was</h2>
{% if p.get('checks') %}<p>Owner: {{ p.owner or "—" }}{% if p.description %} · {{ p.description }}{% endif %}{% if p.references %} · references: {{ p.references | join("; ") }}{% endif %}</p>
<table id="policy-checks"><tr><th>Check</th><th>Severity</th><th>Owner</th><th>Thresholds</th><th>Rationale</th><th>References</th></tr>
{% for c in p.checks %}<tr><td>{{ c.name }}<div class="muted">{{ c.kind }}</div></td><td>{{ c.severity }}</td><td>{{ c.owner or "—" }}</td><td><code>{{ c.thresholds | tojson }}</code></td><td>{{ c.rationale or "" }}</td><td>{{ c.references | join("; ") }}</td></tr>
{% endfor %}</table>{% endif %}
{% if p.get('text') %}<pre class="policy" id="policy-text">{{ p.text }}</pre>{% elif p.get('content') %}<p class="muted">Given as a mapping, not YAML text; its content, as hashed:</p><pre class="policy" id="policy-text">{{ p.content | tojson(indent=2) }}</pre>{% endif %}

<h2>Audit records</h2>
<table id="audit"><tr><th>Time</th><th>Task</th><th>Try</th><th>Kind</th><th>Status</th><th>Checksum</th></tr>
{% for r in a.records %}<tr><td class="num">{{ r.time }}</td><td>{{ r.task_id }}</td><td class="num">{{ r.try_number }}</td><td>{{ r.kind }}</td><td>{{ r.verdict or r.status }}</td><td><code title="{{ r.sha256 }}">{{ (r.sha256 or "")[:16] }}</code> <span class="ok">✓</span></td></tr>
{% endfor %}</table>
{% endblock %}
"""

_OVERVIEW_SUMMARY = """{% extends "base.html" %}
{% block body %}
<h1><a href="{{ full_page }}" target="_top">Alignment</a></h1>
<p class="muted" id="counts">{{ o.models | length }} model(s){% for v, n in counts %} · <span class="badge b-{{ v }}">{{ verdict_text.get(v, v) }}</span> {{ n.count }}{% endfor %}{% if o.reviews %} · <strong>{{ o.reviews | length }} review(s) waiting</strong>{% endif %}</p>
{% if rows %}
<table id="models">
{% for r in rows[:shown] %}<tr><td><strong>{{ r.model }}</strong> <span class="muted">{{ r.policy_name or "" }}</span></td>
<td><a href="{{ r.run_url }}" target="_top"><span class="badge b-{{ r.verdict }}">{{ verdict_text.get(r.verdict, r.verdict) }}</span></a></td>
<td class="num">{{ r.when }}</td><td>{{ r.sparkline | safe }}</td></tr>
{% endfor %}
</table>
{% if rows | length > shown %}<p class="muted"><a href="{{ full_page }}" target="_top">all {{ rows | length }} models</a></p>{% endif %}
{% else %}<p class="muted">No gate decision about a model yet.</p>{% endif %}
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
    "overview.html": _OVERVIEW,
    "overview_summary.html": _OVERVIEW_SUMMARY,
    "dossier.html": _DOSSIER,
}
