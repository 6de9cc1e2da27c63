"""The drift report of bench/monitor_bench.sh written as a plain pandas + NumPy/SciPy script: the
per-column tests Evidently's DataDriftPreset picks, without Evidently.

    python scipy_drift.py reference.csv current.csv

Per column (missing values dropped; n = reference values, u = distinct values of both sides):
  n <= 1000: numeric u > 5 -> scipy.stats.ks_2samp p < 0.05; 2 < u <= 5 or categorical with u > 2
             -> chi-squared (scipy.stats.chisquare of current counts against reference shares
             scaled to the current size) p < 0.05; u <= 2 -> two-proportion z-test p < 0.05
  n > 1000:  numeric u > 5 -> scipy.stats.wasserstein_distance / max(std(reference), 0.001) >= 0.1;
             otherwise Jensen-Shannon (scipy.spatial.distance.jensenshannon of per-value shares,
             or of numpy.histogram shares on sturges edges of both sides for a numeric column with
             more than 20 reference values) >= 0.1.
Dataset drift: drifted / columns >= 0.5. The benchmark's data (20 numeric features, 100k
reference rows) only ever takes the Wasserstein branch.

Prints one JSON line in evidently_drift.py's shape ("tool": "scipy").
"""

import json
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance


def shares(ref, cur, numeric):
    if numeric and ref.nunique() > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref.to_numpy(), cur.to_numpy()]),
                                       bins="sturges")
        return (np.histogram(ref, edges)[0] / len(ref), np.histogram(cur, edges)[0] / len(cur))
    keys = pd.unique(pd.concat([ref, cur]))
    r = ref.value_counts().reindex(keys, fill_value=0).to_numpy() / len(ref)
    c = cur.value_counts().reindex(keys, fill_value=0).to_numpy() / len(cur)
    return r, c


def column_drift(ref, cur):
    ref, cur = ref.dropna(), cur.dropna()
    numeric = pd.api.types.is_numeric_dtype(ref) and pd.api.types.is_numeric_dtype(cur)
    n, u = len(ref), pd.concat([ref, cur]).nunique()
    if n <= 1000:
        if numeric and u > 5:
            return "ks", stats.ks_2samp(ref, cur).pvalue, 0.05
        if u > 2:
            keys = pd.unique(pd.concat([ref, cur]))
            observed = cur.value_counts().reindex(keys, fill_value=0).to_numpy()
            expected = ref.value_counts().reindex(keys, fill_value=0).to_numpy() * len(cur) / n
            return "chisquare", stats.chisquare(observed, expected).pvalue, 0.05
        first = sorted(pd.unique(pd.concat([ref, cur])))[0]
        p1, p2 = (ref == first).mean(), (cur == first).mean()
        pooled = (p1 * n + p2 * len(cur)) / (n + len(cur))
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / len(cur)))
        return "z", 2 * stats.norm.sf(abs(z)), 0.05
    if numeric and u > 5:
        norm = max(float(np.std(ref.to_numpy())), 0.001)
        return "wasserstein", stats.wasserstein_distance(ref, cur) / norm, 0.1
    r, c = shares(ref, cur, numeric)
    return "jensenshannon", float(distance.jensenshannon(r, c)), 0.1


def main():
    t0 = time.perf_counter()
    reference = pd.read_csv(sys.argv[1])
    current = pd.read_csv(sys.argv[2])
    t1 = time.perf_counter()
    columns = {}
    for name in reference.columns:
        if name not in current.columns:
            continue
        test, score, threshold = column_drift(reference[name], current[name])
        drifted = score < threshold if test in ("ks", "chisquare", "z") else score >= threshold
        columns[name] = {"test": test, "score": float(score), "threshold": threshold,
                         "drifted": bool(drifted)}
    t2 = time.perf_counter()
    share = sum(v["drifted"] for v in columns.values()) / max(1, len(columns))
    print(json.dumps({
        "tool": "scipy", "read_s": t1 - t0, "compute_s": t2 - t1,
        "drifted": sorted(c for c, v in columns.items() if v["drifted"]),
        "columns": columns, "drift_share": share, "dataset_drift": share >= 0.5,
    }))


if __name__ == "__main__":
    main()
