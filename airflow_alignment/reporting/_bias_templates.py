"""Jinja templates of the bias section (rendered with autoescaping by ``reporting/bias_view.py``).

The SVG is written here from coordinates computed in :mod:`.bias_view`; every text in it (label
values, tooltips) goes through the autoescaping like the rest of the page.
"""

from __future__ import annotations

_STYLE = """<style>
.bias-legend { font-size: 12px; color: var(--muted, #5f6b7a); }
.bias-legend i { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; vertical-align: -1px; }
.bias-gauge svg, .bias-bar svg { display: block; }
.bias-desc { font-size: 12px; color: var(--muted, #5f6b7a); overflow-wrap: anywhere; }
td.bias-metric { overflow-wrap: anywhere; min-width: 180px; }
td.bias-in { text-align: center; }
</style>"""

_SVG = """{% macro gauge(g) %}
<svg xmlns="http://www.w3.org/2000/svg" width="{{ gauge_box.width }}" height="{{ gauge_box.height }}" viewBox="0 0 {{ gauge_box.width }} {{ gauge_box.height }}" role="img"><title>{{ g.tip }}</title>
{% if g.allowed %}<rect x="{{ g.allowed.x }}" y="{{ gauge_box.axis - 7 }}" width="{{ g.allowed.w }}" height="14" fill="{{ status_colours.passed }}" fill-opacity="0.14"/>{% endif %}
<line x1="{{ gauge_box.left }}" x2="{{ gauge_box.width - gauge_box.right }}" y1="{{ gauge_box.axis }}" y2="{{ gauge_box.axis }}" stroke="#90a4ae"/>
{% if g.ideal is not none %}<line x1="{{ g.ideal }}" x2="{{ g.ideal }}" y1="{{ gauge_box.axis - 8 }}" y2="{{ gauge_box.axis + 8 }}" stroke="#455a64" stroke-dasharray="2 2"/>{% endif %}
{% if g.ci %}<line x1="{{ g.ci.x1 }}" x2="{{ g.ci.x2 }}" y1="{{ gauge_box.axis }}" y2="{{ gauge_box.axis }}" stroke="{{ g.colour }}" stroke-width="4" stroke-opacity="0.45"/>{% endif %}
<circle cx="{{ g.value }}" cy="{{ gauge_box.axis }}" r="4.5" fill="{{ g.colour }}"/>
{% for t in g.ticks %}<text x="{{ t.x }}" y="{{ gauge_box.height - 2 }}" text-anchor="{{ t.anchor }}" font-size="9" fill="#5f6b7a">{{ t.label }}</text>{% endfor %}
</svg>
{% endmacro %}
{% macro bar(segments) %}
<svg xmlns="http://www.w3.org/2000/svg" width="{{ bar_box.width }}" height="{{ bar_box.height }}" viewBox="0 0 {{ bar_box.width }} {{ bar_box.height }}" role="img">
<rect x="0" y="0" width="{{ bar_box.width }}" height="{{ bar_box.height }}" fill="#eceff1"/>
{% for s in segments %}<rect x="{{ s.x }}" y="0" width="{{ s.w }}" height="{{ bar_box.height }}" fill="{{ s.colour }}"><title>{{ s.tip }}</title></rect>{% endfor %}
</svg>
{% endmacro %}"""

_SECTION = (
    _STYLE
    + _SVG
    + """
<section class="bias" id="bias">
<h2>{{ heading }}</h2>
<p class="bias-legend">Failing facets first, failing metrics first. On each axis: the value (dot), its interval (bar), the allowed region (shaded) and the value without bias (dashed).
{% if legend %}<br>Label shares:{% for l in legend %}<i style="background: {{ l.colour }}"></i>{{ l.label }}{% if l.positive %} (positive){% endif %}{% endfor %}{% endif %}</p>
{% for f in facets %}
<h3 id="{{ f.id }}">{{ f.title }} <span class="badge b-{{ f.state }}">{{ f.state }}</span></h3>
{% if f.sides %}
<table class="meta">
<tr><th>Side</th><th>Rows</th><th>Positive labels</th><th>Label shares</th></tr>
{% for s in f.sides %}<tr><td>{{ s.name }}</td><td class="num">{{ s.rows }}</td><td class="num">{{ s.positive_share }}</td><td class="bias-bar">{{ bar(s.bar) }}</td></tr>
{% endfor %}
</table>
{% endif %}
<table>
<tr><th>Metric</th><th>Value</th><th>Bound</th><th>Interval</th><th></th><th>Result</th></tr>
{% for m in f.metrics %}<tr><td class="bias-metric">{{ m.name }}{% if m.alpha %} <span class="muted">(alpha {{ m.alpha }})</span>{% endif %}<div class="bias-desc">{{ m.description }} · {{ m.library }}</div>
{% if m.notes %}<ul class="notes">{% for n in m.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}</td>
<td class="num">{{ m.value }}</td><td class="num">{{ m.bound }}</td><td class="num">{{ m.interval }}</td>
<td class="bias-gauge">{% if m.gauge %}{{ gauge(m.gauge) }}{% endif %}</td>
<td><span class="badge b-{{ m.state }}">{{ m.state }}</span></td></tr>
{% endfor %}
</table>
{% endfor %}
{% if groups %}
<h2>Label distribution by group</h2>
<table>
<tr><th>Group</th><th>Rows</th><th>In the facet</th><th>Positive labels</th><th>Label shares</th></tr>
{% for g in groups %}<tr><td>{{ g.group }}</td><td class="num">{{ g.rows }}</td><td class="bias-in">{{ "d" if g.in_facet else "" }}</td>
<td class="num">{{ g.positive_share }}</td><td class="bias-bar">{{ bar(g.bar) }}</td></tr>
{% endfor %}{% if groups_more %}<tr><td colspan="5" class="muted">+{{ groups_more }} more groups in the stored result</td></tr>{% endif %}
</table>
{% endif %}
{% if baseline %}<h3>Baseline</h3><p class="muted">{{ baseline }}</p>{% endif %}
{% if settings %}<details><summary>Settings</summary><pre>{{ settings }}</pre></details>{% endif %}
</section>
"""
)

BIAS_TEMPLATES = {"bias_section.html": _SECTION}
