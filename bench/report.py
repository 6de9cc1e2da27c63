"""Turns the RESULT lines collected by bench/run.sh into a Markdown table.

    python3 report.py results.txt > results.md

Input: lines "RESULT label=<name>[_rN] key=value ..." (from loadgen,
sqlite_insert_bench, search_bench) and "MEM label=<name> key=value ..." and
"INFO key=value" lines written by run.sh, and "SRV label=<name>_rN cpu_s=<s>"
(the server's CPU time during one load run, all its processes). Repeated measurements of one label
(suffix _r1, _r2, ...) are reduced to their median; each ratio divides
figures measured in the same run: for load runs, the median over rounds of
the per-round ratio. Standard library only.
"""

import re
import statistics
import sys


def parse(path):
    results, mem, info, srv = {}, {}, {}, {}
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        kind = parts[0]
        kv = {}
        for p in parts[1:]:
            if "=" in p:
                k, v = p.split("=", 1)
                kv[k] = v
        if kind == "INFO":
            info.update(kv)
            continue
        label = kv.pop("label", None)
        if label is None:
            continue
        m = re.search(r"_r(\d+)$", label)
        if m:
            kv["_round"] = m.group(1)
            label = label[: m.start()]
        target = {"RESULT": results, "MEM": mem, "SRV": srv}.get(kind)
        if target is None:
            continue
        target.setdefault(label, []).append(kv)
    return results, mem, info, srv


def med(rows, key):
    vals = []
    for r in rows or []:
        try:
            vals.append(float(r[key]))
        except (KeyError, ValueError):
            pass
    return statistics.median(vals) if vals else None


def round_ratio(results, a_label, a_key, b_label, b_key):
    """Median over rounds of a/b, pairing the two figures of the same round
    (both measured minutes apart); the ratio of medians when not in rounds."""
    a_rows = {r.get("_round"): r for r in results.get(a_label, [])}
    b_rows = {r.get("_round"): r for r in results.get(b_label, [])}
    ratios = []
    for rnd, a in a_rows.items():
        b = b_rows.get(rnd)
        if rnd is None or b is None:
            continue
        try:
            if float(b[b_key]) != 0:
                ratios.append(float(a[a_key]) / float(b[b_key]))
        except (KeyError, ValueError):
            pass
    if ratios:
        return statistics.median(ratios)
    return ratio(med(results.get(a_label), a_key), med(results.get(b_label), b_key))


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        s = f"{v:,.0f}"
    elif abs(v) >= 10:
        s = f"{v:.1f}"
    else:
        s = f"{v:.2f}"
    return s + unit


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def verdict(ok):
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**MISSED**"


