#!/usr/bin/env bash
# Regenerate constraints/constraints-py<X.Y>.txt: the versions pip picks today for the package
# and its test extra (which pulls the [s3] extra), frozen. Run it after changing the
# dependencies in pyproject.toml, then run `bash scripts/test.sh` (which installs from the new
# file) before committing it.
#
#   bash scripts/constraints.sh                     # for python3
#   PYTHON=python3.12 bash scripts/constraints.sh   # another Python: another file
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ensure_venv "$work/venv" -e ".[test]"  # no -c: the bounds in pyproject.toml decide
out="constraints/constraints-py$version.txt"
mkdir -p constraints
{
    cat <<HEADER
# The tested set: every package (and its version) of the venv in which \`bash scripts/test.sh\`
# passed, on Python $version. scripts/setup.sh installs with \`pip install -c\` this file, so a fresh
# machine gets the same versions and pip does not search. Use it in a deployment too:
#   pip install -c constraints/constraints-py$version.txt "airflow-alignment[s3]"
# Regenerate (after changing pyproject.toml's dependencies): bash scripts/constraints.sh
HEADER
    "$work/venv/bin/python" -m pip freeze --exclude-editable --disable-pip-version-check | grep -v -i '^airflow-alignment'
} >"$out"
log "wrote $out ($(grep -vc '^#' "$out") packages)"
