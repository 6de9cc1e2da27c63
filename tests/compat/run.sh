#!/usr/bin/env bash
# The compatibility suite: the real `mlflow` Python client against a real `cairn server`.
#   1. mlflow 3.x client, SQLite backend      (+ the server-level fault tests)
#   2. mlflow 2.x client, SQLite backend
#   3. mlflow 3.x client, PostgreSQL backend  (a fresh database on $CAIRN_TEST_POSTGRES_URI's server)
#   4. model serving (test_serving*.py, mlflow 3.x venv): `cairn serve` (or with CAIRN_COMPAT_TARGET=mlflow
#      `mlflow models serve`) with an MLflow-scorer client, tritonclient and a real Prometheus;
#      and the monitoring scenario (test_monitoring.py: serve, shift, alert, labels, restart)
#   5. monitor statistics (test_monitor_stats.py, test_monitor_evidently.py, .venv/monitor): Cairn's
#      drift statistics and verdicts against SciPy, scikit-learn and Evidently. That venv has no
#      mlflow, so this run loads no conftest.py (--noconftest): its tests start what they need
#      themselves (compat_server.py).
# Each run starts its own server on a free port in a temp dir (tests/compat/conftest.py).
# The runs go in parallel (logs are printed at the end); CAIRN_COMPAT_SERIAL=1 runs them one by one.
#
# Env: CAIRN_BIN (default <repo>/build/cairn), CAIRN_TEST_POSTGRES_URI (run 3 is skipped, loudly, without it),
#      CAIRN_STATS_ORACLE (run 5; default: tests/monitor/stats_oracle in CAIRN_BIN's build folder),
#      CAIRN_VENV_MONITOR (default <repo>/.venv/monitor),
#      CAIRN_COMPAT_TARGET=mlflow to check the suite itself against the real MLflow server instead
#        (`mlflow server --serve-artifacts`, SQLite in the run's temp dir; the 3.x server for both
#        clients, or with CAIRN_COMPAT_MLFLOW_SERVER=own each venv's own server),
#      extra arguments are passed to pytest (e.g. -k search, -x).
# Exit status: non-zero if any run fails.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
export CAIRN_COMPAT_TARGET=${CAIRN_COMPAT_TARGET:-cairn}
export PYTHONDONTWRITEBYTECODE=1
export CAIRN_BIN=${CAIRN_BIN:-$ROOT/build/cairn}
export CAIRN_STATS_ORACLE=${CAIRN_STATS_ORACLE:-$(dirname "$CAIRN_BIN")/tests/monitor/stats_oracle}
V3=${CAIRN_VENV_MLFLOW3:-$ROOT/.venv/mlflow3}
V2=${CAIRN_VENV_MLFLOW2:-$ROOT/.venv/mlflow2}
VM=${CAIRN_VENV_MONITOR:-$ROOT/.venv/monitor}
PG_URI=${CAIRN_TEST_POSTGRES_URI:-}
PER_RUN_TIMEOUT=${CAIRN_COMPAT_TIMEOUT:-270}
[ "$CAIRN_COMPAT_TARGET" = mlflow ] && PER_RUN_TIMEOUT=${CAIRN_COMPAT_TIMEOUT:-1500}  # the real server is slow

if [ "$CAIRN_COMPAT_TARGET" = cairn ] && [ ! -x "$CAIRN_BIN" ]; then
  echo "compat: cairn binary not found at $CAIRN_BIN (build it, or set CAIRN_BIN)" >&2
  exit 2
fi
for v in "$V3" "$V2" "$VM"; do
  [ -x "$v/bin/python" ] || { echo "compat: virtualenv $v missing (make setup-test creates it)" >&2; exit 2; }
done
MLFLOW_SERVER=${CAIRN_COMPAT_MLFLOW_SERVER:-v3}
if [ "$CAIRN_COMPAT_TARGET" = mlflow ] && [ "$MLFLOW_SERVER" != own ]; then
  # Cairn follows MLflow 3's server: by default the 3.x server serves both clients.
  # CAIRN_COMPAT_MLFLOW_SERVER=own runs each venv's own server instead (2.x client -> 2.x server;
  # needs SQLAlchemy < 2.1 in the 2.x venv, which scripts/setup.sh pins).
  export CAIRN_COMPAT_MLFLOW_BIN=${CAIRN_COMPAT_MLFLOW_BIN:-$V3/bin/mlflow}
fi

WORK=$(mktemp -d /tmp/cairn-compat.XXXXXX)
PG_DB=""
PG_ADMIN=""
cleanup() {
  # A run killed by its time limit cannot stop the servers its fixtures started: every process
  # of the private binary copy (cairn server / serve) goes with the run.
  pkill -KILL -f "^$WORK/cairn " 2>/dev/null || true
  if [ -n "$PG_DB" ]; then
    psql "$PG_ADMIN" -qc "drop database if exists \"$PG_DB\" with (force)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$CAIRN_COMPAT_TARGET" = cairn ]; then
  # A private copy: a rebuild that relinks $CAIRN_BIN mid-run must not pull the binary from under us.
  cp "$CAIRN_BIN" "$WORK/cairn" && export CAIRN_BIN="$WORK/cairn"
  if [ -x "$CAIRN_STATS_ORACLE" ]; then
    cp "$CAIRN_STATS_ORACLE" "$WORK/stats_oracle" && export CAIRN_STATS_ORACLE="$WORK/stats_oracle"
  fi
