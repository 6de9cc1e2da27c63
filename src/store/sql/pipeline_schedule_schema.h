#pragma once
// Migration 5: pipeline schedules and their runs (store/pipeline_schedule_store.h,
// docs/pipelines.md "Schedules"). Kept in a header so the constexpr
// migration table (migrations.cc) can use it.
//
// Design notes:
// - "A tick runs once": pipeline_schedule_runs_tick_key is unique on
//   (schedule_id, tick_ms); claims insert with ON CONFLICT DO NOTHING, so
//   two replicas, or a restarted server, never run a tick twice. A manual
//   trigger is a row at the trigger's millisecond.
// - Ids are never reused (@ID_PK_NEVER_REUSED@): a scheduler finishing run
//   12 after its schedule was deleted and recreated must not hit another
//   schedule's run.
// - targets_json is a JSON array of step names; exit_code is NULL while the
//   child has not exited (or never ran).
// - pipeline_schedule_runs_by_status serves the scheduler's scans (queued
//   runs, running runs whose lease ended).
// - Runs follow their schedule (ON DELETE CASCADE; the store also deletes
//   them explicitly).
#include <string_view>

namespace cairn::store::sql {

inline constexpr std::string_view kPipelineScheduleSchemaV5 = R"sql(
CREATE TABLE pipeline_schedules (
  id @ID_PK_NEVER_REUSED@,
  name @TEXT@ NOT NULL,
  cron @TEXT@ NOT NULL,
  repo @TEXT@ NOT NULL,
  targets_json @TEXT@ NOT NULL DEFAULT '[]',
  jobs INTEGER NOT NULL DEFAULT 0,
  enabled SMALLINT NOT NULL DEFAULT 1,
  created_at BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL DEFAULT 0,
  next_tick_ms BIGINT NOT NULL DEFAULT 0,
  CONSTRAINT pipeline_schedules_name_key UNIQUE (name)
);
CREATE TABLE pipeline_schedule_runs (
  id @ID_PK_NEVER_REUSED@,
  schedule_id BIGINT NOT NULL REFERENCES pipeline_schedules (id) ON DELETE CASCADE,
  tick_ms BIGINT NOT NULL,
  triggered_by @TEXT@ NOT NULL DEFAULT 'cron',
  status @TEXT@ NOT NULL DEFAULT 'queued',
  owner @TEXT@ NOT NULL DEFAULT '',
  lease_until_ms BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL DEFAULT 0,
  started_at BIGINT NOT NULL DEFAULT 0,
  finished_at BIGINT NOT NULL DEFAULT 0,
  exit_code INTEGER,
  log_tail @TEXT@ NOT NULL DEFAULT '',
  log_path @TEXT@ NOT NULL DEFAULT '',
  message @TEXT@ NOT NULL DEFAULT '',
  CONSTRAINT pipeline_schedule_runs_tick_key UNIQUE (schedule_id, tick_ms)
);
CREATE INDEX pipeline_schedule_runs_by_status ON pipeline_schedule_runs (status, lease_until_ms);
)sql";

}  // namespace cairn::store::sql
