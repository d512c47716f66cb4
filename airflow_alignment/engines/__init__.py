"""Pure-Python engines: data and a spec in, a ``CheckResult`` out. Never imports airflow."""
