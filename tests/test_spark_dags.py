"""The check operators and sensors on a SparkSource, under real ``dag.test()`` runs, through a
real in-process ``local[2]`` session and a real Spark Connect server (Airflow connections set
as ``AIRFLOW_CONN_*`` variables by the ``spark_pair`` fixture).

Each check's result equals the engine's on the same rows in pandas (bar ``data`` and timings);
the counts come from Spark (a ``sha256:cells:`` fingerprint: only the cell table travelled).
The sensors wait on a Parquet folder that fills between pokes. The policy mapping
(``engine: spark``) is validated at load with errors that name the path; a deferrable sensor
refuses a SparkSource when the DAG is parsed; lineage names the table by its location.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines import drift, expectations, fairness, performance
from airflow_alignment.exceptions import SpecError
from tests.conftest import TEST_DAGS, checked, load_dag, task_states, xcom_value
from tests.dags.spark_cases import DRIFT, EXPECTATIONS, FAIRNESS, FAIRNESS_SCORES, PERFORMANCE, TABLE
from tests.test_cells import assert_same
from tests.test_sensors import arrivals
from tests.test_sql_operators import IGNORED, _same  # equal results bar where the data came from and when

pytestmark = pytest.mark.airflow
DS, REFERENCE_DS = "2026-11-02", "2026-11-01"
END = "2026-11-08T00:00:00+00:00"


def predictions(n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(17)
    sex = rng.choice(["F", "M"], n)
    ds = rng.choice([REFERENCE_DS, DS], n)
    income = rng.lognormal(10 + (ds == DS) * 0.05, 0.5, n).round(0)
    income[rng.random(n) < 0.02] = np.nan
    city = rng.choice(np.array(["Lyon", "Oslo", "Porto"], dtype=object), n)
    city[rng.random(n) < 0.01] = None
    return pd.DataFrame(
        {
            "ds": ds,
            "sex": sex,
            "race": rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2]),
            "repaid": rng.integers(0, 2, n),
            "approved": (rng.random(n) < np.where(sex == "F", 0.45, 0.6)).astype(int),
            "score": rng.random(n).round(6),
            "weight": rng.integers(1, 4, n).astype(float),
            "income": income,
            "city": city,
        }
    )


DATA = predictions()


@pytest.fixture(scope="module")
def spark(spark_pair: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("spark-dags") / "predictions.parquet"
    DATA.to_parquet(path, index=False)
    spark_pair.register(TABLE, path)
    return spark_pair


@pytest.mark.parametrize("kind", ["local", "connect"])
def test_every_check_runs_inside_spark_and_equals_the_rows(kind, airflow_home, spark):
    dag = load_dag(TEST_DAGS / "spark_cases.py", f"spark_checks_{kind}")
    run = dag.test(run_conf={"ds": DS, "reference_ds": REFERENCE_DS})
    tasks = ("quality", "fairness", "fairness_scores", "performance", "drift")
    assert task_states(run) == dict.fromkeys(tasks, "success")
    day, reference = DATA[DATA["ds"] == DS], DATA[DATA["ds"] == REFERENCE_DS]
    source = f"spark://alignment_spark_{kind}/{TABLE} WHERE ds = :ds [ds='{DS}']"

    quality = checked(xcom_value(run, "quality"))
    _same(quality, expectations.evaluate(day.reset_index(drop=True), EXPECTATIONS).to_dict())
    assert quality["status"] == "warned"  # city has missing values: a warn expectation
    assert quality["data"] == {
        "source": source,
        "rows": len(day),
        "columns": ["sex", "score", "city"],
        "fingerprint": None,
    }

    fair = checked(xcom_value(run, "fairness"))
    _same(fair, fairness.evaluate(day, **FAIRNESS).to_dict())
    assert fair["data"]["source"] == source and fair["data"]["rows"] == len(day)
    assert fair["data"]["fingerprint"].startswith("sha256:cells:")  # counts arrived, not rows

    # ROC AUC by group computed inside Spark: equal to the rows' but for the order of float sums
    scored = checked(xcom_value(run, "fairness_scores"))
    _close(scored, fairness.evaluate(day, **FAIRNESS_SCORES).to_dict())
    assert scored["data"]["source"] == source and scored["data"]["fingerprint"].startswith("sha256:cells:")
    assert [a["name"] for a in scored["assertions"]] == ["roc_auc.difference", "selection_rate.ratio"]

    perf = checked(xcom_value(run, "performance"))  # the policy mapping, engine: spark
    _close(perf, performance.evaluate(day, **PERFORMANCE).to_dict())
    assert perf["metrics"]["roc_auc"]["value"] is not None
    assert perf["data"]["source"] == source and perf["data"]["fingerprint"].startswith("sha256:cells:")

    moved = checked(xcom_value(run, "drift"))
    _same(moved, drift.evaluate(reference, day, **DRIFT).to_dict())
    assert moved["data"]["source"] == source and moved["data"]["fingerprint"] is None
    assert moved["data"]["reference"]["rows"] == len(reference)
    assert moved["data"]["reference"]["source"] == f"spark://alignment_spark_{kind}/{TABLE} WHERE ds = '{REFERENCE_DS}'"


def _close(result: dict, expected: dict) -> None:
    """As ``_same``, floats to 1e-12 relative (score metrics: the order of Spark's float sums)."""
    got = json.loads(json.dumps({k: v for k, v in result.items() if k not in IGNORED}))
    want = json.loads(json.dumps({k: v for k, v in expected.items() if k not in IGNORED}))
    assert_same(want, got, 1e-12)


def _write(folder: Path, frame: pd.DataFrame) -> None:
    """Replace the folder's one Parquet file (written aside, then renamed: a poke never reads half)."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.parquet"
    frame.to_parquet(staging, index=False)
    staging.replace(folder / "part-00000.parquet")


def test_expectations_sensor_waits_until_the_folder_holds_enough_valid_rows(airflow_home, spark, tmp_path, monkeypatch):
    folder = tmp_path / "arrivals"
    # poke 1: no folder yet (Spark: path not found); poke 2: 50 rows (< min_rows); poke 3: 300 rows
    calls = arrivals(
        monkeypatch,
        "expectations.evaluate_arrival",
        {2: lambda: _write(folder, DATA.head(50)), 3: lambda: _write(folder, DATA.head(300))},
    )
    run = load_dag(TEST_DAGS / "spark_cases.py", "spark_arrival").test(run_conf={"path": str(folder)})
    assert task_states(run) == {"wait": "success"}
    assert calls == [1, 2, 3]
    result = checked(xcom_value(run, "wait"))
    assert result["status"] == "passed" and result["data"]["rows"] == 300
    assert result["data"]["source"] == f"spark://alignment_spark_local/(SELECT * FROM parquet.`{folder}`)"
    assert result["data"]["fingerprint"] is None


def _feedback(labelled_f: int) -> pd.DataFrame:
    """Predictions of the week before END, 60 per sex; ``labelled_f`` of the women's labelled."""
    rng = np.random.default_rng(3)
    end = datetime(2026, 11, 8, tzinfo=timezone.utc)
    frame = pd.DataFrame(
        {
            "sex": ["F"] * 60 + ["M"] * 60 + ["M"] * 5,
            "approved": rng.integers(0, 2, 125),
            "label": rng.integers(0, 2, 125).astype(float),
            # the last 5 rows are older than the window: never counted
            "ts": [end - timedelta(hours=int(h)) for h in rng.integers(1, 160, 120)] + [end - timedelta(days=9)] * 5,
        }
    )
    frame.loc[labelled_f:59, "label"] = np.nan
    frame["ts"] = pd.to_datetime(frame["ts"]).dt.tz_convert("UTC")
    return frame


def test_feedback_sensor_counts_labels_in_spark_then_judges(airflow_home, spark, tmp_path, monkeypatch):
    folder = tmp_path / "feedback"
    _write(folder, _feedback(labelled_f=10))
    calls = arrivals(monkeypatch, "fairness.evaluate_feedback", {3: lambda: _write(folder, _feedback(labelled_f=45))})
    run = load_dag(TEST_DAGS / "spark_cases.py", "spark_feedback").test(run_conf={"path": str(folder), "end": END})
    assert task_states(run) == {"wait": "success"}
    assert calls == [1, 2, 3]
    result = checked(xcom_value(run, "wait"))
    assert result["kind"] == "fairness" and result["status"] == "passed"
    assert result["metrics"]["feedback"]["labelled_per_group"] == {"sex=F": 45, "sex=M": 60}
    assert result["metrics"]["feedback"]["window_rows"] == 120  # the 5 old rows are outside the window
    frame = _feedback(labelled_f=45)
    labelled = frame[frame["label"].notna() & (frame["ts"] > pd.Timestamp(END) - timedelta(days=7))].copy()
    labelled["label"] = labelled["label"].astype("int64")
    expected = fairness.evaluate(
        labelled,
        y_true="label",
        y_pred="approved",
        sensitive_features="sex",
        constraints=[{"metric": "demographic_parity_difference", "max": 0.5}],
        min_group_size=40,
    ).to_dict()
    got = {k: v for k, v in result["metrics"].items() if k != "feedback"}
    assert json.loads(json.dumps(got)) == json.loads(json.dumps(expected["metrics"]))
    assert result["data"]["rows"] == 105 and result["data"]["fingerprint"].startswith("sha256:cells:")


def test_a_deferrable_sensor_refuses_a_spark_source_when_the_dag_is_parsed():
    from airflow_alignment import ExpectationsSensor, SparkSource

    with pytest.raises(
        SpecError, match=r"ExpectationsSensor.data: a deferrable sensor cannot wait on a SparkSource.*reschedule"
    ):
        ExpectationsSensor(task_id="wait", data=SparkSource("lake", table="t"), min_rows=1, deferrable=True)


def test_a_policy_names_a_spark_source_and_its_errors_name_the_path(tmp_path):
    from airflow_alignment import SparkSource, load_policy
    from airflow_alignment.io import as_source

    check = {"name": "quality", "kind": "expectations", "expectations": [EXPECTATIONS[0]]}
    data = {
        "engine": "spark",
        "conn_id": "lake",
        "table": "ml.predictions",
        "where": "ds = :ds",
        "parameters": {"ds": "{{ ds }}"},
    }
    policy = load_policy({"name": "p", "version": "1", "checks": [{**check, "data": data}]})
    assert as_source(policy.checks[0].data) == SparkSource(
        "lake", table="ml.predictions", where="ds = :ds", parameters={"ds": "{{ ds }}"}
    )
    cases = {
        "tabel": (
            {"engine": "spark", "conn_id": "lake", "tabel": "t"},
            r"checks\[0\]\.data: unknown SparkSource key 'tabel'\. Did you mean 'table'\?",
        ),
        "engine": (
            {"engine": "sprak", "conn_id": "lake", "table": "t"},
            r"checks\[0\]\.data\.engine: unknown engine 'sprak'\. Did you mean 'spark'\? Engines: sql, spark",
        ),
        "no conn_id": (
            {"engine": "spark", "table": "t"},
            r"checks\[0\]\.data: a mapping with engine: spark needs 'conn_id' \(an Airflow connection\)",
        ),
        "both": (
            {"engine": "spark", "conn_id": "lake", "table": "t", "query": "SELECT 1"},
            r"checks\[0\]\.data: SparkSource: give exactly one of table=",
        ),
    }
    for raw, message in cases.values():
        with pytest.raises(SpecError, match=message):
            load_policy({"name": "p", "version": "1", "checks": [{**check, "data": raw}]})


def test_lineage_names_a_spark_table_by_its_location(spark, tmp_path):
    from airflow_alignment import SparkSource
    from airflow_alignment.io import backend_for

    table = SparkSource(spark.conn_ids["local"], table=TABLE)
    namespace, name = backend_for(table).lineage_name(table)
    assert namespace == "file" and name.endswith("predictions.parquet")
    files = SparkSource(
        spark.conn_ids["local"], query=f"SELECT * FROM parquet.`{tmp_path}/x` WHERE ds = :ds", parameters={"ds": DS}
    )
    assert backend_for(files).lineage_name(files) == ("file", f"{tmp_path}/x")
    view = SparkSource(spark.conn_ids["local"], query=f"SELECT * FROM {TABLE}")
    assert backend_for(view).lineage_name(view) is None
