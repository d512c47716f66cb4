"""ExpectationsSensor and FairnessFeedbackSensor in poke, reschedule and deferrable modes,
through real ``dag.test()`` runs, and their trigger driven directly with asyncio."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from airflow_alignment.exceptions import SpecError
from airflow_alignment.reporting.store import result_key
from tests.conftest import TEST_DAGS, checked, load_dag, task_states, xcom_value

pytestmark = pytest.mark.airflow

AGE = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}}
END = "2026-03-08T00:00:00+00:00"


def stored(artifact_root: Path, run, task_id: str = "wait") -> dict:
    ti = next(t for t in run.get_task_instances() if t.task_id == task_id)
    ctx = {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": task_id, "map_index": ti.map_index,
           "try_number": ti.try_number}
    return json.loads((artifact_root / result_key(ctx)).read_text())


def write_batch(path: Path, ages: list[int]) -> None:
    tmp = path.with_suffix(".tmp")
    pd.DataFrame({"age": ages}).to_csv(tmp, index=False)
    tmp.replace(path)  # atomic: a poke never reads half a file


def arrivals(monkeypatch, evaluator: str, events: dict) -> list[int]:
    """Wrap a sensor evaluator so that data arrives just before its N-th call: ``events`` maps
    N to the action. Sensors import their evaluator by name at each poke (in the worker and in
    the trigger alike), and dag.test() runs both in this process. Returns the calls so far."""
    import importlib

    module_name, name = evaluator.rsplit(".", 1)
    module = importlib.import_module(f"airflow_alignment.sensors.{module_name}")
    real, calls = getattr(module, name), []

    def wrapped(spec):
        calls.append(len(calls) + 1)
        if calls[-1] in events:
            events[calls[-1]]()
        return real(spec)

    monkeypatch.setattr(module, name, wrapped)
    return calls


def run_case(dag_id: str, **conf):
    return load_dag(TEST_DAGS / "sensor_cases.py", dag_id).test(run_conf={k: str(v) for k, v in conf.items()})


# -- ExpectationsSensor ------------------------------------------------------------------
@pytest.mark.parametrize("dag_id", ["sensor_poke", "sensor_reschedule", "sensor_deferrable"])
def test_waits_until_the_batch_arrives_and_is_valid(dag_id, airflow_home, artifact_root, tmp_path, monkeypatch):
    path = tmp_path / "batch.csv"
    # poke 1: no file; poke 2: a file that is too short; poke 3: a valid one
    calls = arrivals(monkeypatch, "expectations.evaluate_arrival", {
        2: lambda: write_batch(path, [20, 30]), 3: lambda: write_batch(path, [20, 30, 40, 50, 60]),
    })
    run = run_case(dag_id, path=path)
    assert task_states(run) == {"wait": "success"}
    assert calls == [1, 2, 3]
    xcom = checked(xcom_value(run, "wait"))  # the XCom is the last evaluation
    assert xcom["status"] == "passed" and xcom["data"]["rows"] == 5
    assert xcom["summary"] == checked(stored(artifact_root, run))["summary"]
    assert [a["name"] for a in xcom["assertions"]] == [
        "expect_column_values_to_be_between(age)", "expect_table_row_count_to_be_between"
    ]
    if dag_id == "sensor_reschedule":  # it gave its slot back between pokes
        assert reschedules(run) >= 1


def reschedules(run) -> int:
    from airflow.models.taskreschedule import TaskReschedule
    from airflow.utils.session import create_session

    ti = run.get_task_instances()[0]
    with create_session() as session:
        return session.query(TaskReschedule).filter(TaskReschedule.ti_id == ti.id).count()


def test_timeout_fails_with_the_last_result(airflow_home, artifact_root, tmp_path):
    path = tmp_path / "batch.csv"
    write_batch(path, [20, 30])
    run = run_case("sensor_timeout", path=path)
    assert task_states(run) == {"wait": "failed"}
    last = checked(stored(artifact_root, run))
    assert last["status"] == "failed" and last["data"]["rows"] == 2
    assert "expect_table_row_count_to_be_between" in last["summary"]
    assert checked(xcom_value(run, "wait"))["summary"] == last["summary"]


def test_soft_fail_skips_and_keeps_the_last_result(airflow_home, artifact_root, tmp_path):
    run = run_case("sensor_soft_fail", path=tmp_path / "never.csv")
    assert task_states(run) == {"wait": "skipped"}
    last = checked(stored(artifact_root, run))
    assert last["status"] == "error" and last["error"]["type"] == "SourceUnavailableError"
    assert "data file not found" in last["summary"]


def test_deferrable_timeout_fails_with_the_last_result(airflow_home, artifact_root, tmp_path):
    path = tmp_path / "batch.csv"
    write_batch(path, [20, 30])
    run = run_case("sensor_deferrable_timeout", path=path)
    assert task_states(run) == {"wait": "failed"}
    last = checked(stored(artifact_root, run))
    assert last["status"] == "failed" and last["data"]["rows"] == 2


def _sensor(**kwargs):
    from airflow_alignment.sensors import ExpectationsSensor

    return ExpectationsSensor(task_id="wait", **{"data": "x.csv", "expectations": [AGE], **kwargs})


class _TI:
    dag_id, run_id, task_id, map_index, try_number = "d", "r", "wait", -1, 1

    def __init__(self) -> None:
        self.pushed: dict = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


def test_timeout_message_names_the_last_summary(tmp_path):
    """The error text itself (dag.test() only shows the state)."""
    from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

    path = tmp_path / "batch.csv"
    write_batch(path, [20, 30])
    for soft_fail, expected in ((False, AirflowSensorTimeout), (True, AirflowSkipException)):
        sensor = _sensor(data=str(path), min_rows=3, poke_interval=0.05, timeout=0.2, soft_fail=soft_fail,
                         artifact_store=str(tmp_path / "store"))
        ti = _TI()
        with pytest.raises(expected) as caught:
            sensor.execute({"ti": ti})
        summary = checked(ti.pushed["return_value"])["summary"]
        assert str(caught.value).startswith("wait timed out after 0.2 s and ")
        assert str(caught.value).endswith(f"; last evaluation: {summary}")
        assert summary.startswith("1 of 2 expectations failed")


def test_bad_spec_fails_at_once_instead_of_waiting(tmp_path):
    from airflow_alignment.operators.base import AlignmentCheckFailed

    write_batch(tmp_path / "b.csv", [20])
    sensor = _sensor(data=str(tmp_path / "b.csv"), suite=str(tmp_path / "not-json.json"), poke_interval=0.05,
                     timeout=5, artifact_store=str(tmp_path / "store"))
    (tmp_path / "not-json.json").write_text("{nope")
    started, ti = time.monotonic(), _TI()
    with pytest.raises(AlignmentCheckFailed, match="is not valid JSON"):
        sensor.execute({"ti": ti})
    assert time.monotonic() - started < 2
    assert checked(ti.pushed["return_value"])["error"]["type"] == "SpecError"


def test_parse_time_errors():
    with pytest.raises(SpecError, match="give expectations="):
        _sensor(expectations=None)
    with pytest.raises(SpecError, match="min_rows: expected a positive integer, got 0"):
        _sensor(min_rows=0)
    with pytest.raises(SpecError, match="a deferrable sensor needs a path"):
        _sensor(data=lambda: None, deferrable=True)
    with pytest.raises(SpecError, match=r"^expectations\[0\]: missing 'type'"):
        _sensor(expectations=[{"kwargs": {}}])


# -- the trigger --------------------------------------------------------------------------
def _trigger(path: Path, **kwargs):
    from airflow_alignment.triggers import AlignmentSensorTrigger

    sensor = _sensor(data=str(path), min_rows=3, deferrable=True)
    return AlignmentSensorTrigger(evaluator=sensor.evaluator, spec=sensor.spec({}), check=sensor._check, **kwargs)


def test_trigger_serialize_round_trip(tmp_path):
    from airflow.sdk.serde import deserialize, serialize

    from airflow_alignment.triggers import AlignmentSensorTrigger

    trigger = _trigger(tmp_path / "b.csv", poke_interval=0.1, deadline=123.5)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_alignment.triggers.alignment.AlignmentSensorTrigger"
    again = AlignmentSensorTrigger(**deserialize(serialize(kwargs)))
    assert again.serialize() == (classpath, kwargs)
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain values only
    assert kwargs["spec"]["expectations"][-1] == {
        "type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 3}
    }


async def _collect(trigger, ticker_period: float = 0.01):
    """Run the trigger beside a ticker; return its events and how often the ticker ran."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(ticker_period)

    task = asyncio.create_task(ticker())
    events = [event async for event in trigger.run()]
    done.set()
    await task
    return events, ticks


