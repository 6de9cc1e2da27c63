#include "store/sql/sql_pipeline_schedule_store.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "store/sql/store_helpers.h"
#include "store/sql/txn.h"

namespace cairn::store::sql {
namespace {

#define CAIRN_SCHEDULE_COLUMNS                                                               \
  "id, name, cron, repo, targets_json, jobs, enabled, created_at, updated_at, next_tick_ms " \
  "FROM pipeline_schedules"
#define CAIRN_RUN_COLUMNS                                                                         \
  "r.id, r.schedule_id, s.name, r.tick_ms, r.triggered_by, r.status, r.owner, r.lease_until_ms, " \
  "r.created_at, r.started_at, r.finished_at, r.exit_code, r.log_tail, r.log_path, r.message "    \
  "FROM pipeline_schedule_runs r JOIN pipeline_schedules s ON s.id = r.schedule_id"

constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();
constexpr std::string_view kLostMessage =
    "lost: its scheduler stopped renewing the lease (the server stopped or died mid-run); "
    "not rerun";

std::unexpected<Error> ScheduleNotFound(std::string_view name) {
  return NotFound("Pipeline schedule '" + std::string(name) + "' not found");
}
std::unexpected<Error> ScheduleIdNotFound(int64_t id) {
  return NotFound("Pipeline schedule with id " + std::to_string(id) + " not found");
}
std::unexpected<Error> RunNotFound(int64_t id) {
  return NotFound("Pipeline schedule run " + std::to_string(id) + " not found");
}

std::string TargetsToJson(const std::vector<std::string>& targets) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& t : targets) arr.push_back(t);
  return arr.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<std::string> TargetsFromJson(std::string_view text) {
  std::vector<std::string> out;
  try {
    nlohmann::json arr = nlohmann::json::parse(text);
    if (!arr.is_array()) return out;
    for (const auto& t : arr) {
      if (t.is_string()) out.push_back(t.get<std::string>());
    }
  } catch (const nlohmann::json::exception&) {
    // Only this store writes the column; an unreadable value reads as no targets.
  }
  return out;
}

PipelineSchedule ReadScheduleRow(const Statement& s) {
  PipelineSchedule p;
  p.id = s.Int(0);
  p.name = s.TextCopy(1);
  p.cron = s.TextCopy(2);
  p.repo = s.TextCopy(3);
  p.targets = TargetsFromJson(s.Text(4));
  p.jobs = static_cast<int>(s.Int(5));
  p.enabled = s.Int(6) != 0;
  p.created_at = s.Int(7);
  p.updated_at = s.Int(8);
  p.next_tick_ms = s.Int(9);
  return p;
}

PipelineScheduleRun ReadRunRow(const Statement& s) {
  PipelineScheduleRun r;
  r.id = s.Int(0);
  r.schedule_id = s.Int(1);
  r.schedule_name = s.TextCopy(2);
  r.tick_ms = s.Int(3);
  r.triggered_by = s.TextCopy(4);
  r.status = s.TextCopy(5);
  r.owner = s.TextCopy(6);
  r.lease_until_ms = s.Int(7);
  r.created_at = s.Int(8);
  r.started_at = s.Int(9);
  r.finished_at = s.Int(10);
  if (!s.IsNull(11)) r.exit_code = static_cast<int>(s.Int(11));
  r.log_tail = s.TextCopy(12);
  r.log_path = s.TextCopy(13);
  r.message = s.TextCopy(14);
  return r;
}

Result<std::optional<PipelineSchedule>> FindSchedule(Connection& c, const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " CAIRN_SCHEDULE_COLUMNS " WHERE name = ?"));
  s->BindAll(name);
  CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return std::optional<PipelineSchedule>();
  return std::optional<PipelineSchedule>(ReadScheduleRow(*s));
}

Result<PipelineSchedule> LoadSchedule(Connection& c, const std::string& name) {
  CAIRN_ASSIGN_OR_RETURN(std::optional<PipelineSchedule> p, FindSchedule(c, name));
  if (!p) return ScheduleNotFound(name);
  return std::move(*p);
}

Status CheckScheduleId(Connection& c, int64_t id) {
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT 1 FROM pipeline_schedules WHERE id = ?"));
  s->BindAll(id);
  CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return ScheduleIdNotFound(id);
  return {};
}

Result<PipelineScheduleRun> LoadRun(Connection& c, int64_t id) {
  CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " CAIRN_RUN_COLUMNS " WHERE r.id = ?"));
  s->BindAll(id);
  CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
  if (!row) return RunNotFound(id);
  return ReadRunRow(*s);
}

// Why a run is not "running" under `owner`, as kFailedPrecondition.
std::unexpected<Error> NotRunningError(Connection& c, int64_t run_id, const std::string& owner) {
  auto run = LoadRun(c, run_id);
  if (!run) return std::unexpected(run.error());
  if (run->status != "running") {
    return FailedPrecondition("Pipeline schedule run " + std::to_string(run_id) + " is " +
                              run->status + ", not running");
  }
  return FailedPrecondition("Pipeline schedule run " + std::to_string(run_id) + " is held by " +
                            run->owner + ", not " + owner);
}

}  // namespace

