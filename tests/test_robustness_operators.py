"""Property-based robustness of every operator's ``execute`` (with a minimal context) and of
the plugin's routes (issue 13); the engines and policies are in ``tests/test_robustness.py``,
whose profile, bounds and hostile frames this module shares.

Operators: built from drawn arguments over a hostile frame, given as a callable, a CSV file or
a Parquet file. The property: construction either succeeds or raises ``SpecError`` naming the
argument; ``execute`` returns the compact result (passed, warned) or raises
``AlignmentCheckFailed`` (failed, error; the gate may also skip on a rejection), and whatever
happened, the result is in XCom, in the artifact store and in the audit trail, and they agree.

Routes: hostile identifiers and query values on every route of the plugin's app, through
Airflow's own app with a real token: 200 (with the security headers), 400, 404 or 422, never
a server error; hostile results (control characters, markup, unicode in every text) are stored
and every page that shows them renders, escaped.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_alignment.exceptions import SpecError
from tests.conftest import checked
from tests.test_plugin_routes import get, world  # noqa: F401 - the fixture is used by name
from tests.test_robustness import (
    DRIFT,
    EXPECTATIONS,
    FAIR_CONSTRAINTS,
    HOSTILE_EXPECTATIONS,
    LABELLED,
    OUTCOMES,
    PERF_CONSTRAINTS,
    RESULT_DOCUMENT,
    Budget,
    Options,
    examples,
    frames,
    mentions,
    report_outcomes,
)

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest) -> Any:
    yield
    report_outcomes(request)


class TI:
    """What an operator's execute() reads and writes of its task instance."""

    dag_id, run_id, map_index, try_number = "robust", "manual__1", -1, 1

    def __init__(self, task_id: str, upstream: dict[str, Any] | None = None) -> None:
        self.task_id = task_id
        self.pushed: dict[str, Any] = {}
        self.upstream = upstream or {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.upstream.get(task_ids)


def as_data(frame: pd.DataFrame, form: str, folder: Path) -> Any:
    """The frame as an operator's ``data=``: a callable, or a file the operator reads."""
    if form == "csv":
        path = folder / "data.csv"
        frame.to_csv(path, index=False)
        return str(path)
    if form == "parquet":
        path = folder / "data.parquet"
        try:
            frame.to_parquet(path, index=False)
        except Exception:  # noqa: BLE001 - pyarrow cannot write every hostile frame: give it as it is
            return lambda: frame
        return str(path)
    return lambda: frame


def executed(build: Any, task_id: str, folder: Path, names: list[str], upstream: dict[str, Any] | None = None) -> None:
    """The operator property (see the module docstring)."""
    from airflow_alignment.operators.base import AlignmentCheckFailed
    from airflow_alignment.store.artifacts import ArtifactStore, result_key
    from airflow_alignment.store.audit import read_audit

    try:
        operator = build()
    except SpecError as exc:
        OUTCOMES[f"operator {task_id}"]["SpecError at parse time"] += 1
        assert any(name in str(exc) for name in names), f"names none of {names}: {exc}"
        return
    ti = TI(task_id, upstream)
    try:
        from airflow.sdk.exceptions import AirflowSkipException
    except ImportError:  # pragma: no cover - Airflow 3.1
        from airflow.exceptions import AirflowSkipException
    with Budget():
        try:
            returned = operator.execute({"ti": ti})
            raised = None
        except (AlignmentCheckFailed, AirflowSkipException) as exc:
            returned, raised = None, exc
    store = ArtifactStore(folder / "store")
    context = {"dag_id": TI.dag_id, "run_id": TI.run_id, "task_id": task_id, "map_index": -1, "try_number": 1}
    stored = checked(json.loads(store.read_text(result_key(context))))
    xcom = returned if returned is not None else ti.pushed.get("return_value")
    assert xcom is not None, "the result is not in XCom"
    checked(xcom)
    records = [r for r in read_audit(store).records if r["task_id"] == task_id]
    assert len(records) == 1 and records[0]["status"] == stored["status"] == xcom["status"]
    OUTCOMES[f"operator {task_id}"][stored["status"]] += 1
    if os.environ.get("ROBUST_DEBUG") and stored["status"] == "error":
        print("MSG", task_id, stored["error"]["type"], stored["error"]["message"][:100])
    if raised is None:
        assert stored["status"] in ("passed", "warned")
    elif isinstance(raised, AlignmentCheckFailed):
        assert stored["status"] in ("failed", "error")
    else:
        assert stored["kind"] == "gate" and stored["metrics"]["verdict"] == "rejected"
    if stored["status"] == "error" and stored["kind"] != "gate":
        assert any(name in stored["error"]["message"] for name in names), stored["error"]


SCHEMA = "airflow-alignment/check-result/v1"
OPERATOR_ARGS = [
    "y_true",
    "y_pred",
    "constraints",
    "pos_label",
    "confidence",
    "n_boot",
    "sample_weight",
    "sensitive_features",
    "min_group_size",
    "missing_groups",
]


@examples(60)
@given(frame=frames(roles=LABELLED), form=st.sampled_from(["callable", "csv", "parquet"]), data=st.data())
def test_fairness_and_performance_operators(frame: pd.DataFrame, form: str, data: st.DataObject) -> None:
    from airflow_alignment.operators import FairnessCheckOperator, PerformanceCheckOperator

    fairness = data.draw(st.booleans(), label="fairness")
    options = Options(data, OPERATOR_ARGS)
    kwargs: dict[str, Any] = {
        "y_true": options("y_true", ["y"], ["nope", 0, ""]),
        "y_pred": options("y_pred", ["p"], ["s", "nope"]),
        "constraints": options(
            "constraints",
            (FAIR_CONSTRAINTS if fairness else PERF_CONSTRAINTS)[:3],
            (FAIR_CONSTRAINTS if fairness else PERF_CONSTRAINTS)[4:],
        ),
        "pos_label": options("pos_label", [1, True], ["yes", [1], 2.5]),
        "confidence": options("confidence", [None, 0.9], [1.5, float("nan")]),
        "n_boot": options("n_boot", [20, 100], [0, 10**12, 2.5]),
        "sample_weight": options("sample_weight", [None, "w"], ["nope", "y"]),
    }
    if fairness:
        kwargs["sensitive_features"] = options("sensitive_features", ["g", ["g", "h"]], [[], "nope", ["g", "g"]])
        kwargs["min_group_size"] = options("min_group_size", [1, 30], [-1, 10**12])
        kwargs["missing_groups"] = options("missing_groups", ["error", "drop"], ["nope"])
    operator = FairnessCheckOperator if fairness else PerformanceCheckOperator
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = as_data(frame, form, folder)
        executed(
            lambda: operator(task_id=operator.kind, data=source, artifact_store=str(folder / "store"), **kwargs),
            operator.kind,
            folder,
            [*mentions(kwargs, frame.columns), "data"],
        )


@examples(20)
@given(frame=frames(roles=LABELLED), form=st.sampled_from(["callable", "csv", "parquet"]), data=st.data())
def test_expectations_operator(frame: pd.DataFrame, form: str, data: st.DataObject) -> None:
    from airflow_alignment.operators import ExpectationsCheckOperator

    options = Options(data, ["expectations", "severity"])
    kwargs = {
        "expectations": options(
            "expectations",
            [[e] for e in EXPECTATIONS] + [EXPECTATIONS[:4]],
            [[e] for e in HOSTILE_EXPECTATIONS] + [[], "[1]"],
        ),
        "severity": options("severity", ["block", "warn"], ["fatal", 1]),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = as_data(frame, form, folder)
        names = [*mentions(kwargs, frame.columns), "data", *(f"expectations[{i}]" for i in range(4))]
        executed(
            lambda: ExpectationsCheckOperator(
                task_id="quality", data=source, artifact_store=str(folder / "store"), **kwargs
            ),
            "quality",
            folder,
            names,
        )


@examples(40)
@given(reference=frames(roles=DRIFT), form=st.sampled_from(["callable", "csv"]), data=st.data())
def test_drift_operator(reference: pd.DataFrame, form: str, data: st.DataObject) -> None:
    from airflow_alignment.operators import DriftCheckOperator

    current = data.draw(st.one_of(st.just(reference), frames(roles=DRIFT)), label="current")
    options = Options(data, ["features", "bins", "prediction", "sensitive_features", "threshold"])
    kwargs = {
        "features": options("features", [None, ["x", "c"]], [[0], "nope"]),
        "bins": options("bins", [10, 3], [1, 10**9]),
        "prediction": options("prediction", [None, "p"], ["nope", 0]),
        "sensitive_features": options("sensitive_features", [None], ["g", ["g", 0]]),
        "threshold": options("threshold", [None], [0.5, float("nan")]),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ref_dir, cur_dir = folder / "ref", folder / "cur"
        ref_dir.mkdir()
        cur_dir.mkdir()
        ref_source, cur_source = as_data(reference, form, ref_dir), as_data(current, form, cur_dir)
        names = [*mentions(kwargs, [*reference.columns, *current.columns]), "reference", "current", "data"]
        executed(
            lambda: DriftCheckOperator(
                task_id="drift",
                reference=ref_source,
                current=cur_source,
                artifact_store=str(folder / "store"),
                **kwargs,
            ),
            "drift",
            folder,
            names,
        )


@examples(60)
@given(
    upstream=st.dictionaries(
        st.sampled_from(["a", "b", "c", "é"]),
        st.one_of(
            st.none(),
            RESULT_DOCUMENT.map(lambda d: {"schema": SCHEMA, **d}),
            st.lists(RESULT_DOCUMENT.map(lambda d: {"schema": SCHEMA, **d}), max_size=3),
            st.sampled_from([[], "x", 3, {"schema": "other"}]),
        ),
        min_size=1,
        max_size=4,
    ),
    on_reject=st.sampled_from(["skip", "fail"]),
)
def test_gate_operator(upstream: dict[str, Any], on_reject: str) -> None:
    from airflow_alignment.operators import AlignmentGateOperator

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        executed(
            lambda: AlignmentGateOperator(
                task_id="gate",
                checks=list(upstream),
                review=False,
                asset=False,
                on_reject=on_reject,
                artifact_store=str(folder / "store"),
            ),
            "gate",
            folder,
            ["checks"],
            upstream=upstream,
        )


# -- the plugin's routes -------------------------------------------------------------------
SEGMENT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "..",
            ".",
            "%2e%2e",
            "a/b",
            "a\\b",
            "\x00",
            "\n",
            "é名",
            "<script>",
            "x" * 300,
            "{MAP_INDEX}",
            "alignment_lending_fairness",
            "manual__2026-01-01T00:00:00+00:00",
            "fairness_plain",
        ]
    ),
)
QUERY = st.one_of(
    st.none(), st.text(max_size=12), st.sampled_from(["-1", "0", "7", "-2", "1e9", "99999999", "{MAP_INDEX}"])
)
ROUTES = [
    "/alignment/dags/{dag}/runs/{run}/tasks/{task}/report",
    "/alignment/dags/{dag}/runs/{run}",
    "/alignment/dags/{dag}/history",
    "/alignment/api/dags/{dag}/runs/{run}/tasks/{task}/result",
    "/alignment/api/dags/{dag}/runs/{run}",
    "/alignment/api/dags/{dag}/history",
]


