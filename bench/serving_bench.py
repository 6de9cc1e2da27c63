"""Helpers for bench/serving_bench.sh (run with the mlflow 3.x venv's python).

  serving_bench.py models DIR
      saves DIR/fraud (XGBClassifier, mlflow.xgboost) and DIR/fraud-sk (LogisticRegression,
      mlflow.sklearn), both on 10 float32 columns f0..f9 with a signature and an input example,
      DIR/fraud-b (an XGBClassifier that disagrees: for the swap bench) and the request bodies
      DIR/oip_one.json (OIP v2, one FP32 [1,10] row) and DIR/inv_one.json (/invocations, one row,
      dataframe_split).
  serving_bench.py register TRACKING_URI NAME DIR
      logs DIR/fraud and DIR/fraud-b as versions 1 and 2 of NAME (real mlflow client), alias
      champion -> 1.
  serving_bench.py swap TRACKING_URI NAME COUNT INTERVAL_S
      moves champion between versions 2 and 1, COUNT times, one move every INTERVAL_S; prints
      "SWAPS moves=<n> seconds=<s>".
  serving_bench.py check URL PATH BODY_FILE
      POSTs the body once and prints the status, the X-Cairn-Version header and the body
      (sanity check before a load run; exit 1 unless 200).
  serving_bench.py report RESULTS_FILE
      the Markdown section for bench/RESULTS.md from the RESULT/INFO lines of one run.
"""

import json
import os
import re
import statistics
import sys
import time
import warnings

warnings.simplefilter("ignore")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

FEATURES = [f"f{i}" for i in range(10)]


def data():
    import numpy as np
    import pandas as pd
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(400, 10)).astype(np.float32), columns=FEATURES)
    y = ((X.f0 + 0.5 * X.f1 - X.f2) > 0).astype(np.int64)
    return X, y


def save(model, path, X):
    import mlflow
    from mlflow.models import infer_signature
    flavor = mlflow.xgboost if type(model).__module__.startswith("xgboost") else mlflow.sklearn
    flavor.save_model(model, path, signature=infer_signature(X.head(5), model.predict(X.head(5))),
                      input_example=X.head(3))


def cmd_models(out):
    import xgboost
    from sklearn.linear_model import LogisticRegression
    X, y = data()
    os.makedirs(out, exist_ok=True)
    a = xgboost.XGBClassifier(n_estimators=20, max_depth=3, random_state=1).fit(X, y)
    b = xgboost.XGBClassifier(n_estimators=20, max_depth=3, random_state=1).fit(X, 1 - y)
    save(a, os.path.join(out, "fraud"), X)
    save(b, os.path.join(out, "fraud-b"), X)
    save(LogisticRegression(max_iter=300).fit(X, y), os.path.join(out, "fraud-sk"), X)
    row = [float(v) for v in X.iloc[0]]
    with open(os.path.join(out, "oip_one.json"), "w") as f:
        json.dump({"inputs": [{"name": "input", "shape": [1, 10], "datatype": "FP32", "data": row}]}, f)
    with open(os.path.join(out, "inv_one.json"), "w") as f:
        json.dump({"dataframe_split": {"columns": FEATURES, "data": [row]}}, f)
    print(f"models and bodies in {out}")


def cmd_register(uri, name, folder):
    import mlflow
    client = mlflow.MlflowClient(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("serving-bench")
    client.create_registered_model(name)
    for sub in ("fraud", "fraud-b"):
        with mlflow.start_run() as run:
            mlflow.log_artifacts(os.path.join(folder, sub), "model")
        mv = client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
        print(f"registered {name} version {mv.version} from {sub}")
    client.set_registered_model_alias(name, "champion", "1")


def cmd_swap(uri, name, count, interval):
    import mlflow
    client = mlflow.MlflowClient(uri)
    t0 = time.monotonic()
    for i in range(count):
        time.sleep(interval)
        client.set_registered_model_alias(name, "champion", "2" if i % 2 == 0 else "1")
    print(f"SWAPS moves={count} seconds={time.monotonic() - t0:.2f}")


def cmd_check(url, path, body_file):
    import requests
    with open(body_file, "rb") as f:
        body = f.read()
    r = requests.post(url + path, data=body, headers={"Content-Type": "application/json"}, timeout=60)
    print(f"status={r.status_code} version={r.headers.get('X-Cairn-Version', '-')} bytes={len(r.content)}")
    print(r.text[:400])
    sys.exit(0 if r.status_code == 200 else 1)


# --------------------------------------------------------------------------- report


def parse(path):
    results, info = {}, {}
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if parts[0] == "INFO":
            info.update(kv)
        elif parts[0] in ("RESULT", "SWAP"):
            label = kv.pop("label", "")
            m = re.search(r"_r(\d+)$", label)
            rnd = None
            if m:
                rnd = m.group(1)
                label = label[: m.start()]
            kv["_round"] = rnd
            results.setdefault(label, []).append(kv)
    return results, info


def med(rows, key):
    vals = [float(r[key]) for r in rows or [] if key in r]
    return statistics.median(vals) if vals else None


def round_ratio(results, a, b, key="rps"):
    """Median over rounds of a/b (figures of the same round); None when either is missing."""
    ra = {r["_round"]: r for r in results.get(a, [])}
    rb = {r["_round"]: r for r in results.get(b, [])}
    vals = [float(ra[k][key]) / float(rb[k][key]) for k in ra if k in rb and float(rb[k][key]) > 0]
    return statistics.median(vals) if vals else None


def cpu_per_request(rows):
    """Median over runs of the server's CPU µs per request (its CPU over the whole loadgen run
    divided by every request of the run, warm-up included); None when not measured."""
    vals = [1e6 * float(r["server_cpu_s"]) / float(r["total_requests"]) for r in rows
            if float(r.get("server_cpu_s", 0)) > 0 and float(r.get("total_requests", 0)) > 0]
    return statistics.median(vals) if vals else None


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}{unit}"
    if abs(v) >= 10:
        return f"{v:.1f}{unit}"
    return f"{v:.2f}{unit}"


