#!/usr/bin/env bash
# bench/serving_bench.sh — the serving benchmarks of issue 4, each figure a ratio of two
# measurements taken in the same run on the same machine (rounds alternate the order).
#
#   1. OIP v2 infer of a small XGBoost model (XGBClassifier, 10 float32 features, 20 trees), one row
#      per request, JSON, N keep-alive connections (bench/loadgen): `cairn serve` against
#        - nginx answering a static reply of the same size (`return 200 '<cairn's answer>'`;
#          a temp prefix and config, no root, no system service): the HTTP limit here;
#        - `mlflow models serve` of the same model folder (`--env-manager local`), /invocations
#          with one row (it has no OIP); `cairn serve`'s /invocations with the same body for context.
#      Goals: >= 50 % of nginx's req/s, >= 10x MLflow's; p99 < 2 ms at half the max load
#      (a closed-loop pass with fewer connections whose req/s is at most half the max).
#   2. Dynamic batching on (--max-batch-size 32, greedy dispatch: the default policy) vs off
#      (--max-batch-size 1), 32 connections, one row per request, the same model served three
#      ways: XGBoost with Cairn's tree walker (~0.03 us per row: batching has nothing to amortize;
#      the check is that "on" is not slower), XGBoost through its C API (--xgboost-native-trees
#      off: a fixed cost per predict call), python_function (scikit-learn: milliseconds per call).
#      Goal: >= 3x where a batch amortizes a per-call cost. Each run also records the mean batch
#      size from the server's cairn_inference_batch_size histogram (bench/serving/batching_report.py).
#   3. Hot swap under full load: `cairn serve --model models:/fraud@champion --poll-interval-ms 200`
#      of a fresh `cairn server` registry; loadgen at full load while the alias moves 20 times;
#      failed requests (non-2xx + connection errors). Goal: 0.
#
# Usage: bench/serving_bench.sh [--quick]
# Environment (all optional):
#   BUILD_DIR=build                  where loadgen is built (cmake target loadgen)
#   CAIRN_BIN=<BUILD_DIR>/cairn      the binary under test (`cairn serve`, `cairn server`)
#   MLFLOW_VENV=.venv/mlflow3        python with mlflow, xgboost, scikit-learn
#   MLFLOW_SERVE_WORKERS=2           `mlflow models serve --workers` (its default is 1; 2 = the cores here)
#   NGINX_WORKERS=auto               nginx worker_processes
#   BENCH_DURATION=10 BENCH_WARMUP=2 BENCH_ROUNDS=3   load run shape (--quick: 5, 1, 1)
#   SERVE_CONNECTIONS=16             connections of the max-load runs
#   BATCH_CLIENTS=32                 batching runs
#   BATCH_POLICY=greedy BATCH_DELAY_US=500   "on" runs: --batch-policy; the delay is used by "wait" only
#   BATCH_KINDS="xgb xgbc py"        which runtimes the batching runs measure
#   SWAP_MOVES=20 SWAP_INTERVAL=0.5  hot swap run
#   CAIRN_SERVE_ARGS=""              extra flags for every `cairn serve`
#   SKIP_CAIRN=1 SKIP_MLFLOW=1 SKIP_NGINX=1 SKIP_BATCH=1 SKIP_SWAP=1   leave a part out
#   BENCH_NO_BUILD=1                 use loadgen as it is
#   BENCH_KEEP=1                     keep the temp dir (logs, configs, models)
# Output: progress on stderr; the Markdown report on stdout; raw lines in <workdir>/results.txt.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
CAIRN_BIN="${CAIRN_BIN:-$BUILD_DIR/cairn}"
MLFLOW_VENV="${MLFLOW_VENV:-$ROOT/.venv/mlflow3}"
VPY="$MLFLOW_VENV/bin/python"
HELPER="$ROOT/bench/serving_bench.py"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
ROUNDS="${BENCH_ROUNDS:-3}"
if [[ "${1:-}" == "--quick" ]]; then
  DURATION="${BENCH_DURATION:-5}"; WARMUP="${BENCH_WARMUP:-1}"; ROUNDS="${BENCH_ROUNDS:-1}"
