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
from airflow_alignment.store.artifacts import result_key
from tests.conftest import TEST_DAGS, checked, load_dag, task_states, xcom_value

pytestmark = pytest.mark.airflow

AGE = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 100}}
END = "2026-03-08T00:00:00+00:00"


def stored(artifact_root: Path, run, task_id: str = "wait") -> dict:
    ti = next(t for t in run.get_task_instances() if t.task_id == task_id)
    ctx = {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "task_id": task_id,
        "map_index": ti.map_index,
        "try_number": ti.try_number,
    }
    return json.loads((artifact_root / result_key(ctx)).read_text())


def write_batch(path: Path, ages: list[int]) -> None:
    tmp = path.with_suffix(".tmp")
    pd.DataFrame({"age": ages}).to_csv(tmp, index=False)
    tmp.replace(path)  # atomic: a poke never reads half a file


def arrivals(monkeypatch, evaluator: str, events: dict, *, deferred: bool = False) -> list[int]:
    """Wrap a sensor evaluator so that data arrives for its N-th call: ``events`` maps N to the
    action. In poke mode the action runs just before call N. A deferred sensor only evaluates
    again once the triggerer saw the data change, so there (``deferred=True``) the action runs
    0.5 s after call N - 1 returned, while the trigger polls. Sensors import their evaluator by
    name at each evaluation, and dag.test() runs the worker and the trigger in this process.
    Returns the calls so far."""
    import importlib
    import threading

    module_name, name = evaluator.rsplit(".", 1)
    module = importlib.import_module(f"airflow_alignment.sensors.{module_name}")
    real, calls = getattr(module, name), []

    def wrapped(spec):
        calls.append(len(calls) + 1)
        if not deferred and calls[-1] in events:
            events[calls[-1]]()
        try:
            return real(spec)
        finally:
            if deferred and calls[-1] + 1 in events:
                threading.Timer(0.5, events[calls[-1] + 1]).start()

    monkeypatch.setattr(module, name, wrapped)
    return calls


def run_case(dag_id: str, **conf):
    return load_dag(TEST_DAGS / "sensor_cases.py", dag_id).test(run_conf={k: str(v) for k, v in conf.items()})


