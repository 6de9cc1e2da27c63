#!/usr/bin/env bash
# Adapted from the team recipe /work/shared/recipes/slurm.sh (same behaviour); the exec_slurm_test
# suite and `make services-up` use it: `eval "$(scripts/services/slurm.sh start | grep '^export ')"`.
# Change from the recipe: the node declares RealMemory (SLURM_MEM_MB, default 80% of MemTotal), so
# jobs may ask for --mem (Slurm's default RealMemory=1 MiB refuses any --mem above 1M).
# Single-node Slurm 22.05 "cluster" (munged + slurmctld + slurmd) on 127.0.0.1 for tests/CI, run as root.
# Usage: slurm.sh start|stop|status|reset        (idempotent; safe to rerun)
# Env:   SLURM_ROOT (default /tmp/ci-slurm)  SLURM_CTLD_PORT (16817)  SLURM_D_PORT (16818)  SLURM_CPUS (nproc)
#        SLURM_SCHED_PARAMS (default batch_sched_delay=0,sched_min_interval=100000: schedule within ~0.1 s, not 3 s)
# Clients need: export SLURM_CONF=$SLURM_ROOT/etc/slurm.conf   (printed on start/status)
# No cgroups (proctrack/linuxproc, task/none, jobacct_gather/linux), no slurmdbd: finished jobs are
# kept by slurmctld for MinJobAge=600 s (scontrol show job / squeue -t all) and appended to
# $SLURM_ROOT/jobcomp.txt (JobCompType=jobcomp/filetxt). `sacct` needs slurmdbd and is NOT available.
set -euo pipefail
SLURM_ROOT=${SLURM_ROOT:-/tmp/ci-slurm}; CTLD_PORT=${SLURM_CTLD_PORT:-16817}; D_PORT=${SLURM_D_PORT:-16818}
CPUS=${SLURM_CPUS:-$(nproc)}; NODE=localhost
MEM_MB=${SLURM_MEM_MB:-$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)}
ETC=$SLURM_ROOT/etc; CONF=$ETC/slurm.conf; MUNGE_DIR=$SLURM_ROOT/munge; SOCK=$MUNGE_DIR/munge.socket.2
export SLURM_CONF=$CONF