SqlPipelineScheduleStore::SqlPipelineScheduleStore(Database& db, const Clock& clock)
    : db_(db), clock_(clock) {}
SqlPipelineScheduleStore::~SqlPipelineScheduleStore() = default;

Result<PipelineSchedule> SqlPipelineScheduleStore::CreateSchedule(const PipelineSchedule& in) {
  if (in.name.empty()) return InvalidArgument("A pipeline schedule needs a name");
  PipelineSchedule p = in;
  const int64_t now = clock_.NowMillis();
  if (p.created_at == 0) p.created_at = now;
  if (p.updated_at == 0) p.updated_at = p.created_at;
  const std::string targets = TargetsToJson(p.targets);
  auto created = WithWriteTxn(db_, [&](Connection& c) -> Result<PipelineSchedule> {
    CAIRN_ASSIGN_OR_RETURN(std::optional<PipelineSchedule> existing, FindSchedule(c, p.name));
    if (existing) return AlreadyExists("Pipeline schedule '" + p.name + "' already exists");
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("INSERT INTO pipeline_schedules (name, cron, repo, targets_json, jobs, "
                          "enabled, created_at, updated_at, next_tick_ms) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
    s->BindAll(p.name, p.cron, p.repo, targets, p.jobs, p.enabled ? 1 : 0, p.created_at,
               p.updated_at, p.next_tick_ms);
    CAIRN_ASSIGN_OR_RETURN(bool row, s->Next());
    if (!row) return Internal("inserting a pipeline schedule returned no id");
    p.id = s->Int(0);
    return p;
  });
  // A concurrent creator of the same name loses on the unique constraint.
  if (!created && created.error().code() == ErrorCode::kAlreadyExists) {
    return AlreadyExists("Pipeline schedule '" + p.name + "' already exists");
  }
  return created;
}

Result<PipelineSchedule> SqlPipelineScheduleStore::GetSchedule(const std::string& name) {
  return WithReadTxn(db_, [&](Connection& c) { return LoadSchedule(c, name); });
}

Result<std::vector<PipelineSchedule>> SqlPipelineScheduleStore::ListSchedules() {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<PipelineSchedule>> {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " CAIRN_SCHEDULE_COLUMNS " ORDER BY name"));
    std::vector<PipelineSchedule> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { out.push_back(ReadScheduleRow(*s)); }));
    return out;
  });
}

Status SqlPipelineScheduleStore::DeleteSchedule(const std::string& name) {
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(PipelineSchedule p, LoadSchedule(c, name));
    // Runs first, explicitly: the foreign key cascades too, but this does
    // not depend on the engine's foreign key enforcement.
    {
      CAIRN_ASSIGN_OR_RETURN(auto s,
                             c.Prepare("DELETE FROM pipeline_schedule_runs WHERE schedule_id = ?"));
      s->BindAll(p.id);
      CAIRN_RETURN_IF_ERROR(s->Exec());
    }
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM pipeline_schedules WHERE id = ?"));
    s->BindAll(p.id);
    CAIRN_RETURN_IF_ERROR(s->Exec());
    return {};
  });
}

Result<PipelineSchedule> SqlPipelineScheduleStore::SetEnabled(const std::string& name, bool enabled,
                                                              int64_t next_tick_ms, int64_t now) {
  return WithWriteTxn(db_, [&](Connection& c) -> Result<PipelineSchedule> {
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("UPDATE pipeline_schedules SET enabled = ?, next_tick_ms = ?, "
                            "updated_at = ? WHERE name = ?"));
      s->BindAll(enabled ? 1 : 0, next_tick_ms, now, name);
      CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
      if (changed == 0) return ScheduleNotFound(name);
    }
    return LoadSchedule(c, name);
  });
}