# -- ExpectationsSensor ------------------------------------------------------------------
@pytest.mark.parametrize("dag_id", ["sensor_poke", "sensor_reschedule", "sensor_deferrable"])
def test_waits_until_the_batch_arrives_and_is_valid(dag_id, airflow_home, artifact_root, tmp_path, monkeypatch):
    path = tmp_path / "batch.csv"
    # poke 1: no file; poke 2: a file that is too short; poke 3: a valid one
    calls = arrivals(
        monkeypatch,
        "expectations.evaluate_arrival",
        {
            2: lambda: write_batch(path, [20, 30]),
            3: lambda: write_batch(path, [20, 30, 40, 50, 60]),
        },
        deferred=dag_id == "sensor_deferrable",
    )
    run = run_case(dag_id, path=path)
    assert task_states(run) == {"wait": "success"}
    assert calls == [1, 2, 3]
    xcom = checked(xcom_value(run, "wait"))  # the XCom is the last evaluation
    assert xcom["status"] == "passed" and xcom["data"]["rows"] == 5
    assert xcom["summary"] == checked(stored(artifact_root, run))["summary"]
    assert [a["name"] for a in xcom["assertions"]] == [
        "expect_column_values_to_be_between(age)",
        "expect_table_row_count_to_be_between",
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
        sensor = _sensor(
            data=str(path),
            min_rows=3,
            poke_interval=0.05,
            timeout=0.2,
            soft_fail=soft_fail,
            artifact_store=str(tmp_path / "store"),
        )
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
    sensor = _sensor(
        data=str(tmp_path / "b.csv"),
        suite=str(tmp_path / "not-json.json"),
        poke_interval=0.05,
        timeout=5,
        artifact_store=str(tmp_path / "store"),
    )
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


# -- deferrable: the trigger waits on the file, the worker evaluates ------------------------
def _deferred(call):
    """Run ``call`` (a sensor's execute or execute_complete); return the trigger it deferred to."""
    from airflow.sdk.exceptions import TaskDeferred

    with pytest.raises(TaskDeferred) as deferred:
        call()
    assert deferred.value.method_name == "execute_complete"
    return deferred.value.trigger


async def _collect(trigger, ticker_period: float = 0.01, during=None):
    """Run the trigger beside a ticker (and ``during``, a coroutine, if given); return its
    events and how often the ticker ran."""
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(ticker_period)

    tasks = [asyncio.create_task(ticker())] + ([asyncio.create_task(during)] if during else [])
    events = [event async for event in trigger.run()]
    done.set()
    await asyncio.gather(*tasks)
    return events, ticks


def _later(delay: float, action):
    async def run():
        await asyncio.sleep(delay)
        action()

    return run()


def test_deferred_sensor_evaluates_on_the_worker_only_after_the_file_changed(tmp_path):
    """The re-defer loop: evaluate, defer with the fingerprint, resume on a change, evaluate,
    defer again with the new fingerprint while the data is still not enough, then succeed."""
    from airflow_alignment.triggers.readiness import file_condition, observe

    path = tmp_path / "batch.csv"
    sensor = _sensor(
        data=str(path),
        min_rows=3,
        deferrable=True,
        poke_interval=0.05,
        timeout=30,
        artifact_store=str(tmp_path / "store"),
    )
    ti = _TI()
    trigger = _deferred(lambda: sensor.execute({"ti": ti}))  # evaluation 1: no file
    assert trigger.condition == file_condition(str(path), None) and trigger.previous is None
    assert trigger.carry["evaluations"] == 1 and "data file not found" in trigger.carry["last"]["summary"]

    [event], _ = asyncio.run(_collect(trigger, during=_later(0.2, lambda: write_batch(path, [20, 30]))))
    assert event.payload["status"] == "changed" and event.payload["polls"] >= 2
    trigger = _deferred(lambda: sensor.execute_complete({"ti": ti}, event.payload))  # evaluation 2: 2 rows
    assert trigger.previous == observe(trigger.condition).fingerprint  # the file it just evaluated
    assert trigger.carry["evaluations"] == 2 and trigger.carry["deadline"] == event.payload["carry"]["deadline"]

    # the file does not change: the trigger does not fire, whatever the number of polls
    trigger.deadline = time.time() + 0.4
    [event], _ = asyncio.run(_collect(trigger))
    assert event.payload["status"] == "timeout" and event.payload["polls"] >= 5

    trigger.deadline = time.time() + 30
    [event], _ = asyncio.run(_collect(trigger, during=_later(0.2, lambda: write_batch(path, [20, 30, 40]))))
    assert event.payload["status"] == "changed"
    xcom = sensor.execute_complete({"ti": ti}, event.payload)  # evaluation 3: enough
    assert checked(xcom)["status"] == "passed" and xcom["data"]["rows"] == 3 and sensor._pokes == 3


def test_data_that_could_not_be_read_is_tried_again_unchanged(tmp_path):
    """An I/O failure on data that is there (here: a folder where the file should be) is no
    reason to wait for a change: the next look that finds data resumes the task."""
    path = tmp_path / "batch.csv"
    path.mkdir()
    sensor = _sensor(
        data=str(path),
        min_rows=1,
        deferrable=True,
        poke_interval=0.05,
        timeout=30,
        artifact_store=str(tmp_path / "store"),
    )
    ti = _TI()
    trigger = _deferred(lambda: sensor.execute({"ti": ti}))
    assert trigger.carry["last"]["error"]["type"] == "SourceUnavailableError"
    assert trigger.previous is None  # not the folder's fingerprint
    path.rmdir()
    write_batch(path, [20, 30])
    [event], _ = asyncio.run(_collect(trigger))
    assert event.payload["status"] == "changed"
    assert checked(sensor.execute_complete({"ti": ti}, event.payload))["status"] == "passed"


def test_deferred_timeout_names_the_last_evaluation(tmp_path):
    from airflow.sdk.exceptions import AirflowSensorTimeout, AirflowSkipException

    path = tmp_path / "batch.csv"
    write_batch(path, [20, 30])
    for soft_fail, expected in ((False, AirflowSensorTimeout), (True, AirflowSkipException)):
        sensor = _sensor(
            data=str(path),
            min_rows=3,
            deferrable=True,
            poke_interval=0.05,
            timeout=0.5,
            soft_fail=soft_fail,
            artifact_store=str(tmp_path / "store"),
        )
        ti = _TI()
        trigger = _deferred(lambda: sensor.execute({"ti": ti}))  # noqa: B023 - called at once
        [event], _ = asyncio.run(_collect(trigger))
        assert event.payload["status"] == "timeout"
        with pytest.raises(expected) as caught:
            sensor.execute_complete({"ti": ti}, event.payload)
        summary = checked(ti.pushed["return_value"])["summary"]
        assert summary.startswith("1 of 2 expectations failed")
        assert str(caught.value) == f"wait timed out after 0.5 s and 1 evaluation(s); last evaluation: {summary}"


def test_trigger_serialize_round_trip(tmp_path):
    from airflow.sdk.serde import deserialize, serialize

    from airflow_alignment.triggers import AlignmentSensorTrigger

    sensor = _sensor(
        data=str(tmp_path / "b.csv"),
        min_rows=3,
        deferrable=True,
        poke_interval=0.05,
        timeout=5,
        artifact_store=str(tmp_path / "store"),
    )
    trigger = _deferred(lambda: sensor.execute({"ti": _TI()}))
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_alignment.triggers.alignment.AlignmentSensorTrigger"
    again = AlignmentSensorTrigger(**deserialize(serialize(kwargs)))
    assert again.serialize() == (classpath, kwargs)
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain values only
    assert kwargs["condition"] == {
        "kind": "file",
        "path": str(tmp_path / "b.csv"),
        "storage_options": {},
        "min_bytes": 1,
    }


def test_trigger_looks_off_the_event_loop(tmp_path, monkeypatch):
    """A slow look (a far object store, a busy database) never blocks the triggerer's loop."""
    import airflow_alignment.triggers.alignment as module
    from airflow_alignment.triggers import AlignmentSensorTrigger
    from airflow_alignment.triggers.readiness import file_condition

    real = module.observe

    def slow(condition):
        time.sleep(0.5)
        return real(condition)

    monkeypatch.setattr(module, "observe", slow)
    path = tmp_path / "b.csv"
    write_batch(path, [20])
    events, ticks = asyncio.run(_collect(AlignmentSensorTrigger(file_condition(str(path)), poke_interval=0.1)))
    assert ticks >= 20  # the loop kept turning while the look blocked its thread
    [event] = events
    assert event.payload["status"] == "changed" and event.payload["polls"] == 1


def test_trigger_waits_for_min_bytes(tmp_path):
    from airflow_alignment.triggers import AlignmentSensorTrigger
    from airflow_alignment.triggers.readiness import file_condition

    path = tmp_path / "b.csv"
    write_batch(path, [20])  # "age\n20\n": 7 bytes
    trigger = AlignmentSensorTrigger(
        file_condition(str(path), min_bytes=20), poke_interval=0.05, deadline=time.time() + 10
    )
    [event], _ = asyncio.run(_collect(trigger, during=_later(0.3, lambda: write_batch(path, list(range(20, 30))))))
    assert event.payload["status"] == "changed" and event.payload["fingerprint"]["size"] >= 20
    assert event.payload["polls"] >= 3 and event.payload["note"].endswith(" bytes")


def test_trigger_stops_on_a_wrong_condition(tmp_path):
    """An unknown connection does not get better by waiting: the trigger says so at once and
    the resumed sensor fails with it (a stored error result)."""
    from airflow_alignment.operators.base import AlignmentCheckFailed
    from airflow_alignment.triggers import AlignmentSensorTrigger

    condition = {"kind": "rows", "source": {"conn_id": "no_such_connection", "table": "t"}, "min_rows": 1}
    trigger = AlignmentSensorTrigger(
        condition, poke_interval=0.05, deadline=time.time() + 10, carry={"evaluations": 1, "deadline": time.time() + 10}
    )
    [event], _ = asyncio.run(_collect(trigger))
    assert event.payload["status"] == "error" and event.payload["polls"] == 1
    assert "no Airflow connection 'no_such_connection'" in event.payload["message"]
    sensor, ti = _sensor(artifact_store=str(tmp_path / "store")), _TI()
    with pytest.raises(AlignmentCheckFailed, match=r"the triggerer could not watch the data: SqlSource.conn_id"):
        sensor.execute_complete({"ti": ti}, event.payload)
    assert checked(ti.pushed["return_value"])["error"]["type"] == "SpecError"


def test_deferrable_default_comes_from_airflow_config(monkeypatch):
    from airflow_alignment.sensors import FairnessFeedbackSensor

    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    assert _sensor().deferrable is True
    assert _sensor(deferrable=False).deferrable is False
    # a callable cannot travel to the triggerer: the configured default gives way ...
    assert _sensor(data=lambda: None).deferrable is False
    # ... an explicit deferrable=True does not
    with pytest.raises(SpecError, match="a deferrable sensor needs a path"):
        _sensor(data=lambda: None, deferrable=True)
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "False")
    assert _sensor().deferrable is False
    feedback = FairnessFeedbackSensor(
        task_id="w",
        data="x.csv",
        y_true="y",
        y_pred="p",
        sensitive_features="g",
        constraints=[{"metric": "demographic_parity_difference", "max": 0.1}],
    )
    assert feedback.deferrable is False