fi
CONNS="${SERVE_CONNECTIONS:-16}"
BATCH_CLIENTS="${BATCH_CLIENTS:-32}"
BATCH_DELAY_US="${BATCH_DELAY_US:-500}"
BATCH_POLICY="${BATCH_POLICY:-greedy}"
BATCH_KINDS="${BATCH_KINDS:-xgb xgbc py}"
SWAP_MOVES="${SWAP_MOVES:-20}"
SWAP_INTERVAL="${SWAP_INTERVAL:-0.5}"
MLFLOW_SERVE_WORKERS="${MLFLOW_SERVE_WORKERS:-2}"
NGINX_WORKERS="${NGINX_WORKERS:-auto}"
CAIRN_SERVE_ARGS="${CAIRN_SERVE_ARGS:-}"
SKIP_CAIRN="${SKIP_CAIRN:-0}" SKIP_MLFLOW="${SKIP_MLFLOW:-0}" SKIP_NGINX="${SKIP_NGINX:-0}"
SKIP_BATCH="${SKIP_BATCH:-0}" SKIP_SWAP="${SKIP_SWAP:-0}"
PY=/usr/bin/python3
[[ -x "$PY" ]] || PY=python3

log() { echo "[serving-bench $(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- tools
if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
  [[ -f "$BUILD_DIR/build.ninja" ]] || cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja >&2
  log "building loadgen in $BUILD_DIR"
  cmake --build "$BUILD_DIR" --target loadgen -j2 >&2
fi
LOADGEN="$BUILD_DIR/bench/loadgen"
[[ -x "$LOADGEN" ]] || die "no loadgen at $LOADGEN"
[[ -x "$VPY" ]] || die "no python at $VPY (make setup-test)"
if [[ "$SKIP_CAIRN" != 1 ]]; then
  [[ -x "$CAIRN_BIN" ]] || die "no cairn binary at $CAIRN_BIN (set CAIRN_BIN, or SKIP_CAIRN=1)"
  "$CAIRN_BIN" serve --help 2>&1 | grep -q -- '--max-batch-size' || die "$CAIRN_BIN has no 'serve' command yet (SKIP_CAIRN=1 measures the references only)"
fi
if [[ "$SKIP_NGINX" != 1 ]]; then
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
  [[ -x "$NGINX" ]] || die "nginx not installed (CAIRN_SETUP_TEST=1 scripts/setup.sh, or SKIP_NGINX=1)"
fi

# ---------------------------------------------------------------- workspace
WORK="$(mktemp -d /tmp/cairn-serving-bench.XXXXXX)"
RESULTS="$WORK/results.txt"
: >"$RESULTS"
PIDS=()

stop_pid() {  # pid: leads its own process group (setsid); SIGTERM the group, then SIGKILL
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]] && break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_http() {  # url pid name timeout_s [method]
  local url="$1" pid="$2" name="$3" timeout="$4" method="${5:-GET}"
  for _ in $(seq $((timeout * 10))); do
    curl -sf -o /dev/null -X "$method" "$url" && return 0
    kill -0 "$pid" 2>/dev/null || { tail -30 "$WORK/$name.log" >&2 || true; die "$name exited during start"; }
    sleep 0.1
  done
  tail -30 "$WORK/$name.log" >&2 || true
  die "$name not ready at $url after ${timeout}s"
}

# CPU seconds (user + system) used so far by a process and its descendants (from /proc).
cpu_seconds() {  # pid
  "$PY" - "$1" <<'PYEOF'
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
        ticks[int(p)] = int(f[11]) + int(f[12])
todo, total = [root], 0
while todo:
    p = todo.pop()
    total += ticks.get(p, 0)
    todo.extend(children.get(p, []))
print(f"{total / hz:.2f}")
PYEOF
}
declare -A PORT_PID  # port -> server pid, for the CPU accounting of load runs

