#pragma once
// Executors (docs/pipelines.md, "Executors"): run one attempt of one
// pipeline step's command, somewhere, to completion. Retries, ordering and
// parallelism are the runner's (pipeline/runner.h); an executor only runs.
//
// A job runs `/bin/sh -c <cmd>` in `cwd` with the inherited environment plus
// `env`, stdout and stderr appended to `log_path` (created with its folder).
//
// Outcomes: kSucceeded (exit 0), kFailed (non-zero exit or killed by a signal
// it did not get from us), kTimedOut (ran past timeout_ms: the whole process
// group / Slurm job was stopped), kCancelled (the CancelToken was set: same),
// kLost (the job vanished: a Slurm job the controller no longer knows, a
// node failure). An error Result means the job could not be started at all
// (no sbatch, fork failure, an unwritable log): the message says why.
//
// Thread safety: Run is called concurrently from the runner's worker threads,
// one job per call; implementations are thread-safe.
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace cairn::exec {

struct Resources {
  std::optional<int> cpus;
  std::optional<int64_t> memory_bytes;
  int gpus = 0;
};

struct StepJob {
  std::string name;  // the step's name ("evaluate@small"): Slurm job name, messages
  std::string cmd;   // run by /bin/sh -c
  std::string cwd;   // absolute
  std::map<std::string, std::string> env;  // added to (overriding) the inherited environment
  std::string log_path;                    // absolute; stdout+stderr appended
  std::optional<int64_t> timeout_ms;
  Resources resources;
};

enum class Outcome { kSucceeded, kFailed, kTimedOut, kCancelled, kLost };
std::string_view OutcomeName(Outcome outcome);  // "succeeded" | "failed" | "timed out" | ...

struct ExecResult {
  Outcome outcome = Outcome::kFailed;
  int exit_code = -1;      // when the command exited
  int signal = 0;          // when it was killed by a signal (0 otherwise)
  int64_t duration_ms = 0;
  std::string job_id;      // pid for local, Slurm job id for slurm
  std::string message;     // human summary: "exit code 3", "timed out after 30m", ...
};

// Set from any thread (Ctrl-C handler, a failed sibling with --fail-fast):
// every running job of every executor holding it is stopped.
class CancelToken {
 public:
  void Cancel() { cancelled_.store(true, std::memory_order_release); }
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> cancelled_{false};
};

// Message helpers shared by the executors: "250ms", "2s", "2.5s", "30m",
// "1m30s", "1h5m"; "SIGKILL" (or "signal 77" for an unnamed one).
std::string FormatDuration(int64_t ms);
std::string SignalName(int sig);

// Opens job.log_path for appending (O_CLOEXEC), creating it and its folder;
// the caller closes the fd. kFailedPrecondition naming the step and the path.
Result<int> OpenJobLog(const StepJob& job);

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string_view name() const = 0;  // "local" | "slurm"
  // Runs one attempt, blocking until it ends (poll the token at least every
  // 100 ms locally, every poll interval on Slurm).
  virtual Result<ExecResult> Run(const StepJob& job, const CancelToken& cancel) = 0;

  // Runs several jobs as one batch: the items of one fan-out step, which
  // share their resources and timeout (kInvalidArgument otherwise). Blocks
  // until every job ended; the results are in the order of `jobs`, each job
  // with its own outcome (one failing does not stop the others; the token
  // stops all). The Slurm executor submits them as one job array (one sbatch,
  // task i runs jobs[i]); this default runs each with Run, concurrently, one
  // thread per job. An error means nothing could be started (then no job ran).
  virtual Result<std::vector<ExecResult>> RunArray(const std::vector<StepJob>& jobs,
                                                   const CancelToken& cancel);
};

// The checks RunArray does before anything runs: jobs non-empty, the same
// timeout and resources in all. kInvalidArgument naming the first job that
// differs.
Status CheckArrayJobs(const std::vector<StepJob>& jobs);

}  // namespace cairn::exec