def served(world: dict[str, Any], url: str, params: dict[str, Any] | None = None) -> Any:  # noqa: F811
    with Budget(seconds=30, megabytes=300):
        response = get(world, url, params={k: v for k, v in (params or {}).items() if v is not None})
    assert response.status_code in (200, 400, 404, 422), (url, params, response.status_code, response.text[:300])
    if response.status_code == 200:
        assert "default-src 'none'" in response.headers["content-security-policy"]
        if "/api/" in url:
            json.loads(response.text)
        else:
            assert "<script" not in response.text.lower()
    OUTCOMES["routes"][str(response.status_code)] += 1
    return response


def segment(text: str) -> str:
    """A path segment as a link carries it: percent-encoded, dots too when it is only dots
    (an HTTP client resolves a bare '..' before the request leaves, as a browser does)."""
    return quote(text, safe="") if not text or set(text) != {"."} else "%2E" * len(text)


@examples(100)
@given(
    route=st.sampled_from(ROUTES),
    dag=SEGMENT,
    run=SEGMENT,
    task=SEGMENT,
    map_index=QUERY,
    try_number=QUERY,
    limit=QUERY,
)
def test_routes_with_hostile_identifiers(
    world: dict[str, Any],  # noqa: F811 - the fixture
    route: str,
    dag: str,
    run: str,
    task: str,
    map_index: Any,
    try_number: Any,
    limit: Any,
) -> None:
    url = route.format(dag=segment(dag), run=segment(run), task=segment(task))
    served(world, url, {"map_index": map_index, "try_number": try_number, "limit": limit})


