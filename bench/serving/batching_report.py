#!/usr/bin/env python3
"""The batching section of bench/serving_bench.sh's report: batching on vs off for each
runtime kind measured, with the mean batch size the server recorded (cairn_inference_batch_size).

Reads the raw results file (RESULT / INFO / BATCH lines, see serving_bench.sh):
  RESULT label=batch_<on|off>_<kind>_r<N> rps=... total_requests=... server_cpu_s=...
  BATCH label=batch_<on|off>_<kind>_r<N> rows=<sum of batch rows> batches=<count>
Kinds: xgb (native tree walker), xgbc (XGBoost's C API: --xgboost-native-trees off),
py (python_function, scikit-learn).

Usage: batching_report.py RESULTS_FILE
"""
import re
import statistics
import sys

KINDS = [("xgb", "XGBoost, Cairn's tree walker"),
         ("xgbc", "XGBoost, C API (`--xgboost-native-trees off`)"),
         ("py", "python_function (sklearn)")]


def parse(path):
    runs, batches, info = {}, {}, {}
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if parts[0] == "INFO":
            info.update(kv)
            continue
        m = re.match(r"batch_(on|off)_(\w+?)_r(\d+)$", kv.get("label", ""))
        if not m:
            continue
        key = (m.group(2), m.group(1))
        if parts[0] == "RESULT":
            runs.setdefault(key, {})[m.group(3)] = kv
        elif parts[0] == "BATCH":
            batches.setdefault(key, {})[m.group(3)] = kv
    return runs, batches, info


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}{unit}"
    if abs(v) >= 10:
        return f"{v:.1f}{unit}"
    return f"{v:.2f}{unit}"


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def cpu_us(kv):
    cpu, total = float(kv.get("server_cpu_s", 0)), float(kv.get("total_requests", 0))
    return 1e6 * cpu / total if cpu > 0 and total > 0 else None


def mean_batch(kv):
    if not kv:
        return None
    n = float(kv.get("batches", 0))
    return float(kv.get("rows", 0)) / n if n > 0 else None


def main():
    runs, batches, info = parse(sys.argv[1])
    clients = info.get("batch_clients", "?")
    out = []
    w = out.append
    w(f"Batching, {clients} closed-loop clients, one row per request; `on` = "
      f"`--max-batch-size 32 --batch-policy {info.get('batch_policy', 'greedy')}`"
      f"{' --max-queue-delay-us ' + info['batch_delay_us'] if info.get('batch_policy') == 'wait' else ''}, "
      "`off` = `--max-batch-size 1`. Mean batch = rows ÷ batches from `cairn_inference_batch_size` over the run.")
    w("")
    w("| runtime | on req/s | off req/s | on ÷ off (median of rounds) | on CPU µs/req | off CPU µs/req "
      "| mean batch on | mean batch off |")
    w("|---|---|---|---|---|---|---|---|")
    for kind, desc in KINDS:
        on, off = runs.get((kind, "on"), {}), runs.get((kind, "off"), {})
        if not on and not off:
            continue
        ratios = [float(on[r]["rps"]) / float(off[r]["rps"]) for r in on
                  if r in off and float(off[r]["rps"]) > 0]
        w(f"| {desc} | {fmt(median(float(v['rps']) for v in on.values()))} "
          f"| {fmt(median(float(v['rps']) for v in off.values()))} "
          f"| {fmt(median(ratios), '×')} "
          f"| {fmt(median(cpu_us(v) for v in on.values()))} "
          f"| {fmt(median(cpu_us(v) for v in off.values()))} "
          f"| {fmt(median(mean_batch(v) for v in batches.get((kind, 'on'), {}).values()))} "
          f"| {fmt(median(mean_batch(v) for v in batches.get((kind, 'off'), {}).values()))} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
