#!/usr/bin/env python3
"""Registry benchmark: register many versions of one model, then resolve `models:/<name>@<alias>`
(GET /api/2.0/mlflow/registered-models/alias, what the client does for that URI) from concurrent
keep-alive clients. Same workload against each target; prints RESULT lines and a Markdown table
with each target's ratio to `mlflow` (to the first target when there is no `mlflow`).

    registry_bench.py --url cairn=http://127.0.0.1:5000 --url mlflow=http://127.0.0.1:5001
    registry_bench.py --start cairn=build/cairn --start mlflow=.venv/mlflow3/bin/mlflow

--start runs the server itself (SQLite and an artifact folder in a temp dir, stopped at the end).
Per target:
  1. logs a small model folder (MLmodel + weights) as a run's artifacts via the artifact proxy;
  2. creates the registered model and --versions versions from that source, one request at a time
     (RESULT label=<t>_registry_register versions= seconds= versions_per_s=);
  3. points alias `champion` at the middle version and checks that it resolves to it;
  4. --clients processes, each one keep-alive HTTP connection, resolve the alias for --duration s
     after --warmup s (RESULT label=<t>_registry_alias requests= seconds= rps= p50_ms= p90_ms=
     p99_ms= errors= client_cpu_s=). Every answer's status is checked, and every 64th body is
     parsed and its version compared.
Clients are Python processes: on a small machine they share the CPUs with the server, so a fast
server's figure is a lower bound (client_cpu_s tells how busy they were).

Exit status: 0 when every target was measured, 1 otherwise (the table still shows the others).
Standard library only.
"""

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

MLMODEL = """\
artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.pyfunc.model
    python_version: 3.11.2
mlflow_version: 3.0.0
model_uuid: {uuid}
signature:
  inputs: '[{{"type": "double", "name": "x", "required": true}}]'
  outputs: '[{{"type": "double", "required": true}}]'
  params: null
utc_time_created: '2025-01-01 00:00:00.000000'
"""


class BenchError(Exception):
    pass