def verdict(ok):
    return "not measured" if ok is None else ("**met**" if ok else "**MISSED**")


def cmd_report(path):
    results, info = parse(path)
    out = []
    w = out.append
    w("| target (what is measured) | req/s (median) | p50 ms | p99 ms | non-2xx + errors | "
      "server CPU µs/request | loadgen CPU s |")
    w("|---|---|---|---|---|---|---|")
    names = [("cairn_oip", "cairn serve, OIP v2 infer, 1 row JSON"),
             ("nginx_static", "nginx, static reply of the same size"),
             ("mlflow_invocations", "mlflow models serve, /invocations 1 row"),
             ("cairn_invocations", "cairn serve, /invocations 1 row (same body as MLflow's)"),
             ("cairn_oip_half", "cairn serve, OIP, fewer connections (≤ half the max load)"),
             ("batch_on_xgb", "batching on, XGBoost native, 32 clients"),
             ("batch_off_xgb", "batching off, XGBoost native, 32 clients"),
             ("batch_on_py", "batching on, python_function (sklearn), 32 clients"),
             ("batch_off_py", "batching off, python_function (sklearn), 32 clients"),
             ("swap_load", "hot swap: cairn serve under full load during alias moves")]
    for label, desc in names:
        rows = results.get(label)
        if not rows:
            continue
        fails = sum(int(r.get("non2xx", 0)) + int(r.get("errors", 0)) for r in rows)
        w(f"| {desc} (`{label}`, {len(rows)} run{'s' if len(rows) > 1 else ''}) | {fmt(med(rows, 'rps'))} | "
          f"{fmt(med(rows, 'p50_ms'))} | {fmt(med(rows, 'p99_ms'))} | {fails} | {fmt(cpu_per_request(rows))} | "
          f"{fmt(med(rows, 'loadgen_cpu_s'))} |")
    w("")
    w("| figure | value | goal | verdict |")
    w("|---|---|---|---|")
    r_nginx = round_ratio(results, "cairn_oip", "nginx_static")
    w(f"| cairn OIP req/s ÷ nginx static req/s | {fmt(r_nginx and 100 * r_nginx, ' %')} | ≥ 50 % | "
      f"{verdict(None if r_nginx is None else r_nginx >= 0.5)} |")
    r_mlflow = round_ratio(results, "cairn_oip", "mlflow_invocations")
    w(f"| cairn OIP req/s ÷ MLflow /invocations req/s | {fmt(r_mlflow, '×')} | ≥ 10× | "
      f"{verdict(None if r_mlflow is None else r_mlflow >= 10)} |")
    r_inv = round_ratio(results, "cairn_invocations", "mlflow_invocations")
    if r_inv is not None:
        w(f"| cairn /invocations req/s ÷ MLflow /invocations req/s (same request) | {fmt(r_inv, '×')} | "
          f"(context) | |")
    half = results.get("cairn_oip_half")
    if half:
        p99 = med(half, "p99_ms")
        frac = None
        full = med(results.get("cairn_oip"), "rps")
        if full:
            frac = med(half, "rps") / full
        w(f"| cairn OIP p99 at {fmt(frac and 100 * frac, ' %')} of the max load "
          f"({info.get('half_connections', '?')} connections) | {fmt(p99, ' ms')} | < 2 ms | "
          f"{verdict(None if p99 is None or frac is None else (p99 < 2 and frac <= 0.55))} |")
    for kind in ("xgb", "py"):
        r_b = round_ratio(results, f"batch_on_{kind}", f"batch_off_{kind}")
        if r_b is not None:
            what = "XGBoost native" if kind == "xgb" else "python_function (sklearn)"
            w(f"| batching on ÷ off, {what}, 32 clients | {fmt(r_b, '×')} | ≥ 3× | {verdict(r_b >= 3)} |")
    swap = results.get("swap_load")
    if swap:
        fails = sum(int(r.get("non2xx", 0)) + int(r.get("errors", 0)) for r in swap)
        moves = info.get("swap_moves", "?")
        swaps = info.get("swap_swaps", "?")
        w(f"| failed requests during {moves} alias moves under full load ({swaps} swaps counted by "
          f"`cairn_model_swaps_total`, {sum(int(r['requests']) for r in swap):,} requests) | {fails} | 0 | "
          f"{verdict(fails == 0)} |")
    print("\n".join(out))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "models":
        cmd_models(*args)
    elif cmd == "register":
        cmd_register(*args)
    elif cmd == "swap":
        cmd_swap(args[0], args[1], int(args[2]), float(args[3]))
    elif cmd == "check":
        cmd_check(*args)
    elif cmd == "report":
        cmd_report(*args)
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
