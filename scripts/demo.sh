#!/usr/bin/env bash
# The demo: run the sample alignment pipelines in a local Airflow (SQLite, no server) with a
# real dag.test(), and print what each check found.
#
#   bash scripts/demo.sh                         # every template DAG
#   bash scripts/demo.sh alignment_data_quality  # just these DAG ids
#   bash scripts/demo.sh --ui [--port 8080]      # then serve the Airflow UI on 127.0.0.1 to look
#                                                # at the runs, their alignment pages and reports
#
# Airflow lives in <repo>/.airflow-home (ALIGNMENT_DEMO_HOME overrides it); its output goes to
# .airflow-home/logs/demo-*.log. With --ui, after the pipelines ran, `airflow api-server` starts on
# loopback with the same home, prints its URL, a login (user admin, a password generated once per
# home and kept in demo-ui-passwords.json) and each run's page; Ctrl-C stops it.
# The warehouse template's connection alignment_warehouse is a SQLite file in
# .airflow-home/alignment-sample-data unless AIRFLOW_CONN_ALIGNMENT_WAREHOUSE is set (see
# scripts/run_demo.py); its provider, apache-airflow-providers-sqlite, comes with the package's
# test extra that ensure_dev_venv installs. The lakehouse template's connection
# alignment_lakehouse is an in-process Spark session (local[2]) unless
# AIRFLOW_CONN_ALIGNMENT_LAKEHOUSE is set; without a Java runtime that template is skipped (the
# demo says so): the demo never requires Java.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
ensure_dev_venv

UI=0
PORT=""
ARGS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --ui) UI=1 ;;
        --port) PORT="${2:?--port needs a number}"; shift ;;
        --port=*) PORT="${1#--port=}" ;;
        *) ARGS+=("$1") ;;
    esac
    shift
done

export AIRFLOW_HOME="${ALIGNMENT_DEMO_HOME:-$ROOT/.airflow-home}"
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

PY="$ROOT/.venv/bin/python"
if [ "$UI" = 0 ]; then
    exec "$PY" scripts/run_demo.py --log "$AIRFLOW_HOME/logs/demo-run.log" ${ARGS[@]+"${ARGS[@]}"}
fi

# --ui: the api-server gets the same home, metadata DB, DAGs folder and artifact store as the runs.
PORT="$("$PY" scripts/demo_ui.py port "${PORT:-}")"
BASE="http://127.0.0.1:$PORT"
STATUS=0
"$PY" scripts/run_demo.py --log "$AIRFLOW_HOME/logs/demo-run.log" --ui-base "$BASE" ${ARGS[@]+"${ARGS[@]}"} || STATUS=$?
eval "$("$PY" scripts/demo_ui.py env "$AIRFLOW_HOME" "$PORT")"
SERVER_LOG="$AIRFLOW_HOME/logs/demo-api-server.log"
echo "[demo] starting the Airflow api-server on $BASE (log: ${SERVER_LOG#"$ROOT"/})" >&2
"$ROOT/.venv/bin/airflow" api-server >"$SERVER_LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; exit "$STATUS"' INT TERM
if ! "$PY" scripts/demo_ui.py wait "$BASE" "$SERVER"; then
    tail -n 30 "$SERVER_LOG" >&2
    echo "[demo] the api-server did not start; full log: $SERVER_LOG" >&2
    kill "$SERVER" 2>/dev/null
    exit 1
fi
"$PY" scripts/demo_ui.py banner "$AIRFLOW_HOME" "$BASE" "$STATUS"
wait "$SERVER"
