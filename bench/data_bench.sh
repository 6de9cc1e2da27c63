#!/usr/bin/env bash
# bench/data_bench.sh — data versioning and pipeline benchmarks of issue 5: `cairn data` and
# `cairn repro` against DVC (the tool they replace) and against the plain tools that bound the
# work from below (`sha256sum` for hashing, `cp -r` for copying).
#
#   Data sets (generated, seeded): "small" = BENCH_FILES files of 1-8 KiB in 100 folders;
#   "big" = one file of BENCH_BIG_MB MiB.
#   Operations, each in a fresh git repository per tool and repetition (set-up not timed):
#     add          cairn data add data          | dvc add data         | sha256sum of every file | cp -r data
#     status       cairn data status (no-op)    | dvc status (no-op)
#     push         cairn data push (folder)     | dvc push (local)     | cp -r of the cache
#     pull         fresh clone: cairn data pull | dvc pull
#     repro-noop   a BENCH_STEPS-step pipeline already run: cairn repro | dvc repro
#   Both tools use hard links from the cache (DVC: cache.type hardlink), so they do the same work.
#   Wall time of each command; BENCH_REPS repetitions with the tool order rotated; medians; each
#   ratio is the median of the per-repetition ratios (other / cairn: > 1 means Cairn is faster).
#
# Usage: bench/data_bench.sh [--quick]      (--quick: 1,000 files, 64 MiB, 20 steps, 1 repetition)
# Environment (all optional):
#   CAIRN_BIN=<repo>/build/cairn       the binary under test (copied aside for the run)
#   DVC_VENV=<repo>/.venv/dvc           created with `pip install dvc` when missing
#   BENCH_REPS=3 BENCH_FILES=10000 BENCH_BIG_MB=1024 BENCH_STEPS=100
#   SKIP_DVC=1                          measure Cairn and the plain tools only
#   BENCH_KEEP=1                        keep the temp dir
# Output: progress on stderr; the Markdown report on stdout (with the load average at the start
# and the end: the machine is shared).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CAIRN_SRC="${CAIRN_BIN:-$ROOT/build/cairn}"
DVC_VENV="${DVC_VENV:-$ROOT/.venv/dvc}"
REPS="${BENCH_REPS:-3}"
FILES="${BENCH_FILES:-10000}"
BIG_MB="${BENCH_BIG_MB:-1024}"
STEPS="${BENCH_STEPS:-100}"
if [[ "${1:-}" == "--quick" ]]; then
  REPS="${BENCH_REPS:-1}"; FILES="${BENCH_FILES:-1000}"; BIG_MB="${BENCH_BIG_MB:-64}"
  STEPS="${BENCH_STEPS:-20}"
elif [[ -n "${1:-}" ]]; then
  echo "usage: $0 [--quick]" >&2; exit 2
fi

log() { echo "data_bench: $*" >&2; }
die() { log "$*"; exit 1; }

[[ -x "$CAIRN_SRC" ]] || die "no cairn binary at $CAIRN_SRC (make build, or set CAIRN_BIN)"
WORK="$(mktemp -d /tmp/cairn-data-bench.XXXXXX)"
cleanup() { [[ -n "${BENCH_KEEP:-}" ]] && log "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT
CAIRN="$WORK/cairn"
cp "$CAIRN_SRC" "$CAIRN"

if [[ -z "${SKIP_DVC:-}" ]]; then
  if [[ ! -x "$DVC_VENV/bin/dvc" ]]; then
    log "installing dvc into $DVC_VENV"
    python3 -m venv "$DVC_VENV"
    "$DVC_VENV/bin/pip" install -q --disable-pip-version-check dvc
  fi
  DVC="$DVC_VENV/bin/dvc"
  DVC_VERSION="$("$DVC" --version 2>/dev/null | tail -1)"
fi
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
# No tracking server for `cairn repro`, no DVC analytics or update checks.
export CAIRN_TRACKING_URI=http://127.0.0.1:9 DVC_NO_ANALYTICS=1 DVC_NO_UPDATE=1

# ---------------------------------------------------------------- data
gen_small() {  # $1: folder
  python3 - "$1" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(42)
for i in range(n):
    d = os.path.join(root, f"part{i % 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:06d}.bin"), "wb") as f:
        f.write(rng.randbytes(rng.randint(1024, 8192)))
PY
}
log "generating $FILES small files and a $BIG_MB MiB file"
gen_small "$WORK/small"
mkdir -p "$WORK/big"
head -c "$((BIG_MB * 1024 * 1024))" /dev/urandom > "$WORK/big/blob.bin"