# -- FairnessFeedbackSensor --------------------------------------------------------------
def outcome_log(labelled_b: int) -> pd.DataFrame:
    """Groups A and B, 6 predictions each in the window (plus 4 old A rows outside it). All of A
    is labelled; ``labelled_b`` of B. Selection rates: A 3/6, B 2/6 -> difference 1/6."""
    inside = [f"2026-03-0{d}T12:00:00" for d in (2, 3, 4, 5, 6, 7)]
    rows = [
        {"ts": t, "group": "A", "pred": p, "label": lab}
        for t, p, lab in zip(inside, [1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 1], strict=True)
    ]
    rows += [
        {"ts": t, "group": "B", "pred": p, "label": lab if i < labelled_b else None}
        for i, (t, p, lab) in enumerate(zip(inside, [1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 0, 1], strict=True))
    ]
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
        "window_rows": 12,
        "labelled_rows": 10,
        "window_end": END,
        "window_s": 7 * 86400.0,
        "labelled_per_group": {"group=A": 6, "group=B": 4},
    }
    assert result.data["rows"] == 10


@pytest.mark.parametrize("dag_id", ["feedback_poke", "feedback_deferrable"])
def test_feedback_sensor_waits_for_labels(dag_id, airflow_home, artifact_root, tmp_path, monkeypatch):
    path = tmp_path / "log.csv"
    write_log(path, labelled_b=1)
    # evaluation 2 still lacks labels (3 of the 4 group B needs): a deferred sensor waits again
    calls = arrivals(
        monkeypatch,
        "fairness.evaluate_feedback",
        {
            2: lambda: write_log(path, labelled_b=3),
            3: lambda: write_log(path, labelled_b=6),
        },
        deferred=dag_id == "feedback_deferrable",
    )
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

    base = {
        "task_id": "w",
        "data": "x.csv",
        "y_true": "y",
        "y_pred": "p",
        "sensitive_features": "g",
        "constraints": [{"metric": "demographic_parity_difference", "max": 0.1}],
    }
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
        "simulate_production": "success",
        "wait_for_feedback": "success",
        "estimate_fairness": "success",
        "check_drift": "success",
        "decide": "success",
        "trigger_retraining": "success",
        "healthy": "skipped",
    }
    # the day's decisions estimated before their labels: the score is not calibrated for women
    estimate = checked(stored(artifact_root, run, "estimate_fairness"))
    calibration = estimate["metrics"]["estimated"]["calibration"]
    assert estimate["status"] == "warned" and estimate["metrics"]["estimated"]["trusted"] is False
    assert calibration["status"] == "miscalibrated" and any("F" in r for r in calibration["reasons"])
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
