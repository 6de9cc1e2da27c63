#!/usr/bin/env bash
# bench/ui_bench.sh — the web UI at 100,000 runs x 20 metrics, in a real
# browser (Debian's Chromium through playwright-core), Cairn's runs page
# against MLflow's experiment page on the same data in the same run.
# Not part of `make bench` or `make test`; run it by hand:
#
#   ./bench/ui_bench.sh                       # 100k runs, 5 repetitions
#   UI_BENCH_RUNS=10000 UI_BENCH_REPS=3 ./bench/ui_bench.sh
#
# What it does:
#   1. builds the UI from ui/src into the temp dir (vite build) unless
#      UI_BENCH_UI_DIR names a built one;
#   2. starts `cairn server` (SQLite store) and seeds the experiment of
#      bench/ui/dataset.mjs through the REST API: runs/create, runs/log-batch
#      (20 metrics, 6 params), runs/update per run, from UI_BENCH_CLIENTS
#      keep-alive connections (bench/ui/seed_cairn.mjs, which then checks the
#      top run by loss against the dataset);
#   3. loads the same runs into MLflow's SQLite schema by bulk SQL
#      (bench/ui/seed_mlflow_ui.py; its REST API seeds ~11 runs/s), cached in
#      <BUILD_DIR>/bench-cache, and starts `mlflow server` on it;
#   4. times in the browser (bench/ui/ui_bench.mjs): the runs page's first
#      render, a sort by metric `loss`, and (Cairn) a jump to row 50,000;
#      a fresh browser context per page, UIs alternated, medians.
#
# Environment (all optional):
#   BUILD_DIR=build  CAIRN_BIN=<BUILD_DIR>/cairn   MLFLOW_BIN=.venv/mlflow3/bin/mlflow
#   UI_BENCH_RUNS=100000  UI_BENCH_REPS=5  UI_BENCH_CLIENTS=8
#   UI_BENCH_UI_DIR=<built ui>   SKIP_MLFLOW=1   MLFLOW_WORKERS=4
#   UI_BENCH_CACHE=<BUILD_DIR>/bench-cache   where MLflow's seeded store is kept (~1 GB at 100k)
#   UI_BENCH_CAIRN_DB=<cairn.db>  start from a copy of a store seeded by an earlier
#                     run (BENCH_KEEP=1 keeps <workdir>/cairn.db) instead of seeding
#                     through the API again (~3-9 min); the server migrates it on start
#   BENCH_OUT=<file>  also write the Markdown report there
#   BENCH_KEEP=1      keep the temp dir (databases, server logs)
# Output: progress on stderr, a Markdown report on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
CAIRN_BIN="${CAIRN_BIN:-$BUILD_DIR/cairn}"
MLFLOW_BIN="${MLFLOW_BIN:-$ROOT/.venv/mlflow3/bin/mlflow}"
MLFLOW_PY="$(dirname "$MLFLOW_BIN")/python"
MLFLOW_WORKERS="${MLFLOW_WORKERS:-4}"
RUNS="${UI_BENCH_RUNS:-100000}"
REPS="${UI_BENCH_REPS:-5}"
CLIENTS="${UI_BENCH_CLIENTS:-8}"
SKIP_MLFLOW="${SKIP_MLFLOW:-0}"
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY=python3

