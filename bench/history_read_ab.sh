#!/usr/bin/env bash
# bench/history_read_ab.sh — A/B of Cairn binaries on metric-history reads
# (GET metrics/get-history of one whole series), alternating the binaries within each round,
# each against a fresh SQLite store holding the same two shapes of history:
#   single  N points logged one per request (runs/log-metric): one row (or chunk) per point
#   batch   N points logged 20 steps x 50 keys per log-batch request, read for one key
# For judging a change to how history is stored (migration 7's chunks against schema 6's rows).
#
#   bench/history_read_ab.sh <cairn binary> [<cairn binary> ...]
#
# Environment: BUILD_DIR=build (loadgen), AB_ROUNDS=3, AB_POINTS=20000 (points in the
#   single-point series), AB_READS=20 (reads per shape; the median is reported).
# Output, one line per binary, shape and round:
#   r<round> <binary> <shape> points=<n> median_ms=<m> load=<1-min load>
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
ROUNDS="${AB_ROUNDS:-3}" POINTS="${AB_POINTS:-20000}" READS="${AB_READS:-20}"
LOADGEN="$BUILD_DIR/bench/loadgen"
[[ $# -ge 1 ]] || { echo "usage: $0 <cairn binary>..." >&2; exit 2; }
[[ -x "$LOADGEN" ]] || { echo "no loadgen in $BUILD_DIR/bench" >&2; exit 2; }
WORK="$(mktemp -d /tmp/cairn-history-ab.XXXXXX)"
PY=python3
log() { echo "[history-ab $(date -u +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=bench/lib/servers.sh
source "$ROOT/bench/lib/servers.sh"

# Median wall time in ms of READS GETs of url (curl's own timer, keep-alive not needed).
median_ms() {
  local url="$1"
  for _ in $(seq "$READS"); do
    curl -sf -o /dev/null -w '%{time_total}\n' "$url" || echo fail
  done | python3 -c '
import statistics, sys
v = [float(x) for x in sys.stdin.read().split() if x != "fail"]
print(round(statistics.median(v) * 1000, 2) if v else "fail")'
}

# The run id of the only run whose history has `key` (loadgen made one run per connection).
first_run() {
  curl -sf "http://127.0.0.1:$1/api/2.0/mlflow/runs/search" -H 'Content-Type: application/json' \
    -d "{\"experiment_ids\":[\"0\"],\"filter\":\"metrics.$2 >= -1e300\",\"max_results\":1}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["runs"][0]["info"]["run_id"])'
}

for r in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    dir="$(mktemp -d "$WORK/s.XXXX")"
    port="$(free_port)"
    setsid "$bin" server --host 127.0.0.1 --port "$port" --backend-store-uri "sqlite:///$dir/c.db" \
      --artifacts-destination "file://$dir/art" >"$dir/server.log" 2>&1 &
    pid=$!
    SERVER_PIDS+=("$pid")
    wait_ready "$port" "$pid" "$(basename "$bin")" 30
    url="http://127.0.0.1:$port"
    "$LOADGEN" --url "$url" --mode log-metric -c 1 --count "$POINTS" --label single >/dev/null 2>&1 ||
      die "r$r $(basename "$bin"): loading single points failed"
    # log-batch: 20 points of each key per request, so POINTS/20 requests give loss_0 POINTS points.
    "$LOADGEN" --url "$url" --mode log-batch -c 1 --count "$((POINTS / 20))" --label batch \
      >/dev/null 2>&1 || die "r$r $(basename "$bin"): loading batches failed"
    for shape in single batch; do
      key=loss
      [[ $shape == batch ]] && key=loss_0
      run="$(first_run "$port" "$key")"
      n="$(curl -sf "$url/api/2.0/mlflow/metrics/get-history?run_id=$run&metric_key=$key&max_results=1000000" |
        python3 -c 'import json, sys; print(len(json.load(sys.stdin).get("metrics", [])))')"
      ms="$(median_ms "$url/api/2.0/mlflow/metrics/get-history?run_id=$run&metric_key=$key&max_results=1000000")"
      echo "r$r $(basename "$bin") $shape points=$n median_ms=$ms load=$(cut -d' ' -f1 /proc/loadavg)"
    done
    stop_server "$pid"
    rm -rf "$dir"
  done
done
