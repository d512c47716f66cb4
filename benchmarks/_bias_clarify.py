"""smclarify's side of benchmarks/bench_bias.py, run in .venv-reference (it has smclarify).

    .venv-reference/bin/python benchmarks/_bias_clarify.py DATA.parquet OUT.json

Reads the rows, joins the two facet columns into one (Clarify takes one facet column; the join
is not timed), then times ``bias_report`` over every facet value (no ``facet_values``: each
intersectional group against the rest), pre-training and post-training, every metric but FT.
Writes the values and the wall and CPU seconds of each report. Imports no airflow_alignment.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings

import pandas as pd

PRE = ["CI", "DPL", "KL", "JS", "LP", "TVD", "KS", "CDDL"]
POST = ["DPPL", "DI", "DCA", "DCR", "RD", "SD", "DAR", "DRR", "AD", "TE", "CDDPL", "GE"]


def main(data: str, out: str) -> None:
    logging.disable(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    from smclarify.bias import report

    df = pd.read_parquet(data)
    frame = pd.DataFrame({"facet": df["sex"] + "|" + df["race"], "g": df["g"]})
    label = report.LabelColumn("y", df["y"], [1])
    predicted = report.LabelColumn("p", df["p"], [1])
    result: dict[str, object] = {}
    for stage, names in (("PRE_TRAINING", PRE), ("POST_TRAINING", POST)):
        kwargs = {"predicted_label_column": predicted} if stage == "POST_TRAINING" else {}
        w0, c0 = time.perf_counter(), time.process_time()
        reports = report.bias_report(
            frame,
            report.FacetColumn("facet"),
            label,
            report.StageType[stage],
            metrics=names,
            group_variable=frame["g"],
            **kwargs,
        )
        result[stage] = {
            "wall": time.perf_counter() - w0,
            "cpu": time.process_time() - c0,
            "values": {r["value_or_threshold"]: {m["name"]: m.get("value") for m in r["metrics"]} for r in reports},
        }
    with open(out, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