log() { echo "[ui-bench $(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "UI_BENCH_RUNS must be a positive integer, not '$RUNS'"
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "UI_BENCH_REPS must be a positive integer, not '$REPS'"
[[ -x "$CAIRN_BIN" ]] || die "no cairn binary at $CAIRN_BIN (build it, or set CAIRN_BIN)"
command -v node >/dev/null || die "node is needed (the browser driver and the seeder)"
[[ -d "$ROOT/ui/node_modules/playwright-core" ]] || die "ui/node_modules is missing: cd ui && npm ci"
[[ -x "${CAIRN_CHROMIUM:-/usr/bin/chromium}" ]] || die "no Chromium at /usr/bin/chromium (apt-get install chromium)"
if [[ "$SKIP_MLFLOW" != 1 && ! -x "$MLFLOW_BIN" ]]; then
  die "no mlflow at $MLFLOW_BIN (make setup-test, or SKIP_MLFLOW=1)"
fi

WORK="$(mktemp -d /tmp/cairn-ui-bench.XXXXXX)"
CACHE="${UI_BENCH_CACHE:-$BUILD_DIR/bench-cache}"
mkdir -p "$CACHE"
source "$ROOT/bench/lib/servers.sh"

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
START_UTC="$(date -u '+%Y-%m-%d %H:%M')"

# ---------------------------------------------------------------- the UI
if [[ -n "${UI_BENCH_UI_DIR:-}" ]]; then
  UI_DIR="$UI_BENCH_UI_DIR"
else
  UI_DIR="$WORK/ui-dist"
  log "building the UI (vite) into $UI_DIR"
  (cd "$ROOT/ui" && npx vite build --outDir "$UI_DIR" --emptyOutDir >"$WORK/vite.log" 2>&1) \
    || { cat "$WORK/vite.log" >&2; die "vite build failed"; }
fi
[[ -f "$UI_DIR/index.html" ]] || die "no index.html in $UI_DIR"

# ---------------------------------------------------------------- Cairn
C_PORT="$(free_port)"
mkdir -p "$WORK/cairn-art"
if [[ -n "${UI_BENCH_CAIRN_DB:-}" ]]; then
  [[ -f "$UI_BENCH_CAIRN_DB" ]] || die "UI_BENCH_CAIRN_DB=$UI_BENCH_CAIRN_DB does not exist"
  log "copying the seeded store $UI_BENCH_CAIRN_DB"
  cp "$UI_BENCH_CAIRN_DB" "$WORK/cairn.db"
fi
setsid "$CAIRN_BIN" server --host 127.0.0.1 --port "$C_PORT" \
  --backend-store-uri "sqlite:///$WORK/cairn.db" --artifacts-destination "file://$WORK/cairn-art" \
  --ui-dir "$UI_DIR" >"$WORK/cairn.log" 2>&1 &
C_PID=$!
SERVER_PIDS+=("$C_PID")
wait_ready "$C_PORT" "$C_PID" cairn 60
curl -sf "http://127.0.0.1:$C_PORT/" | grep -q '<div id="app"' \
  || die "cairn server does not serve the UI from $UI_DIR (GET / has no app root)"
if [[ -n "${UI_BENCH_CAIRN_DB:-}" ]]; then
  C_EXP="$(curl -sf "http://127.0.0.1:$C_PORT/api/2.0/mlflow/experiments/get-by-name?experiment_name=ui-bench" \
    | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["experiment"]["experiment_id"])')" \
    || die "no experiment ui-bench in $UI_BENCH_CAIRN_DB"
  C_SEED="reused $UI_BENCH_CAIRN_DB"
else
  log "seeding $RUNS runs into cairn (REST, $CLIENTS clients)"
  out="$(node "$ROOT/bench/ui/seed_cairn.mjs" --url "http://127.0.0.1:$C_PORT" --runs "$RUNS" --clients "$CLIENTS")" \
    || die "seeding cairn failed"
  echo "$out" | grep '^RESULT' >&2
  C_EXP="$(echo "$out" | sed -n 's/^EXPERIMENT_ID=//p')"
  C_SEED="$(echo "$out" | grep '^RESULT')"
fi

# ---------------------------------------------------------------- MLflow
M_ARGS=() M_SEED="" MLFLOW_VERSION=""
if [[ "$SKIP_MLFLOW" != 1 ]]; then
  MLFLOW_VERSION="$("$MLFLOW_PY" -c 'import mlflow; print(mlflow.__version__)' 2>/dev/null)"
  key="$(cat "$ROOT/bench/ui/dataset.mjs" "$ROOT/bench/ui/seed_mlflow_ui.py" | md5sum | cut -c1-12)-$RUNS-$MLFLOW_VERSION"
  if [[ -f "$CACHE/mlflow-ui-$key.db" ]]; then
    log "reusing MLflow store seeded earlier ($CACHE/mlflow-ui-$key.db)"
    cp "$CACHE/mlflow-ui-$key.db" "$WORK/mlflow.db"
    M_EXP="$(cat "$CACHE/mlflow-ui-$key.exp")"
    M_SEED="$(cat "$CACHE/mlflow-ui-$key.seed") (cached)"
  else
    log "loading $RUNS runs into MLflow's schema (bulk SQL)"
    node "$ROOT/bench/ui/dump_dataset.mjs" --runs "$RUNS" >"$WORK/runs.jsonl"
    out="$("$MLFLOW_PY" "$ROOT/bench/ui/seed_mlflow_ui.py" --db "$WORK/mlflow.db" \
      --runs-jsonl "$WORK/runs.jsonl" --artifacts "$WORK/mlflow-art" 2>"$WORK/seed_mlflow.log")" \
      || { tail -20 "$WORK/seed_mlflow.log" >&2; die "seeding MLflow failed"; }
    rm -f "$WORK/runs.jsonl"
    M_EXP="$(echo "$out" | sed -n 's/^EXPERIMENT_ID=//p')"
    M_SEED="$(echo "$out" | grep '^RESULT')"
    echo "$M_SEED" >&2
    cp "$WORK/mlflow.db" "$CACHE/mlflow-ui-$key.db"
    echo "$M_EXP" >"$CACHE/mlflow-ui-$key.exp"
    echo "$M_SEED" >"$CACHE/mlflow-ui-$key.seed"
  fi
  M_PORT="$(free_port)"
  mkdir -p "$WORK/mlflow-art"
  setsid "$MLFLOW_BIN" server --host 127.0.0.1 --port "$M_PORT" \
    --backend-store-uri "sqlite:///$WORK/mlflow.db" --artifacts-destination "file://$WORK/mlflow-art" \
    --workers "$MLFLOW_WORKERS" >"$WORK/mlflow.log" 2>&1 &
  M_PID=$!
  SERVER_PIDS+=("$M_PID")
  wait_ready "$M_PORT" "$M_PID" mlflow 240
  # MLflow 3 opens an experiment on its GenAI overview unless the experiment
  # says it is for model training; the runs table is what we compare.
  curl -sf -X POST "http://127.0.0.1:$M_PORT/api/2.0/mlflow/experiments/set-experiment-tag" \
    -H 'Content-Type: application/json' \
    -d "{\"experiment_id\":\"$M_EXP\",\"key\":\"mlflow.experimentKind\",\"value\":\"custom_model_development\"}" \
    >/dev/null || die "could not tag the MLflow experiment"
  M_ARGS=(--mlflow "http://127.0.0.1:$M_PORT" --mlflow-exp "$M_EXP")
