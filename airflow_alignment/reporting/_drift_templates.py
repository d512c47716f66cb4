"""Jinja templates of the drift section (rendered with autoescaping by ``reporting/drift_view.py``).

The SVG is written here from coordinates computed in :mod:`.drift_view`; every text in it (bin
labels, tooltips) goes through the autoescaping like the rest of the page.
"""

from __future__ import annotations

_STYLE = """<style>
.drift-verdict { border-radius: 6px; padding: 12px 16px; margin: 10px 0 16px; color: #fff; font-size: 15px; }
.drift-verdict strong { font-size: 19px; margin-right: 10px; }
.drift-drifted { background: {{ status_colours.failed }}; }
.drift-stable { background: {{ status_colours.passed }}; }
.drift-undefined { background: #78909c; }
.drift-grid { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 18px; }
.drift-card { width: 236px; border: 1px solid var(--line, #e3e8ee); border-top: 4px solid #90a4ae; border-radius: 4px;
              padding: 6px; color: inherit; text-decoration: none; }
.drift-card.s-drifted { border-top-color: {{ status_colours.failed }}; }
.drift-card.s-stable { border-top-color: {{ status_colours.passed }}; }
.drift-card.s-warned { border-top-color: {{ status_colours.warned }}; }
.drift-card.flagged { border-top-color: {{ status_colours.warned }}; }
.drift-card .name { font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.drift-card .line { font-size: 12px; color: var(--muted, #5f6b7a); }
.drift-card svg, .drift-chart svg { display: block; width: 100%; height: auto; }
.drift-chart { max-width: 760px; margin: 6px 0 4px; }
.drift-legend { font-size: 12px; color: var(--muted, #5f6b7a); }
.drift-legend i { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; }
.b-drifted { background: {{ status_colours.failed }}; }
.b-stable { background: {{ status_colours.passed }}; }
.b-warned { background: {{ status_colours.warned }}; }
.b-undefined { background: #78909c; }
.b-unusual { background: {{ status_colours.warned }}; }
</style>"""

_SVG_BARS = """{% macro bars(c, small) %}
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{ c.width }} {{ c.height }}" role="img">
{% for t in c.ticks %}<line x1="{{ c.left }}" x2="{{ c.right }}" y1="{{ t.y }}" y2="{{ t.y }}" stroke="#eceff1"/>
<text x="{{ c.left - 4 }}" y="{{ t.y + 3 }}" text-anchor="end" font-size="10" fill="#5f6b7a">{{ t.label }}</text>
{% endfor %}
{% for b in c.bars %}<g><title>{{ b.tip }}</title>
<rect x="{{ b.ref.x }}" y="{{ b.ref.y }}" width="{{ b.ref.w }}" height="{{ b.ref.h }}" fill="{{ colours.reference }}"{% if b.unusual %} fill-opacity="0.55"{% endif %}/>
<rect x="{{ b.cur.x }}" y="{{ b.cur.y }}" width="{{ b.cur.w }}" height="{{ b.cur.h }}" fill="{{ colours.current }}" fill-opacity="0.85"/>
{% if not small %}{% if c.rotate %}<text transform="translate({{ b.label_x }} {{ c.base + 10 }}) rotate(-40)" text-anchor="end" font-size="10" fill="#37474f">{{ b.label }}</text>
{% else %}<text x="{{ b.label_x }}" y="{{ c.base + 14 }}" text-anchor="middle" font-size="10" fill="#37474f">{{ b.label }}</text>
{% endif %}{% endif %}</g>
{% endfor %}
<line x1="{{ c.left }}" x2="{{ c.right }}" y1="{{ c.base }}" y2="{{ c.base }}" stroke="#90a4ae"/>
</svg>
{% endmacro %}"""

_SECTION = (
    _STYLE
    + _SVG_BARS
    + """
<section class="drift" id="drift">
<div class="drift-verdict drift-{{ dataset.state }}" id="drift-verdict"><strong>{{ dataset.headline }}</strong>{{ dataset.text }}</div>
<h2>Features</h2>
<p class="drift-legend">Share of rows per bin:<i style="background: {{ colours.reference }}"></i>reference<i style="background: {{ colours.current }}"></i>current. Drifted features first.</p>
<div class="drift-grid">
{% for f in features %}<a class="drift-card s-{{ f.state }}{% if f.flagged %} flagged{% endif %}" href="#{{ f.id }}">
<div class="name" title="{{ f.name }}">{{ f.name }}</div>
<div class="line">{{ f.state }}{% if f.flagged %}, unusual values{% endif %} · {{ f.headline }}</div>
{% if f.mini %}{{ bars(f.mini, true) }}{% endif %}
</a>
{% endfor %}
</div>
{% for f in features %}
<h3 id="{{ f.id }}">{{ f.name }} <span class="badge b-{{ f.state }}">{{ f.state }}</span>{% if f.flagged %} <span class="badge b-unusual">unusual values</span>{% endif %}</h3>
<div class="muted">{{ f.headline }} · {{ f.reason if f.reason and f.reason != "asked" else f.kind }} · rows: reference {{ f.rows.reference }}, current {{ f.rows.current }}</div>
{% if f.chart %}<div class="drift-chart">{{ bars(f.chart, false) }}</div>
{% if f.chart.more %}<div class="muted">{{ f.chart.more }} bins with the fewest rows are drawn as one bar; the table lists every bin.</div>{% endif %}
{% endif %}
<table>
<tr><th>Method</th><th>Number</th><th>Value</th><th>Statistic</th><th>Drift when</th><th>Outcome</th></tr>
{% for r in f.results %}<tr><td>{{ r.method }}{% if r.judged %} <span class="muted">(judged)</span>{% endif %}</td><td>{{ r.number }}</td>
<td class="num">{{ r.value }}</td><td class="num">{{ r.statistic }}</td><td class="num">{{ r.bound }}</td><td><span class="badge b-{{ r.outcome }}">{{ r.outcome }}</span></td></tr>
{% endfor %}
{% for u in f.unusual %}<tr><td>{{ u.what }} values</td><td>count (share)</td><td class="num">current {{ u.current }}</td><td class="num">reference {{ u.reference }}</td>
<td>{% if u.ok is none %}no bound set{% else %}current share above its bound{% endif %}</td><td>{% if u.ok is not none %}<span class="badge b-{{ 'stable' if u.ok else 'unusual' }}">{{ 'within' if u.ok else 'too many' }}</span>{% endif %}</td></tr>
{% endfor %}
</table>
{% if f.new_categories %}<div class="muted">Not in the reference ({{ f.new_count }} current rows): {{ f.new_categories | join(", ") }}</div>{% endif %}
{% if f.notes %}<ul class="notes">{% for n in f.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
<details><summary>{{ f.name }}: bins (table)</summary>
<table><tr><th>Bin</th><th>Reference</th><th></th><th>Current</th><th></th></tr>
{% for b in f.table %}<tr><td>{{ b.bin }}</td><td class="num">{{ b.reference }}</td><td class="num">{{ b.reference_share }}</td>
<td class="num">{{ b.current }}</td><td class="num">{{ b.current_share }}</td></tr>
{% endfor %}{% if f.table_more %}<tr><td colspan="5" class="muted">+{{ f.table_more }} more bins in the stored result</td></tr>{% endif %}</table></details>
{% endfor %}
</section>
"""
)

_PAGE = """{% extends "base.html" %}
{% block body %}
<h1>{{ title }}</h1>
{% include "drift_section.html" %}
{% endblock %}
"""


DRIFT_TEMPLATES = {"drift_section.html": _SECTION, "drift_page.html": _PAGE}
