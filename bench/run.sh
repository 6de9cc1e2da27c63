#!/usr/bin/env bash
# bench/run.sh — Cairn's end-to-end benchmarks, each figure a ratio against a
# reference measured in the same run on the same machine (raw SQLite inserts,
# the real MLflow server). `make bench` runs it.
#
#   ./bench/run.sh            full run (~15-25 min; seeds 1M runs for search;
#                             the first run also seeds MLflow's 10k-run store,
#                             3-15 min, cached in <BUILD_DIR>/bench-cache)
#   ./bench/run.sh --quick    short durations, 1 round, 100k-run large search
#   ./bench/run.sh --ingest   only the ingest part: raw SQLite reference, log-batch and
#                             log-metric load runs, memory (no search, no registry);
#                             BENCH_MODES="log-batch" narrows it to log-batch
#
# Environment (all optional):
#   BUILD_DIR=build             where cairn and the bench tools are built
#   CAIRN_BIN=<BUILD_DIR>/cairn the server under test
#   CAIRN_SERVER_ARGS=""        extra flags for `cairn server`
#   MLFLOW_BIN=.venv/mlflow3/bin/mlflow   MLFLOW_WORKERS=4 (MLflow's default)
#   BENCH_DURATION=15 BENCH_WARMUP=2 BENCH_ROUNDS=3   load run shape
#   LOGBATCH_CLIENTS=4 LOGMETRIC_CLIENTS=8
#   SEARCH_RUNS_SMALL=10000 SEARCH_RUNS_LARGE=1000000 (0 skips the large one)
#   SEARCH_QUERIES=50 MLFLOW_SEARCH_QUERIES=10
#   SKIP_MLFLOW=1 SKIP_CAIRN=1  measure one side only
#   REGISTRY_VERSIONS=1000 REGISTRY_CLIENTS=8 SKIP_REGISTRY=1   registry bench (registry_bench.py)
#   BENCH_NO_BUILD=1            use the binaries as they are
#   BENCH_LAYOUTS=1             also run the SQLite storage-layout experiments
#                               (sqlite_insert_bench --layouts-only; ~40 s)
#   BENCH_OUT=<file>            also write the Markdown report there
#   BENCH_KEEP=1                keep the temp dir (dbs, server logs)
#
# Output: progress on stderr, the Markdown report on stdout; raw RESULT lines
# are kept in <workdir>/results.txt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"

DURATION="${BENCH_DURATION:-15}"
WARMUP="${BENCH_WARMUP:-2}"
ROUNDS="${BENCH_ROUNDS:-3}"
SEARCH_RUNS_LARGE="${SEARCH_RUNS_LARGE:-1000000}"
INGEST_ONLY=0
if [[ "${1:-}" == "--ingest" ]]; then
  INGEST_ONLY=1
  shift
fi
if [[ "${1:-}" == "--quick" ]]; then
  DURATION="${BENCH_DURATION:-5}"
  ROUNDS="${BENCH_ROUNDS:-1}"
  SEARCH_RUNS_LARGE="${BENCH_SEARCH_RUNS_LARGE_QUICK:-100000}"
fi
LOGBATCH_CLIENTS="${LOGBATCH_CLIENTS:-4}"
LOGMETRIC_CLIENTS="${LOGMETRIC_CLIENTS:-8}"
SEARCH_RUNS_SMALL="${SEARCH_RUNS_SMALL:-10000}"
BENCH_MODES="${BENCH_MODES:-log-batch log-metric}"
if [[ "$INGEST_ONLY" == 1 ]]; then
  SEARCH_RUNS_SMALL=0
  SKIP_REGISTRY=1
fi
SEARCH_QUERIES="${SEARCH_QUERIES:-50}"
MLFLOW_SEARCH_QUERIES="${MLFLOW_SEARCH_QUERIES:-10}"
MLFLOW_BIN="${MLFLOW_BIN:-$ROOT/.venv/mlflow3/bin/mlflow}"
MLFLOW_PY="$(dirname "$MLFLOW_BIN")/python"
MLFLOW_WORKERS="${MLFLOW_WORKERS:-4}"
USER_CAIRN_BIN="${CAIRN_BIN:-}"
CAIRN_BIN="${CAIRN_BIN:-$BUILD_DIR/cairn}"
CAIRN_SERVER_ARGS="${CAIRN_SERVER_ARGS:-}"
SKIP_MLFLOW="${SKIP_MLFLOW:-0}"
SKIP_CAIRN="${SKIP_CAIRN:-0}"
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY=python3

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- build
if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
  [[ -f "$BUILD_DIR/build.ninja" ]] || cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja >&2
  targets=(cairn_bench)
  [[ -z "$USER_CAIRN_BIN" && "$SKIP_CAIRN" != 1 ]] && targets+=(cairn)
  log "building ${targets[*]} in $BUILD_DIR"
  cmake --build "$BUILD_DIR" --target "${targets[@]}" -j "$(nproc)" >&2
