"""Evidently's drift report on two CSV files, as a user would run it: read both with pandas, then
Report([DataDriftPreset()]).run(current, reference).

    python evidently_drift.py reference.csv current.csv

Prints one JSON line: {"tool": "evidently", "version", "read_s", "compute_s", "drifted": [...],
"columns": {name: {"test", "score", "threshold", "drifted"}}, "drift_share", "dataset_drift"}.
Test names are mapped to Cairn's (ks, chisquare, z, wasserstein, jensenshannon, psi).
"""

import json
import sys
import time
import warnings

import pandas as pd

warnings.filterwarnings("ignore")

NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}
P_VALUE_TESTS = {"ks", "chisquare", "z"}


def main():
    reference_csv, current_csv = sys.argv[1], sys.argv[2]
    import evidently
    from evidently import Report
    from evidently.presets import DataDriftPreset

    t0 = time.perf_counter()
    reference = pd.read_csv(reference_csv)
    current = pd.read_csv(current_csv)
    t1 = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    result = snapshot.dict()
    t2 = time.perf_counter()

    columns, share = {}, None
    for m in result["metrics"]:
        kind = m["config"]["type"].rsplit(":", 1)[-1]
        if kind == "DriftedColumnsCount":
            share = float(m["value"]["share"])
        elif kind == "ValueDrift":
            test = NAMES.get(m["config"]["method"], m["config"]["method"])
            score, threshold = float(m["value"]), float(m["config"]["threshold"])
            drifted = score < threshold if test in P_VALUE_TESTS else score >= threshold
            columns[m["config"]["column"]] = {"test": test, "score": score,
                                              "threshold": threshold, "drifted": drifted}
    print(json.dumps({
        "tool": "evidently", "version": evidently.__version__,
        "read_s": t1 - t0, "compute_s": t2 - t1,
        "drifted": sorted(c for c, v in columns.items() if v["drifted"]),
        "columns": columns, "drift_share": share,
        "dataset_drift": share is not None and share >= 0.5,
    }))


if __name__ == "__main__":
    main()
