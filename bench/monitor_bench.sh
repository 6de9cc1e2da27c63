#!/usr/bin/env bash
# bench/monitor_bench.sh — the drift-report benchmark of issue 7: `cairn drift` against Evidently's
# DataDriftPreset and against a plain pandas + NumPy/SciPy script, on the same two CSV files.
#
#   Data (bench/monitor/gen_data.py, seeded): a reference of 100,000 rows x 20 numeric features and
#   a current file of 1,000,000 rows, 7 features shifted (5 by enough to drift, 2 too little).
#   Each tool reads both CSVs and reports per-column drift with the test Evidently picks (normed
#   Wasserstein distance for these sizes):
#     cairn      `cairn drift --reference reference.csv --current current.csv --json`
#     evidently  bench/monitor/evidently_drift.py (pandas.read_csv + Report([DataDriftPreset()]))
#     scipy      bench/monitor/scipy_drift.py (pandas.read_csv + scipy.stats per column)
#   Wall time of the whole process (reading included), N repetitions with the order rotated each
#   repetition; medians; each ratio is the median of the per-repetition ratios. Checks that all
#   three flag the same columns (exit 1 otherwise). Goal: cairn >= 20x faster than Evidently.
#
# Usage: bench/monitor_bench.sh [--quick]      (--quick: 10k x 100k rows, 1 repetition)
# Environment (all optional):
#   CAIRN_BIN=<repo>/build/cairn           the binary under test (copied aside for the run)
#   CAIRN_BENCH_VENV=<repo>/.venv/monitor  python with evidently 0.7, pandas, scipy
#   BENCH_REPS=3                           repetitions (--quick: 1)
#   BENCH_REF_ROWS=100000 BENCH_CUR_ROWS=1000000 BENCH_FEATURES=20   data shape
#   CAIRN_DRIFT_ARGS=""                    extra flags for `cairn drift` (e.g. --threads 1)
#   SKIP_EVIDENTLY=1 SKIP_SCIPY=1          leave a reference out
#   BENCH_KEEP=1                           keep the temp dir (data, outputs)
# Output: progress on stderr; the Markdown report on stdout.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CAIRN_BIN="${CAIRN_BIN:-$ROOT/build/cairn}"
VENV="${CAIRN_BENCH_VENV:-$ROOT/.venv/monitor}"
VPY="$VENV/bin/python"
HERE="$ROOT/bench/monitor"
REPS="${BENCH_REPS:-3}"
REF_ROWS="${BENCH_REF_ROWS:-100000}"
CUR_ROWS="${BENCH_CUR_ROWS:-1000000}"
FEATURES="${BENCH_FEATURES:-20}"
if [[ "${1:-}" == "--quick" ]]; then
  REPS="${BENCH_REPS:-1}"; REF_ROWS="${BENCH_REF_ROWS:-10000}"; CUR_ROWS="${BENCH_CUR_ROWS:-100000}"
elif [[ -n "${1:-}" ]]; then
  echo "usage: $0 [--quick]" >&2; exit 2
fi
SKIP_EVIDENTLY="${SKIP_EVIDENTLY:-0}" SKIP_SCIPY="${SKIP_SCIPY:-0}"
CAIRN_DRIFT_ARGS="${CAIRN_DRIFT_ARGS:-}"

