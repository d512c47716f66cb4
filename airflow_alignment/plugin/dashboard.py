"""The Alignment summary on Airflow's home dashboard (Airflow 3.1+: a React app plugin).

Airflow's dashboard shows React app plugins, not external views. Airflow imports the module at
``bundle_url`` and renders the function it leaves in ``globalThis.AirflowPlugin`` as a React
component. Ours renders one element, an iframe of the plugin's compact overview page
(``/alignment/overview?compact=1``), so the summary is the same server-rendered, escaped HTML
behind the same auth as every other page, and the plugin ships no JavaScript framework: the
element is written as the plain object React's ``jsx()`` returns (React 19, which Airflow 3.1 to
3.3 use). The summary's links open in the whole window (``target="_top"``).
"""

from __future__ import annotations

DASHBOARD_JS = """\
// airflow-alignment: the Alignment summary on Airflow's home dashboard (see plugin/dashboard.py).
const REACT_ELEMENT = Symbol.for("react.transitional.element");
// this module is served at <root>/alignment/static/dashboard.js; the page is <root>/alignment/overview
const page = new URL("../overview?compact=1", import.meta.url);

function AlignmentSummary() {
  return {
    $$typeof: REACT_ELEMENT,
    type: "iframe",
    key: null,
    ref: null,
    props: {
      src: page.pathname + page.search,
      title: "Alignment summary",
      style: { width: "100%", height: "220px", border: "0" },
    },
    _owner: null,
    _store: {},
  };
}

globalThis.AirflowPlugin = AlignmentSummary;
export default AlignmentSummary;
"""