def test_trigger_runs_the_evaluation_off_the_event_loop(tmp_path, monkeypatch):
    import airflow_alignment.sensors.expectations as module

    path = tmp_path / "b.csv"
    write_batch(path, [20, 30, 40])
    real = module.evaluate_arrival

    def slow(spec):  # a blocking evaluation: 0.5 s of sleep in the evaluator
        time.sleep(0.5)
        return real(spec)

    monkeypatch.setattr(module, "evaluate_arrival", slow)
    events, ticks = asyncio.run(_collect(_trigger(path, poke_interval=0.1)))
    assert ticks >= 20  # the loop kept turning while the evaluation blocked its thread
    [event] = events
    assert event.payload["status"] == "done" and event.payload["pokes"] == 1
    assert checked(event.payload["result"])["status"] == "passed"


def test_trigger_reports_timeout_with_the_last_result(tmp_path):
    path = tmp_path / "b.csv"
    write_batch(path, [20])
    events, _ = asyncio.run(_collect(_trigger(path, poke_interval=0.1, deadline=time.time() + 0.35)))
    [event] = events
    assert event.payload["status"] == "timeout" and event.payload["pokes"] >= 3
    result = checked(event.payload["result"])
    assert result["status"] == "failed" and result["data"]["rows"] == 1


