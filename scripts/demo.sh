#!/usr/bin/env bash
# The demo: run the sample alignment pipelines in a local Airflow (SQLite, no server) with a
# real dag.test(), and print what each check found.
#
#   bash scripts/demo.sh                         # every template DAG
#   bash scripts/demo.sh alignment_data_quality  # just these DAG ids
#
# Airflow lives in <repo>/.airflow-home; its output goes to .airflow-home/logs/demo-*.log.
# The warehouse template's connection alignment_warehouse is a SQLite file in
# .airflow-home/alignment-sample-data unless AIRFLOW_CONN_ALIGNMENT_WAREHOUSE is set (see
# scripts/run_demo.py); its provider, apache-airflow-providers-sqlite, comes with the package's
# test extra that ensure_dev_venv installs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
ensure_dev_venv

export AIRFLOW_HOME="$ROOT/.airflow-home"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export GX_ANALYTICS_ENABLED=false
mkdir -p "$AIRFLOW_HOME/logs"

MIGRATE_LOG="$AIRFLOW_HOME/logs/demo-db-migrate.log"
echo "[demo] airflow db migrate (log: ${MIGRATE_LOG#"$ROOT"/})" >&2
if ! "$ROOT/.venv/bin/airflow" db migrate >"$MIGRATE_LOG" 2>&1; then
    tail -n 30 "$MIGRATE_LOG" >&2
    echo "[demo] airflow db migrate failed; full log: $MIGRATE_LOG" >&2
    exit 1
fi

exec "$ROOT/.venv/bin/python" scripts/run_demo.py --log "$AIRFLOW_HOME/logs/demo-run.log" "$@"