class Api:
    """One keep-alive connection to a server; JSON in and out."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)

    def call(self, method, path, body=None, raw=None, ctype="application/json"):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": ctype} if data is not None else {}
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                payload = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt:
                    raise
        if resp.status != 200:
            raise BenchError(f"{method} {path}: HTTP {resp.status}: {payload[:300]!r}")
        return json.loads(payload) if payload.strip() else {}


def prepare(url, name, versions):
    """Steps 1-3; returns (alias path, expected version, seconds spent registering)."""
    api = Api(url)
    exp_id = api.call("POST", "/api/2.0/mlflow/experiments/create",
                      {"name": f"registry-bench-{uuid.uuid4().hex[:8]}"})["experiment_id"]
    run = api.call("POST", "/api/2.0/mlflow/runs/create",
                   {"experiment_id": exp_id, "start_time": int(time.time() * 1000)})["run"]
    run_id, art_uri = run["info"]["run_id"], run["info"]["artifact_uri"]
    prefix = "mlflow-artifacts:/"
    if not art_uri.startswith(prefix):
        raise BenchError(f"the server does not proxy artifacts (artifact_uri {art_uri})")
    art_path = art_uri[len(prefix):].strip("/")
    files = {"MLmodel": MLMODEL.format(uuid=uuid.uuid4().hex).encode(), "weights.bin": os.urandom(4096)}
    for fname, data in files.items():
        api.call("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{art_path}/model/{fname}", raw=data,
                 ctype="application/octet-stream")
    source = f"{art_uri}/model"
    api.call("POST", "/api/2.0/mlflow/registered-models/create", {"name": name})
    t0 = time.perf_counter()
    for i in range(versions):
        mv = api.call("POST", "/api/2.0/mlflow/model-versions/create",
                      {"name": name, "source": source, "run_id": run_id})["model_version"]
        if mv["version"] != str(i + 1):
            raise BenchError(f"version {i + 1} created as {mv['version']}")
    reg_s = time.perf_counter() - t0
    target = str((versions + 1) // 2)
    api.call("POST", "/api/2.0/mlflow/registered-models/alias",
             {"name": name, "alias": "champion", "version": target})
    path = "/api/2.0/mlflow/registered-models/alias?" + urllib.parse.urlencode(
        {"name": name, "alias": "champion"})
    got = api.call("GET", path)["model_version"]["version"]
    if got != target:
        raise BenchError(f"alias champion resolves to {got}, expected {target}")
    return path, target, reg_s


def client_worker(url, path, target, start_at, measure_from, stop_at, out):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    lat, errors, n = [], 0, 0
    want = target.encode()
    while time.time() < start_at:
        time.sleep(0.001)
    cpu0 = time.process_time()
    while True:
        t0 = time.time()
        if t0 >= stop_at:
            break
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            body = resp.read()
            ok = resp.status == 200
            n += 1
            if ok and n % 64 == 0:
                ok = json.loads(body)["model_version"]["version"] == target
            elif ok:
                ok = want in body
        except (http.client.HTTPException, OSError, ValueError, KeyError):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        t1 = time.time()
        if t0 >= measure_from:
            if ok:
                lat.append(t1 - t0)
            else:
                errors += 1
    out.put((lat, errors, time.process_time() - cpu0))


def load(url, path, target, clients, duration, warmup):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    start_at = time.time() + 0.5
    measure_from = start_at + warmup
    stop_at = measure_from + duration
    procs = [ctx.Process(target=client_worker, args=(url, path, target, start_at, measure_from, stop_at, q))
             for _ in range(clients)]
    for p in procs:
        p.start()
    results = [q.get(timeout=duration + warmup + 120) for _ in procs]
    for p in procs:
        p.join(10)
    lat = sorted(x for r in results for x in r[0])
    errors = sum(r[1] for r in results)
    cpu = sum(r[2] for r in results)
    if not lat:
        raise BenchError(f"no successful request ({errors} errors)")

    def pct(p):
        return 1000 * lat[min(len(lat) - 1, int(p * len(lat)))]

    return {"requests": len(lat), "seconds": duration, "rps": len(lat) / duration,
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "mean_ms": 1000 * statistics.fmean(lat), "errors": errors, "client_cpu_s": cpu}


# ------------------------------------------------------------------------------- servers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, kind, binary, workdir, workers):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        art = os.path.join(workdir, f"{kind}-art")
        os.makedirs(art, exist_ok=True)
        db = f"sqlite:///{workdir}/{kind}.db"
        if kind == "mlflow" or os.path.basename(binary) == "mlflow":
            cmd = [binary, "server", "--host", "127.0.0.1", "--port", str(self.port), "--backend-store-uri", db,
                   "--serve-artifacts", "--artifacts-destination", art, "--workers", str(workers)]
        else:
            cmd = [binary, "server", "--host", "127.0.0.1", "--port", str(self.port), "--backend-store-uri", db,
                   "--artifacts-destination", "file://" + art]
        self.log = os.path.join(workdir, f"{kind}.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{kind} exited with {self.proc.returncode}; log {self.log}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise BenchError(f"{kind} not healthy after 240 s; log {self.log}")

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(10)


def fmt(v, unit=""):
    if v is None:
        return "n/a"
    if abs(v) >= 100:
        return f"{v:,.0f}{unit}"
    if abs(v) >= 10:
        return f"{v:.1f}{unit}"
    return f"{v:.2f}{unit}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", action="append", default=[], metavar="LABEL=URL", help="a running server")
    ap.add_argument("--start", action="append", default=[], metavar="LABEL=BINARY",
                    help="start this server (cairn or mlflow binary) in a temp dir")
    ap.add_argument("--versions", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--mlflow-workers", type=int, default=4)
    ap.add_argument("--out", help="also write the Markdown table here")
    args = ap.parse_args()

    targets = []  # (label, url or None, binary or None)
    for spec in args.url:
        label, _, url = spec.partition("=")
        targets.append((label, url, None))
    for spec in args.start:
        label, _, binary = spec.partition("=")
        targets.append((label, None, binary))
    if not targets:
        ap.error("give at least one --url or --start")

    workdir = tempfile.mkdtemp(prefix="registry-bench.")
    rows, failed = {}, {}
    try:
        for label, url, binary in targets:
            srv = None
            try:
                if binary:
                    print(f"[registry] starting {label}: {binary}", file=sys.stderr)
                    srv = Server(label, binary, workdir, args.mlflow_workers)
                    url = srv.url
                name = f"bench-{uuid.uuid4().hex[:8]}"
                print(f"[registry] {label}: registering {args.versions} versions of {name}", file=sys.stderr)
                path, target, reg_s = prepare(url, name, args.versions)
                print(f"RESULT label={label}_registry_register versions={args.versions} seconds={reg_s:.3f} "
                      f"versions_per_s={args.versions / reg_s:.1f}", flush=True)
                print(f"[registry] {label}: {args.clients} clients resolve {name}@champion for "
                      f"{args.duration:g} s", file=sys.stderr)
                m = load(url, path, target, args.clients, args.duration, args.warmup)
                print(f"RESULT label={label}_registry_alias requests={m['requests']} seconds={m['seconds']:.3f} "
                      f"rps={m['rps']:.2f} p50_ms={m['p50_ms']:.3f} p90_ms={m['p90_ms']:.3f} "
                      f"p99_ms={m['p99_ms']:.3f} errors={m['errors']} client_cpu_s={m['client_cpu_s']:.2f}",
                      flush=True)
                m["versions_per_s"] = args.versions / reg_s
                rows[label] = m
            except (BenchError, OSError, KeyError, ValueError) as e:
                failed[label] = str(e)
                print(f"[registry] {label} FAILED: {e}", file=sys.stderr)
            finally:
                if srv:
                    srv.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    labels = [t[0] for t in targets]
    ref = "mlflow" if "mlflow" in labels else labels[0]
    base = rows.get(ref)
    md = [f"Registry: {args.versions} versions of one model; `models:/<name>@champion` resolved "
          f"(GET registered-models/alias) by {args.clients} keep-alive clients for {args.duration:g} s "
          f"after {args.warmup:g} s warm-up. Ratios against `{ref}`.", "",
          "| target | register versions/s | alias req/s | p50 ms | p99 ms | errors | req/s ratio | p99 ratio |",
          "|---|---|---|---|---|---|---|---|"]
    for label in labels:
        m = rows.get(label)
        if m is None:
            md.append(f"| {label} | failed: {failed.get(label, '?')[:120]} | | | | | | |")
            continue
        rps_ratio = m["rps"] / base["rps"] if base else None
        p99_ratio = base["p99_ms"] / m["p99_ms"] if base and m["p99_ms"] else None
        md.append(f"| {label} | {fmt(m['versions_per_s'])} | {fmt(m['rps'])} | {fmt(m['p50_ms'])} | "
                  f"{fmt(m['p99_ms'])} | {m['errors']} | {fmt(rps_ratio, '×')} | "
                  f"{fmt(p99_ratio, '× lower') if p99_ratio else 'n/a'} |")
    text = "\n".join(md)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