fi

# run_suite LABEL VENV BACKEND_URI [pytest args...]  -> runs in the background, writes $WORK/LABEL.{log,rc}
run_suite() {
  local label=$1 venv=$2 backend=$3
  shift 3
  (
    cd "$HERE" || exit 2
    if [ "$CAIRN_COMPAT_TARGET" = mlflow ] && [ "$MLFLOW_SERVER" = own ]; then
      export CAIRN_COMPAT_MLFLOW_BIN=$venv/bin/mlflow
    fi
    CAIRN_COMPAT_BACKEND_URI=$backend timeout -k 10 "$PER_RUN_TIMEOUT" \
      "$venv/bin/python" -m pytest -p no:cacheprovider -q -rfEs --basetemp="$WORK/$label" "$@" \
      >"$WORK/$label.log" 2>&1
    echo $? >"$WORK/$label.rc"
  ) &
  if [ "${CAIRN_COMPAT_SERIAL:-0}" = 1 ]; then wait $!; fi
}

# The serving tests run once, in their own run (4), with their own time limit; the monitor
# statistics once, in run 5. The other runs leave both out.
SERVING_TESTS=(test_serving.py test_serving_triton.py test_serving_prometheus.py test_serving_helpers.py
               test_monitoring.py test_monitor_helpers.py)
MONITOR_TESTS=()
for f in test_monitor_stats.py test_monitor_evidently.py; do
  # Written separately: a file that does not exist yet is left out (pytest would fail on it).
  [ -f "$HERE/$f" ] && MONITOR_TESTS+=("$f")
done
NO_SERVING=()
for f in "${SERVING_TESTS[@]}" test_monitor_stats.py test_monitor_evidently.py; do NO_SERVING+=("--ignore=$f"); done
SERVING_TIMEOUT=${CAIRN_COMPAT_SERVING_TIMEOUT:-420}
[ "$CAIRN_COMPAT_TARGET" = mlflow ] && SERVING_TIMEOUT=${CAIRN_COMPAT_SERVING_TIMEOUT:-900}

START=$(date +%s)
LABELS=(mlflow3-sqlite mlflow2-sqlite mlflow3-serving)
run_suite mlflow3-sqlite "$V3" "" "${NO_SERVING[@]}" "$@"
run_suite mlflow2-sqlite "$V2" "" --ignore=test_faults.py "${NO_SERVING[@]}" "$@"
PER_RUN_TIMEOUT=$SERVING_TIMEOUT run_suite mlflow3-serving "$V3" "" "${SERVING_TESTS[@]}" "$@"
if [ "$CAIRN_COMPAT_TARGET" = mlflow ]; then
  echo "compat: the monitor run checks Cairn's own statistics: not run against MLflow" >&2
elif [ ${#MONITOR_TESTS[@]} -gt 0 ]; then
  LABELS+=(monitor)
  run_suite monitor "$VM" "" --noconftest "${MONITOR_TESTS[@]}" "$@"
else
  echo "compat: test_monitor_stats.py and test_monitor_evidently.py not found: the monitor run is SKIPPED" >&2
fi

if [ "$CAIRN_COMPAT_TARGET" = mlflow ] && ! "$V3/bin/python" -c 'import psycopg2' 2>/dev/null; then
  echo "compat: the real MLflow server needs psycopg2 for PostgreSQL (not installed): PostgreSQL run SKIPPED" >&2
  PG_URI=""
fi
if [ -n "$PG_URI" ]; then
  base=${PG_URI%%\?*}
  PG_ADMIN="${base%/*}/postgres"
  PG_DB="cairn_compat_$(date +%s)_$$"
  if psql "$PG_ADMIN" -qc "create database \"$PG_DB\"" >/dev/null; then
    LABELS+=(mlflow3-postgres)
    run_suite mlflow3-postgres "$V3" "${base%/*}/$PG_DB" --ignore=test_faults.py "${NO_SERVING[@]}" "$@"
  else
    echo "compat: could not create database $PG_DB via $PG_ADMIN" >&2
    echo 1 >"$WORK/mlflow3-postgres.rc"
    echo "could not create database $PG_DB" >"$WORK/mlflow3-postgres.log"
    LABELS+=(mlflow3-postgres)
    PG_DB=""
  fi
else
  echo "compat: CAIRN_TEST_POSTGRES_URI is not set: the PostgreSQL run is SKIPPED" >&2
fi
wait

status=0
summary=""
for label in "${LABELS[@]}"; do
  rc=$(cat "$WORK/$label.rc" 2>/dev/null || echo 99)
  echo "================================================================ $label (exit $rc)"
  cat "$WORK/$label.log"
  line=$(grep -E '^[=]* ?[0-9]+ (passed|failed)|[0-9]+ (passed|failed|error)' "$WORK/$label.log" | tail -1)
  summary+="  $label: exit $rc  ${line//=/}"$'\n'
  [ "$rc" = 0 ] || status=1
done
echo "================================================================ compat summary ($(($(date +%s) - START)) s, target $CAIRN_COMPAT_TARGET)"
printf '%s' "$summary"
exit $status