def main():
    results, mem, info, srv = parse(sys.argv[1])
    r = lambda label, key: med(results.get(label), key)
    n = lambda label: len(results.get(label, []))
    out = []
    out.append("Figures are medians over rounds; a ratio is the median of the per-round ratios.")
    out.append("")
    out.append("| benchmark | Cairn | reference | ratio | goal | verdict |")
    out.append("|---|---|---|---|---|---|")

    cb = r("cairn_logbatch", "items_per_s")
    sq = r("sqlite_batch1000", "rows_per_s")
    mb = r("mlflow_logbatch", "items_per_s")
    rr = lambda a, ak, b, bk: round_ratio(results, a, ak, b, bk)
    x = rr("cairn_logbatch", "items_per_s", "sqlite_batch1000", "rows_per_s")
    out.append(
        f"| log-batch ingest, 1000 metrics/request, {info.get('logbatch_clients', '?')} clients "
        f"(metrics/s, median of {n('cairn_logbatch')}) | {fmt(cb)} | raw SQLite 1000 rows/txn: "
        f"{fmt(sq)} rows/s | {fmt(x * 100 if x else None, ' %')} | ≥ 50 % | "
        f"{verdict(None if x is None else x >= 0.5)} |")
    pk = r("sqlite_batch1000_pk", "rows_per_s")
    x = rr("cairn_logbatch", "items_per_s", "sqlite_batch1000_pk", "rows_per_s")
    out.append(
        f"| log-batch ingest vs SQLite with a metrics primary key (metrics/s) | {fmt(cb)} | "
        f"SQLite WITHOUT ROWID, PK (run_id,key,step,ts,value,is_nan): {fmt(pk)} rows/s | "
        f"{fmt(x * 100 if x else None, ' %')} | (context) | — |")
    x = rr("cairn_logbatch", "items_per_s", "mlflow_logbatch", "items_per_s")
    out.append(
        f"| log-batch ingest vs MLflow (metrics/s) | {fmt(cb)} | MLflow server: {fmt(mb)} | "
        f"{fmt(x, '×')} | ≥ 25× | {verdict(None if x is None else x >= 25)} |")

    cm = r("cairn_logmetric", "rps")
    mm = r("mlflow_logmetric", "rps")
    s1 = r("sqlite_batch1", "rows_per_s")
    x = rr("cairn_logmetric", "rps", "mlflow_logmetric", "rps")
    out.append(
        f"| log-metric, 1 metric/request, {info.get('logmetric_clients', '?')} clients (req/s, "
        f"median of {n('cairn_logmetric')}) | {fmt(cm)} | MLflow server: {fmt(mm)} | "
        f"{fmt(x, '×')} | ≥ 100× | {verdict(None if x is None else x >= 100)} |")
    x = rr("cairn_logmetric", "rps", "sqlite_batch1", "rows_per_s")
    out.append(
        f"| log-metric vs raw SQLite, 1 row/txn (req/s) | {fmt(cm)} | SQLite: {fmt(s1)} rows/s | "
        f"{fmt(x * 100 if x else None, ' %')} | (context) | — |")

    for size, goal in (("10k", 20), ("1m", 100)):
        for q in ("q1", "q2"):
            c50 = r(f"cairn_search{size}_{q}", "p50_ms")
            c99 = r(f"cairn_search{size}_{q}", "p99_ms")
            m50 = r(f"mlflow_search{size}_{q}", "p50_ms")
            m99 = r(f"mlflow_search{size}_{q}", "p99_ms")
            if c50 is None and m50 is None:
                continue
            runs = info.get(f"search_runs_{size}", size)
            x = ratio(m50, c50)
            ref = (f"MLflow: p50 {fmt(m50, ' ms')}, p99 {fmt(m99, ' ms')}" if m50 is not None
                   else "MLflow: not run (see notes)")
            if q == "q1":
                g = f"p50 < {goal} ms"
                ok = None if c50 is None else c50 < goal
                v = verdict(ok)
            else:
                g, v = "(context)", "—"
            out.append(
                f"| search {q} over {runs} runs (p50 / p99) | {fmt(c50, ' ms')} / "
                f"{fmt(c99, ' ms')} | {ref} | "
                f"{fmt(x, '× faster') if x else 'n/a'} | {g} | {v} |")

    def memrow(name, key, what):
        c = med(mem.get(f"cairn_{name}"), key)
        m = med(mem.get(f"mlflow_{name}"), key)
        x = ratio(c, m)
        return (f"| memory {what} (MiB) | {fmt(c / 1024 if c else None)} | MLflow: "
                f"{fmt(m / 1024 if m else None)} | {fmt(x * 100 if x else None, ' %')} | "
                f"below MLflow | {verdict(None if x is None else x < 1)} |")

    out.append(memrow("idle", "rss_kb", "idle RSS"))
    out.append(memrow("loaded", "rss_kb", "RSS after load"))
    out.append(memrow("loaded", "hwm_kb", "peak (VmHWM) after load"))
    out.append(memrow("loaded", "anon_kb", "anonymous RSS after load"))
    out.append(memrow("idle", "pss_kb", "idle PSS"))

    out.append("")
    out.append("Latency of the load runs (median over rounds):")
    out.append("")
    out.append("| run | req/s | p50 ms | p90 ms | p99 ms | non-2xx | server CPU ms/request "
               "| server cores busy | loadgen CPU s |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for label in ("cairn_logbatch", "mlflow_logbatch", "cairn_logmetric", "mlflow_logmetric"):
        if label not in results:
            continue
        per_req, cores = [], []
        rounds = {x.get("_round"): x for x in results[label]}
        for s_row in srv.get(label, []):
            res = rounds.get(s_row.get("_round"))
            try:
                cpu = float(s_row["cpu_s"])
                if res and float(res.get("total_requests", 0)) > 0:
                    per_req.append(1000 * cpu / float(res["total_requests"]))
                    cores.append(cpu / float(res["wall_s"]))
            except (KeyError, ValueError, ZeroDivisionError):
                pass
        m_per_req = statistics.median(per_req) if per_req else None
        m_cores = statistics.median(cores) if cores else None
        out.append(
            f"| {label} | {fmt(r(label, 'rps'))} | {fmt(r(label, 'p50_ms'))} | "
            f"{fmt(r(label, 'p90_ms'))} | {fmt(r(label, 'p99_ms'))} | "
            f"{fmt(r(label, 'non2xx'))} | {fmt(m_per_req)} | {fmt(m_cores)} | "
            f"{fmt(r(label, 'loadgen_cpu_s'))} |")
    layouts = [(k, v) for k, v in results.items() if k.startswith("layout_")]
    if layouts:
        base = med(results.get("layout_text_pk"), "rows_per_s")
        out.append("")
        out.append("SQLite storage-layout experiments (sqlite_insert_bench --layouts-only; "
                   "1000-row batches from 4 runs in turn):")
        out.append("")
        out.append("| layout | rows/s | vs Cairn schema v1 (layout_text_pk) |")
        out.append("|---|---|---|")
        for k, v in layouts:
            x = ratio(med(v, "rows_per_s"), base)
            out.append(f"| {k} | {fmt(med(v, 'rows_per_s'))} | {fmt(x, '×')} |")
    seeds = [(k, v) for k, v in results.items() if "seed" in k]
    if seeds:
        out.append("")
        out.append("Seeding (not a goal, for planning):")
        out.append("")
        for k, v in seeds:
            out.append(f"- {k}: {fmt(med(v, 'runs'))} runs in {fmt(med(v, 'seconds'), ' s')} "
                       f"({fmt(med(v, 'runs_per_s'))} runs/s)")
        rate = med(results.get("mlflow_seed_small"), "runs_per_s")
        large = info.get("search_runs_1m")
        if rate and large and large.isdigit() and int(large) > 0:
            hours = int(large) / rate / 3600
            out.append(f"- MLflow at {int(large):,} runs: not seeded; at its measured seeding rate "
                       f"that would take ~{hours:.1f} h, so MLflow is not measured at that size.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
