# Shared by bench/run.sh and bench/ui_bench.sh: servers in their own process
# groups, stopped on exit. Source it after defining log, die, WORK and PY.
SERVER_PIDS=()

stop_server() {  # pid: the server leads its own process group (setsid)
  local pid="$1"
  [[ -n "$pid" ]] || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]] && break
    sleep 0.2
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do stop_server "$pid"; done
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ready() {  # port pid name timeout_s: until the MLflow API answers
  local port="$1" pid="$2" name="$3" timeout="${4:-120}"
  for _ in $(seq $((timeout * 5))); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port/api/2.0/mlflow/experiments/get?experiment_id=0"; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || die "$name exited during start; see its log in $WORK"
    sleep 0.2
  done
  die "$name not ready on port $port after ${timeout}s"
}
