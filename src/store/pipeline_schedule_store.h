#pragma once
// The pipeline-schedule part of the metadata store (migration 5; design in
// docs/pipelines.md, "Schedules"): schedules (a cron expression, a
// repository folder on the server, targets and jobs for `cairn repro`) and
// their runs (one row per tick, cron or manual). Only this layer writes SQL;
// the rules (which tick is due, validation, the repository root) are the
// schedule service's and the scheduler's (schedule/).
//
// Run statuses: "queued" (a manual trigger waiting for a scheduler),
// "running" (claimed by `owner`, who renews lease_until_ms while the child
// runs), "succeeded", "failed", "lost" (its owner's lease expired: the server
// died mid-run; a lost run is never rerun). triggered_by: "cron" | "manual".
//
// "Runs once": (schedule_id, tick_ms) is unique. ClaimTick inserts the row
// with INSERT ... ON CONFLICT DO NOTHING, so across threads, replicas and
// restarts exactly one caller gets a tick. ClaimQueuedRun and FinishRun are
// single conditional UPDATEs (status and owner checked in the statement).
//
// Thread safety: safe for concurrent use from any number of threads and
// processes (replicas on one PostgreSQL).
//
// Errors: kNotFound ("Pipeline schedule 'x' not found"; unknown run ids
// too), kAlreadyExists ("Pipeline schedule 'x' already exists"; a manual run
// for a tick that exists), kFailedPrecondition (FinishRun / RenewLease of a
// run that is no longer running under that owner), kInvalidArgument (empty
// name, a status FinishRun does not take), kUnavailable, kInternal.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace cairn::store {

struct PipelineSchedule {
  int64_t id = 0;
  std::string name;
  std::string cron;                  // core/cron.h text, validated by the service
  std::string repo;                  // absolute path on the server
  std::vector<std::string> targets;  // steps for `cairn repro`; empty: the whole pipeline
  int jobs = 0;                      // `--jobs`; 0: repro's default
  bool enabled = true;
  int64_t created_at = 0;  // ms
  int64_t updated_at = 0;
  int64_t next_tick_ms = 0;  // the next cron time not yet considered
};

struct PipelineScheduleRun {
  int64_t id = 0;
  int64_t schedule_id = 0;
  std::string schedule_name;
  int64_t tick_ms = 0;       // the cron time (manual: the trigger time)
  std::string triggered_by;  // "cron" | "manual"
  std::string status;        // see above
  std::string owner;         // host:pid:random of the scheduler running it
  int64_t lease_until_ms = 0;
  int64_t created_at = 0;
  int64_t started_at = 0;
  int64_t finished_at = 0;
  std::optional<int> exit_code;  // when the child exited
  std::string log_tail;          // the last 4 KiB of the log (valid UTF-8)
  std::string log_path;          // the whole log on the server
  std::string message;           // "exit code 2", "timed out after 30s", "catch-up: ..."
};

// What the scheduler records when a run ends.
struct RunCompletion {
  int64_t run_id = 0;
  std::string owner;
  std::string status;  // "succeeded" | "failed"
  std::optional<int> exit_code;
  std::string log_tail;
  std::string message;
  int64_t finished_at = 0;
};

class PipelineScheduleStore {
 public:
  virtual ~PipelineScheduleStore() = default;

  // ------------------------------------------------------------ schedules
  // Zero created_at/updated_at are stamped with the clock. kAlreadyExists
  // for a taken name.
  virtual Result<PipelineSchedule> CreateSchedule(const PipelineSchedule& s) = 0;
  virtual Result<PipelineSchedule> GetSchedule(const std::string& name) = 0;
  virtual Result<std::vector<PipelineSchedule>> ListSchedules() = 0;  // by name
  // Deletes the schedule with its runs.
  virtual Status DeleteSchedule(const std::string& name) = 0;
  // Sets enabled (and next_tick_ms, the first tick to consider from now).
  virtual Result<PipelineSchedule> SetEnabled(const std::string& name, bool enabled,
                                              int64_t next_tick_ms, int64_t now) = 0;
  // Replaces the cron expression and next_tick_ms (the new cron's first tick
  // after now); enabled, targets and the runs are kept. kNotFound for an
  // unknown name.
  virtual Result<PipelineSchedule> UpdateCron(const std::string& name, const std::string& cron,
                                              int64_t next_tick_ms, int64_t now) = 0;
  // Compare-and-set of next_tick_ms: true when it was `expected` (one
  // replica advances a schedule).
  virtual Result<bool> AdvanceNextTick(int64_t schedule_id, int64_t expected, int64_t next) = 0;

  // ----------------------------------------------------------------- runs
  // Claims tick `tick_ms` of a schedule for `owner`: a new row "running"
  // (started_at = now, lease_until_ms = now + lease_ms). nullopt when the
  // tick has a row already (claimed before, by anyone). `message` is kept.
  virtual Result<std::optional<PipelineScheduleRun>> ClaimTick(int64_t schedule_id, int64_t tick_ms,
                                                               const std::string& triggered_by,
                                                               const std::string& owner,
                                                               int64_t now, int64_t lease_ms,
                                                               const std::string& message) = 0;
  // A "queued" manual run at tick `tick_ms` (the trigger time), for any
  // scheduler to claim. kAlreadyExists when that tick has a row.
  virtual Result<PipelineScheduleRun> EnqueueRun(int64_t schedule_id, int64_t tick_ms,
                                                 int64_t now) = 0;
  // The oldest queued run whose schedule has no running run, now "running"
  // under `owner`; nullopt when there is none (or another claimer won).
  virtual Result<std::optional<PipelineScheduleRun>> ClaimQueuedRun(const std::string& owner,
                                                                    int64_t now,
                                                                    int64_t lease_ms) = 0;
  // Extends a running run's lease to `lease_until_ms`; kFailedPrecondition
  // when it is not running under `owner` (marked lost meanwhile).
  virtual Status RenewLease(int64_t run_id, const std::string& owner, int64_t lease_until_ms) = 0;
  // Sets the log path of a running run (known once the run is claimed).
  virtual Status SetLogPath(int64_t run_id, const std::string& log_path) = 0;
  // Records the end of a run held by c.owner; kFailedPrecondition when it is
  // not running under that owner (nothing is written).
  virtual Status FinishRun(const RunCompletion& c) = 0;
  // Marks "lost" every running run whose lease ended before `now`; returns
  // how many.
  virtual Result<int64_t> MarkLostRuns(int64_t now) = 0;
  // True when the schedule has a queued or running run.
  virtual Result<bool> HasActiveRun(int64_t schedule_id) = 0;
  // Runs of a schedule, newest tick first, at most `limit` (<= 0: all).
  virtual Result<std::vector<PipelineScheduleRun>> ListRuns(int64_t schedule_id, int limit) = 0;
  virtual Result<PipelineScheduleRun> GetRun(int64_t run_id) = 0;
};

}  // namespace cairn::store
