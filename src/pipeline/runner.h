#pragma once
// The pipeline runner (docs/pipelines.md, "Run" and "Tracking"): `cairn repro`
// and `cairn pipeline run` as a library call.
//
// Order: the selected steps (Planner::Select) are scheduled in topological
// order; a step starts when all its parents finished successfully, up to
// `jobs` steps at once (each on its own worker thread calling its
// executor's Run). For each step, on the scheduling thread:
//   1. PlanStep against the workspace (its upstream outs are in place now);
//   2. kUpToDate: nothing runs; kRestorable: its outs and metrics are checked
//      out from the cache (Cache::Checkout, the configured link mode);
//   3. kStale: its outs and metrics are removed from the workspace (a hard-
//      linked out is read-only; a stale one must never be mistaken for the
//      new one), their parent folders are created, and the command runs
//      (exec/), with retries: attempt k+1 starts after
//      retry_backoff_ms * 2^(k-1) (1 s, 2 s, 4 s by default), only for
//      kFailed / kTimedOut / kLost, never after a cancel;
//   4. on success: every out and metrics file must exist (else the step
//      fails: "step 'train' succeeded but did not write out model"); they are
//      committed to the cache (Cache::Commit), recorded in the run cache, and
//      the step's entry in cairn.lock is replaced and the lock rewritten
//      atomically (under the runner's mutex), so a crash after any step
//      leaves a valid lock covering what finished.
// A failed step stops its descendants (status kSkipped, "upstream 'x'
// failed"), never its siblings; the run continues with what can run and
// the report is not ok. Running it again resumes: what succeeded is up to
// date or cached. Cancel (Ctrl-C): the token stops running jobs; steps not
// started are kSkipped ("cancelled").
//
// Executors: `executor: local` -> local_executor; `slurm` -> the Slurm
// executor (created on first use; a pipeline with slurm steps on a machine
// without Slurm fails those steps with the executor's message). The items of
// a slurm `foreach` step that are ready together are one job array
// (Executor::RunArray, one worker and one `jobs` slot for all of them):
// each item keeps its own result, log, commit and lock entry, and attempt
// k+1 resubmits only the items whose attempt k failed. Logs go to
// .cairn/logs/<step>.log (appended per attempt, with a header line per
// attempt).
//
// Tracking (when `tracking` is set): one parent run in experiment
// `experiment` (default "pipeline:<repo folder name>"), tagged
// cairn.pipeline=<repo folder name>, mlflow.runName "repro <time>"; one child
// run per step that was restored or ran (mlflow.parentRunId, runName = step),
// with params (the step's param values, JSON text unquoted for strings),
// metrics (numbers from its metrics files, nested keys dotted), tags
// cairn.step, cairn.fingerprint, cairn.cached (true|false), cairn.executor,
// cairn.attempts, cairn.out.<path> = sha256:<digest> (and cairn.dep.<path>),
// one MLflow dataset input per dep (name = its repo path, digest = 16 hex of
// its sha256, source_type "cairn", source "cairn:sha256:<hex>", context
// training), its log as artifact logs/<step>.log, status FINISHED / FAILED.
// Tracking failures are reported as warnings and never fail the pipeline.
// A tracked step's command gets MLFLOW_TRACKING_URI, MLFLOW_RUN_ID (its child
// run), MLFLOW_EXPERIMENT_ID and CAIRN_PIPELINE_RUN_ID (the parent) in its
// environment, so `mlflow.start_run()` in a step logs into the step's run
// (models, metrics, artifacts); the step's own `env` overrides them. They are
// not part of the fingerprint.
//
// Git: every out and metrics file the runner commits or restores is
// git-ignored in its folder's .gitignore (data_ops.h EnsureGitIgnored), as
// `cairn data add` does (.cairn/logs is ignored by .cairn/.gitignore, written
// by data::InitWorkspace); cairn.lock is what to commit.
//
// Thread safety: one RunPipeline per repository at a time (the caller holds
// the repository lock, data/repo_lock.h). The observer is called from the
// scheduling thread only.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/tracking_client.h"
#include "core/error.h"
#include "data/cache.h"
#include "exec/executor.h"
#include "exec/slurm_executor.h"
#include "pipeline/plan.h"

namespace cairn::pipeline {

enum class StepResultKind {
  kUpToDate,  // nothing to do
  kRestored,  // outs checked out from the run cache
  kRan,       // the command ran and succeeded
  kFailed,    // the command failed (after retries), or its outs were missing
  kSkipped,   // not started: an upstream step failed, or the run was cancelled
};
std::string_view StepResultKindName(StepResultKind kind);  // "up to date" | "restored" | ...

struct StepResult {
  std::string step;
  StepResultKind kind = StepResultKind::kSkipped;
  std::vector<std::string> reasons;  // why it ran (plan reasons) or why it failed / was skipped
  int attempts = 0;
  std::optional<exec::ExecResult> last;  // the last attempt, when it ran
  std::string log_path;                  // repo path of its log, when it ran
  std::string fingerprint;
  std::string run_id;  // the child run, when tracked
  int64_t duration_ms = 0;
};

struct RunReport {
  std::vector<StepResult> steps;  // in the order they finished
  bool ok = true;                 // no step failed and nothing was cancelled
  std::string parent_run_id;      // when tracked
};

// What happens, for the CLI to print as it goes.
struct RunObserver {
  std::function<void(const StepPlan&)> on_planned;          // before a step is acted on
  std::function<void(const std::string& step, int attempt)> on_started;  // an attempt starts
  std::function<void(const StepResult&)> on_finished;
  std::function<void(const std::string& warning)> on_warning;
};

struct RunOptions {
  std::vector<std::string> targets;  // empty: every step
  int jobs = 0;                      // parallel steps; 0: cores
  bool force = false;                // run selected steps even when up to date or cached
  bool use_run_cache = true;
  bool dry_run = false;              // plan only: every step reported as planned, nothing runs
  data::LinkMode link_mode = data::LinkMode::kHardlink;
  int64_t retry_backoff_ms = 1000;
  exec::SlurmExecutorOptions slurm;
  // The items of a `foreach` step with `executor: slurm` that are ready at
  // the same time go to Slurm as one job array (one sbatch, task i = item i;
  // an array takes one of the `jobs` slots). False: one job per item.
  bool slurm_arrays = true;
  // Tracking: null means not tracked.
  client::TrackingClient* tracking = nullptr;
  std::string experiment;  // empty: "pipeline:<repo folder name>"
  // Cancels the run (the CLI sets it from SIGINT / SIGTERM); may be null.
  exec::CancelToken* cancel = nullptr;
};

// Loads cairn.yaml (and cairn.lock) at the cache's workspace root and runs
// the pipeline. Errors are for what stops the whole run before it starts (a
// bad spec, an unknown target, an unwritable lock); step failures are in the
// report.
Result<RunReport> RunPipeline(data::Cache& cache, const RunOptions& options,
                              const RunObserver& observer = {});

}  // namespace cairn::pipeline