HOSTILE_TEXT = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        ["<script>alert(1)</script>", "\x00\x1b[31m", "‮", "é名😀", "x" * 2000, "{{ 7 * 7 }}", "</td></table>"]
    ),
)
_COUNTER = itertools.count()


@examples(30)
@given(
    check=HOSTILE_TEXT,
    summary=HOSTILE_TEXT,
    source=HOSTILE_TEXT,
    group=HOSTILE_TEXT,
    kind=st.sampled_from(["fairness", "expectations", "drift", "performance", "gate"]),
    run_id=st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/\\"), min_size=1, max_size=30
    ).filter(lambda r: set(r) != {"."}),
)
def test_pages_of_hostile_results(
    world: dict[str, Any],  # noqa: F811 - the fixture
    check: str,
    summary: str,
    source: str,
    group: str,
    kind: str,
    run_id: str,
) -> None:
    from airflow_alignment.results import Assertion, CheckResult
    from airflow_alignment.tasks.publish import publish_result

    dag_id = f"robust_{next(_COUNTER)}"
    result = CheckResult(
        check=check or "c",
        kind=kind,
        status="failed",
        severity="block",
        summary=summary,  # type: ignore[arg-type]
        assertions=[
            Assertion(
                name=check,
                success=False,
                observed=0.5,
                expected={"min": 0.8},
                details={"groups": [{group: group}], "values": [0.5], "summary": summary},
            )
        ],
        metrics={
            "selection_rate": {"overall": 0.5, "by_group": [{"group": {group: group}, "value": 0.5, "count": 3}]},
            "settings": {"sensitive_features": [group]},
            "verdict": "rejected",
            "checks": [],
        },
        data={"source": source, "rows": 3, "columns": [group], "fingerprint": None},
    )
    ti = SimpleNamespace(dag_id=dag_id, run_id=run_id, task_id="t", map_index=-1, try_number=1)
    publish_result(
        checked(result), {"ti": ti}, store=world["store"], model=None, log=logging.getLogger("robust"), push=False
    )
    for route in ROUTES:
        response = served(world, route.format(dag=dag_id, run=quote(run_id, safe=""), task="t"))
        assert response.status_code == 200, (route, response.text[:300])
        if "/api/" not in route:
            assert "<script>alert(1)" not in response.text