fi
LOADGEN="$BUILD_DIR/bench/loadgen"
SQLITE_BENCH="$BUILD_DIR/bench/sqlite_insert_bench"
SEARCH_BENCH="$BUILD_DIR/bench/search_bench"
[[ -x "$LOADGEN" && -x "$SQLITE_BENCH" ]] || die "bench tools missing in $BUILD_DIR/bench"
if [[ "$SKIP_CAIRN" != 1 && ! -x "$CAIRN_BIN" ]]; then
  die "no cairn binary at $CAIRN_BIN (set CAIRN_BIN, or SKIP_CAIRN=1 to measure references only)"
fi
if [[ "$SKIP_MLFLOW" != 1 && ! -x "$MLFLOW_BIN" ]]; then
  die "no mlflow at $MLFLOW_BIN (make setup-test, or SKIP_MLFLOW=1)"
fi

# ---------------------------------------------------------------- workspace
WORK="$(mktemp -d /tmp/cairn-bench.XXXXXX)"
RESULTS="$WORK/results.txt"
: >"$RESULTS"
CACHE="$BUILD_DIR/bench-cache"
mkdir -p "$CACHE"
source "$ROOT/bench/lib/servers.sh"

# Starts a server in its own process group; sets STARTED_PID and STARTED_PORT.
start_cairn() {  # db_path artifacts_dir
  STARTED_PORT="$(free_port)"
  setsid "$CAIRN_BIN" server --host 127.0.0.1 --port "$STARTED_PORT" \
    --backend-store-uri "sqlite:///$1" --artifacts-destination "file://$2" \
    $CAIRN_SERVER_ARGS >"$WORK/cairn-$STARTED_PORT.log" 2>&1 &
  STARTED_PID=$!
  SERVER_PIDS+=("$STARTED_PID")
  local t0=$SECONDS
  wait_ready "$STARTED_PORT" "$STARTED_PID" cairn 120
  log "cairn pid $STARTED_PID on port $STARTED_PORT ($((SECONDS - t0)) s to ready)"
  CAIRN_THREADS="$(sed -n 's/.*listening on .*(\([0-9]*\) threads).*/\1/p' "$WORK/cairn-$STARTED_PORT.log" | head -1)"
}
start_mlflow() {  # db_path artifacts_dir
  STARTED_PORT="$(free_port)"
  setsid "$MLFLOW_BIN" server --host 127.0.0.1 --port "$STARTED_PORT" \
    --backend-store-uri "sqlite:///$1" --artifacts-destination "file://$2" \
    --workers "$MLFLOW_WORKERS" >"$WORK/mlflow-$STARTED_PORT.log" 2>&1 &
  STARTED_PID=$!
  SERVER_PIDS+=("$STARTED_PID")
  local t0=$SECONDS
  wait_ready "$STARTED_PORT" "$STARTED_PID" mlflow 240
  log "mlflow pid $STARTED_PID on port $STARTED_PORT ($((SECONDS - t0)) s to ready)"
}

