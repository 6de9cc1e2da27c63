#pragma once
// The Slurm executor: each job is one batch job
//   sbatch --parsable --job-name cairn-<step> [--partition P]
//          [--cpus-per-task N] [--mem <MiB>M] [--gres=gpu:N]
//          [--time <minutes, rounded up>] --output <log> --open-mode=append
//          --chdir <cwd> --export=ALL,<env> --wrap <cmd>
// (env values travel through the environment of sbatch itself, so no quoting
// of values happens on the command line). State is polled with
// `squeue -h -j ID -o %T` and, once the job left the queue, `scontrol show job
// ID` (JobState, ExitCode=code:signal); there is no slurmdbd (no sacct).
// Timeout: Cairn's own timeout_ms also cancels (`scancel`) a job Slurm kept
// pending. Cancel: `scancel ID`, then wait until Slurm reports it ended.
// Slurm's TIMEOUT state maps to kTimedOut, CANCELLED to kCancelled,
// NODE_FAIL/BOOT_FAIL/DEADLINE/OUT_OF_MEMORY and a job unknown to both
// squeue and scontrol to kLost (OUT_OF_MEMORY with a message saying so),
// FAILED and COMPLETED by ExitCode.
//
// The Slurm client programs are found on PATH (or `bin_dir`); SLURM_CONF
// from the environment is passed through.
//
// RunArray (the items of one fan-out step): one `sbatch --array=0-N-1` of a
// generated script that runs task i's folder, env and command by
// SLURM_ARRAY_TASK_ID, each task's --output a link to its job's log; state
// from `scontrol -o show job <array id>` (a record per started task and one
// for the pending range); results with job ids `<array id>_<i>`; a task's
// timeout counts from when it left PENDING (`scancel <id>_<i>`); the token
// cancels the whole array. One job: Run.
//
// Thread safety: Run and RunArray may be called from many threads at once.
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"
#include "exec/executor.h"

namespace cairn::exec {

struct SlurmExecutorOptions {
  std::string partition;        // empty: the cluster's default
  std::string bin_dir;          // empty: PATH
  int64_t poll_interval_ms = 500;
  std::string job_name_prefix = "cairn-";
};

// kFailedPrecondition when sbatch cannot be found or `sinfo` cannot reach
// the controller (the message names what was tried and says how to set
// SLURM_CONF).
Result<std::unique_ptr<Executor>> MakeSlurmExecutor(SlurmExecutorOptions options = {});

}  // namespace cairn::exec