def test_trigger_waits_for_the_file(tmp_path):
    path = tmp_path / "b.csv"

    async def scenario():
        asyncio.get_running_loop().call_later(0.3, write_batch, path, [20, 30, 40])
        return await _collect(_trigger(path, poke_interval=0.1, deadline=time.time() + 5))

    [event], _ = asyncio.run(scenario())
    assert event.payload["status"] == "done" and event.payload["pokes"] >= 2


# -- FairnessFeedbackSensor --------------------------------------------------------------
def outcome_log(labelled_b: int) -> pd.DataFrame:
    """Groups A and B, 6 predictions each in the window (plus 4 old A rows outside it). All of A
    is labelled; ``labelled_b`` of B. Selection rates: A 3/6, B 2/6 -> difference 1/6."""
    inside = [f"2026-03-0{d}T12:00:00" for d in (2, 3, 4, 5, 6, 7)]
    rows = [{"ts": t, "group": "A", "pred": p, "label": lab} for t, p, lab in zip(inside, [1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 1])]
    rows += [{"ts": t, "group": "B", "pred": p, "label": lab if i < labelled_b else None}
             for i, (t, p, lab) in enumerate(zip(inside, [1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 0, 1]))]
    rows += [{"ts": "2026-02-01T00:00:00", "group": "A", "pred": 1, "label": 1} for _ in range(4)]  # outside the window
    return pd.DataFrame(rows)


def write_log(path: Path, labelled_b: int) -> None:
    tmp = path.with_suffix(".tmp")
    outcome_log(labelled_b).to_csv(tmp, index=False)
    tmp.replace(path)


def test_feedback_evaluator_counts_labels_in_the_window(tmp_path):
    from airflow_alignment.sensors.fairness import evaluate_feedback

    path = tmp_path / "log.csv"
    write_log(path, labelled_b=2)
    sensor = load_dag(TEST_DAGS / "sensor_cases.py", "feedback_poke").get_task("wait")
    sensor.window_end, sensor.data = END, str(path)
    done, result = evaluate_feedback(sensor.spec({}))
    checked(result)
    assert not done
    assert result.summary == (
        "waiting for labelled feedback: 1 of 2 groups have fewer than 4 labelled rows "
        "(8 of 12 rows labelled): 'group=B (2)'"
    )
    assert result.metrics["feedback"]["labelled_per_group"] == {"group=A": 6, "group=B": 2}
    write_log(path, labelled_b=4)
    done, result = evaluate_feedback(sensor.spec({}))
    checked(result)
    assert done and result.status == "passed"
    # judged on the 10 labelled rows in the window: A 3/6 selected, B 2/4
    assert result.metrics["feedback"] == {
        "window_rows": 12, "labelled_rows": 10, "window_end": END, "window_s": 7 * 86400.0,
        "labelled_per_group": {"group=A": 6, "group=B": 4},
    }
    assert result.data["rows"] == 10