# start_cairn_serve NAME ARGS...: sets STARTED_PID, STARTED_PORT
start_cairn_serve() {
  local name="$1"; shift
  STARTED_PORT="$(free_port)"
  # shellcheck disable=SC2086
  XDG_CACHE_HOME="$WORK/cache" CAIRN_PYTHON="$VPY" setsid "$CAIRN_BIN" serve --host 127.0.0.1 \
    --port "$STARTED_PORT" "$@" $CAIRN_SERVE_ARGS >"$WORK/$name.log" 2>&1 </dev/null &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  PORT_PID[$STARTED_PORT]=$STARTED_PID
  wait_http "http://127.0.0.1:$STARTED_PORT/ping" "$STARTED_PID" "$name" 120
  log "$name: pid $STARTED_PID port $STARTED_PORT ($*)"
}

# load LABEL PORT PATH BODY CONNECTIONS [DURATION]: one loadgen run, RESULT line appended
load() {
  local label="$1" port="$2" path="$3" body="$4" conns="$5" dur="${6:-$DURATION}"
  log "$label: $conns connections, ${dur}s (load average $(cut -d' ' -f1 /proc/loadavg))"
  local out pid="${PORT_PID[$port]:-}" c0="" c1=""
  [[ -n "$pid" ]] && c0="$(cpu_seconds "$pid")"
  out="$("$LOADGEN" --url "http://127.0.0.1:$port" --mode body --method POST --path "$path" \
    --body-file "$body" -c "$conns" --duration "$dur" --warmup "$WARMUP" --label "$label")" \
    || { log "loadgen FAILED for $label"; return 1; }
  [[ -n "$pid" ]] && c1="$(cpu_seconds "$pid")"
  # The server's CPU over the whole loadgen run (warm-up included: divide by total_requests).
  echo "$out" | grep '^RESULT' | sed "s/\$/ server_cpu_s=$("$PY" -c "print(round(${c1:-0} - ${c0:-0}, 2))")/" \
    | tee -a "$RESULTS" >&2
}
rps_of() { grep "^RESULT label=$1 " "$RESULTS" | tail -1 | sed -E 's/.* rps=([0-9.]+).*/\1/'; }

CPU_MODEL="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
MLFLOW_VERSION="$("$VPY" -c 'import mlflow; print(mlflow.__version__)' 2>/dev/null || echo '?')"
GIT_REV="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
log "work dir $WORK; $(nproc) CPUs ($CPU_MODEL); load average $LOAD_START; mlflow $MLFLOW_VERSION"

# ---------------------------------------------------------------- models
MODELS="$WORK/models"
"$VPY" "$HELPER" models "$MODELS" >&2
OIP_BODY="$MODELS/oip_one.json"
INV_BODY="$MODELS/inv_one.json"

# ---------------------------------------------------------------- 1. OIP vs nginx vs MLflow
C_PORT="" N_PORT="" M_PORT=""
REPLY='{"model_name":"fraud","model_version":"1","outputs":[{"name":"predict","datatype":"INT64","shape":[1],"data":[1]}]}'
if [[ "$SKIP_CAIRN" != 1 ]]; then
  start_cairn_serve cairn-serve --model "$MODELS/fraud"
  C_PID=$STARTED_PID C_PORT=$STARTED_PORT
  "$VPY" "$HELPER" check "http://127.0.0.1:$C_PORT" /v2/models/fraud/infer "$OIP_BODY" >&2 \
    || die "cairn serve did not answer the OIP request"
  "$VPY" "$HELPER" check "http://127.0.0.1:$C_PORT" /invocations "$INV_BODY" >&2 \
    || die "cairn serve did not answer /invocations"
  REPLY="$(curl -s -H 'Content-Type: application/json' --data-binary @"$OIP_BODY" \
    "http://127.0.0.1:$C_PORT/v2/models/fraud/infer")"
fi
echo "INFO reply_bytes=${#REPLY} connections=$CONNS duration_s=$DURATION rounds=$ROUNDS" >>"$RESULTS"

