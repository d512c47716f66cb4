"""DAGs used by tests/test_data_bias.py: pre-training bias of labelled data in a SQL table
(connection ``bias_warehouse``, set by the test), in a file read in batches (path from the run
conf), and from a policy through ``alignment_checks``."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_alignment.io import FileSource, SqlSource
from airflow_alignment.operators.bias import DataBiasCheckOperator
from airflow_alignment.operators.fairness import FairnessCheckOperator
from airflow_alignment.taskgroup import alignment_checks

CONN = "bias_warehouse"
BIAS = {
    "label": "repaid",
    "sensitive_features": ["sex", "race"],
    "facet_values": {"sex": "F"},
    "group_variable": "region",
    "sample_weight": "weight",
    "constraints": [
        {"metric": "CI", "min": -0.5, "max": 0.5},
        {"metric": "DPL", "min": -0.2, "max": 0.2},
        {"metric": "KL", "max": 0.2},
        {"metric": "CDDL", "max": 0.2},
        {"metric": "smoothed_empirical_differential_fairness", "max": 2.0},
    ],
}
# a bound the data does not meet: the biased labels of the facet fail it
STRICT = {**BIAS, "sample_weight": None, "constraints": [{"metric": "DPL", "max": 0.01}], "confidence": 0.9}

with DAG(dag_id="data_bias_sql", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    partition = SqlSource(conn_id=CONN, table="training", where="ds = '{{ ds }}'")
    DataBiasCheckOperator(task_id="bias", data=partition, **BIAS)
    DataBiasCheckOperator(task_id="bias_strict", data=partition, **STRICT)

with DAG(dag_id="data_bias_file", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    DataBiasCheckOperator(task_id="bias", data=FileSource("{{ dag_run.conf['path'] }}", batch_rows=700), **BIAS)

POLICY = {
    "name": "bias_policy",
    "version": "1",
    "defaults": {"pos_label": 1},
    "checks": [
        {
            "name": "training_bias",
            "kind": "data_bias",
            "data": "training",
            "label": "repaid",
            "sensitive_features": "sex",
            "facet_values": ["F"],
            "severity": "warn",
            "constraints": [{"metric": "DPL", "max": 0.01, "rationale": "no gap in repaid labels"}],
        }
    ],
}

with DAG(dag_id="data_bias_policy", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    alignment_checks(POLICY, data={"training": "{{ dag_run.conf['path'] }}"}, model="bias_model")

# post-training metrics by their Clarify names, in a fairness check
with DAG(dag_id="fairness_by_clarify_name", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    FairnessCheckOperator(
        task_id="fairness",
        data=FileSource("{{ dag_run.conf['path'] }}", batch_rows=700),
        y_true="repaid",
        y_pred="approved",
        sensitive_features=["sex", "race"],
        facet_values={"sex": "F"},
        confidence=0.9,
        n_boot=200,
        constraints=[
            {"metric": "DI", "min": 0.8, "rationale": "four-fifths rule"},
            {"metric": "demographic_parity_ratio", "min": 0.5},
            {"metric": "RD", "max": 0.2, "facet_values": [{"sex": "F", "race": "B"}], "name": "RD_black_women"},
            {"metric": "GE", "max": 0.5, "severity": "warn"},
        ],
    )

# constraints and the facet rendered from the run's conf when the task runs
with DAG(dag_id="data_bias_templated", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    DataBiasCheckOperator(
        task_id="bias",
        data="{{ dag_run.conf['path'] }}",
        label="repaid",
        sensitive_features="sex",
        facet_values='{"sex": "{{ dag_run.conf[\'facet\'] }}"}',
        constraints="{{ dag_run.conf['constraints'] | tojson }}",
    )
