"""FairnessFeedbackSensor and DriftCheckOperator on a SqlSource: the feedback window is a WHERE
inside the database, labelled rows per group a GROUP BY there; the results equal the pandas
path over the same rows in a file, on SQLite and PostgreSQL. A PostgreSQL view that raises for
any row outside the window proves those rows are never read."""

from __future__ import annotations

import math
from datetime import timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.exceptions import DataError
from airflow_alignment.io import SqlSource, sql
from airflow_alignment.io.window import Window
from tests.conftest import checked
from tests.sqlservers import write_table

END = "2026-03-08T00:00:00+00:00"
START = pd.Timestamp(END) - pd.Timedelta(days=7)
COUNTS = [
    {"metric": "demographic_parity_difference", "max": 0.2},
    {"metric": "equalized_odds_difference", "max": 0.3, "severity": "warn"},
]
SCORES = [{"metric": "roc_auc", "aggregate": "group_min", "min": 0.4}]


def _log(n: int = 3000, seed: int = 5) -> pd.DataFrame:
    """An outcome log over the 14 days before END, half of it inside the 7-day window; labels
    missing for the last two days and for one row in ten."""
    rng = np.random.default_rng(seed)
    stamps = pd.Timestamp(END) - pd.to_timedelta(rng.uniform(0, 14 * 86400, n).round(), unit="s")
    group = rng.choice(["F", "M", "X"], n, p=[0.45, 0.45, 0.1])
    score = rng.random(n).round(4)
    label = (rng.random(n) < 0.3 + 0.4 * score).astype("int64")
    frame = pd.DataFrame(
        {
            "ts": stamps,
            "sex": group,
            "score": score,
            "pred": (score >= 0.5).astype("int64"),
            "label": pd.array(label, dtype="Int64"),
            "income": rng.normal(50_000, 9_000, n).round(2),
        }
    )
    late = (frame["ts"] > pd.Timestamp(END) - pd.Timedelta(days=2)) | (rng.random(n) < 0.1)
    frame.loc[late, "label"] = pd.NA
    return frame


LOG = _log()


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request):
    """LOG as table ``feedback`` of SQLite (timestamps as text), then PostgreSQL (timestamptz)."""
    if request.param == "sqlite":
        db = request.getfixturevalue("sqlite_conn_id")
        target = SimpleNamespace(conn_id=db.conn_id, url=db.url, dialect="sqlite")
    else:
        target = SimpleNamespace(
            conn_id=request.getfixturevalue("pg_conn_id"),
            dialect="postgresql",
            url=request.getfixturevalue("postgres_server").url,
        )
    sql.dispose(target.conn_id)
    write_table(target.url, "feedback", LOG)
    yield target
    sql.dispose(target.conn_id)


@pytest.fixture()
def log_file(tmp_path):
    path = tmp_path / "feedback.csv"
    LOG.to_csv(path, index=False)
    return str(path)


def _sensor(data, constraints, min_group_size=30, **kwargs):
    from airflow_alignment.sensors import FairnessFeedbackSensor

    score = {"y_score": "score", "threshold": 0.5} if constraints is SCORES else {"y_pred": "pred"}
    return FairnessFeedbackSensor(
        task_id="wait_for_feedback",
        data=data,
        y_true="label",
        sensitive_features="sex",
        constraints=constraints,
        min_group_size=min_group_size,
        timestamp_column="ts",
        window=timedelta(days=7),
        window_end=END,
        **score,
        **kwargs,
    )


def _judged(result) -> dict:
    """What must agree between the file and the database: all but where the data came from."""
    doc = checked(result).to_dict()
    for key in ("data", "started_at", "duration_s"):
        doc.pop(key, None)
    return _rounded(doc)


def _rounded(value):
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 12)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


@pytest.mark.parametrize("constraints", [COUNTS, SCORES], ids=["counts", "scores"])
def test_feedback_judged_in_the_database_equals_the_file(warehouse, log_file, constraints):
    from airflow_alignment.sensors.fairness import evaluate_feedback

    source = SqlSource(warehouse.conn_id, table="feedback")
    done_file, from_file = evaluate_feedback(_sensor(log_file, constraints).spec({}))
    done_sql, from_sql = evaluate_feedback(_sensor(source, constraints).spec({}))
    assert done_file and done_sql
    assert _judged(from_sql) == _judged(from_file)
    feedback = from_sql.metrics["feedback"]
    inside = LOG[(LOG["ts"] > START) & (LOG["ts"] <= pd.Timestamp(END))]
    assert feedback["window_rows"] == len(inside) and feedback["labelled_rows"] == inside["label"].notna().sum()
    assert from_sql.data["rows"] == from_file.data["rows"] == feedback["labelled_rows"]
    assert from_sql.data["source"] == f"sql://{warehouse.conn_id}/feedback"


