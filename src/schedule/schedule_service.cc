// PipelineScheduleService (see schedule_service.h).

#include "schedule/schedule_service.h"

#include <climits>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>

namespace cairn::schedule {
namespace {

constexpr int kMaxJobs = 256;
constexpr size_t kMaxNameLength = 64;

std::string RefusedMessage() {
  return "Pipeline schedules are disabled on this server: a schedule makes the server run the "
         "commands in a repository's cairn.yaml, so `cairn server` runs them only when started "
         "with --pipeline-root DIR (or CAIRN_PIPELINE_ROOT=DIR), for repositories inside DIR";
}

// realpath(3); nullopt when the path does not resolve.
std::optional<std::string> RealPath(const std::string& path) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return std::nullopt;
  std::string out(resolved);
  std::free(resolved);
  return out;
}

bool IsInside(const std::string& path, const std::string& root) {
  if (path == root) return true;
  if (root == "/") return true;
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
         path[root.size()] == '/';
}

}  // namespace

std::optional<DueTick> LatestDueTick(const CronSchedule& cron, int64_t next_tick_ms, int64_t now) {
  if (next_tick_ms > now) return std::nullopt;
  // Search from the smallest look-back window that holds a tick, so a long
  // downtime of an "@every 1s" schedule costs a few steps, not one per
  // missed second. Next() returns real fire times, so any start is aligned.
  constexpr int64_t kWindows[] = {60'000, 3'600'000, 86'400'000, 32 * 86'400'000LL,
                                  400 * 86'400'000LL};
  int64_t t = next_tick_ms;
  for (int64_t w : kWindows) {
    if (now - w <= next_tick_ms) break;
    int64_t start = cron.Next(now - w - 1);
    if (start <= now) {
      t = start;
      break;
    }
  }
  // t is a fire time (next_tick_ms is one as the service and scheduler set
  // it; or a tick found above) and t <= now. Walk to the latest one <= now.
  for (int i = 0; i < 1'000'000; ++i) {
    int64_t n = cron.Next(t);
    if (n > now || n <= t) break;
    t = n;
  }
  return DueTick{t, t != next_tick_ms};
}

std::string FormatUtc(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Status ValidateScheduleName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return InvalidArgument("Parameter 'name' must be 1 to 64 characters, got '" + name + "'");
  }
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  };
  for (char c : name) {
    if (!ok(c)) {
      return InvalidArgument(
          "Parameter 'name' may hold only letters, digits, '.', '_' and '-', "
          "got '" +
          name + "'");
    }
  }
  if (name[0] == '.' || name[0] == '-' || name[0] == '_') {
    return InvalidArgument("Parameter 'name' must start with a letter or digit, got '" + name +
                           "'");
  }
  return {};
}

Status ValidateTargets(const std::vector<std::string>& targets) {
  for (const std::string& t : targets) {
    if (t.empty()) return InvalidArgument("Parameter 'targets' must not hold an empty step name");
    if (t[0] == '-') {
      return InvalidArgument("Parameter 'targets' holds '" + t +
                             "': a step name cannot start with '-'");
    }
    for (char c : t) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return InvalidArgument("Parameter 'targets' holds a step name with a control character");
      }
    }
  }
  return {};
}

Result<std::unique_ptr<PipelineScheduleService>> PipelineScheduleService::Open(
    store::PipelineScheduleStore& store, const Clock& clock, const std::string& pipeline_root) {
  std::string root;
  if (!pipeline_root.empty()) {
    std::optional<std::string> real = RealPath(pipeline_root);
    std::error_code ec;
    if (!real || !std::filesystem::is_directory(*real, ec)) {
      return InvalidArgument("--pipeline-root '" + pipeline_root + "' is not an existing folder");
    }
    root = *real;
  }
  return std::unique_ptr<PipelineScheduleService>(
      new PipelineScheduleService(store, clock, std::move(root)));
}

Status PipelineScheduleService::RequireRunsEnabled() const {
  if (root_.empty()) return MakeError(ErrorCode::kPermissionDenied, RefusedMessage());
  return {};
}

Result<std::string> PipelineScheduleService::ResolveRepo(const std::string& repo) const {
  CAIRN_RETURN_IF_ERROR(RequireRunsEnabled());
  if (repo.empty() || repo[0] != '/') {
    return InvalidArgument("Parameter 'repo' must be an absolute path on the server, got '" + repo +
                           "'");
  }
  std::optional<std::string> real = RealPath(repo);
  std::error_code ec;
  if (!real || !std::filesystem::is_directory(*real, ec)) {
    return InvalidArgument("Parameter 'repo': '" + repo + "' is not a folder on the server");
  }
  if (!IsInside(*real, root_)) {
    return InvalidArgument("Parameter 'repo': '" + repo + "' (" + *real +
                           ") is outside the server's pipeline root " + root_ +
                           "; schedules may run only repositories inside it (--pipeline-root)");
  }
  if (!std::filesystem::is_regular_file(std::filesystem::path(*real) / "cairn.yaml", ec)) {
    return InvalidArgument("Parameter 'repo': " + *real + " holds no cairn.yaml");
  }
  return *real;
}

