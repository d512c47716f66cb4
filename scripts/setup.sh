#!/usr/bin/env bash
# Set up the development environment: a virtualenv at <repo>/.venv with the package installed
# editable, plus its test extra, at the tested versions (constraints/constraints-py<X.Y>.txt, when
# there is one for this Python; regenerate it with scripts/constraints.sh). Idempotent and quick when nothing changed: the venv keeps a
# stamp (a hash of pyproject.toml, the pip arguments and the Python version) and is only
# reinstalled when the stamp differs.
#
#   bash scripts/setup.sh            # create or refresh .venv
#   PYTHON=python3.12 bash scripts/setup.sh
#
# Other scripts source this file for its functions:
#   ensure_venv DIR PIP_ARGS...      create DIR with $PYTHON and pip-install PIP_ARGS (stamped)
#   constraints_file                 the tested-versions file for $PYTHON, if there is one
#   apt_install PKG...               install Debian packages that are missing (apt-get update once)

# Strict mode when run as a script; a sourcing script keeps its own options. The functions
# below return non-zero on failure instead of relying on errexit.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
DEV_VENV="$ROOT/.venv"

log() { printf '[setup] %s\n' "$*" >&2; }

_sudo() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "need root to run: $*"
        return 1
    fi
}

_APT_UPDATED=0
# apt_install PKG... : install the Debian packages that are not installed yet.
apt_install() {
    [ "$#" -gt 0 ] || return 0
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -gt 0 ] || return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        log "apt-get not found; install these packages by hand: ${missing[*]}"
        return 1
    fi
    if [ "$_APT_UPDATED" -eq 0 ]; then
        log "apt-get update"
        _sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
        _APT_UPDATED=1
    fi
    log "apt-get install ${missing[*]}"
    _sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" || return 1
}

_check_python() {
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        log "$PYTHON not found; install Python 3.10 or newer (or set PYTHON=...)"
        return 1
    fi
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
        log "$PYTHON is $("$PYTHON" -V 2>&1); Python 3.10 or newer is needed (set PYTHON=...)"
        return 1
    fi
}

_stamp() {
    # What the venv's content depends on: the project metadata, the pip arguments (and the
    # content of the files they name, e.g. a constraints file), the Python.
    {
        cat "$ROOT/pyproject.toml"
        printf '%s\n' "$@"
        local arg
        for arg in "$@"; do
            if [ -f "$ROOT/$arg" ]; then cat "$ROOT/$arg"; fi
        done
        "$PYTHON" -c 'import sys; print(sys.version)'
    } | sha256sum | cut -d' ' -f1
}

# ensure_venv DIR PIP_ARGS... : DIR holds a venv in which `pip install PIP_ARGS` was run
# against the current pyproject.toml. Run from the repository root.
ensure_venv() {
    local venv="$1"
    shift
    _check_python || return 1
    local stamp_file="$venv/.alignment-stamp" want
    want="$(_stamp "$@")" || return 1
    if [ -x "$venv/bin/python" ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ] \
        && "$venv/bin/python" -c 'import airflow_alignment' >/dev/null 2>&1; then
        log "$(basename "$venv") is up to date"
        return 0
    fi
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        log "creating $(basename "$venv") with $("$PYTHON" -V 2>&1)"
        rm -rf "$venv"
        if ! "$PYTHON" -m venv "$venv" 2>/dev/null; then
            # Debian ships venv/ensurepip separately.
            rm -rf "$venv"
            apt_install python3-venv || return 1
            "$PYTHON" -m venv "$venv" || return 1
        fi
    fi
    rm -f "$stamp_file"
    local pip_log="$venv/pip-install.log"
    log "installing into $(basename "$venv"): $* (log: ${pip_log#"$ROOT"/})"
    if ! (
        cd "$ROOT"
        "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip &&
            "$venv/bin/python" -m pip install --disable-pip-version-check "$@"
    ) >"$pip_log" 2>&1; then
        tail -n 40 "$pip_log" >&2
        log "pip install failed; full log: $pip_log"
        return 1
    fi
    echo "$want" >"$stamp_file" || return 1
}

# constraints_file : prints constraints/constraints-py<X.Y>.txt (relative to the root) when the
# repository has one for $PYTHON's version; prints nothing otherwise.
constraints_file() {
    local version
    version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" || return 1
    if [ -f "$ROOT/constraints/constraints-py$version.txt" ]; then
        echo "constraints/constraints-py$version.txt"
    fi
}

ensure_dev_venv() {
    _check_python || return 1
    local constraints
    constraints="$(constraints_file)" || return 1
    if [ -n "$constraints" ]; then
        ensure_venv "$DEV_VENV" -c "$constraints" -e ".[test]"
    else
        log "no constraints file for $("$PYTHON" -V 2>&1) in constraints/: pip resolves the bounded ranges of pyproject.toml"
        ensure_venv "$DEV_VENV" -e ".[test]"
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    cd "$ROOT"
    ensure_dev_venv
    log "ready: $DEV_VENV ($("$DEV_VENV/bin/python" -V 2>&1))"
fi