if [[ "$SKIP_NGINX" != 1 ]]; then
  N_PORT="$(free_port)"
  NG="$WORK/nginx"
  mkdir -p "$NG/logs" "$NG/tmp"
  [[ "$REPLY" != *"'"* && "$REPLY" != *'$'* ]] || die "the reply cannot be quoted in nginx.conf: $REPLY"
  cat >"$NG/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
daemon off;
pid $NG/nginx.pid;
error_log $NG/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $NG/tmp/body;
  proxy_temp_path $NG/tmp/proxy;
  fastcgi_temp_path $NG/tmp/fastcgi;
  uwsgi_temp_path $NG/tmp/uwsgi;
  scgi_temp_path $NG/tmp/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$N_PORT;
    location / {
      default_type application/json;
      return 200 '$REPLY';
    }
  }
}
EOF
  setsid "$NGINX" -p "$NG" -c "$NG/nginx.conf" -e "$NG/logs/error.log" >"$WORK/nginx.log" 2>&1 </dev/null &
  N_PID=$!
  PIDS+=("$N_PID")
  PORT_PID[$N_PORT]=$N_PID
  wait_http "http://127.0.0.1:$N_PORT/v2/models/fraud/infer" "$N_PID" nginx 20 POST
  got="$(curl -s -X POST --data-binary @"$OIP_BODY" "http://127.0.0.1:$N_PORT/v2/models/fraud/infer")"
  [[ "$got" == "$REPLY" ]] || die "nginx answers '$got', not the reply"
  log "nginx: pid $N_PID port $N_PORT, $NGINX_WORKERS workers, static reply of ${#REPLY} bytes"
fi

if [[ "$SKIP_MLFLOW" != 1 ]]; then
  M_PORT="$(free_port)"
  PATH="$MLFLOW_VENV/bin:$PATH" setsid "$MLFLOW_VENV/bin/mlflow" models serve -m "$MODELS/fraud" \
    -h 127.0.0.1 -p "$M_PORT" --env-manager local --workers "$MLFLOW_SERVE_WORKERS" \
    >"$WORK/mlflow-serve.log" 2>&1 </dev/null &
  M_PID=$!
  PIDS+=("$M_PID")
  PORT_PID[$M_PORT]=$M_PID
  wait_http "http://127.0.0.1:$M_PORT/ping" "$M_PID" mlflow-serve 180
  "$VPY" "$HELPER" check "http://127.0.0.1:$M_PORT" /invocations "$INV_BODY" >&2 \
    || die "mlflow models serve did not answer /invocations"
  log "mlflow models serve: pid $M_PID port $M_PORT, $MLFLOW_SERVE_WORKERS workers"
fi
echo "INFO mlflow_workers=$MLFLOW_SERVE_WORKERS nginx_workers=$NGINX_WORKERS" >>"$RESULTS"

for r in $(seq "$ROUNDS"); do
  targets=(cairn_oip nginx_static mlflow_invocations cairn_invocations)
  (( r % 2 == 0 )) && targets=(cairn_invocations mlflow_invocations nginx_static cairn_oip)
  for t in "${targets[@]}"; do
    case "$t" in
      cairn_oip) [[ -n "$C_PORT" ]] && load "${t}_r$r" "$C_PORT" /v2/models/fraud/infer "$OIP_BODY" "$CONNS" ;;
      cairn_invocations) [[ -n "$C_PORT" ]] && load "${t}_r$r" "$C_PORT" /invocations "$INV_BODY" "$CONNS" ;;
      nginx_static) [[ -n "$N_PORT" ]] && load "${t}_r$r" "$N_PORT" /v2/models/fraud/infer "$OIP_BODY" "$CONNS" ;;
      mlflow_invocations) [[ -n "$M_PORT" ]] && load "${t}_r$r" "$M_PORT" /invocations "$INV_BODY" "$CONNS" ;;
    esac || true
  done
