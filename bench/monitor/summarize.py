"""Summary of bench/monitor_bench.sh's runs: medians, ratios and the verdict check, as Markdown.

    python summarize.py RESULTS_TSV OUT_DIR

RESULTS_TSV has one line per timed run: "<tool>\t<rep>\t<wall seconds>\t<max RSS KiB or ->\t<output
file>". The output files are `cairn drift --json` documents (tool "cairn") or the JSON lines of
evidently_drift.py / scipy_drift.py. Exits with 1 when the tools do not flag the same columns
(or a run's output is missing).
"""

import json
import statistics
import sys
from collections import defaultdict


def flagged(tool, path):
    with open(path) as f:
        doc = json.loads(f.read())
    if tool == "cairn":
        cols = doc["drift"]["columns"]
        return (sorted(c["column"] for c in cols if c["drifted"]),
                {c["column"]: (c["test"], c["score"]) for c in cols}, doc["drift"]["dataset_drift"])
    return (doc["drifted"], {k: (v["test"], v["score"]) for k, v in doc["columns"].items()},
            doc["dataset_drift"])


def fmt_s(x):
    return f"{x:.2f} s" if x < 100 else f"{x:.0f} s"


def main():
    rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
    wall = defaultdict(list)
    rss = defaultdict(list)
    per_rep = defaultdict(dict)
    verdicts = {}
    ok = True
    for tool, rep, seconds, kib, out in rows:
        wall[tool].append(float(seconds))
        per_rep[int(rep)][tool] = float(seconds)
        if kib != "-":
            rss[tool].append(int(kib))
        try:
            verdicts.setdefault(tool, []).append(flagged(tool, out))
        except (OSError, ValueError, KeyError) as e:
            print(f"**{tool} run {rep}: no usable output ({e})**")
            ok = False
    tools = [t for t in ("cairn", "evidently", "scipy") if t in wall]

    print("| tool | median wall time | runs | peak RSS (median) |")
    print("|---|---|---|---|")
    for t in tools:
        mem = f"{statistics.median(rss[t]) / 1024:.0f} MiB" if rss[t] else "n/a"
        runs = ", ".join(fmt_s(x) for x in wall[t])
        print(f"| {t} | {fmt_s(statistics.median(wall[t]))} | {runs} | {mem} |")
    print()
    if "cairn" in tools:
        for other in [t for t in tools if t != "cairn"]:
            ratios = [r[other] / r["cairn"] for r in per_rep.values() if other in r and "cairn" in r]
            if ratios:
                print(f"- {other} / cairn: median of per-repetition ratios "
                      f"**{statistics.median(ratios):.1f}x** "
                      f"(per repetition: {', '.join(f'{x:.1f}x' for x in ratios)})")
    print()

    # Same columns flagged, by every tool in every run.
    reference = None
    for t in tools:
        for drifted, _, dataset in verdicts.get(t, []):
            if reference is None:
                reference = (drifted, dataset)
            elif (drifted, dataset) != reference:
                print(f"**MISMATCH: {t} flags {drifted} (dataset drift {dataset}); "
                      f"expected {reference[0]} (dataset drift {reference[1]})**")
                ok = False
    if reference is not None and ok:
        print(f"- all {len(tools)} tools flag the same {len(reference[0])} columns: "
              f"{', '.join(reference[0])}; dataset drift: {reference[1]}")
    # Largest score difference against Evidently (same test on every column?).
    if "cairn" in verdicts and "evidently" in verdicts:
        _, ours, _ = verdicts["cairn"][0]
        _, theirs, _ = verdicts["evidently"][0]
        same_tests = all(ours[c][0] == theirs[c][0] for c in theirs if c in ours)
        worst = max((abs(ours[c][1] - theirs[c][1]) / max(abs(theirs[c][1]), 1e-300)
                     for c in theirs if c in ours), default=0.0)
        print(f"- tests chosen: {'the same' if same_tests else '**DIFFERENT**'} for every column "
              f"({', '.join(sorted({v[0] for v in ours.values()}))}); largest relative score "
              f"difference against Evidently: {worst:.1e}")
        ok = ok and same_tests
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