fi

# ---------------------------------------------------------------- browser
log "timing in Chromium: $REPS repetitions (load $(cut -d' ' -f1-3 /proc/loadavg))"
node "$ROOT/bench/ui/ui_bench.mjs" --runs "$RUNS" --reps "$REPS" \
  --cairn "http://127.0.0.1:$C_PORT" --cairn-exp "$C_EXP" "${M_ARGS[@]}" >"$WORK/ui_bench.out" \
  || die "browser timing failed"
grep '^RESULT' "$WORK/ui_bench.out" >&2
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---------------------------------------------------------------- report
"$PY" - "$WORK/ui_bench.out" "$RUNS" "$REPS" "$START_UTC" "$LOAD_START" "$LOAD_END" \
  "$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')" "$CAIRN_BIN" \
  "$MLFLOW_VERSION" "$C_SEED" "$M_SEED" "$MLFLOW_WORKERS" <<'EOF' | tee "${BENCH_OUT:-/dev/null}"
import json, sys
out, runs, reps, start, l0, l1, commit, cairn, mlv, cseed, mseed, mworkers = sys.argv[1:]
summary = None
for line in open(out):
    if line.startswith("SUMMARY "):
        summary = json.loads(line[8:])
res = summary["results"]
def fmt(ms):
    return f"{ms:,.0f} ms" if ms >= 100 else f"{ms:.1f} ms"
def cell(k):
    r = res.get(k)
    return f"{fmt(r['median_ms'])} ({fmt(r['min_ms'])}–{fmt(r['max_ms'])})" if r else "n/a"
print(f"Run {start} UTC, commit {commit}, {int(runs):,} runs x 20 metrics, 6 params, 6 tags; "
      f"Cairn `{cairn}` (SQLite); MLflow {mlv or 'not run'} (`mlflow server`, {mworkers} workers, SQLite); "
      f"Debian Chromium headless, 1440x900, fresh browser context per page, {reps} repetitions, UIs alternated.")
print(f"Load average (1/5/15 min) at start: {l0}; at end: {l1}; in the browser phase: "
      f"{summary['load_start']} -> {summary['load_end']}.")
print()
print("| measurement | Cairn median (min–max) | MLflow UI median (min–max) | MLflow / Cairn | goal |")
print("|---|---|---|---|---|")
rows = [("first render, first visit (plain URL, default columns): navigation to the first page of rows", "first_render", "< 1 s"),
        ("… of which: DOMContentLoaded (HTML and scripts loaded)", "dcl", ""),
        ("… of which: the last API answer before the rows showed", "last_api_end", ""),
        ("first render of a link naming its columns (`?cols=`, 9 columns)", "first_render_link", "< 1 s"),
        ("sort by metric `loss`: click to rows in the new order", "sort", ""),
        (f"jump to row {summary['scroll_row']:,}: scrollTop set to that row's name shown", "scroll_50k", "")]
for label, k, goal in rows:
    c, m = res.get(f"cairn_{k}"), res.get(f"mlflow_{k}")
    ratio = f"{m['median_ms'] / c['median_ms']:.1f}×" if c and m else "n/a"
    mcell = cell(f"mlflow_{k}") if m else ("n/a (no offset jumps: “Load more” pages 100 runs a click)" if k == "scroll_50k" and mlv
                                         else "(its URL names no columns)" if k == "first_render_link" and mlv else "n/a")
    verdict = ""
    if goal == "< 1 s" and c:
        if int(runs) < 100000:
            verdict = "(the goal is at 100,000 runs)"
        else:
            verdict = "< 1 s: **met**" if c["median_ms"] < 1000 else "< 1 s: **MISSED**"
    print(f"| {label} | {cell(f'cairn_{k}')} | {mcell} | {ratio} | {verdict} |")
print()
print("Samples (ms): " + "; ".join(f"{k} {v['samples']}" for k, v in res.items()))
print()
cpart = (f"Cairn's store copied from {cseed[7:]} (seeded by an earlier run)" if cseed.startswith("reused ")
         else f"Cairn through its REST API: `{cseed}`")
print(f"Seeding: {cpart}; MLflow by bulk SQL into its schema: `{mseed or 'not run'}`.")
EOF
