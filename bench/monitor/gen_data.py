"""Seeded data for the drift benchmark (bench/monitor_bench.sh): a reference and a current CSV of
numeric features f00..f{k-1}, some of which shift in the current data.

    python gen_data.py OUT_DIR [--reference-rows 100000] [--current-rows 1000000]
                       [--features 20] [--seed 7]

Writes OUT_DIR/reference.csv, OUT_DIR/current.csv and OUT_DIR/expected.json (which features were
shifted and by how much; informational: the verdict the three tools must agree on is their own).
Values are written with 6 significant digits, so every feature has far more than 5 distinct values
and, with a reference of more than 1000 rows, every tool picks the normed Wasserstein distance.

Features cycle through four shapes (normal, lognormal, uniform, exponential). The shifts, in units
of the feature's standard deviation, are chosen to fall clearly on either side of the 0.1 threshold
of the normed Wasserstein distance (0.03 and 0.05 do not drift; 0.2 and more do), plus one change
of scale.
"""

import argparse
import json
import os

import numpy as np
import pandas as pd

# feature index -> (kind of change, size)
SHIFTS = {
    0: ("mean", 0.5),
    1: ("scale", 1.6),
    2: ("mean", 0.2),
    3: ("mean", 0.05),   # too small to drift
    4: ("mean", 1.0),
    7: ("mean", 0.03),   # too small to drift
    11: ("mean", 0.3),
}


def feature(rng, shape, n):
    if shape == 0:
        return rng.normal(50.0, 10.0, n)
    if shape == 1:
        return rng.lognormal(1.0, 0.6, n)
    if shape == 2:
        return rng.uniform(-5.0, 5.0, n)
    return rng.exponential(3.0, n)


def std_of(shape):
    return {0: 10.0, 1: float(np.sqrt((np.exp(0.36) - 1) * np.exp(2 + 0.36))),
            2: 10.0 / np.sqrt(12.0), 3: 3.0}[shape]


def make(rng, rows, features, shifted):
    cols = {}
    for i in range(features):
        shape = i % 4
        x = feature(rng, shape, rows)
        if shifted and i in SHIFTS:
            kind, size = SHIFTS[i]
            if kind == "mean":
                x = x + size * std_of(shape)
            else:
                x = (x - x.mean()) * size + x.mean()
        cols[f"f{i:02d}"] = x
    return pd.DataFrame(cols)


def write(df, path, chunk=200_000):
    with open(path, "w", newline="") as out:
        for start in range(0, len(df), chunk):
            df.iloc[start:start + chunk].to_csv(out, index=False, header=(start == 0),
                                                float_format="%.6g")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--reference-rows", type=int, default=100_000)
    ap.add_argument("--current-rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    write(make(rng, args.reference_rows, args.features, False),
          os.path.join(args.out_dir, "reference.csv"))
    write(make(rng, args.current_rows, args.features, True),
          os.path.join(args.out_dir, "current.csv"))
    expected = {f"f{i:02d}": {"change": k, "size": s}
                for i, (k, s) in SHIFTS.items() if i < args.features}
    with open(os.path.join(args.out_dir, "expected.json"), "w") as f:
        json.dump({"reference_rows": args.reference_rows, "current_rows": args.current_rows,
                   "features": args.features, "seed": args.seed, "shifted": expected}, f, indent=1)


if __name__ == "__main__":
    main()
