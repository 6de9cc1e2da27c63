#pragma once
// The rules of pipeline schedules (docs/pipelines.md, "Schedules"): what a
// valid schedule is, where its repository may be, when it is due. The REST
// handlers (api/schedule_handlers.h) and the scheduler thread
// (schedule/pipeline_scheduler.h) both go through this service, so the CLI
// and the API give the same errors.
//
// SECURITY: a schedule makes the server run the commands in a repository's
// cairn.yaml. The service refuses to create, enable or trigger schedules
// unless it was given a pipeline root (`cairn server --pipeline-root DIR`,
// or CAIRN_PIPELINE_ROOT): kPermissionDenied (403) saying how to enable it.
// A repository must be an absolute path whose realpath is DIR or inside it
// (symlinks resolved, so a link out of the root is refused) and hold a
// cairn.yaml: kInvalidArgument (400) naming 'repo' otherwise. The scheduler
// checks the repository again before every run (the root may have changed
// since the schedule was made).
//
// Validation (kInvalidArgument, naming the field): name 1-64 characters of
// [A-Za-z0-9._-] starting with a letter or digit (it names log files); cron
// as core/cron.h parses it (the parser's message); targets non-empty, not
// starting with '-' (they become `cairn repro` arguments), without control
// characters; jobs 0 (repro's default) to 256.
//
// Thread safety: safe for concurrent use (the store is; the rest is
// immutable after construction). The store and clock must outlive it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/cron.h"
#include "core/error.h"
#include "store/pipeline_schedule_store.h"

namespace cairn::schedule {

struct NewSchedule {
  std::string name;
  std::string cron;
  std::string repo;
  std::vector<std::string> targets;
  int jobs = 0;
  bool enabled = true;
};

// The latest cron time in [next_tick_ms, now] and whether earlier ticks in
// that range were skipped (the server was down or busy: only the latest
// missed tick runs, once). nullopt when next_tick_ms > now.
struct DueTick {
  int64_t tick_ms = 0;
  bool skipped_earlier = false;
};
std::optional<DueTick> LatestDueTick(const CronSchedule& cron, int64_t next_tick_ms, int64_t now);

// "2026-11-27T00:00:00Z" (UTC, seconds).
std::string FormatUtc(int64_t ms);

class PipelineScheduleService {
 public:
  // `pipeline_root`: "" refuses schedules (see above); else a folder that
  // must exist (checked by Open).
  static Result<std::unique_ptr<PipelineScheduleService>> Open(store::PipelineScheduleStore& store,
                                                               const Clock& clock,
                                                               const std::string& pipeline_root);

  // True when a pipeline root is set (schedules may run).
  bool runs_enabled() const { return !root_.empty(); }
  // The resolved pipeline root ("" when none).
  const std::string& pipeline_root() const { return root_; }

  Result<store::PipelineSchedule> Create(const NewSchedule& s);
  Result<store::PipelineSchedule> Get(const std::string& name);
  Result<std::vector<store::PipelineSchedule>> List();
  Status Delete(const std::string& name);
  // Enabling starts from the next cron time after now (no catch-up of the
  // disabled time). Disabling a running schedule lets its run finish.
  Result<store::PipelineSchedule> SetEnabled(const std::string& name, bool enabled);
  // Replaces the schedule's cron (validated as Create does); its next tick
  // becomes the new cron's first time after now (no catch-up under the new
  // cron). Enabled state, repository, targets, jobs and run history are kept;
  // a run going on finishes. Allowed without a pipeline root (it runs
  // nothing), like disabling.
  Result<store::PipelineSchedule> UpdateCron(const std::string& name, const std::string& cron);
  // Queues one manual run now (any scheduler of the database picks it up).
  Result<store::PipelineScheduleRun> Trigger(const std::string& name);
  // Newest first, at most `limit` (> 0).
  Result<std::vector<store::PipelineScheduleRun>> Runs(const std::string& name, int limit);

  // The repository's realpath when it is inside the pipeline root and holds
  // cairn.yaml; the errors above otherwise.
  Result<std::string> ResolveRepo(const std::string& repo) const;

  store::PipelineScheduleStore& store() { return store_; }
  const Clock& clock() const { return clock_; }

 private:
  PipelineScheduleService(store::PipelineScheduleStore& store, const Clock& clock, std::string root)
      : store_(store), clock_(clock), root_(std::move(root)) {}
  Status RequireRunsEnabled() const;

  store::PipelineScheduleStore& store_;
  const Clock& clock_;
  std::string root_;  // realpath; "" when schedules are refused
};

// The validations above, exposed for the CLI's early checks and tests.
Status ValidateScheduleName(const std::string& name);
Status ValidateTargets(const std::vector<std::string>& targets);

}  // namespace cairn::schedule