Result<store::PipelineSchedule> PipelineScheduleService::Create(const NewSchedule& s) {
  CAIRN_RETURN_IF_ERROR(RequireRunsEnabled());
  CAIRN_RETURN_IF_ERROR(ValidateScheduleName(s.name));
  auto cron = CronSchedule::Parse(s.cron);
  if (!cron) {
    return InvalidArgument("Parameter 'cron' is invalid: " + cron.error().message());
  }
  CAIRN_ASSIGN_OR_RETURN(std::string repo, ResolveRepo(s.repo));
  CAIRN_RETURN_IF_ERROR(ValidateTargets(s.targets));
  if (s.jobs < 0 || s.jobs > kMaxJobs) {
    return InvalidArgument("Parameter 'jobs' must be between 0 (the default) and 256, got " +
                           std::to_string(s.jobs));
  }
  const int64_t now = clock_.NowMillis();
  store::PipelineSchedule p;
  p.name = s.name;
  p.cron = s.cron;
  p.repo = repo;
  p.targets = s.targets;
  p.jobs = s.jobs;
  p.enabled = s.enabled;
  p.created_at = now;
  p.updated_at = now;
  p.next_tick_ms = cron->Next(now);
  return store_.CreateSchedule(p);
}

Result<store::PipelineSchedule> PipelineScheduleService::Get(const std::string& name) {
  return store_.GetSchedule(name);
}

Result<std::vector<store::PipelineSchedule>> PipelineScheduleService::List() {
  return store_.ListSchedules();
}

Status PipelineScheduleService::Delete(const std::string& name) {
  return store_.DeleteSchedule(name);
}

Result<store::PipelineSchedule> PipelineScheduleService::SetEnabled(const std::string& name,
                                                                    bool enabled) {
  if (enabled) CAIRN_RETURN_IF_ERROR(RequireRunsEnabled());
  CAIRN_ASSIGN_OR_RETURN(store::PipelineSchedule p, store_.GetSchedule(name));
  const int64_t now = clock_.NowMillis();
  int64_t next = p.next_tick_ms;
  if (enabled && !p.enabled) {
    auto cron = CronSchedule::Parse(p.cron);
    if (!cron)
      return Internal("stored cron of '" + name + "' is invalid: " + cron.error().message());
    next = cron->Next(now);
  }
  return store_.SetEnabled(name, enabled, next, now);
}

Result<store::PipelineSchedule> PipelineScheduleService::UpdateCron(const std::string& name,
                                                                    const std::string& cron_text) {
  auto cron = CronSchedule::Parse(cron_text);
  if (!cron) {
    return InvalidArgument("Parameter 'cron' is invalid: " + cron.error().message());
  }
  CAIRN_RETURN_IF_ERROR(store_.GetSchedule(name));
  const int64_t now = clock_.NowMillis();
  return store_.UpdateCron(name, cron_text, cron->Next(now), now);
}

Result<store::PipelineScheduleRun> PipelineScheduleService::Trigger(const std::string& name) {
  CAIRN_RETURN_IF_ERROR(RequireRunsEnabled());
  CAIRN_ASSIGN_OR_RETURN(store::PipelineSchedule p, store_.GetSchedule(name));
  CAIRN_RETURN_IF_ERROR(ResolveRepo(p.repo));
  const int64_t now = clock_.NowMillis();
  // A tick is a millisecond: a second trigger in the same one (or a cron
  // tick there) takes the next free millisecond.
  for (int64_t t = now; t < now + 1000; ++t) {
    auto run = store_.EnqueueRun(p.id, t, now);
    if (run || run.error().code() != ErrorCode::kAlreadyExists) return run;
  }
  return MakeError(ErrorCode::kResourceExhausted,
                   "Too many runs of pipeline schedule '" + name + "' triggered at once");
}

Result<std::vector<store::PipelineScheduleRun>> PipelineScheduleService::Runs(
    const std::string& name, int limit) {
  if (limit <= 0) return InvalidArgument("Parameter 'limit' must be a positive integer");
  CAIRN_ASSIGN_OR_RETURN(store::PipelineSchedule p, store_.GetSchedule(name));
  return store_.ListRuns(p.id, limit);
}

}  // namespace cairn::schedule