Result<PipelineSchedule> SqlPipelineScheduleStore::UpdateCron(const std::string& name,
                                                              const std::string& cron,
                                                              int64_t next_tick_ms, int64_t now) {
  return WithWriteTxn(db_, [&](Connection& c) -> Result<PipelineSchedule> {
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("UPDATE pipeline_schedules SET cron = ?, next_tick_ms = ?, "
                            "updated_at = ? WHERE name = ?"));
      s->BindAll(cron, next_tick_ms, now, name);
      CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
      if (changed == 0) return ScheduleNotFound(name);
    }
    return LoadSchedule(c, name);
  });
}

Result<bool> SqlPipelineScheduleStore::AdvanceNextTick(int64_t schedule_id, int64_t expected,
                                                       int64_t next) {
  return WithWriteTxn(db_, [&](Connection& c) -> Result<bool> {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE pipeline_schedules SET next_tick_ms = ? "
                                             "WHERE id = ? AND next_tick_ms = ?"));
    s->BindAll(next, schedule_id, expected);
    CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
    if (changed == 0) CAIRN_RETURN_IF_ERROR(CheckScheduleId(c, schedule_id));
    return changed > 0;
  });
}

Result<std::optional<PipelineScheduleRun>> SqlPipelineScheduleStore::ClaimTick(
    int64_t schedule_id, int64_t tick_ms, const std::string& triggered_by, const std::string& owner,
    int64_t now, int64_t lease_ms, const std::string& message) {
  return WithWriteTxn(db_, [&](Connection& c) -> Result<std::optional<PipelineScheduleRun>> {
    CAIRN_RETURN_IF_ERROR(CheckScheduleId(c, schedule_id));
    int64_t id = 0;
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s,
          c.Prepare("INSERT INTO pipeline_schedule_runs (schedule_id, tick_ms, triggered_by, "
                    "status, owner, lease_until_ms, created_at, started_at, message) "
                    "VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?) "
                    "ON CONFLICT (schedule_id, tick_ms) DO NOTHING RETURNING id"));
      s->BindAll(schedule_id, tick_ms, triggered_by, owner, now + lease_ms, now, now, message);
      CAIRN_ASSIGN_OR_RETURN(bool inserted, s->Next());
      if (!inserted) return std::optional<PipelineScheduleRun>();
      id = s->Int(0);
    }
    CAIRN_ASSIGN_OR_RETURN(PipelineScheduleRun run, LoadRun(c, id));
    return std::optional<PipelineScheduleRun>(std::move(run));
  });
}

Result<PipelineScheduleRun> SqlPipelineScheduleStore::EnqueueRun(int64_t schedule_id,
                                                                 int64_t tick_ms, int64_t now) {
  auto queued = WithWriteTxn(db_, [&](Connection& c) -> Result<PipelineScheduleRun> {
    CAIRN_RETURN_IF_ERROR(CheckScheduleId(c, schedule_id));
    int64_t id = 0;
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s,
          c.Prepare("INSERT INTO pipeline_schedule_runs (schedule_id, tick_ms, triggered_by, "
                    "status, created_at) VALUES (?, ?, 'manual', 'queued', ?) "
                    "ON CONFLICT (schedule_id, tick_ms) DO NOTHING RETURNING id"));
      s->BindAll(schedule_id, tick_ms, now);
      CAIRN_ASSIGN_OR_RETURN(bool inserted, s->Next());
      if (!inserted) {
        return AlreadyExists("Pipeline schedule " + std::to_string(schedule_id) +
                             " already has a run at tick " + std::to_string(tick_ms));
      }
      id = s->Int(0);
    }
    return LoadRun(c, id);
  });
  return queued;
}

Result<std::optional<PipelineScheduleRun>> SqlPipelineScheduleStore::ClaimQueuedRun(
    const std::string& owner, int64_t now, int64_t lease_ms) {
  return WithWriteTxn(db_, [&](Connection& c) -> Result<std::optional<PipelineScheduleRun>> {
    std::vector<int64_t> candidates;
    {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("SELECT r.id FROM pipeline_schedule_runs r WHERE r.status = 'queued' "
                            "AND NOT EXISTS (SELECT 1 FROM pipeline_schedule_runs x WHERE "
                            "x.schedule_id = r.schedule_id AND x.status = 'running') "
                            "ORDER BY r.id LIMIT 8"));
      CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { candidates.push_back(s->Int(0)); }));
    }
    for (int64_t id : candidates) {
      CAIRN_ASSIGN_OR_RETURN(
          auto s, c.Prepare("UPDATE pipeline_schedule_runs SET status = 'running', owner = ?, "
                            "lease_until_ms = ?, started_at = ? WHERE id = ? AND "
                            "status = 'queued' RETURNING id"));
      s->BindAll(owner, now + lease_ms, now, id);
      CAIRN_ASSIGN_OR_RETURN(bool taken, s->Next());
      if (!taken) continue;
      s->Reset();
      CAIRN_ASSIGN_OR_RETURN(PipelineScheduleRun run, LoadRun(c, id));
      return std::optional<PipelineScheduleRun>(std::move(run));
    }
    return std::optional<PipelineScheduleRun>();
  });
}

