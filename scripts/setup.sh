#!/usr/bin/env bash
# Installs everything Cairn needs to build and test, idempotently.
# Fast when all is already there: checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PKGS="g++ cmake ninja-build pkg-config libboost-dev nlohmann-json3-dev libsimdjson-dev \
libsqlite3-dev libpq-dev libxgboost-dev xgboost libgtest-dev libgmock-dev libbenchmark-dev \
libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libssl-dev libxxhash-dev libzstd-dev \
libcurl4-openssl-dev sqlite3 curl nodejs"
# chromium: the browser tests (ui/tests/) drive Debian's Chromium through playwright-core.
# nginx and prometheus: the serving tests and bench/serving_bench.sh run their own instances
# (nothing here starts them as system services).
TEST_PKGS="postgresql postgresql-client wrk nginx prometheus chromium"
# Slurm: the exec_slurm_test suite runs against the single-node cluster of scripts/services/slurm.sh.
SLURM_PKGS="slurmctld slurmd slurm-client munge"

want_apt=()
for p in $BUILD_PKGS ${CAIRN_SETUP_TEST:+$TEST_PKGS} ${CAIRN_SETUP_TEST:+$SLURM_PKGS}; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want_apt+=("$p")
done
# npm comes with NodeSource's nodejs (this machine kind); Debian's nodejs needs its own npm package.
command -v npm >/dev/null 2>&1 || want_apt+=(npm)
if [ ${#want_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${want_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends "${want_apt[@]}" >/dev/null
fi

# Python virtualenv for compatibility tests and benchmarks (only for `make test`/bench).
if [ -n "${CAIRN_SETUP_PY:-}" ]; then
  PY=/usr/bin/python3
  [ -x "$PY" ] || PY=$(command -v python3)
  for v in 3 2; do
    VENV=.venv/mlflow$v
    if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import mlflow" 2>/dev/null; then
      if ! "$PY" -m venv "$VENV" 2>/dev/null; then
        SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
        $SUDO apt-get install -y -qq python3-venv >/dev/null
        "$PY" -m venv "$VENV"
      fi
      if [ $v = 3 ]; then spec="mlflow>=3,<4"; else spec="mlflow>=2.22,<3"; fi
      echo "setup: installing $spec into $VENV"
      "$VENV/bin/pip" install -q --disable-pip-version-check "$spec" pytest requests
    fi
    # Model flavors for the registry tests (tests/compat/test_models_e2e.py), pinned to versions
    # that work with mlflow 3.x and 2.22 on Python 3.11. xgboost-cpu is XGBoost's CPU-only wheel
    # (same `import xgboost`, without the ~300 MB NCCL dependency of the `xgboost` wheel).
    # pandas and numpy come with mlflow. The 2.x venv also needs SQLAlchemy < 2.1 for its own
    # `mlflow server` to start (CAIRN_COMPAT_TARGET=mlflow CAIRN_COMPAT_MLFLOW_SERVER=own).
    extras=(scikit-learn==1.9.1 xgboost-cpu==3.2.0)
    [ $v = 2 ] && extras+=("sqlalchemy>=2.0,<2.1")
    # The OIP client the serving tests drive `cairn serve` with (tests/compat/test_serving_triton.py).
    [ $v = 3 ] && extras+=("tritonclient[http]==2.73.0")
    if ! "$VENV/bin/python" - "${extras[@]}" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
from packaging.requirements import Requirement
sys.exit(0 if all(Requirement(r).specifier.contains(version(Requirement(r).name), prereleases=True)
                  for r in sys.argv[1:]) else 1)
PYEOF
    then
      echo "setup: installing ${extras[*]} into $VENV"
      "$VENV/bin/pip" install -q --disable-pip-version-check "${extras[@]}"
    fi
  done

  # The monitoring checks (tests/compat/test_monitor_stats.py, test_monitor_evidently.py): SciPy,
  # scikit-learn and Evidently on the same data as Cairn's statistics. Its own venv: Evidently pins
  # versions of pandas/numpy that need not suit mlflow. Pinned to what `pip install evidently scipy
  # scikit-learn` resolved to on Python 3.11 (2026-11), plus pytest and requests for the runner,
  # except pandas: Evidently 0.7.23 does not import with pandas 3 (it imports
  # pandas.core.dtypes.common.infer_dtype_from_object, gone in 3.0), so the last 2.x.
  VENV=.venv/monitor
  pins=(evidently==0.7.23 scipy==1.17.1 scikit-learn==1.9.1 pandas==2.3.3 numpy==2.4.6
        pytest==9.2.0 requests==2.34.2)
  if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PY" -m venv "$VENV" 2>/dev/null; then
      SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
      $SUDO apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$VENV"
      "$PY" -m venv "$VENV"
    fi
  fi
  # Exact pins: compared without `packaging` (a fresh venv need not have it).
  if ! "$VENV/bin/python" - "${pins[@]}" <<'PYEOF' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if all(version(r.split("==")[0]) == r.split("==")[1] for r in sys.argv[1:]) else 1)
PYEOF
  then
    echo "setup: installing ${pins[*]} into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "${pins[@]}"
  fi
fi
echo "setup: ok"