def test_waiting_for_feedback_in_the_database_equals_the_file(warehouse, log_file):
    from airflow_alignment.sensors.fairness import evaluate_feedback

    source = SqlSource(warehouse.conn_id, table="feedback")
    waiting_file = evaluate_feedback(_sensor(log_file, COUNTS, min_group_size=200).spec({}))
    waiting_sql = evaluate_feedback(_sensor(source, COUNTS, min_group_size=200).spec({}))
    assert waiting_file[0] is waiting_sql[0] is False
    assert _judged(waiting_sql[1]) == _judged(waiting_file[1])
    inside = LOG[(LOG["ts"] > START) & (LOG["ts"] <= pd.Timestamp(END))]
    labelled = inside[inside["label"].notna()].groupby("sex").size()
    assert waiting_sql[1].metrics["feedback"]["labelled_per_group"] == {f"sex={g}": int(n) for g, n in labelled.items()}
    assert waiting_sql[1].summary.startswith(
        f"waiting for labelled feedback: 1 of 3 groups have fewer than 200 "
        f"labelled rows ({labelled.sum()} of {len(inside)} rows labelled): "
        f"'sex=X ({labelled['X']})'"
    )


def test_feedback_in_the_database_reads_no_row_into_pandas(warehouse, monkeypatch):
    """Count-based constraints: a GROUP BY for the wait, one for the judgement; no row read."""
    from airflow_alignment.sensors.fairness import evaluate_feedback

    def refuse(*args, **kwargs):
        raise AssertionError("rows of a SQL source were read into pandas")

    monkeypatch.setattr(sql, "read_frame", refuse)
    done, result = evaluate_feedback(_sensor(SqlSource(warehouse.conn_id, table="feedback"), COUNTS).spec({}))
    assert done and result.status in ("passed", "warned", "failed")


# -- the guard: rows outside the window are never read ---------------------------------------------
POISON = "CAST(1 / (pred - pred) AS BIGINT)"  # division by zero, at run time, for each row it is computed on


@pytest.fixture()
def poisoned(pg_conn_id, postgres_server):
    """A PostgreSQL view of LOG whose label and income raise "division by zero" for every row
    outside the window: a query that reads one of them fails."""
    import sqlalchemy as sa

    sql.dispose(pg_conn_id)
    write_table(postgres_server.url, "guarded_log", LOG)
    engine = sa.create_engine(postgres_server.url)
    outside = f"ts <= TIMESTAMPTZ '{START.isoformat()}' OR ts > TIMESTAMPTZ '{END}'"
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE OR REPLACE VIEW feedback_guarded AS SELECT ts, sex, score, pred, "
                f"CASE WHEN {outside} THEN {POISON} ELSE label END AS label, "
                f"CASE WHEN {outside} THEN {POISON} ELSE income END AS income FROM guarded_log"
            )
        )
    yield SqlSource(pg_conn_id, table="feedback_guarded")
    sql.dispose(pg_conn_id)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP VIEW feedback_guarded"))
    engine.dispose()


@pytest.mark.parametrize("constraints", [COUNTS, SCORES], ids=["counts", "scores"])
def test_rows_outside_the_window_are_never_read(poisoned, log_file, constraints):
    from airflow_alignment.sensors.fairness import evaluate_feedback

    with pytest.raises(Exception, match="division by zero"):
        sql.read_frame(poisoned, ["sex", "label"])  # the poison works: reading everything fails
    done, result = evaluate_feedback(_sensor(poisoned, constraints).spec({}))
    assert done and _judged(result) == _judged(evaluate_feedback(_sensor(log_file, constraints).spec({}))[1])
    waiting, short = evaluate_feedback(_sensor(poisoned, COUNTS, min_group_size=10_000).spec({}))
    assert not waiting and short.summary.startswith("waiting for labelled feedback: 3 of 3 groups")


