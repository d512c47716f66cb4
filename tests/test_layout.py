"""The package's layout (docs/architecture.md): the import graph has no cycle, each layer imports
only from the layers below it, imports of our own modules sit at module top, and the package
root offers the public names lazily."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import airflow_alignment

ROOT = Path(airflow_alignment.__file__).parent
PACKAGE = "airflow_alignment"

# Lowest first. A module may import (at module top) only from its own layer and the ones before.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("(root)",),  # __version__, the lazy public names: imports nothing of ours at module top
    ("exceptions",),
    ("limits",),
    ("results",),  # the result contract, shared by everything above
    ("specs",),
    ("io",),
    ("engines",),
    ("policy",),
    ("spark",),  # Spark as the engine: reads through io, judges with engines
    ("store",),
    ("urls",),
    ("reporting",),
    ("links",),
    ("tasks",),
    ("triggers",),
    ("operators",),
    ("sensors",),
    ("taskgroup", "notifications", "samples"),
    ("provider", "plugin", "cli", "__main__"),
)
# Own modules imported inside a function on purpose (each with its reason).
LAZY_OWN_IMPORTS = {
    # the plugin's FastAPI app is built only when Airflow asks for the plugin, never at DAG parse time
    ("airflow_alignment.plugin", "airflow_alignment.plugin._plugin"),
    # the command line sets Airflow's log level before anything imports Airflow
    ("airflow_alignment.__main__", "airflow_alignment.cli"),
    # the bias formulas import numpy at module top; their judging is imported when a DAG is parsed
    ("airflow_alignment.engines.bias.judge", "airflow_alignment.engines.bias.metrics"),
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join((PACKAGE, *path.relative_to(ROOT).with_suffix("").parts))
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _targets(node: ast.Import | ast.ImportFrom) -> list[str]:
    """Our modules an import statement loads (``from pkg import submodule`` is the submodule)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name in MODULES]
    base = node.module or ""
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names if base in MODULES]


def _imports(path: Path) -> tuple[set[str], list[tuple[int, str]]]:
    """(our modules imported at module top, [(line, module) imported inside a function])."""
    top: set[str] = set()
    inner: list[tuple[int, str]] = []

    def walk(nodes: list[ast.stmt], in_function: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                walk(node.orelse, in_function)  # annotations only: never imported at run time
                continue
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(node):
                    (inner.append((node.lineno, target)) if in_function else top.add(target))
            inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    walk([c for c in children if isinstance(c, (ast.stmt, ast.ExceptHandler))], inside)

    walk(ast.parse(path.read_text()).body, False)
    return top, inner


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def _layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "(root)"
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module}: not in any layer of LAYERS; add {top!r} to the layer it belongs to")


def test_the_graph_is_read():
    """The graph is the package's: the modules and imports this test judges are really there."""
    assert len(MODULES) > 50
    assert "airflow_alignment.engines.binary.cells" in GRAPH["airflow_alignment.engines.fairness"][0]
    assert "airflow_alignment.tasks.base" in GRAPH["airflow_alignment.sensors.base"][0]


def test_the_import_graph_has_no_cycle():
    edges = {m: {t for t in top if t != m} | {t for _, t in inner if t != m} for m, (top, inner) in GRAPH.items()}
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_each_layer_imports_only_from_below():
    upward = [
        f"{module} imports {target}"
        for module, (top, _) in GRAPH.items()
        for target in top
        if _layer(target) > _layer(module)
    ]
    assert upward == [], "imports against the flow (see LAYERS and docs/architecture.md)"


def test_own_modules_are_imported_at_module_top():
    inner = [
        f"{MODULES[module].relative_to(ROOT.parent)}:{line}: {target}"
        for module, (_, imports) in GRAPH.items()
        for line, target in imports
        if (module, target) not in LAZY_OWN_IMPORTS
    ]
    assert inner == [], "move these imports to the module top (in functions: heavy third-party libraries only)"


PUBLIC = [
    "AlignmentGateOperator",
    "AlignmentNotifier",
    "CheckResult",
    "DataBiasCheckOperator",
    "DataBiasSpec",
    "DataExpectationsOperator",
    "DriftCheckOperator",
    "DriftSpec",
    "EstimatedFairnessOperator",
    "ExpectationsCheckOperator",
    "ExpectationsSensor",
    "ExpectationsSpec",
    "FairnessCheckOperator",
    "FairnessFeedbackSensor",
    "FairnessSpec",
    "FileSource",
    "PerformanceCheckOperator",
    "PerformanceSpec",
    "Policy",
    "SparkSource",
    "SqlSource",
    "__version__",
    "alignment_checks",
    "load_policy",
]


