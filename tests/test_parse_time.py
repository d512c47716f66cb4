"""Parsing a DAG must not import the heavy libraries (docs/architecture.md, "Heavy libraries").

Each test starts a fresh interpreter (a module imported by an earlier test would hide a leak),
imports what the DAG processor imports, and asserts that none of the heavy libraries got
loaded. A leak names the library and the line of our code that first imported it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"
HEAVY = ("great_expectations", "fairlearn", "sklearn", "scipy", "pandas", "numpy", "pyarrow", "pyspark")

# Runs in the child. A meta-path finder remembers who first asked for each heavy library, so a
# failure points at our import line instead of only naming the module.
_PROBE = r"""
import importlib, importlib.util, json, sys, traceback

HEAVY = set(json.loads(sys.argv[1]))
first_import = {}

def _ours(filename):
    # our code or a DAG file: not the standard library, not an installed package
    return not (filename.startswith("<") or "site-packages" in filename
                or filename.startswith((sys.prefix, sys.base_prefix)))

class Recorder:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in HEAVY and top not in first_import:
            frames = [f for f in traceback.extract_stack()[:-1] if _ours(f.filename)]
            where = frames[-1] if frames else None
            first_import[top] = f"{where.filename}:{where.lineno}: {where.line}" if where else "?"
        return None

sys.meta_path.insert(0, Recorder())

def leaked():
    return {m: first_import.get(m, "?") for m in sorted(HEAVY) if m in sys.modules}

report = {"steps": []}
def step(label, action):
    action()
    report["steps"].append({"label": label, "leaked": leaked()})

def run(kind, targets):
    if kind == "dags":
        step("import airflow_alignment.operators", lambda: importlib.import_module("airflow_alignment.operators"))
        for i, path in enumerate(targets):
            def exec_file(path=path, i=i):
                spec = importlib.util.spec_from_file_location(f"_parse_probe_dag_{i}", path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module
                spec.loader.exec_module(module)
            step(f"exec {path}", exec_file)
    else:
        for target in targets:
            module, _, attr = target.partition(":")
            def load(module=module, attr=attr):
                obj = importlib.import_module(module)
                if attr:
                    getattr(obj, attr)
            step(f"import {target}", load)

run(sys.argv[2], json.loads(sys.argv[3]))
print("PROBE-REPORT " + json.dumps(report))
"""


def _probe(kind: str, targets: list[str]) -> list[dict[str, object]]:
    home = tempfile.mkdtemp(prefix="alignment-parse-home-")
    env = {
        **os.environ,
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "ALIGNMENT_SAMPLE_DATA": os.path.join(home, "sample-data"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(HEAVY), kind, json.dumps(targets)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=300,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("PROBE-REPORT ")]
    assert proc.returncode == 0 and lines, f"the probe crashed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1].removeprefix("PROBE-REPORT "))["steps"]


def _first_leak(steps: list[dict[str, object]]) -> str | None:
    for step in steps:
        leaked = step["leaked"]
        if leaked:
            detail = "; ".join(f"{mod} (first imported at {where})" for mod, where in leaked.items())
            return f"{step['label']} imported heavy libraries: {detail}"
    return None


def _provider_targets() -> list[str]:
    from airflow_alignment.provider import get_provider_info

    info = get_provider_info()
    targets: list[str] = []
    for section in ("operators", "sensors", "triggers", "hooks"):
        for entry in info.get(section) or []:
            targets += entry.get("python-modules") or []
    for dotted in (info.get("extra-links") or []) + (info.get("notifications") or []):
        module, _, name = dotted.rpartition(".")
        targets.append(f"{module}:{name}")
    for plugin in info.get("plugins") or []:
        module, _, name = plugin["plugin-class"].rpartition(".")
        targets.append(f"{module}:{name}")
    return targets


def test_dag_files_parse_without_heavy_imports() -> None:
    files = sorted(str(p) for p in DAGS.glob("*.py") if not p.name.startswith("_"))
    assert files, f"no DAG files in {DAGS}"
    steps = _probe("dags", files)
    leak = _first_leak(steps)
    assert leak is None, leak
    print(f"parsed {len(files)} DAG file(s) without importing {', '.join(HEAVY)}")


def test_provider_modules_import_without_heavy_imports() -> None:
    targets = _provider_targets()
    assert any(t.startswith("airflow_alignment.operators") for t in targets), targets
    steps = _probe("provider", targets)
    leak = _first_leak(steps)
    assert leak is None, leak
    print(f"imported {len(targets)} provider module(s) without importing {', '.join(HEAVY)}")
