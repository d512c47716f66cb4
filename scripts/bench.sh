#!/usr/bin/env bash
# Run every benchmark (benchmarks/bench_*.py) with the dev venv; each prints its own numbers.
# Benchmarks are not tests: record their output in docs/benchmarks.md.
#
#   bash scripts/bench.sh                     # all of them
#   bash scripts/bench.sh parse expectations  # only bench_parse.py and bench_expectations.py
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/setup.sh
source scripts/setup.sh
ensure_dev_venv

benches=()
if [ "$#" -gt 0 ]; then
    for name in "$@"; do benches+=("benchmarks/bench_${name#bench_}"); done
    benches=("${benches[@]/%.py/}")
    benches=("${benches[@]/%/.py}")
else
    benches=(benchmarks/bench_*.py)
fi

failed=()
for bench in "${benches[@]}"; do
    printf '\n== %s\n$ .venv/bin/python %s\n' "$(basename "$bench" .py)" "$bench"
    t0=$SECONDS
    if .venv/bin/python "$bench"; then
        printf '(%s: %ds)\n' "$(basename "$bench")" $((SECONDS - t0))
    else
        failed+=("$bench")
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    printf '\nFAILED: %s\n' "${failed[*]}" >&2
    exit 1
fi