def test_drift_window_in_the_database_reads_no_row_outside_it(poisoned, log_file, tmp_path):
    reference = tmp_path / "reference.csv"
    LOG.drop(columns="ts").assign(income=LOG["income"] * 0.9).to_csv(reference, index=False)
    result = checked(_drift(str(reference), poisoned).evaluate({}))
    assert _judged(result) == _judged(_drift(str(reference), log_file).evaluate({}))
    assert result.data["rows"] == len(LOG[(LOG["ts"] > START) & (LOG["ts"] <= pd.Timestamp(END))])


# -- DriftCheckOperator ------------------------------------------------------------------------------
def _drift(reference, current, **kwargs):
    from airflow_alignment.operators import DriftCheckOperator

    options = {
        "features": ["income", "score"],
        "categorical": None,
        "prediction": "pred",
        "sensitive_features": "sex",
        "min_group_size": 20,
        **kwargs,
    }
    return DriftCheckOperator(
        task_id="drift",
        reference=reference,
        current=current,
        timestamp_column="ts",
        window=timedelta(days=7),
        window_end=END,
        **options,
    )


def test_drift_in_the_window_of_a_table_equals_the_file(warehouse, log_file, tmp_path):
    reference = tmp_path / "reference.csv"
    LOG.drop(columns="ts").assign(income=LOG["income"] * 0.9).to_csv(reference, index=False)
    from_file = checked(_drift(str(reference), log_file).evaluate({}))
    from_sql = checked(_drift(str(reference), SqlSource(warehouse.conn_id, table="feedback")).evaluate({}))
    assert _judged(from_sql) == _judged(from_file)
    inside = LOG[(LOG["ts"] > START) & (LOG["ts"] <= pd.Timestamp(END))]
    assert from_sql.data["rows"] == from_file.data["rows"] == len(inside)
    window = f"ts in ({START.isoformat()}, {pd.Timestamp(END).isoformat()}]"
    assert from_sql.data["source"] == f"sql://{warehouse.conn_id}/feedback [{window}]"
    assert from_file.status == "failed" and "income" in from_file.summary  # incomes rose by 11%


def test_drift_window_leaves_the_timestamp_out_of_the_default_features(log_file, tmp_path):
    reference = tmp_path / "reference.csv"
    LOG.assign(ts=LOG["ts"] - pd.Timedelta(days=60)).to_csv(reference, index=False)
    result = checked(
        _drift(str(reference), log_file, features=None, sensitive_features=None, prediction=None).evaluate({})
    )
    compared = {a.name for a in result.assertions}
    assert "psi(income)" in compared and "psi(ts)" not in compared, compared


def test_drift_window_arguments_go_together():
    from airflow_alignment.exceptions import SpecError
    from airflow_alignment.operators import DriftCheckOperator

    with pytest.raises(SpecError, match=r"DriftCheckOperator: window= and timestamp_column= go together"):
        DriftCheckOperator(task_id="d", reference="a.csv", current="b.csv", window=timedelta(days=1))
    with pytest.raises(SpecError, match=r"DriftCheckOperator\.window: expected a positive timedelta"):
        DriftCheckOperator(task_id="d", reference="a.csv", current="b.csv", window=timedelta(0), timestamp_column="t")
    with pytest.raises(SpecError, match=r"window_end: expected an ISO date and time, e\.g\. .*; got 'yesterday'"):
        Window("ts", 60.0, "yesterday")


def test_text_timestamps_outside_sqlite_are_refused_with_the_fix(pg_conn_id, postgres_server):
    sql.dispose(pg_conn_id)
    write_table(
        postgres_server.url, "text_times", pd.DataFrame({"ts": ["2026-03-05T00:00:00"], "sex": ["F"], "label": [1]})
    )
    source = SqlSource(pg_conn_id, table="text_times")
    with pytest.raises(
        DataError,
        match=r"timestamp_column 'ts' of sql://alignment_pg/text_times holds str values "
        r"\(e\.g\. '2026-03-05T00:00:00'\), not timestamps; store it as TIMESTAMP",
    ):
        sql.group_counts(source, ["sex"], "label", window=Window("ts", 86400.0, END))
    sql.dispose(pg_conn_id)