# MEM line for a process and all its descendants: RSS, PSS and anonymous RSS
# summed, VmHWM summed (an upper bound for a multi-process server). RSS
# counts file pages a process maps (SQLite's mmap of the database), which
# the kernel can drop; anonymous RSS is the memory the server allocated.
mem_snapshot() {  # label pid
  "$PY" - "$1" "$2" >>"$RESULTS" <<'EOF'
import os, sys
label, root = sys.argv[1], int(sys.argv[2])
children = {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            ppid = int(open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(p))
todo, procs = [root], []
while todo:
    p = todo.pop()
    procs.append(p)
    todo.extend(children.get(p, []))
rss = hwm = pss = anon = 0
for p in procs:
    try:
        for line in open(f"/proc/{p}/status"):
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm += int(line.split()[1])
            elif line.startswith("RssAnon:"):
                anon += int(line.split()[1])
        for line in open(f"/proc/{p}/smaps_rollup"):
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
    except OSError:
        pass
print(f"MEM label={label} rss_kb={rss} hwm_kb={hwm} pss_kb={pss} anon_kb={anon} procs={len(procs)}")
EOF
  log "$(tail -n1 "$RESULTS")"
}

record() {  # label cmd...: appends the tool's RESULT lines, relabelled
  local label="$1"
  shift
  local out
  out="$("$@")" || { log "FAILED ($?): $*"; return 1; }
  echo "$out" | grep '^RESULT' | sed -E "s/label=[^ ]+/label=$label/" | tee -a "$RESULTS" >&2
}
record_suffixed() {  # suffix cmd...: appends the tool's RESULT lines, suffix added to each label
  local suffix="$1"
  shift
  local out
  out="$("$@")" || { log "FAILED ($?): $*"; return 1; }
  echo "$out" | grep '^RESULT' | sed -E "s/label=([^ ]+)/label=\1$suffix/" | tee -a "$RESULTS" >&2
}

# ---------------------------------------------------------------- machine
CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
MLFLOW_VERSION="$("$MLFLOW_BIN" --version 2>/dev/null | awk '{print $NF}' || echo '?')"
GIT_REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
{
  echo "INFO logbatch_clients=$LOGBATCH_CLIENTS logmetric_clients=$LOGMETRIC_CLIENTS"
  echo "INFO search_runs_10k=$SEARCH_RUNS_SMALL search_runs_1m=$SEARCH_RUNS_LARGE"
} >>"$RESULTS"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log "work dir $WORK; $(nproc) CPUs ($CPU_MODEL); mlflow $MLFLOW_VERSION, $MLFLOW_WORKERS workers; load average $LOAD_START"

# ---------------------------------------------------------------- ingest
CAIRN_PID="" MLFLOW_PID="" CAIRN_PORT="" MLFLOW_PORT="" CAIRN_THREADS="?"
if [[ "$SKIP_CAIRN" != 1 ]]; then
  mkdir -p "$WORK/cairn-art"
  start_cairn "$WORK/cairn.db" "$WORK/cairn-art"
  CAIRN_PID=$STARTED_PID CAIRN_PORT=$STARTED_PORT
fi
if [[ "$SKIP_MLFLOW" != 1 ]]; then
  mkdir -p "$WORK/mlflow-art"
  start_mlflow "$WORK/mlflow.db" "$WORK/mlflow-art"
  MLFLOW_PID=$STARTED_PID MLFLOW_PORT=$STARTED_PORT
fi
sleep 3
[[ -n "$CAIRN_PID" ]] && mem_snapshot cairn_idle "$CAIRN_PID"
[[ -n "$MLFLOW_PID" ]] && mem_snapshot mlflow_idle "$MLFLOW_PID"

# CPU seconds (user + system) used so far by a process and its descendants.
cpu_seconds() {  # pid
  "$PY" - "$1" <<'EOF'
import os, sys
root, hz = int(sys.argv[1]), os.sysconf("SC_CLK_TCK")
children, ticks = {}, {}
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(f[1]), []).append(int(p))
        ticks[int(p)] = int(f[11]) + int(f[12])  # utime + stime
todo, total = [root], 0
while todo:
    p = todo.pop()
    total += ticks.get(p, 0)
    todo.extend(children.get(p, []))
print(f"{total / hz:.2f}")
EOF
}

load() {  # server mode clients label
  local port pid
  if [[ "$1" == cairn ]]; then port="$CAIRN_PORT" pid="$CAIRN_PID"; else port="$MLFLOW_PORT" pid="$MLFLOW_PID"; fi
  [[ -n "$port" ]] || return 0
  log "$4: $2, $3 clients, ${DURATION}s"
  local c0 c1
  c0="$(cpu_seconds "$pid")"
  record "$4" "$LOADGEN" --url "http://127.0.0.1:$port" --mode "$2" -c "$3" \
    --duration "$DURATION" --warmup "$WARMUP" --label "$4" --verify || true
  c1="$(cpu_seconds "$pid")"
  echo "SRV label=$4 cpu_s=$("$PY" -c "print(round($c1 - $c0, 2))")" | tee -a "$RESULTS" >&2
}

for r in $(seq "$ROUNDS"); do
  log "round $r/$ROUNDS (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  record_suffixed "_r$r" "$SQLITE_BENCH" --dir "$WORK" --rows 2000000 --single-rows 50000 \
    --with-index
  # Alternate which server goes first so drift on the shared machine hits both.
  if (( r % 2 == 1 )); then order=(cairn mlflow); else order=(mlflow cairn); fi
  if [[ " $BENCH_MODES " == *" log-batch "* ]]; then
    for s in "${order[@]}"; do load "$s" log-batch "$LOGBATCH_CLIENTS" "${s}_logbatch_r$r"; done
  fi
  if [[ " $BENCH_MODES " == *" log-metric "* ]]; then
    for s in "${order[@]}"; do load "$s" log-metric "$LOGMETRIC_CLIENTS" "${s}_logmetric_r$r"; done
  fi
