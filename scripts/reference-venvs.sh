#!/usr/bin/env bash
# Build the virtualenv of the reference libraries that the bias metrics are tested against:
# .venv-reference with smclarify (the open-source SageMaker Clarify bias library) and aif360,
# at the exact versions of tests/reference/requirements.txt. Test-only: the package never
# imports them; tests/test_bias_oracle.py runs them in this venv through a subprocess. They get
# a venv of their own because smclarify 0.5 does not run on the pandas 3 of .venv.
#
# Idempotent and quick when nothing changed: the venv keeps a stamp (a hash of the
# requirements file and the Python version) and is rebuilt only when the stamp differs.
#
#   bash scripts/reference-venvs.sh          # create or refresh .venv-reference; prints its python
#
# The test suite calls this script (a session fixture), so a clean clone gets the venv too.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
fi
# shellcheck source=scripts/setup.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup.sh"

REFERENCE_VENV="${REFERENCE_VENV:-$ROOT/.venv-reference}"
REFERENCE_REQUIREMENTS="tests/reference/requirements.txt"

_reference_stamp() {
    { cat "$ROOT/$REFERENCE_REQUIREMENTS"; "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1
}

# ensure_reference_venv : $REFERENCE_VENV holds the pinned reference libraries.
ensure_reference_venv() {
    _check_python || return 1
    local venv="$REFERENCE_VENV" stamp_file="$REFERENCE_VENV/.alignment-stamp" want
    want="$(_reference_stamp)" || return 1
    if [ -x "$venv/bin/python" ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ] \
        && "$venv/bin/python" -c 'import smclarify.bias.report, aif360.metrics' >/dev/null 2>&1; then
        log "$(basename "$venv") is up to date"
        return 0
    fi
    rm -rf "$venv"
    log "creating $(basename "$venv") with $("$PYTHON" -V 2>&1)"
    if ! "$PYTHON" -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        apt_install python3-venv || return 1
        "$PYTHON" -m venv "$venv" || return 1
    fi
    local pip_log="$venv/pip-install.log"
    log "installing into $(basename "$venv"): -r $REFERENCE_REQUIREMENTS (log: ${pip_log#"$ROOT"/})"
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check -r "$ROOT/$REFERENCE_REQUIREMENTS" \
        >"$pip_log" 2>&1; then
        tail -n 40 "$pip_log" >&2
        log "pip install failed; full log: $pip_log"
        return 1
    fi
    echo "$want" >"$stamp_file" || return 1
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    cd "$ROOT"
    ensure_reference_venv
    echo "$REFERENCE_VENV/bin/python"
fi