ensure_pkgs() {
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null \
      || { apt-get update >/dev/null && apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
  fi
}
# alive PID: exists and is not a zombie (PID 1 here may reap orphans late, and kill -0 succeeds on zombies)
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$s" ] && [ "${s#Z}" = "$s" ]; }
pid_alive() { [ -f "$1" ] && alive "$(cat "$1")"; }
info() {
  echo "export SLURM_CONF=$CONF"
  echo "# then: sbatch --wrap 'echo hi' ; squeue ; scontrol show job <id> ; sinfo ; logs/state under $SLURM_ROOT"
}
write_conf() {
  mkdir -p "$ETC" "$SLURM_ROOT"/{state,spool,log,run,jobs}
  cat > "$CONF" <<CONF
ClusterName=ci
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$SLURM_ROOT/state
SlurmdSpoolDir=$SLURM_ROOT/spool
SlurmctldPidFile=$SLURM_ROOT/run/slurmctld.pid
SlurmdPidFile=$SLURM_ROOT/run/slurmd.pid
SlurmctldLogFile=$SLURM_ROOT/log/slurmctld.log
SlurmdLogFile=$SLURM_ROOT/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$SLURM_ROOT/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=${SLURM_SCHED_PARAMS:-batch_sched_delay=0,sched_min_interval=100000}
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
PlugStackConfig=$ETC/plugstack.conf
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  : > "$ETC/plugstack.conf"   # keep the distro's /etc/slurm/plugstack.conf.d out of the test cluster
}
start_munge() {
  if pid_alive "$MUNGE_DIR/munged.pid"; then return 0; fi
  mkdir -p "$MUNGE_DIR"; chown munge:munge "$MUNGE_DIR"; chmod 0755 "$MUNGE_DIR"   # munged: socket dir must be a+x, not group/other-writable
  if [ ! -s "$MUNGE_DIR/munge.key" ]; then
    dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1024 count=1 status=none
    chown munge:munge "$MUNGE_DIR/munge.key"; chmod 0400 "$MUNGE_DIR/munge.key"
  fi
  rm -f "$SOCK" "$SOCK.lock"
  runuser -u munge -- munged --socket="$SOCK" --key-file="$MUNGE_DIR/munge.key" --pid-file="$MUNGE_DIR/munged.pid" \
    --log-file="$MUNGE_DIR/munged.log" --seed-file="$MUNGE_DIR/munged.seed"
  for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
  munge -S "$SOCK" -n | unmunge -S "$SOCK" >/dev/null || { echo "munge self-test failed"; cat "$MUNGE_DIR/munged.log"; exit 1; }
}
start() {
  ensure_pkgs
  local t0; t0=$(date +%s%N)
  local old_conf=""; [ -f "$CONF" ] && old_conf=$(cat "$CONF")
  write_conf
  # Daemons started with another slurm.conf (an older version of this script, or the recipe on the
  # same SLURM_ROOT) do not re-read node definitions: restart them on the new one.
  if [ -n "$old_conf" ] && [ "$old_conf" != "$(cat "$CONF")" ] \
     && { pid_alive "$SLURM_ROOT/run/slurmctld.pid" || pid_alive "$SLURM_ROOT/run/slurmd.pid"; }; then
    echo "slurm.conf changed: restarting slurmctld and slurmd"; stop_daemons
  fi
  cd "$SLURM_ROOT"   # daemons inherit a cwd that survives 'reset' of other dirs
  start_munge
  if ! pid_alive "$SLURM_ROOT/run/slurmctld.pid"; then slurmctld -f "$CONF"; fi   # daemonizes; recovers state if any
  if ! pid_alive "$SLURM_ROOT/run/slurmd.pid"; then slurmd -f "$CONF" -N "$NODE"; fi
  for _ in $(seq 300); do   # wait until the node is schedulable
    st=$(sinfo -h -n "$NODE" -o '%t' 2>/dev/null || true)
    case "$st" in idle*|mix*|alloc*) break ;; down*|drain*) scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;; esac
    sleep 0.1
  done
  st=$(sinfo -h -n "$NODE" -o '%t' 2>/dev/null || true)
  case "$st" in idle*|mix*|alloc*) ;; *) echo "slurm node not ready (state '$st')"; tail -n 20 "$SLURM_ROOT"/log/*.log; exit 1 ;; esac
  printf "slurm up on 127.0.0.1:%s (ctld) / %s (slurmd), node %s state %s, %d ms\n" "$CTLD_PORT" "$D_PORT" "$NODE" "$st" $(( ($(date +%s%N) - t0) / 1000000 ))
  info
}
stop_daemons() {
  local pids="" p
  for f in "$SLURM_ROOT/run/slurmd.pid" "$SLURM_ROOT/run/slurmctld.pid"; do   # SIGTERM both, then wait (each takes ~0-2 s)
    if pid_alive "$f"; then p=$(cat "$f"); kill "$p"; pids="$pids $p"; fi
  done
  for p in $pids; do for _ in $(seq 150); do alive "$p" || break; sleep 0.1; done; done
  rm -f "$SLURM_ROOT/run/slurmd.pid" "$SLURM_ROOT/run/slurmctld.pid"
}
stop() {
  local p
  stop_daemons
  if pid_alive "$MUNGE_DIR/munged.pid"; then p=$(cat "$MUNGE_DIR/munged.pid"); kill "$p"; for _ in $(seq 50); do alive "$p" || break; sleep 0.1; done; fi
  echo "slurm stopped"
}
status() {
  local ok=0
  for f in "$MUNGE_DIR/munged.pid" "$SLURM_ROOT/run/slurmctld.pid" "$SLURM_ROOT/run/slurmd.pid"; do
    if pid_alive "$f"; then echo "$(basename "$f" .pid): running (pid $(cat "$f"))"; else echo "$(basename "$f" .pid): stopped"; ok=3; fi
  done
  [ $ok = 0 ] && { sinfo; info; }
  return $ok
}
case "${1:-}" in
  start) start ;; stop) stop ;; status) status ;;
  reset) stop; rm -rf "$SLURM_ROOT"; echo "removed $SLURM_ROOT" ;;
  *) echo "usage: $0 start|stop|status|reset" >&2; exit 2 ;;
esac
