#!/usr/bin/env bash
# bench/ingest_ab.sh — A/B of Cairn binaries on log-batch (or log-metric) ingest, alternating
# the binaries within each round on the same machine, each against a fresh SQLite store, with the
# raw SQLite reference (sqlite_insert_bench's plain table, 1000 rows/txn) measured in each round.
# For judging a change to the write path on a shared, noisy machine; bench/run.sh gives the
# reported figures.
#
#   bench/ingest_ab.sh <cairn binary> [<cairn binary> ...]
#
# Environment: BUILD_DIR=build-store (loadgen, sqlite_insert_bench), AB_ROUNDS=3, AB_DURATION=8,
#   AB_WARMUP=2, AB_MODE=log-batch, AB_CLIENTS=4, AB_REFERENCE=1 (0 skips the raw SQLite run).
# Output, one line per measurement:
#   r<round> <binary> items_per_s=.. p50_ms=.. p99_ms=.. non2xx=.. cpu_us_per_req=.. wal_mb=.. load=..
# cpu_us_per_req is the server's user+system CPU over the run (warm-up included) per request:
# less sensitive to the machine's load than the rate. Exit status 1 when a run fails --verify.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build-store}"
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR="$ROOT/$BUILD_DIR"
ROUNDS="${AB_ROUNDS:-3}" DURATION="${AB_DURATION:-8}" WARMUP="${AB_WARMUP:-2}"
MODE="${AB_MODE:-log-batch}" CLIENTS="${AB_CLIENTS:-4}"
LOADGEN="$BUILD_DIR/bench/loadgen"
SQLITE_BENCH="$BUILD_DIR/bench/sqlite_insert_bench"
[[ $# -ge 1 ]] || { echo "usage: $0 <cairn binary>..." >&2; exit 2; }
[[ -x "$LOADGEN" ]] || { echo "no loadgen in $BUILD_DIR/bench" >&2; exit 2; }
WORK="$(mktemp -d /tmp/cairn-ingest-ab.XXXXXX)"
PID=""
cleanup() {
  [[ -n "$PID" ]] && kill -TERM -- "-$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status=0
for r in $(seq "$ROUNDS"); do
  if [[ "${AB_REFERENCE:-1}" == 1 && -x "$SQLITE_BENCH" ]]; then
    ref="$("$SQLITE_BENCH" --dir "$WORK" --rows 2000000 --single-rows 1 2>/dev/null |
      sed -n 's/^RESULT label=sqlite_batch1000 .*rows_per_s=\([0-9.]*\).*/\1/p')"
    echo "r$r raw_sqlite_plain_1000_rows_per_txn rows_per_s=$ref load=$(cut -d' ' -f1 /proc/loadavg)"
  fi
  for bin in "$@"; do
    dir="$(mktemp -d "$WORK/s.XXXX")"
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    setsid "$bin" server --host 127.0.0.1 --port "$port" --backend-store-uri "sqlite:///$dir/c.db" \
      --artifacts-destination "file://$dir/art" >"$dir/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 200); do
      curl -sf -o /dev/null "http://127.0.0.1:$port/api/2.0/mlflow/experiments/get?experiment_id=0" && break
      sleep 0.1
    done
    t0="$(ticks "$PID")"
    out="$("$LOADGEN" --url "http://127.0.0.1:$port" --mode "$MODE" -c "$CLIENTS" \
      --duration "$DURATION" --warmup "$WARMUP" --label ab --verify 2>"$dir/loadgen.err")"
    rc=$?
    t1="$(ticks "$PID")"
    wal="$(stat -c %s "$dir/c.db-wal" 2>/dev/null || echo 0)"
    kill -TERM -- "-$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=""
    total="$(echo "$out" | sed -n 's/.*total_requests=\([0-9]*\).*/\1/p')"
    hz="$(getconf CLK_TCK)"
    cpu="$(python3 -c "print(round(($t1 - $t0) / $hz * 1e6 / max(1, ${total:-0})))")"
    fields="$(echo "$out" | grep -o 'items_per_s=[0-9.]*\|p50_ms=[0-9.]*\|p99_ms=[0-9.]*\|non2xx=[0-9]*' | tr '\n' ' ')"
    echo "r$r $(basename "$bin") ${fields}cpu_us_per_req=$cpu wal_mb=$((wal / 1048576)) load=$(cut -d' ' -f1 /proc/loadavg)"
    if [[ $rc -ne 0 ]]; then
      echo "r$r $(basename "$bin"): loadgen exit $rc (2: --verify found lost metrics)" >&2
      status=1
    fi
    rm -rf "$dir"
  done
done
exit $status