now_ns() { date +%s%N; }
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
RESULTS="$WORK/results.txt"
: > "$RESULTS"
# record OP DATASET TOOL REP SECONDS
record() { echo "$1 $2 $3 $4 $5" >> "$RESULTS"; }
# timed OP DATASET TOOL REP DIR CMD... : runs CMD in DIR, records wall seconds
timed() {
  local op=$1 ds=$2 tool=$3 rep=$4 dir=$5; shift 5
  local t0 t1
  # Every tool starts from the same state: its input cached but nothing dirty, so no tool
  # pays for flushing what the benchmark's own set-up (cp -r of the data set) just wrote.
  sync
  t0=$(now_ns)
  (cd "$dir" && "$@") > "$WORK/last.out" 2>&1 || { cat "$WORK/last.out" >&2; die "$tool $op $ds failed: $*"; }
  t1=$(now_ns)
  record "$op" "$ds" "$tool" "$rep" "$(python3 -c "print(($t1 - $t0) / 1e9)")"
}

new_repo() {  # $1: dir, $2: dataset -> a git repo with data/ holding a copy of the dataset
  rm -rf "$1"; mkdir -p "$1"
  git -C "$1" init -q
  cp -r "$WORK/$2" "$1/data"
}

tools_in_order() {  # rotate the order per repetition
  local rep=$1; shift
  local arr=("$@") n=$# i
  for ((i = 0; i < n; i++)); do echo "${arr[$(((i + rep) % n))]}"; done
}

TOOLS=(cairn)
[[ -z "${SKIP_DVC:-}" ]] && TOOLS+=(dvc)

for ds in small big; do
  for ((rep = 0; rep < REPS; rep++)); do
    log "$ds: repetition $((rep + 1)) of $REPS"
    for tool in $(tools_in_order "$rep" "${TOOLS[@]}" sha256sum cp); do
      r="$WORK/r-$tool"
      case $tool in
        cairn)
          new_repo "$r" "$ds"
          timed add "$ds" cairn "$rep" "$r" "$CAIRN" data add data
          timed status "$ds" cairn "$rep" "$r" "$CAIRN" data status
          git -C "$r" add -A >/dev/null && git -C "$r" commit -qm v1
          rm -rf "$WORK/remote-cairn"; mkdir -p "$WORK/remote-cairn"
          (cd "$r" && "$CAIRN" data remote add bench "$WORK/remote-cairn" --default >/dev/null)
          git -C "$r" add -A >/dev/null && git -C "$r" commit -qm remote
          timed push "$ds" cairn "$rep" "$r" "$CAIRN" data push
          rm -rf "$r-clone"; git clone -q "$r" "$r-clone"
          timed pull "$ds" cairn "$rep" "$r-clone" "$CAIRN" data pull
          cmp -s "$WORK/$ds/$(cd "$WORK/$ds" && find . -type f | sort | head -1)" \
                 "$r-clone/data/$(cd "$WORK/$ds" && find . -type f | sort | head -1)" \
            || die "cairn pull did not restore the data"
          rm -rf "$r" "$r-clone"
          ;;
        dvc)
          new_repo "$r" "$ds"
          (cd "$r" && "$DVC" init -q && "$DVC" config cache.type hardlink && "$DVC" config core.analytics false)
          # Commit dvc init's files only: data/ must not be tracked by git.
          git -C "$r" add .dvc .dvcignore >/dev/null && git -C "$r" commit -qm init -q
          timed add "$ds" dvc "$rep" "$r" "$DVC" add -q data
          timed status "$ds" dvc "$rep" "$r" "$DVC" status -q
          git -C "$r" add -A >/dev/null && git -C "$r" commit -qm v1
          rm -rf "$WORK/remote-dvc"; mkdir -p "$WORK/remote-dvc"
          (cd "$r" && "$DVC" remote add -d bench "$WORK/remote-dvc" >/dev/null)
          git -C "$r" add -A >/dev/null && git -C "$r" commit -qm remote
          timed push "$ds" dvc "$rep" "$r" "$DVC" push -q
          rm -rf "$r-clone"; git clone -q "$r" "$r-clone"
          timed pull "$ds" dvc "$rep" "$r-clone" "$DVC" pull -q
          rm -rf "$r" "$r-clone"
          ;;
        sha256sum)
          timed add "$ds" sha256sum "$rep" "$WORK/$ds" sh -c 'find . -type f -print0 | xargs -0 sha256sum > /dev/null'
          ;;
        cp)
          rm -rf "$WORK/cp-dest"
          timed add "$ds" cp "$rep" "$WORK" cp -r "$WORK/$ds" "$WORK/cp-dest"
          timed push "$ds" cp "$rep" "$WORK" sh -c "rm -rf '$WORK/cp-dest2' && cp -r '$WORK/cp-dest' '$WORK/cp-dest2'"
          rm -rf "$WORK/cp-dest" "$WORK/cp-dest2"
          ;;
      esac
    done
  done
