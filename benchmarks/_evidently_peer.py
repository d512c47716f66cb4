"""Evidently's DataDriftPreset on two Parquet files; run by bench_drift_methods.py with the
Evidently venv's Python (``bash scripts/bench-evidently-venv.sh`` creates it), not by
``scripts/bench.sh`` (its name does not start with ``bench_``).

    .venv-evidently/bin/python benchmarks/_evidently_peer.py REF.parquet CUR.parquet PRESET

PRESET is ``ks_chisquare`` (``DataDriftPreset(num_method="ks", cat_method="chisquare")``) or
``default`` (``DataDriftPreset()``). Prints one JSON object: the preset, the best time of
``--repeat`` runs of ``Report.run`` (the frames are read and the data definition built before
timing), Evidently's version, and each column's value (a p-value or a distance) and method.
"""

from __future__ import annotations

import argparse
import json
import re
import time

import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently import __version__ as evidently_version
from evidently.presets import DataDriftPreset


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("reference")
    parser.add_argument("current")
    parser.add_argument("preset", choices=["ks_chisquare", "default"])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    reference, current = pd.read_parquet(args.reference), pd.read_parquet(args.current)
    numeric = [c for c in reference.columns if pd.api.types.is_numeric_dtype(reference[c])]
    definition = DataDefinition(numerical_columns=numeric,
                                categorical_columns=[c for c in reference.columns if c not in numeric])  # fmt: skip
    preset = (
        DataDriftPreset(num_method="ks", cat_method="chisquare") if args.preset == "ks_chisquare" else DataDriftPreset()
    )
    ref_ds = Dataset.from_pandas(reference, data_definition=definition)
    cur_ds = Dataset.from_pandas(current, data_definition=definition)
    best, snapshot = float("inf"), None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        snapshot = Report([preset]).run(cur_ds, ref_ds)
        best = min(best, time.perf_counter() - t0)
    columns = {}
    for metric in snapshot.dict()["metrics"]:
        found = re.match(r"ValueDrift\(column=(.+?),method=(.+?),threshold=(.+)\)", metric["metric_name"])
        if found:
            columns[found.group(1)] = {
                "value": metric["value"],
                "method": found.group(2),
                "threshold": float(found.group(3)),
            }
    print(json.dumps({"preset": args.preset, "seconds": best, "evidently": evidently_version, "columns": columns}))


if __name__ == "__main__":
    main()