@pytest.mark.parametrize("dag_id", ["feedback_poke", "feedback_deferrable"])
def test_feedback_sensor_waits_for_labels(dag_id, airflow_home, artifact_root, tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    write_log(path, labelled_b=1)
    calls = arrivals(monkeypatch, "fairness.evaluate_feedback", {3: lambda: write_log(path, labelled_b=6)})
    run = run_case(dag_id, path=path, end=END)
    assert task_states(run) == {"wait": "success"}
    assert calls == [1, 2, 3]
    xcom = checked(xcom_value(run, "wait"))
    assert xcom["kind"] == "fairness" and xcom["status"] == "passed"
    assert xcom["metrics"]["feedback"]["labelled_per_group"] == {"group=A": 6, "group=B": 6}
    assert checked(stored(artifact_root, run))["summary"] == xcom["summary"]


def test_feedback_sensor_times_out_naming_the_short_groups(airflow_home, artifact_root, tmp_path):
    path = tmp_path / "log.csv"
    write_log(path, labelled_b=2)
    run = run_case("feedback_timeout", path=path, end=END)
    assert task_states(run) == {"wait": "failed"}
    last = checked(stored(artifact_root, run))
    assert last["summary"].startswith("waiting for labelled feedback: 1 of 2 groups")


def test_feedback_parse_time_errors():
    from airflow_alignment.sensors import FairnessFeedbackSensor

    base = {"task_id": "w", "data": "x.csv", "y_true": "y", "y_pred": "p", "sensitive_features": "g",
                "constraints": [{"metric": "demographic_parity_difference", "max": 0.1}]}
    with pytest.raises(SpecError, match="window= and timestamp_column= go together"):
        FairnessFeedbackSensor(**base, window=timedelta(days=7))
    with pytest.raises(SpecError, match="window: expected a positive timedelta"):
        FairnessFeedbackSensor(**base, window=7, timestamp_column="ts")
    with pytest.raises(SpecError, match="give exactly one of y_pred="):
        FairnessFeedbackSensor(**{**base, "y_pred": None})


# -- the templates -----------------------------------------------------------------------
def test_monitoring_template_triggers_retraining_and_notifies(airflow_home, artifact_root):
    import os

    from tests.conftest import DAGS

    notes = Path(os.environ["ALIGNMENT_SAMPLE_DATA"]) / "monitoring" / "notifications.jsonl"
    before = notes.read_text().count("\n") if notes.exists() else 0
    run = load_dag(DAGS / "alignment_monitoring.py", "alignment_monitoring").test()
    assert task_states(run) == {
        "simulate_production": "success", "wait_for_feedback": "success", "check_drift": "success",
        "decide": "success", "trigger_retraining": "success", "healthy": "skipped",
    }
    fairness = checked(stored(artifact_root, run, "wait_for_feedback"))
    drift = checked(stored(artifact_root, run, "check_drift"))
    assert fairness["status"] == "warned" and drift["status"] == "warned"
    by_name = {a["name"]: a for a in fairness["assertions"]}
    assert by_name["parity_vs_approved"]["success"] is False  # worse than when it was approved
    feedback = fairness["metrics"]["feedback"]
    assert 0 < feedback["labelled_rows"] < feedback["window_rows"]  # late labels are left out
    assert fairness["data"]["rows"] == feedback["labelled_rows"]
    assert drift["summary"].startswith("income: PSI")
    lines = notes.read_text().splitlines()
    assert len(lines) == before + 1
    note = json.loads(lines[-1])
    assert note["task_id"] == "trigger_retraining" and "wait_for_feedback: " in note["message"]
    assert "check_drift: income: PSI" in note["message"]


def test_data_arrival_template_trains_after_the_sensor(airflow_home, artifact_root):
    from tests.conftest import DAGS

    run = load_dag(DAGS / "alignment_data_arrival.py", "alignment_data_arrival").test()
    assert task_states(run) == {"land_partition": "success", "wait_for_partition": "success", "train": "success"}
    result = checked(xcom_value(run, "wait_for_partition"))
    assert result["status"] == "passed" and result["data"]["rows"] == 5000
