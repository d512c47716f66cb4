"""``python -m airflow_alignment``: the ``airflow-alignment`` command (see :mod:`airflow_alignment.cli`)."""

import sys

from airflow_alignment.cli import main

sys.exit(main())