done
if [[ "${BENCH_LAYOUTS:-0}" == 1 ]]; then
  log "SQLite storage-layout experiments"
  record_suffixed "" "$SQLITE_BENCH" --dir "$WORK" --rows 2000000 --layouts-only || true
fi
[[ -n "$CAIRN_PID" ]] && mem_snapshot cairn_loaded "$CAIRN_PID"
[[ -n "$MLFLOW_PID" ]] && mem_snapshot mlflow_loaded "$MLFLOW_PID"
for pid in $CAIRN_PID $MLFLOW_PID; do stop_server "$pid"; done

# ---------------------------------------------------------------- search
search_pair() {  # size_tag cairn_port cairn_exp mlflow_port mlflow_exp
  local size="$1"
  for q in q1 q2; do
    if [[ -n "$2" ]]; then
      log "search $size $q on cairn"
      record "cairn_search${size}_$q" "$SEARCH_BENCH" query --url "http://127.0.0.1:$2" \
        --experiment-id "$3" --query "$q" --count "$SEARCH_QUERIES" || true
    fi
    if [[ -n "$4" ]]; then
      log "search $size $q on mlflow"
      record "mlflow_search${size}_$q" "$SEARCH_BENCH" query --url "http://127.0.0.1:$4" \
        --experiment-id "$5" --query "$q" --count "$MLFLOW_SEARCH_QUERIES" || true
    fi
  done
}

if [[ ! -x "$SEARCH_BENCH" ]]; then
  log "search_bench not built (cairn_store missing?): search benchmarks skipped"
elif [[ "$SEARCH_RUNS_SMALL" -gt 0 ]]; then
  log "seeding $SEARCH_RUNS_SMALL runs into a Cairn store"
  out="$("$SEARCH_BENCH" seed --db "$WORK/search-small.db" --runs "$SEARCH_RUNS_SMALL" \
    --dump "$WORK/runs-small.tsv")"
  echo "$out" | grep '^RESULT' | sed 's/label=seed/label=cairn_seed_small/' | tee -a "$RESULTS" >&2
  C_EXP="$(echo "$out" | sed -n 's/^EXPERIMENT_ID=//p')"
  C_PORT="" M_PORT="" M_EXP="" C_SPID="" M_SPID=""
  if [[ "$SKIP_CAIRN" != 1 ]]; then
    mkdir -p "$WORK/search-art"
    start_cairn "$WORK/search-small.db" "$WORK/search-art"
    C_SPID=$STARTED_PID C_PORT=$STARTED_PORT
  fi
  if [[ "$SKIP_MLFLOW" != 1 ]]; then
    # MLflow's seeded store is cached: same data (seeded PRNG), same MLflow version.
    key="$(md5sum "$WORK/runs-small.tsv" | cut -c1-12)-mlflow-$MLFLOW_VERSION"
    if [[ -f "$CACHE/mlflow-search-$key.db" ]]; then
      log "reusing MLflow store seeded earlier ($CACHE/mlflow-search-$key.db)"
      cp "$CACHE/mlflow-search-$key.db" "$WORK/mlflow-search.db"
      M_EXP="$(cat "$CACHE/mlflow-search-$key.exp")"
      grep '^RESULT' "$CACHE/mlflow-search-$key.seed" >>"$RESULTS" || true
    else
      log "seeding the same $SEARCH_RUNS_SMALL runs into MLflow (SqlAlchemyStore; minutes)"
      out="$("$MLFLOW_PY" "$ROOT/bench/seed_mlflow.py" --db "$WORK/mlflow-search.db" \
        --dump "$WORK/runs-small.tsv" --artifacts "$WORK/mlflow-search-art" 2>"$WORK/seed_mlflow.log")"
      echo "$out" | grep '^RESULT' | sed 's/label=mlflow_seed/label=mlflow_seed_small/' \
        | tee -a "$RESULTS" "$CACHE/mlflow-search-$key.seed" >&2
      M_EXP="$(echo "$out" | sed -n 's/^EXPERIMENT_ID=//p')"
      cp "$WORK/mlflow-search.db" "$CACHE/mlflow-search-$key.db"
      echo "$M_EXP" >"$CACHE/mlflow-search-$key.exp"
    fi
    mkdir -p "$WORK/mlflow-search-art"
    start_mlflow "$WORK/mlflow-search.db" "$WORK/mlflow-search-art"
    M_SPID=$STARTED_PID M_PORT=$STARTED_PORT
  fi
  search_pair 10k "$C_PORT" "$C_EXP" "$M_PORT" "$M_EXP"
  for pid in $C_SPID $M_SPID; do stop_server "$pid"; done
  rm -f "$WORK"/search-small.db*

  if [[ "$SEARCH_RUNS_LARGE" -gt 0 && "$SKIP_CAIRN" != 1 ]]; then
    log "seeding $SEARCH_RUNS_LARGE runs into a Cairn store"
    out="$("$SEARCH_BENCH" seed --db "$WORK/search-large.db" --runs "$SEARCH_RUNS_LARGE")"
    echo "$out" | grep '^RESULT' | sed 's/label=seed/label=cairn_seed_large/' | tee -a "$RESULTS" >&2
    L_EXP="$(echo "$out" | sed -n 's/^EXPERIMENT_ID=//p')"
    start_cairn "$WORK/search-large.db" "$WORK/search-art"
    L_PID=$STARTED_PID
    # MLflow at this size is not seeded: at its measured seeding rate it would
    # take hours (the report gives the estimate).
    search_pair 1m "$STARTED_PORT" "$L_EXP" "" ""
    stop_server "$L_PID"
  fi