done
[[ -n "$N_PORT" ]] && { stop_pid "$N_PID"; N_PORT=""; }
[[ -n "$M_PORT" ]] && { stop_pid "$M_PID"; M_PORT=""; }

if [[ -n "$C_PORT" ]]; then
  # p99 at half the max load: the most connections whose closed-loop req/s is <= half the max.
  full="$(grep -E '^RESULT label=cairn_oip_r' "$RESULTS" | sed -E 's/.* rps=([0-9.]+).*/\1/' | sort -n \
    | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : 0)}')"
  half_c=""
  for c in 8 4 2 1; do
    (( c < CONNS )) || continue
    load "probe_c$c" "$C_PORT" /v2/models/fraud/infer "$OIP_BODY" "$c" 4 || continue
    if "$PY" -c "import sys; sys.exit(0 if float('$(rps_of "probe_c$c")') <= 0.5 * float('$full') else 1)"; then
      half_c=$c
      break
    fi
  done
  if [[ -n "$half_c" ]]; then
    echo "INFO half_connections=$half_c full_rps=$full" >>"$RESULTS"
    load cairn_oip_half "$C_PORT" /v2/models/fraud/infer "$OIP_BODY" "$half_c" || true
  else
    log "even 1 connection is above half the max load: p99 at half load not measured"
  fi
  stop_pid "$C_PID"
fi

# ---------------------------------------------------------------- 2. batching on vs off
# batch_sizes LABEL PORT DEP: appends "BATCH label=.. rows=.. batches=.." (the server's
# cairn_inference_batch_size sum and count for the deployment, minus what the previous run left).
declare -A BATCH_SEEN
batch_sizes() {
  local label="$1" port="$2" dep="$3" now
  now="$(curl -s "http://127.0.0.1:$port/metrics" | awk -v d="deployment=\"$dep\"" '
    index($0, d) && /^cairn_inference_batch_size_sum/ {s += $NF}
    index($0, d) && /^cairn_inference_batch_size_count/ {c += $NF}
    END {printf "%d %d", s, c}')"
  local prev="${BATCH_SEEN[$port]:-0 0}"
  BATCH_SEEN[$port]="$now"
  read -r s1 c1 <<<"$now"; read -r s0 c0 <<<"$prev"
  echo "BATCH label=$label rows=$((s1 - s0)) batches=$((c1 - c0))" >>"$RESULTS"
}

if [[ "$SKIP_CAIRN" != 1 && "$SKIP_BATCH" != 1 ]]; then
  on_args=(--max-batch-size 32 --batch-policy "$BATCH_POLICY")
  [[ "$BATCH_POLICY" == wait ]] && on_args+=(--max-queue-delay-us "$BATCH_DELAY_US")
  for kind in $BATCH_KINDS; do
    extra=()
    case "$kind" in
      xgb) folder="$MODELS/fraud"; dep=fraud ;;
      xgbc) folder="$MODELS/fraud"; dep=fraud; extra=(--xgboost-native-trees off) ;;
      py) folder="$MODELS/fraud-sk"; dep=fraud-sk ;;
      *) die "unknown batching kind '$kind' (xgb, xgbc, py)" ;;
    esac
    start_cairn_serve "batch-on-$kind" --model "$folder" "${on_args[@]}" "${extra[@]}"
    ON_PID=$STARTED_PID ON_PORT=$STARTED_PORT
    start_cairn_serve "batch-off-$kind" --model "$folder" --max-batch-size 1 "${extra[@]}"
    OFF_PID=$STARTED_PID OFF_PORT=$STARTED_PORT
    batch_sizes warmup "$ON_PORT" "$dep"; batch_sizes warmup "$OFF_PORT" "$dep"
    for r in $(seq "$ROUNDS"); do
      order=(on off)
      (( r % 2 == 0 )) && order=(off on)
      for o in "${order[@]}"; do
        if [[ $o == on ]]; then port=$ON_PORT; else port=$OFF_PORT; fi
        load "batch_${o}_${kind}_r$r" "$port" "/v2/models/$dep/infer" "$OIP_BODY" "$BATCH_CLIENTS" || true
        batch_sizes "batch_${o}_${kind}_r$r" "$port" "$dep"
      done
    done
    stop_pid "$ON_PID"; stop_pid "$OFF_PID"
  done
  echo "INFO batch_clients=$BATCH_CLIENTS batch_policy=$BATCH_POLICY batch_delay_us=$BATCH_DELAY_US" >>"$RESULTS"
