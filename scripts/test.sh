#!/usr/bin/env bash
# The whole test run (what CI runs through .ci/run):
#
#   1. setup: .venv with the package and its test extra (+ Debian packages in APT_PACKAGES);
#   2. smoke test on Airflow 3.1: .venv-airflow31 with apache-airflow 3.1.x, the SQLite provider
#      and the package, then tests/smoke/ (real dag.test() runs of the data-quality and warehouse
#      templates on a fresh SQLite home);
#   3. lint: ruff check and ruff format --check (rules in pyproject.toml); a finding fails the run;
#   4. the main pytest suite in .venv (tests/, without tests/smoke/), last, so that its summary
#      is the last pytest output; a combined "N passed, N failed" line closes the run. It includes
#      tests/deploy/: a distributed Airflow (Celery on Redis, PostgreSQL, moto S3) on loopback.
#
#   bash scripts/test.sh                  # everything
#   bash scripts/test.sh -k store         # extra arguments go to the main pytest run
#   SKIP_SMOKE=1 bash scripts/test.sh     # main suite only
#
# Exits non-zero when setup fails, ruff finds something, or either pytest run fails.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
# shellcheck source=scripts/setup.sh
source scripts/setup.sh

# Debian packages the tests need; one line to extend. postgresql: the server binaries that the
# postgres_server fixture (tests/sqlservers.py) runs on a loopback port for the session.
# redis-server: the Celery broker of the deployment test (tests/deploy/).
APT_PACKAGES=(chromium fonts-dejavu-core postgresql redis-server)
# Spark's JVM (tests/sparkservers.py: local[2] sessions, a Spark Connect server): Java 17+.
command -v java >/dev/null 2>&1 || APT_PACKAGES+=(openjdk-17-jre-headless)
# The oldest Airflow line we support; the newest 3.1.x on PyPI (pip index versions apache-airflow).
AIRFLOW31_SPEC="${AIRFLOW31_SPEC:-apache-airflow==3.1.8}"
SMOKE_VENV="$ROOT/.venv-airflow31"
PYTEST=(-m pytest -q -p no:cacheprovider)

T0=$SECONDS
timings=()
phase_start() { PHASE_T0=$SECONDS; printf '\n[test] == %s\n' "$1"; }
phase_end() { timings+=("$(printf '%-28s %4ds' "$1" $((SECONDS - PHASE_T0)))"); }

# "3 failed, 40 passed, 2 skipped in 12.3s" -> counts
last_summary() { grep -a -E '[0-9]+ (passed|failed|errors?|skipped|xfailed|xpassed|deselected)' "$1" | tail -n 1; }
count() { { grep -oE "[0-9]+ $2" <<<"$1" || echo 0; } | head -n 1 | grep -oE '^[0-9]+'; }

phase_start "setup"
if ! apt_install ${APT_PACKAGES[@]+"${APT_PACKAGES[@]}"} || ! ensure_dev_venv; then
    echo "[test] setup failed" >&2
    exit 2
fi
phase_end "setup (.venv)"
# .venv-reference: smclarify and aif360, the oracle of tests/test_bias_oracle.py (idempotent).
phase_start "reference libraries"
if ! bash scripts/reference-venvs.sh >/dev/null; then
    echo "[test] could not build .venv-reference (scripts/reference-venvs.sh)" >&2
    exit 2
fi
phase_end "setup (.venv-reference)"

phase_start "lint (ruff)"
lint_rc=0
"$ROOT/.venv/bin/ruff" check --no-cache . || lint_rc=1
"$ROOT/.venv/bin/ruff" format --check --no-cache . || lint_rc=1
phase_end "lint (ruff)"

SMOKE_LOG="$(mktemp)"
MAIN_LOG="$(mktemp)"
trap 'rm -f "$SMOKE_LOG" "$MAIN_LOG"' EXIT
smoke_rc=0
if [ "${SKIP_SMOKE:-0}" != "1" ]; then
    phase_start "Airflow 3.1 smoke ($AIRFLOW31_SPEC)"
    if ensure_venv "$SMOKE_VENV" "$AIRFLOW31_SPEC" -e . "apache-airflow-providers-sqlite>=4.3" "pytest>=8"; then
        phase_end "setup (.venv-airflow31)"
        PHASE_T0=$SECONDS
        ALIGNMENT_SMOKE_AIRFLOW="${AIRFLOW31_SPEC##*==}"
        ALIGNMENT_SMOKE_AIRFLOW="${ALIGNMENT_SMOKE_AIRFLOW%.*}" \
            "$SMOKE_VENV/bin/python" "${PYTEST[@]}" --confcutdir=tests/smoke tests/smoke 2>&1 | tee "$SMOKE_LOG"
        smoke_rc=${PIPESTATUS[0]}
        phase_end "smoke tests (Airflow 3.1)"
    else
        echo "[test] could not build $SMOKE_VENV" >&2
        echo "1 error" >"$SMOKE_LOG"
        smoke_rc=2
    fi
fi

phase_start "main suite (.venv)"
"$ROOT/.venv/bin/python" "${PYTEST[@]}" --ignore=tests/smoke "$@" 2>&1 | tee "$MAIN_LOG"
main_rc=${PIPESTATUS[0]}
phase_end "main suite"

printf '\n[test] timings\n'
printf '  %s\n' "${timings[@]}"
printf '  %-28s %4ds\n' "total" $((SECONDS - T0))

smoke_line="$(last_summary "$SMOKE_LOG")"
main_line="$(last_summary "$MAIN_LOG")"
passed=$(($(count "$smoke_line" passed) + $(count "$main_line" passed)))
failed=$(($(count "$smoke_line" failed) + $(count "$main_line" failed)))
errors=$(($(count "$smoke_line" error) + $(count "$main_line" error)))
skipped=$(($(count "$smoke_line" skipped) + $(count "$main_line" skipped)))
[ "${SKIP_SMOKE:-0}" = "1" ] && smoke_line="skipped (SKIP_SMOKE=1)"
printf '[test] Airflow 3.1 smoke: %s (exit %s)\n' "${smoke_line:-no summary}" "$smoke_rc"
printf '[test] main suite:        %s (exit %s)\n' "${main_line:-no summary}" "$main_rc"
printf '[test] lint (ruff):       %s\n' "$([ "$lint_rc" -eq 0 ] && echo clean || echo "FAILED (see the lint phase above)")"
printf '%d passed, %d failed, %d errors, %d skipped\n' "$passed" "$failed" "$errors" "$skipped"

if [ "$smoke_rc" -ne 0 ] || [ "$main_rc" -ne 0 ] || [ "$lint_rc" -ne 0 ]; then
    exit 1
fi