fi

# ---------------------------------------------------------------- registry
# registry_bench.py: REGISTRY_VERSIONS versions of one model, then `models:/name@alias`
# resolved by REGISTRY_CLIENTS keep-alive clients for BENCH_DURATION s, on both servers.
REGISTRY_VERSIONS="${REGISTRY_VERSIONS:-1000}"
REGISTRY_CLIENTS="${REGISTRY_CLIENTS:-8}"
if [[ "${SKIP_REGISTRY:-0}" != 1 ]]; then
  reg_args=() R_PIDS=()
  if [[ "$SKIP_CAIRN" != 1 ]]; then
    mkdir -p "$WORK/reg-cairn-art"
    start_cairn "$WORK/reg-cairn.db" "$WORK/reg-cairn-art"
    R_PIDS+=("$STARTED_PID") reg_args+=(--url "cairn=http://127.0.0.1:$STARTED_PORT")
  fi
  if [[ "$SKIP_MLFLOW" != 1 ]]; then
    mkdir -p "$WORK/reg-mlflow-art"
    start_mlflow "$WORK/reg-mlflow.db" "$WORK/reg-mlflow-art"
    R_PIDS+=("$STARTED_PID") reg_args+=(--url "mlflow=http://127.0.0.1:$STARTED_PORT")
  fi
  if [[ ${#reg_args[@]} -gt 0 ]]; then
    log "registry: $REGISTRY_VERSIONS versions, alias resolution by $REGISTRY_CLIENTS clients"
    # A target that fails (e.g. a server without the registry) is reported in the table; the others stay.
    "$PY" "$ROOT/bench/registry_bench.py" "${reg_args[@]}" --versions "$REGISTRY_VERSIONS" \
      --clients "$REGISTRY_CLIENTS" --duration "$DURATION" --warmup "$WARMUP" \
      --out "$WORK/registry.md" >"$WORK/registry.out" || log "registry bench: a target failed (see the table)"
    grep '^RESULT' "$WORK/registry.out" | tee -a "$RESULTS" >&2 || true
  fi
  for pid in "${R_PIDS[@]}"; do stop_server "$pid"; done
fi

# ---------------------------------------------------------------- report
REPORT="$WORK/results.md"
{
  echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), commit $GIT_REV, $(nproc) CPUs ($CPU_MODEL),"
  echo "Cairn \`$CAIRN_BIN server\` ${CAIRN_SERVER_ARGS:+$CAIRN_SERVER_ARGS }(${CAIRN_THREADS} HTTP threads, SQLite store);"
  if [[ "$SKIP_MLFLOW" == 1 ]]; then echo "MLflow not measured (SKIP_MLFLOW=1); load runs ${DURATION}s"
  else echo "MLflow $MLFLOW_VERSION (uvicorn, $MLFLOW_WORKERS workers, SQLite store); load runs ${DURATION}s"; fi
  echo "after ${WARMUP}s warm-up, $ROUNDS round(s), servers alternated; medians over rounds."
  echo "Machine load average (1/5/15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  "$PY" "$ROOT/bench/report.py" "$RESULTS"
  if [[ -s "$WORK/registry.md" ]]; then echo; cat "$WORK/registry.md"; fi
} >"$REPORT"
[[ -n "${BENCH_OUT:-}" ]] && cp "$REPORT" "$BENCH_OUT"
[[ "${BENCH_KEEP:-0}" == 1 ]] && log "raw results: $RESULTS"
cat "$REPORT"