def test_the_public_names_are_pinned():
    import airflow_alignment.engines

    assert sorted(airflow_alignment.__all__) == PUBLIC
    assert sorted(airflow_alignment.engines.__all__) == [
        "decide_gate",
        "evaluate_data_bias",
        "evaluate_drift",
        "evaluate_expectations",
        "evaluate_fairness",
        "evaluate_performance",
    ]


def test_importing_the_root_imports_nothing_and_each_name_loads_on_use():
    code = (
        "import json, sys, warnings\n"
        "import airflow_alignment\n"
        "before = sorted(m for m in sys.modules if m.startswith(('airflow', 'pandas', 'numpy')))\n"
        "from airflow_alignment import alignment_checks, ExpectationsCheckOperator, FairnessCheckOperator, "
        "PerformanceCheckOperator, DriftCheckOperator, AlignmentGateOperator, ExpectationsSensor, "
        "FairnessFeedbackSensor, FileSource, SqlSource, SparkSource, CheckResult, load_policy\n"
        "heavy = sorted(m for m in ('pandas', 'numpy', 'great_expectations', 'fairlearn', 'pyspark')"
        " if m in sys.modules)\n"
        "print(json.dumps({'before': before, 'heavy': heavy}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"before": ["airflow_alignment"], "heavy": []}


def test_every_public_name_is_the_class_it_names():
    from airflow_alignment.operators.fairness import FairnessCheckOperator
    from airflow_alignment.sensors.expectations import ExpectationsSensor

    assert airflow_alignment.FairnessCheckOperator is FairnessCheckOperator
    assert airflow_alignment.ExpectationsSensor is ExpectationsSensor
    for name in PUBLIC:
        if name != "DataExpectationsOperator":
            assert getattr(airflow_alignment, name) is not None, name
    with pytest.raises(AttributeError, match="has no attribute 'FairnessOperator'"):
        airflow_alignment.FairnessOperator  # noqa: B018


@pytest.mark.parametrize(
    "module", ["airflow_alignment", "airflow_alignment.operators", "airflow_alignment.operators.expectations"]
)
def test_the_old_operator_name_is_a_deprecated_alias(module):
    import importlib

    from airflow_alignment.operators.expectations import ExpectationsCheckOperator

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.import_module(module).DataExpectationsOperator
    assert old is ExpectationsCheckOperator
    assert [w.category for w in caught] == [DeprecationWarning]
    assert "use ExpectationsCheckOperator" in str(caught[0].message)


def test_operators_and_sensors_share_one_task_base_and_its_arguments():
    """A kind's arguments are declared once (its base in tasks/), reach the operator and the
    sensor alike, take the spec's defaults, and Airflow's default_args still fill them."""
    from airflow.sdk import DAG

    from airflow_alignment import FairnessCheckOperator, FairnessFeedbackSensor
    from airflow_alignment.specs import FairnessSpec
    from airflow_alignment.tasks.base import AlignmentTask
    from airflow_alignment.tasks.labelled import FairnessTask

    assert issubclass(FairnessFeedbackSensor, FairnessTask) and issubclass(FairnessCheckOperator, FairnessTask)
    for cls in (FairnessFeedbackSensor, FairnessCheckOperator):
        assert issubclass(cls, AlignmentTask)
        assert "publish" not in vars(cls) and "policy_arguments" not in vars(cls), cls
    common = {
        "data": "feedback.csv",
        "y_true": "repaid",
        "y_pred": "approved",
        "sensitive_features": "sex",
        "constraints": [{"metric": "demographic_parity_ratio", "min": 0.8}],
    }
    with DAG("layout_defaults", schedule=None, default_args={"n_boot": 200, "severity": "warn"}):
        operator = FairnessCheckOperator(task_id="op", **common)
        sensor = FairnessFeedbackSensor(task_id="sensor", mode="reschedule", **common)
    for task in (operator, sensor):
        assert task.options["n_boot"] == 200 and task.severity == "warn"  # from default_args
        assert task.min_group_size == FairnessSpec.min_group_size == 30  # the spec's default
        assert task.build_spec() == operator.build_spec()
