#pragma once
// The pipeline schedule store (store/pipeline_schedule_store.h) written once
// in SQL over the driver interface, like SqlMonitorStore: SQLite and
// PostgreSQL differ only in their drivers.
//
// Tables: migration 5 (store/sql/pipeline_schedule_schema.h). Every mutation
// is one write transaction on Database::Writer().
//
// Races: ClaimTick is one INSERT ... ON CONFLICT (schedule_id, tick_ms) DO
// NOTHING RETURNING, so exactly one claimer gets a tick. ClaimQueuedRun
// picks a candidate, then takes it with one UPDATE ... WHERE status =
// 'queued' (PostgreSQL re-checks the condition on the row it waited for; a
// loser sees no row and tries the next candidate). FinishRun and RenewLease
// change a run only while it is "running" under the caller's owner, and
// MarkLostRuns only runs whose lease ended: a run marked lost is never
// overwritten by its late owner.
//
// Ownership: borrows the Database (owned by SqlMetadataStore) and the clock;
// both must outlive it. Thread safety: safe for concurrent use.

#include "core/clock.h"
#include "store/pipeline_schedule_store.h"
#include "store/sql/driver.h"

namespace cairn::store::sql {

class SqlPipelineScheduleStore final : public PipelineScheduleStore {
 public:
  SqlPipelineScheduleStore(Database& db, const Clock& clock);
  ~SqlPipelineScheduleStore() override;

  Result<PipelineSchedule> CreateSchedule(const PipelineSchedule& s) override;
  Result<PipelineSchedule> GetSchedule(const std::string& name) override;
  Result<std::vector<PipelineSchedule>> ListSchedules() override;
  Status DeleteSchedule(const std::string& name) override;
  Result<PipelineSchedule> UpdateCron(const std::string& name, const std::string& cron,
                                      int64_t next_tick_ms, int64_t now) override;
  Result<PipelineSchedule> SetEnabled(const std::string& name, bool enabled, int64_t next_tick_ms,
                                      int64_t now) override;
  Result<bool> AdvanceNextTick(int64_t schedule_id, int64_t expected, int64_t next) override;

  Result<std::optional<PipelineScheduleRun>> ClaimTick(int64_t schedule_id, int64_t tick_ms,
                                                       const std::string& triggered_by,
                                                       const std::string& owner, int64_t now,
                                                       int64_t lease_ms,
                                                       const std::string& message) override;
  Result<PipelineScheduleRun> EnqueueRun(int64_t schedule_id, int64_t tick_ms,
                                         int64_t now) override;
  Result<std::optional<PipelineScheduleRun>> ClaimQueuedRun(const std::string& owner, int64_t now,
                                                            int64_t lease_ms) override;
  Status RenewLease(int64_t run_id, const std::string& owner, int64_t lease_until_ms) override;
  Status SetLogPath(int64_t run_id, const std::string& log_path) override;
  Status FinishRun(const RunCompletion& c) override;
  Result<int64_t> MarkLostRuns(int64_t now) override;
  Result<bool> HasActiveRun(int64_t schedule_id) override;
  Result<std::vector<PipelineScheduleRun>> ListRuns(int64_t schedule_id, int limit) override;
  Result<PipelineScheduleRun> GetRun(int64_t run_id) override;

 private:
  Database& db_;
  const Clock& clock_;
};

}  // namespace cairn::store::sql