fi

# ---------------------------------------------------------------- 3. hot swap under full load
if [[ "$SKIP_CAIRN" != 1 && "$SKIP_SWAP" != 1 ]]; then
  T_PORT="$(free_port)"
  mkdir -p "$WORK/registry-art"
  setsid "$CAIRN_BIN" server --host 127.0.0.1 --port "$T_PORT" --backend-store-uri "sqlite:///$WORK/registry.db" \
    --artifacts-destination "file://$WORK/registry-art" >"$WORK/tracking.log" 2>&1 </dev/null &
  T_PID=$!
  PIDS+=("$T_PID")
  wait_http "http://127.0.0.1:$T_PORT/health" "$T_PID" tracking 30
  TRACKING="http://127.0.0.1:$T_PORT"
  "$VPY" "$HELPER" register "$TRACKING" fraud "$MODELS" >&2
  start_cairn_serve swap-serve --model models:/fraud@champion --tracking-uri "$TRACKING" --poll-interval-ms 200
  S_PID=$STARTED_PID S_PORT=$STARTED_PORT
  swaps_before="$(curl -s "http://127.0.0.1:$S_PORT/metrics" | awk '/^cairn_model_swaps_total/ {s += $NF} END {print s + 0}')"
  swap_dur="$("$PY" -c "print(round($SWAP_MOVES * $SWAP_INTERVAL + 3, 1))")"
  load swap_load "$S_PORT" /v2/models/fraud/infer "$OIP_BODY" "$CONNS" "$swap_dur" &
  LOAD_PID=$!
  sleep "$((WARMUP + 1))"
  "$VPY" "$HELPER" swap "$TRACKING" fraud "$SWAP_MOVES" "$SWAP_INTERVAL" >&2
  wait "$LOAD_PID" || true
  swaps_after="$(curl -s "http://127.0.0.1:$S_PORT/metrics" | awk '/^cairn_model_swaps_total/ {s += $NF} END {print s + 0}')"
  echo "INFO swap_moves=$SWAP_MOVES swap_swaps=$((swaps_after - swaps_before))" >>"$RESULTS"
  log "swaps counted by the server: $((swaps_after - swaps_before)) for $SWAP_MOVES alias moves"
  stop_pid "$S_PID"; stop_pid "$T_PID"
fi

# ---------------------------------------------------------------- report
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
cat <<EOF
## Serving (bench/serving_bench.sh), $(date -u '+%Y-%m-%d %H:%M') UTC

\`$(printf '%q ' "$0" "$@" | sed 's/ $//')\` with BUILD_DIR=$BUILD_DIR CAIRN_BIN=$CAIRN_BIN
(commit $GIT_REV plus the working tree; $(nproc) CPUs, $CPU_MODEL; load average $LOAD_START at the
start, $LOAD_END at the end). MLflow $MLFLOW_VERSION \`mlflow models serve --env-manager local
--workers $MLFLOW_SERVE_WORKERS\`; nginx $("${NGINX:-nginx}" -v 2>&1 | sed 's/.*\///') with
\`worker_processes $NGINX_WORKERS\`. loadgen: keep-alive connections, closed loop, ${DURATION} s
after ${WARMUP} s of warm-up, $ROUNDS round(s) in alternating order; $CONNS connections for the
max-load runs. The model: XGBClassifier, 10 float32 features, 20 trees of depth 3; one row per
request.

EOF
"$VPY" "$HELPER" report "$RESULTS"
if grep -q '^RESULT label=batch_' "$RESULTS"; then
  echo
  "$PY" "$ROOT/bench/serving/batching_report.py" "$RESULTS"
fi
