"""The docs' examples run: plain-Python blocks are executed, DAG blocks run with dag.test(),
and the log line a page promises is the summary the check really produced."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import DAG_FOLDER, ROOT, checked, load_dag, xcom_value

DOCS = ROOT / "docs"
MARK = re.compile(r"<!-- test: (python|dag (\w+)) -->\n```python\n(.*?)```", re.S)
PROMISE = re.compile(r"<!-- log -->\n```\n(\w+ (?:FAILED|PASSED|WARNED): )?(.+?)\n")


def _examples(kind: str):
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text()
        for match in MARK.finditer(text):
            if match.group(1).split()[0] != kind:
                continue
            rest = text[match.end() :]
            promise = PROMISE.search(rest)
            yield pytest.param(
                match.group(2),
                match.group(3),
                promise.group(2) if promise else None,
                id=f"{page.relative_to(DOCS)}:{match.group(2) or text[: match.start()].count(chr(10))}",
            )


@pytest.mark.parametrize(("dag_id", "code", "promise"), list(_examples("python")))
def test_python_examples_run(dag_id, code, promise):
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.airflow
@pytest.mark.parametrize(("dag_id", "code", "promise"), list(_examples("dag")))
def test_dag_examples_run_and_say_what_the_page_says(airflow_home, dag_id, code, promise):
    path = DAG_FOLDER / f"docs_{dag_id}.py"
    path.write_text(code)
    run = load_dag(path, dag_id).test()
    summaries = []
    for ti in run.get_task_instances():
        value = xcom_value(run, ti.task_id)
        if isinstance(value, dict) and str(value.get("schema", "")).startswith("airflow-alignment/"):
            summaries.append(checked(value)["summary"])
    assert summaries, "the example produced no alignment result"
    if promise:
        parts = [p for p in promise.split("...") if p.strip()]
        assert any(all(p in s for p in parts) for s in summaries), (promise, summaries)