Status SqlPipelineScheduleStore::RenewLease(int64_t run_id, const std::string& owner,
                                            int64_t lease_until_ms) {
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE pipeline_schedule_runs SET lease_until_ms = ? "
                                             "WHERE id = ? AND owner = ? AND status = 'running'"));
    s->BindAll(lease_until_ms, run_id, owner);
    CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
    if (changed == 0) return NotRunningError(c, run_id, owner);
    return {};
  });
}

Status SqlPipelineScheduleStore::SetLogPath(int64_t run_id, const std::string& log_path) {
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("UPDATE pipeline_schedule_runs SET log_path = ? WHERE id = ?"));
    s->BindAll(log_path, run_id);
    CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
    if (changed == 0) return RunNotFound(run_id);
    return {};
  });
}

Status SqlPipelineScheduleStore::FinishRun(const RunCompletion& rc) {
  if (rc.status != "succeeded" && rc.status != "failed") {
    return InvalidArgument("A pipeline schedule run ends succeeded or failed, not '" + rc.status +
                           "'");
  }
  const int64_t time = rc.finished_at != 0 ? rc.finished_at : clock_.NowMillis();
  return WithWriteTxn(db_, [&](Connection& c) -> Status {
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("UPDATE pipeline_schedule_runs SET status = ?, exit_code = ?, "
                          "log_tail = ?, message = CASE WHEN message = '' THEN CAST(? AS TEXT) "
                          "ELSE message || CAST(? AS TEXT) END, "
                          "finished_at = ? WHERE id = ? AND owner = ? AND status = 'running'"));
    // The claim's message (a catch-up note) is kept, the outcome appended.
    const std::string appended = rc.message.empty() ? std::string() : "; " + rc.message;
    s->BindAll(rc.status, rc.exit_code ? Value::Int(*rc.exit_code) : Value::Null(), rc.log_tail,
               rc.message, appended, time, rc.run_id, rc.owner);
    CAIRN_ASSIGN_OR_RETURN(int64_t changed, s->Exec());
    if (changed == 0) return NotRunningError(c, rc.run_id, rc.owner);
    return {};
  });
}

Result<int64_t> SqlPipelineScheduleStore::MarkLostRuns(int64_t now) {
  return WithWriteTxn(db_, [&](Connection& c) -> Result<int64_t> {
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("UPDATE pipeline_schedule_runs SET status = 'lost', finished_at = ?, "
                          "message = ? WHERE status = 'running' AND lease_until_ms < ?"));
    s->BindAll(now, kLostMessage, now);
    return s->Exec();
  });
}

Result<bool> SqlPipelineScheduleStore::HasActiveRun(int64_t schedule_id) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<bool> {
    CAIRN_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT 1 FROM pipeline_schedule_runs WHERE schedule_id = ? AND "
                          "status IN ('queued', 'running') LIMIT 1"));
    s->BindAll(schedule_id);
    return s->Next();
  });
}

Result<std::vector<PipelineScheduleRun>> SqlPipelineScheduleStore::ListRuns(int64_t schedule_id,
                                                                            int limit) {
  return WithReadTxn(db_, [&](Connection& c) -> Result<std::vector<PipelineScheduleRun>> {
    CAIRN_RETURN_IF_ERROR(CheckScheduleId(c, schedule_id));
    CAIRN_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " CAIRN_RUN_COLUMNS " WHERE r.schedule_id = ? "
                                             "ORDER BY r.tick_ms DESC, r.id DESC LIMIT ?"));
    s->BindAll(schedule_id, limit > 0 ? static_cast<int64_t>(limit) : kNoLimit);
    std::vector<PipelineScheduleRun> out;
    CAIRN_RETURN_IF_ERROR(ForEachRow(*s, [&] { out.push_back(ReadRunRow(*s)); }));
    return out;
  });
}

Result<PipelineScheduleRun> SqlPipelineScheduleStore::GetRun(int64_t run_id) {
  return WithReadTxn(db_, [&](Connection& c) { return LoadRun(c, run_id); });
}

}  // namespace cairn::store::sql