done

# ---------------------------------------------------------------- no-op repro of an N-step pipeline
make_pipeline() {  # $1: dir, $2: cairn|dvc
  python3 - "$1" "$2" "$STEPS" <<'PY'
import os, sys
root, tool, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(os.path.join(root, "src"), exist_ok=True)
with open(os.path.join(root, "src", "seed.txt"), "w") as f:
    f.write("seed\n")
lines = ["stages:" if tool == "dvc" else "steps:"]
for i in range(n):
    dep = "src/seed.txt" if i == 0 else f"out/s{i - 1:04d}.txt"
    lines += [f"  s{i:04d}:",
              f"    cmd: mkdir -p out && cat {dep} > out/s{i:04d}.txt && echo {i} >> out/s{i:04d}.txt",
              f"    deps: [{dep}]",
              f"    outs: [out/s{i:04d}.txt]"]
with open(os.path.join(root, "dvc.yaml" if tool == "dvc" else "cairn.yaml"), "w") as f:
    f.write("\n".join(lines) + "\n")
PY
}
for ((rep = 0; rep < REPS; rep++)); do
  log "repro-noop ($STEPS steps): repetition $((rep + 1)) of $REPS"
  for tool in $(tools_in_order "$rep" "${TOOLS[@]}"); do
    r="$WORK/p-$tool"; rm -rf "$r"; mkdir -p "$r"; git -C "$r" init -q
    make_pipeline "$r" "$tool"
    if [[ $tool == cairn ]]; then
      (cd "$r" && "$CAIRN" repro --no-track > /dev/null)
      timed repro-noop pipeline cairn "$rep" "$r" "$CAIRN" repro --no-track
    else
      (cd "$r" && "$DVC" init -q && "$DVC" config cache.type hardlink && "$DVC" repro -q > /dev/null)
      timed repro-noop pipeline dvc "$rep" "$r" "$DVC" repro -q
    fi
    rm -rf "$r"
  done
done

# ---------------------------------------------------------------- report
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RESULTS" "$FILES" "$BIG_MB" "$STEPS" "$REPS" "${DVC_VERSION:-}" "$LOAD_START" "$LOAD_END" <<'PY'
import collections, statistics, sys
path, files, big_mb, steps, reps, dvc_version, load_start, load_end = sys.argv[1:9]
rows = collections.defaultdict(dict)  # (op, ds) -> tool -> {rep: secs}
for line in open(path):
    op, ds, tool, rep, secs = line.split()
    rows[(op, ds)].setdefault(tool, {})[int(rep)] = float(secs)
names = {"small": f"{int(files):,} small files", "big": f"one {int(big_mb):,} MiB file",
         "pipeline": f"{int(steps)}-step pipeline"}
print(f"| operation | data | cairn (s) | other | other (s) | other ÷ cairn |")
print("|---|---|---:|---|---:|---:|")
for (op, ds), tools in rows.items():
    c = tools.get("cairn")
    if not c:
        continue
    for tool, t in tools.items():
        if tool == "cairn":
            continue
        ratios = [t[r] / c[r] for r in t if r in c and c[r] > 0]
        print(f"| {op} | {names[ds]} | {statistics.median(c.values()):.3f} | {tool} | "
              f"{statistics.median(t.values()):.3f} | {statistics.median(ratios):.1f}× |")
print()
print(f"{reps} repetition(s), medians; dvc {dvc_version or 'not measured'}; "
      "both tools link files from the cache (hard links).")
print(f"Load average (1, 5, 15 min) at the start: {load_start}; at the end: {load_end}.")
PY
