# The project's commands. Each target is a thin wrapper around a script in scripts/.
.PHONY: setup demo test bench

setup:  ## create or refresh .venv (the package, editable, with its test extra)
	bash scripts/setup.sh

demo:  ## run the sample pipelines in a local Airflow and print what the checks found
	bash scripts/demo.sh

test:  ## the whole test suite, plus the Airflow 3.1 smoke test (what CI runs)
	bash scripts/test.sh

bench:  ## every benchmarks/bench_*.py
	bash scripts/bench.sh
