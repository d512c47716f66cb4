"""The same checks on the same data give the same result from every path: rows in pandas,
counts pushed into SQLite and into a real PostgreSQL server, and files read in batches.

Only ``result.data`` (where the data came from, its fingerprint) and the timings differ.
Weights are whole numbers, so every weight sum is exact whatever order a database adds in.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from airflow_alignment.engines import fairness, performance
from airflow_alignment.engines.binary import cells
from airflow_alignment.io import FileSource, SqlSource, iter_batches, sql
from tests.conftest import checked
from tests.sqlservers import write_table

PATHS = ("pandas", "sqlite", "postgres", "parquet-batches", "csv-batches")
IGNORED = ("data", "duration_s", "started_at")


def _predictions(n: int = 12_000) -> pd.DataFrame:
    rng = np.random.default_rng(2026)
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["a", "b", "c", "d"], n, p=[0.55, 0.25, 0.17, 0.03])
    score = np.clip(rng.normal(np.where(sex == "F", 0.45, 0.55), 0.2), 0, 1).round(5)
    frame = pd.DataFrame(
        {
            "sex": sex,
            "race": race,
            "region": pd.array(rng.choice(["north", "south", None], n, p=[0.5, 0.45, 0.05]), dtype=object),
            "repaid": (rng.random(n) < 0.3 + 0.5 * score).astype(int),
            "score": score,
            "approved": (score >= 0.5).astype(int),
            "weight": rng.integers(1, 5, n).astype(float),
        }
    )
    return frame


FAIRNESS_CASES = {
    "intersectional-weighted-ci": {
        "y_pred": "approved",
        "sensitive_features": ["sex", "race"],
        "sample_weight": "weight",
        "marginal": True,
        "min_group_size": 100,
        "confidence": 0.95,
        "n_boot": 300,
        "constraints": [
            {"metric": "demographic_parity_ratio", "min": 0.8},
            {"metric": "equalized_odds_difference", "max": 0.15},
            {"metric": "precision", "aggregate": "group_min", "min": 0.5},
        ],
    },
    "thresholded-score-missing-as-group": {
        "y_score": "score",
        "threshold": 0.55,
        "sensitive_features": ["region"],
        "missing_groups": "as_group",
        "constraints": [
            {"metric": "selection_rate", "aggregate": "ratio", "method": "to_overall", "min": 0.8},
            {"metric": "false_negative_rate", "aggregate": "difference", "max": 0.1},
        ],
    },
    "missing-dropped": {
        "y_pred": "approved",
        "sensitive_features": ["region", "sex"],
        "missing_groups": "drop",
        "constraints": [{"metric": "equal_opportunity_ratio", "min": 0.8}],
    },
}
PERFORMANCE_CASES = {
    "weighted-ci": {
        "y_pred": "approved",
        "sample_weight": "weight",
        "confidence": 0.9,
        "n_boot": 300,
        "constraints": [
            {"metric": "accuracy", "min": 0.6},
            {"metric": "f1", "min": 0.6},
            {"metric": "recall", "min": 0.5},
        ],
    },
    "thresholded": {
        "y_score": "score",
        "threshold": 0.4,
        "constraints": [{"metric": "balanced_accuracy", "min": 0.6}],
    },
}


@pytest.fixture(scope="module")
def predictions(tmp_path_factory) -> dict:
    frame = _predictions()
    folder = tmp_path_factory.mktemp("equivalence")
    frame.to_parquet(folder / "predictions.parquet", row_group_size=1000)
    frame.to_csv(folder / "predictions.csv", index=False)
    return {"frame": frame, "folder": folder}


@pytest.fixture(scope="module")
def databases(predictions, postgres_server, tmp_path_factory) -> dict:
    """The predictions as a table in SQLite and in PostgreSQL, behind two connections."""
    sqlite_path = tmp_path_factory.mktemp("sqlite") / "warehouse.db"
    write_table(f"sqlite:///{sqlite_path}", "predictions", predictions["frame"])
    write_table(postgres_server.url, "predictions", predictions["frame"])
    return {
        "AIRFLOW_CONN_EQ_SQLITE": json.dumps({"conn_type": "sqlite", "host": str(sqlite_path)}),
        "AIRFLOW_CONN_EQ_POSTGRES": postgres_server.airflow_connection,
    }


@pytest.fixture()
def data_for(predictions, databases, monkeypatch):
    for name, value in databases.items():
        monkeypatch.setenv(name, value)

    def build(path: str, **columns) -> pd.DataFrame | cells.CellTable:
        frame, folder = predictions["frame"], predictions["folder"]
        if path == "pandas":
            return frame
        if path in ("sqlite", "postgres"):
            return cells.count(SqlSource(f"eq_{path}", table="predictions"), **columns)
        file = folder / ("predictions.parquet" if path.startswith("parquet") else "predictions.csv")
        needed = [
            c
            for c in (
                *columns["features"],
                columns["y_true"],
                columns.get("y_pred"),
                columns.get("y_score"),
                columns.get("sample_weight"),
            )
            if c
        ]
        return cells.from_batches(iter_batches(FileSource(str(file), batch_rows=1700), needed, 1700), **columns)

    yield build
    sql.dispose()


def _columns(case: dict, features: list[str]) -> dict:
    keys = ("y_pred", "y_score", "threshold", "sample_weight")
    return {"features": features, "y_true": "repaid", **{k: case[k] for k in keys if k in case}}


def _comparable(result) -> dict:
    doc = checked(result).to_dict()
    return json.loads(json.dumps({k: v for k, v in doc.items() if k not in IGNORED}))


@pytest.mark.parametrize("case", FAIRNESS_CASES, ids=list(FAIRNESS_CASES))
def test_fairness_is_the_same_from_every_path(data_for, case):
    spec = FAIRNESS_CASES[case]
    columns = _columns(spec, spec["sensitive_features"])
    results = {
        path: _comparable(fairness.evaluate(data_for(path, **columns), y_true="repaid", **spec)) for path in PATHS
    }
    reference = results["pandas"]
    assert reference["assertions"], "the case judges something"
    for path in PATHS[1:]:
        assert results[path] == reference, f"{path} differs from the rows in pandas"


@pytest.mark.parametrize("case", PERFORMANCE_CASES, ids=list(PERFORMANCE_CASES))
def test_performance_is_the_same_from_every_path(data_for, case):
    spec = PERFORMANCE_CASES[case]
    columns = _columns(spec, [])
    results = {
        path: _comparable(performance.evaluate(data_for(path, **columns), y_true="repaid", **spec)) for path in PATHS
    }
    for path in PATHS[1:]:
        assert results[path] == results["pandas"], f"{path} differs from the rows in pandas"


def test_the_cells_fingerprint_is_the_same_from_every_path(data_for):
    columns = {"features": ["sex", "region"], "y_true": "repaid", "y_pred": "approved", "sample_weight": "weight"}
    tables = {path: data_for(path, **columns) for path in PATHS[1:]}
    tables["pandas"] = cells.from_frame(data_for("pandas"), **columns)
    prints = {path: table.fingerprint() for path, table in tables.items()}
    assert len(set(prints.values())) == 1, prints
    assert {table.rows for table in tables.values()} == {12_000}
