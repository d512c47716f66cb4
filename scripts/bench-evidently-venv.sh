#!/usr/bin/env bash
# Create (or refresh) the virtualenv that runs Evidently for benchmarks/bench_drift_methods.py.
#
# Evidently 0.7 needs pandas < 3, and the project runs on pandas 3: it cannot share .venv. The
# benchmark writes its data to Parquet and runs benchmarks/_evidently_peer.py with this venv's
# Python, so both sides read the same rows.
#
#   bash scripts/bench-evidently-venv.sh          # creates .venv-evidently (idempotent)
#   EVIDENTLY_VENV=/tmp/ev bash scripts/bench-evidently-venv.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${EVIDENTLY_VENV:-.venv-evidently}"
SPEC=("evidently>=0.7.23,<0.8" "pandas<3" "pyarrow>=14")
STAMP="$VENV/.evidently-stamp"
want="$(printf '%s\n' "${SPEC[@]}" "$("$PYTHON" -V 2>&1)" | sha256sum | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
    && "$VENV/bin/python" -c 'import evidently' >/dev/null 2>&1; then
    echo "[bench-evidently-venv] $VENV is up to date" >&2
    exit 0
fi
echo "[bench-evidently-venv] creating $VENV with $("$PYTHON" -V 2>&1): ${SPEC[*]}" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
"$VENV/bin/python" -m pip install --disable-pip-version-check -q "${SPEC[@]}"
rm -f "$STAMP"
echo "$want" >"$STAMP"
"$VENV/bin/python" -c 'import evidently, pandas; print("[bench-evidently-venv] evidently", evidently.__version__, "pandas", pandas.__version__)' >&2