log() { echo "[monitor-bench $(date +%H:%M:%S)] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -x "$CAIRN_BIN" ]] || die "no cairn binary at $CAIRN_BIN (build it, or set CAIRN_BIN)"
[[ -x "$VPY" ]] || die "no python at $VPY (set CAIRN_BENCH_VENV to a venv with evidently 0.7, pandas < 3, scipy)"
"$VPY" -c "import pandas, scipy, numpy" 2>/dev/null || die "$VPY lacks pandas/scipy/numpy"
if [[ "$SKIP_EVIDENTLY" != 1 ]]; then
  "$VPY" -c "from evidently import Report; from evidently.presets import DataDriftPreset" 2>/dev/null \
    || die "$VPY cannot import evidently 0.7 (Report, DataDriftPreset; note evidently 0.7 needs pandas < 3)"
fi
TIME_BIN=""
[[ -x /usr/bin/time ]] && TIME_BIN=/usr/bin/time

WORK="$(mktemp -d /tmp/cairn-monitor-bench.XXXXXX)"
cleanup() { [[ "${BENCH_KEEP:-0}" == 1 ]] && log "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT
cp "$CAIRN_BIN" "$WORK/cairn"  # a concurrent rebuild must not swap the binary mid-run
"$WORK/cairn" drift --help >/dev/null 2>&1 || die "$CAIRN_BIN has no 'drift' command"

log "generating $REF_ROWS x $FEATURES reference and $CUR_ROWS current rows in $WORK"
"$VPY" "$HERE/gen_data.py" "$WORK" --reference-rows "$REF_ROWS" --current-rows "$CUR_ROWS" \
  --features "$FEATURES"
REF="$WORK/reference.csv" CUR="$WORK/current.csv"
cat "$REF" "$CUR" >/dev/null  # into the page cache before the first timed run

# run_one TOOL REP: runs the tool once, appends "tool rep seconds kib output" to results.tsv.
run_one() {
  local tool="$1" rep="$2" out="$WORK/$1.$2.json" memf="$WORK/$1.$2.mem" cmd
  case "$tool" in
    # shellcheck disable=SC2206
    cairn) cmd=("$WORK/cairn" drift --reference "$REF" --current "$CUR" --json $CAIRN_DRIFT_ARGS) ;;
    evidently) cmd=("$VPY" "$HERE/evidently_drift.py" "$REF" "$CUR") ;;
    scipy) cmd=("$VPY" "$HERE/scipy_drift.py" "$REF" "$CUR") ;;
  esac
  local start end kib="-"
  start=$(date +%s.%N)
  if [[ -n "$TIME_BIN" ]]; then
    "$TIME_BIN" -f '%M' -o "$memf" "${cmd[@]}" >"$out" 2>"$WORK/$tool.$rep.err" \
      || die "$tool failed: $(tail -5 "$WORK/$tool.$rep.err")"
    kib=$(tail -1 "$memf")
  else
    "${cmd[@]}" >"$out" 2>"$WORK/$tool.$rep.err" || die "$tool failed: $(tail -5 "$WORK/$tool.$rep.err")"
  fi
  end=$(date +%s.%N)
  local secs
  secs=$(echo "$end - $start" | bc -l 2>/dev/null || "$VPY" -c "print($end - $start)")
  printf '%s\t%s\t%s\t%s\t%s\n' "$tool" "$rep" "$secs" "$kib" "$out" >>"$WORK/results.tsv"
  log "  $tool run $rep: $(printf '%.2f' "$secs") s"
}

TOOLS=(cairn)
[[ "$SKIP_EVIDENTLY" != 1 ]] && TOOLS+=(evidently)
[[ "$SKIP_SCIPY" != 1 ]] && TOOLS+=(scipy)
: >"$WORK/results.tsv"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
STARTED="$(date -u '+%Y-%m-%d %H:%M')"
for ((rep = 1; rep <= REPS; rep++)); do
  log "repetition $rep of $REPS"
  n=${#TOOLS[@]}
  for ((i = 0; i < n; i++)); do
    run_one "${TOOLS[$(((i + rep - 1) % n))]}" "$rep"
  done
done
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"

EV_VERSION="$("$VPY" -c 'import importlib.metadata as m; print(m.version("evidently"))' 2>/dev/null || echo '?')"
PD_VERSION="$("$VPY" -c 'import pandas; print(pandas.__version__)')"
SP_VERSION="$("$VPY" -c 'import scipy; print(scipy.__version__)')"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"

echo "Run $STARTED UTC, commit $COMMIT (working tree), $(nproc) CPUs ($CPU);"
echo "data: reference $REF_ROWS rows x $FEATURES numeric features ($(du -h "$REF" | cut -f1)), current $CUR_ROWS rows ($(du -h "$CUR" | cut -f1)), CSV;"
echo "Evidently $EV_VERSION, pandas $PD_VERSION, SciPy $SP_VERSION; $REPS repetition(s), order rotated;"
echo "load average (1/5/15 min) at start: $LOAD_START; at end: $LOAD_END."
echo
set +e
"$VPY" "$HERE/summarize.py" "$WORK/results.tsv" "$WORK"
rc=$?
set -e
exit $rc
