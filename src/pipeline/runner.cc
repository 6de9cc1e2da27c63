// The pipeline runner (runner.h). One scheduling thread plans steps and
// hands the ones that must act (restore or run) to worker threads, at most
// `jobs` at a time; workers talk back through an event queue so the observer
// and the Planner are only ever touched by the scheduling thread.
#include "pipeline/runner.h"

#include <fcntl.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <utility>
#include <variant>

#include "core/clock.h"
#include "data/data_ops.h"
#include "exec/local_executor.h"
#include "pipeline/lock.h"

namespace cairn::pipeline {
namespace {

namespace fs = std::filesystem;

int64_t NowMs() { return SystemClock::Get().NowMillis(); }

// "2026-11-26T23:59:01Z"
std::string UtcTime(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A step name as a file name: '/' cannot be part of one.
std::string LogFileName(std::string_view step) {
  std::string name(step);
  std::replace(name.begin(), name.end(), '/', '_');
  return name + ".log";
}

// Appends `text` to the file at `path` (created). Errors are ignored by the
// caller on purpose: the executor reports an unwritable log itself.
bool AppendToFile(const std::string& path, std::string_view text, bool truncate) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : O_APPEND);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return done == text.size();
}

bool ParseNumber(std::string_view text, double* out) {
  if (text.empty()) return false;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (*begin == '+') ++begin;
  auto [p, ec] = std::from_chars(begin, end, *out);
  return ec == std::errc() && p == end;
}

void FlattenJson(const nlohmann::json& j, const std::string& prefix,
                 std::vector<std::pair<std::string, double>>* out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      FlattenJson(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    }
  } else if (j.is_number() && !prefix.empty()) {
    out->emplace_back(prefix, j.get<double>());
  }
}

void FlattenYaml(const YAML::Node& node, const std::string& prefix,
                 std::vector<std::pair<std::string, double>>* out) {
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      const std::string key = it->first.Scalar();
      FlattenYaml(it->second, prefix.empty() ? key : prefix + "." + key, out);
    }
  } else if (node.IsScalar() && !prefix.empty() && node.Tag() != "!") {
    // Plain scalars only: a quoted "0.5" is a string, not a number.
    double value = 0;
    if (ParseNumber(node.Scalar(), &value)) out->emplace_back(prefix, value);
  }
}

// The numbers of a metrics file (JSON for *.json, else YAML), nested keys
// dotted, everything that is not a number ignored.
Result<std::vector<std::pair<std::string, double>>> ReadMetricsFile(const fs::path& path,
                                                                    std::string_view repo_path) {
  std::vector<std::pair<std::string, double>> metrics;
  if (path.extension() == ".json") {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return NotFound("cannot read metrics file " + std::string(repo_path));
    std::string text;
    char buf[8192];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
    try {
      FlattenJson(nlohmann::json::parse(text), "", &metrics);
    } catch (const nlohmann::json::exception& e) {
      return InvalidArgument("metrics file " + std::string(repo_path) +
                             " is not valid JSON: " + e.what());
    }
  } else {
    try {
      FlattenYaml(YAML::LoadFile(path.string()), "", &metrics);
    } catch (const YAML::Exception& e) {
      return InvalidArgument("metrics file " + std::string(repo_path) +
                             " is not valid YAML: " + e.what());
    }
  }
  return metrics;
}

// A param's canonical JSON as a tracking param value: strings unquoted.
std::string ParamValue(const std::string& canonical_json) {
  if (canonical_json.size() >= 2 && canonical_json.front() == '"') {
    try {
      return nlohmann::json::parse(canonical_json).get<std::string>();
    } catch (const nlohmann::json::exception&) {
      return canonical_json;
    }
  }
  return canonical_json;
}

// A step's deps as MLflow dataset inputs (lineage: "which data version made
// this model" is a query over run inputs). MLflow keeps digests short (its
// own are 8 hex characters; the column holds 36), so the digest is the first
// kDatasetDigestChars hex of the SHA-256 and the full one is the source,
// "cairn:sha256:<hex>", which names the object in the cache and on remotes.
constexpr size_t kDatasetDigestChars = 16;

std::vector<store::DatasetInput> DepDatasets(const std::vector<LockedPath>& deps) {
  std::vector<store::DatasetInput> inputs;
  inputs.reserve(deps.size());
  for (const LockedPath& dep : deps) {
    nlohmann::json profile{{"kind", std::string(data::PointerKindName(dep.kind))},
                           {"size", dep.size}};
    if (dep.files) profile["files"] = *dep.files;
    std::string profile_text;
    try {
      profile_text = profile.dump();
    } catch (const nlohmann::json::exception&) {
      // Cannot happen (ASCII keys, numbers); a profile is optional anyway.
    }
    inputs.push_back({.tags = {{"mlflow.data.context", "training"}},
                      .dataset = {.name = dep.path,
                                  .digest = dep.digest.substr(0, kDatasetDigestChars),
                                  .source_type = "cairn",
                                  .source = "cairn:sha256:" + dep.digest,
                                  .schema = "",
                                  .profile = std::move(profile_text)}});
  }
  return inputs;
}

std::string JoinReasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) {
    if (!out.empty()) out += ", ";
    out += r;
  }
  return out;
}

StepResult MakeResult(std::string step, StepResultKind kind, std::vector<std::string> reasons,
                      std::string fingerprint = "") {
  StepResult result;
  result.step = std::move(step);
  result.kind = kind;
  result.reasons = std::move(reasons);
  result.fingerprint = std::move(fingerprint);
  return result;
}

// What a worker reports back to the scheduling thread.
struct StartedEvent {
  std::string step;
  int attempt = 0;
};
struct FinishedEvent {
  StepResult result;
  std::vector<std::string> warnings;
};
// A worker thread ends (after posting every FinishedEvent it had).
struct WorkerDoneEvent {
  uint64_t worker = 0;
};
using Event = std::variant<StartedEvent, FinishedEvent, WorkerDoneEvent>;

class PipelineRun {
 public:
  PipelineRun(data::Cache& cache, const RunOptions& options, const RunObserver& observer, Dag dag,
              LockFile lock)
      : cache_(cache),
        options_(options),
        observer_(observer),
        dag_(std::move(dag)),
        lock_(lock),
        planner_(cache, dag_, std::move(lock),
                 PlanOptions{.force = options.force, .use_run_cache = options.use_run_cache}),
        run_cache_(cache.RunsDir()),
        cancel_(options.cancel != nullptr ? options.cancel : &own_cancel_) {}

  Result<RunReport> Run();

 private:
  Result<RunReport> DryRun(const std::vector<std::string>& steps);
  void Warn(const std::string& warning) {
    if (observer_.on_warning) observer_.on_warning(warning);
  }
  void Post(Event event) {
    std::lock_guard<std::mutex> guard(events_mu_);
    events_.push_back(std::move(event));
    events_cv_.notify_one();
  }

  // Tracking (parent run), on the scheduling thread.
  void StartParentRun();
  void FinishParentRun(const RunReport& report, bool cancelled);

  // Worker side.
  // One step, restored or run: its FinishedEvent.
  FinishedEvent Act(const StepPlan& plan);
  // Stale items of one Slurm fan-out step as one job array per attempt
  // (restorable ones restored first); posts a FinishedEvent per item.
  void ActArray(const std::vector<StepPlan>& plans);
  // The event of a step about to act, with its child run started.
  FinishedEvent Begin(const StepPlan& plan, int64_t start_ms);
  void Restore(const Step& step, const StepPlan& plan, FinishedEvent* out);
  void Execute(const Step& step, FinishedEvent* out);
  // Removes the old outs, creates their folders and the log folder; the job
  // to run, or nullopt with the result failed.
  std::optional<exec::StepJob> PrepareExecution(const Step& step, FinishedEvent* out);
  // Posts the start and writes the attempt's header into the log (the first
  // attempt empties it).
  void StartAttempt(const Step& step, const exec::StepJob& job, int attempt, StepResult& result);
  bool ShouldRetry(const Step& step, const exec::ExecResult& last, int attempt) const;
  int64_t BackoffMs(int attempt) const;  // before attempt+1
  // From result.last: kRan (every out and metrics file written) or kFailed.
  void ConcludeExecution(const Step& step, StepResult& result);
  // After a step acted: commit (when it ran), git-ignore, finish the child run.
  void Complete(const Step& step, const StepPlan& plan, int64_t start_ms, FinishedEvent* out);
  static void Fail(StepResult& result, std::string reason);
  // Commits outs and metrics, records the run cache and the lock.
  Status CommitOutputs(const Step& step, const StepPlan& plan, std::vector<LockedPath>* outs,
                       std::vector<LockedPath>* metrics);
  Status UpdateLock(const std::string& step, LockedStep entry);
  // Git-ignores each path ("/<name>" in its folder's .gitignore, as `cairn
  // data add` does): outs live in the cache, git keeps cairn.lock. Failures
  // are warnings: the step's results are already safe in the cache.
  void IgnoreInGit(const std::vector<LockedPath>& paths, std::vector<std::string>* warnings);
  Result<exec::Executor*> ExecutorFor(const Step& step);
  // Sleeps `ms`, waking early on cancel. False when cancelled.
  bool SleepUnlessCancelled(int64_t ms);
  std::string StartChildRun(const Step& step, const StepPlan& plan, bool cached, int64_t start_ms,
                            std::vector<std::string>* warnings);
  void FinishChildRun(const std::string& run_id, const Step& step, const StepResult& result,
                      const std::map<std::string, std::string>& param_values,
                      const std::vector<LockedPath>& deps, const std::vector<LockedPath>& outs,
                      const std::vector<LockedPath>& metrics, std::vector<std::string>* warnings);

  data::Cache& cache_;
  const RunOptions& options_;
  const RunObserver& observer_;
  Dag dag_;
  // cairn.lock as it is on disk now (updated after each step), under lock_mu_.
  std::mutex lock_mu_;
  LockFile lock_;
  bool lock_pruned_ = false;
  Planner planner_;
  RunCache run_cache_;
  exec::CancelToken own_cancel_;
  exec::CancelToken* cancel_;

  // Serialises .gitignore edits: parallel steps may share a folder.
  std::mutex gitignore_mu_;

  std::unique_ptr<exec::Executor> local_;
  std::mutex slurm_mu_;
  std::unique_ptr<exec::Executor> slurm_;
  std::optional<Error> slurm_error_;

  std::mutex events_mu_;
  std::condition_variable events_cv_;
  std::deque<Event> events_;

  // Tracking: empty experiment/parent ids mean untracked.
  client::TrackingClient* tracking_ = nullptr;
  std::string experiment_id_;
  std::string parent_run_id_;
  std::string repo_name_;
};

void PipelineRun::StartParentRun() {
  if (options_.tracking == nullptr) return;
  client::TrackingClient& client = *options_.tracking;
  const std::string name =
      options_.experiment.empty() ? "pipeline:" + repo_name_ : options_.experiment;
  auto experiment = client.GetExperimentByName(name);
  std::string experiment_id;
  if (experiment) {
    experiment_id = experiment->experiment_id;
  } else if (experiment.error().code() == ErrorCode::kNotFound) {
    auto created = client.CreateExperiment(name);
    if (!created && created.error().code() == ErrorCode::kAlreadyExists) {
      // Another run created it meanwhile.
      auto again = client.GetExperimentByName(name);
      if (again) created = again->experiment_id;
    }
    if (!created) {
      Warn("not tracked: cannot create experiment '" + name + "': " + created.error().message());
      return;
    }
    experiment_id = *created;
  } else {
    Warn("not tracked: " + experiment.error().message());
    return;
  }
  const int64_t now = NowMs();
  auto run = client.CreateRun({.experiment_id = experiment_id,
                               .run_name = "repro " + UtcTime(now),
                               .start_time = now,
                               .tags = {{"cairn.pipeline", repo_name_}}});
  if (!run) {
    Warn("not tracked: cannot create the pipeline run: " + run.error().message());
    return;
  }
  tracking_ = &client;
  experiment_id_ = experiment_id;
  parent_run_id_ = run->info.run_id;
}

void PipelineRun::FinishParentRun(const RunReport& report, bool cancelled) {
  if (tracking_ == nullptr) return;
  int64_t counts[5] = {0, 0, 0, 0, 0};
  for (const auto& s : report.steps) ++counts[static_cast<int>(s.kind)];
  std::vector<store::Metric> metrics;
  const int64_t now = NowMs();
  const char* names[5] = {"steps_up_to_date", "steps_restored", "steps_ran", "steps_failed",
                          "steps_skipped"};
  for (int i = 0; i < 5; ++i) {
    metrics.push_back({.key = names[i], .value = static_cast<double>(counts[i]), .timestamp = now});
  }
  if (auto st = tracking_->LogBatch(parent_run_id_, metrics, {}, {}); !st) {
    Warn("tracking: " + st.error().message());
  }
  const std::string status = cancelled ? "KILLED" : (report.ok ? "FINISHED" : "FAILED");
  if (auto st = tracking_->UpdateRun(parent_run_id_, {.status = status, .end_time = now}); !st) {
    Warn("tracking: " + st.error().message());
  }
}

std::string PipelineRun::StartChildRun(const Step& step, const StepPlan& plan, bool cached,
                                       int64_t start_ms, std::vector<std::string>* warnings) {
  if (tracking_ == nullptr) return "";
  auto run = tracking_->CreateRun(
      {.experiment_id = experiment_id_,
       .run_name = step.name,
       .start_time = start_ms,
       .tags = {{"mlflow.parentRunId", parent_run_id_},
                {"cairn.pipeline", repo_name_},
                {"cairn.step", step.name},
                {"cairn.fingerprint", plan.fingerprint},
                {"cairn.cached", cached ? "true" : "false"},
                {"cairn.executor", std::string(ExecutorKindName(step.executor))}}});
  if (!run) {
    warnings->push_back("tracking: step '" + step.name + "': " + run.error().message());
    return "";
  }
  if (auto st = tracking_->LogInputs(run->info.run_id, DepDatasets(plan.deps)); !st) {
    warnings->push_back("tracking: step '" + step.name + "': " + st.error().message());
  }
  return run->info.run_id;
}

void PipelineRun::FinishChildRun(const std::string& run_id, const Step& step,
                                 const StepResult& result,
                                 const std::map<std::string, std::string>& param_values,
                                 const std::vector<LockedPath>& deps,
                                 const std::vector<LockedPath>& outs,
                                 const std::vector<LockedPath>& metric_files,
                                 std::vector<std::string>* warnings) {
  if (tracking_ == nullptr || run_id.empty()) return;
  auto warn = [&](const Error& e) {
    warnings->push_back("tracking: step '" + step.name + "': " + e.message());
  };
  const int64_t now = NowMs();
  std::vector<store::Param> params;
  for (const auto& [key, json] : param_values) {
    params.push_back({key, ParamValue(json)});
  }
  std::vector<store::Metric> metrics;
  for (const auto& file : metric_files) {
    auto values = ReadMetricsFile(cache_.workspace().Absolute(file.path), file.path);
    if (!values) {
      warn(values.error());
      continue;
    }
    for (auto& [key, value] : *values) {
      metrics.push_back({.key = key, .value = value, .timestamp = now, .step = 0});
    }
  }
  std::vector<store::Tag> tags{{"cairn.attempts", std::to_string(result.attempts)}};
  // The data versions the step read: lineage from a data version to this run.
  for (const auto& dep : deps) tags.push_back({"cairn.dep." + dep.path, "sha256:" + dep.digest});
  for (const auto& out : outs) tags.push_back({"cairn.out." + out.path, "sha256:" + out.digest});
  for (const auto& out : metric_files) {
    tags.push_back({"cairn.out." + out.path, "sha256:" + out.digest});
  }
  if (result.kind == StepResultKind::kFailed && !result.reasons.empty()) {
    tags.push_back({"cairn.error", JoinReasons(result.reasons).substr(0, 5000)});
  }
  // MLflow's LogBatch limits: 1000 metrics, 100 params, 100 tags per call.
  size_t mi = 0, pi = 0, ti = 0;
  while (mi < metrics.size() || pi < params.size() || ti < tags.size()) {
    size_t mn = std::min<size_t>(1000, metrics.size() - mi);
    size_t pn = std::min<size_t>(100, params.size() - pi);
    size_t tn = std::min<size_t>(100, tags.size() - ti);
    std::vector<store::Metric> m(metrics.begin() + mi, metrics.begin() + mi + mn);
    std::vector<store::Param> p(params.begin() + pi, params.begin() + pi + pn);
    std::vector<store::Tag> t(tags.begin() + ti, tags.begin() + ti + tn);
    mi += mn;
    pi += pn;
    ti += tn;
    if (auto st = tracking_->LogBatch(run_id, m, p, t); !st) {
      warn(st.error());
      break;
    }
  }
  if (!result.log_path.empty()) {
    const fs::path log = cache_.workspace().Absolute(result.log_path);
    std::error_code ec;
    if (fs::exists(log, ec)) {
      if (auto n = tracking_->LogArtifacts(run_id, log.string(), "logs"); !n) warn(n.error());
    }
  }
  const std::string status = result.kind == StepResultKind::kFailed ? "FAILED" : "FINISHED";
  if (auto st = tracking_->UpdateRun(run_id, {.status = status, .end_time = now}); !st) {
    warn(st.error());
  }
}

Result<exec::Executor*> PipelineRun::ExecutorFor(const Step& step) {
  if (step.executor == ExecutorKind::kLocal) return local_.get();
  std::lock_guard<std::mutex> guard(slurm_mu_);
  if (!slurm_ && !slurm_error_) {
    auto made = exec::MakeSlurmExecutor(options_.slurm);
    if (made) {
      slurm_ = std::move(*made);
    } else {
      slurm_error_ = made.error();
    }
  }
  if (slurm_error_) return std::unexpected(*slurm_error_);
  return slurm_.get();
}

bool PipelineRun::SleepUnlessCancelled(int64_t ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!cancel_->cancelled()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        deadline - now, std::chrono::milliseconds(50)));
  }
  return false;
}

Status PipelineRun::UpdateLock(const std::string& step, LockedStep entry) {
  std::lock_guard<std::mutex> guard(lock_mu_);
  if (!lock_pruned_) {
    // Entries of steps that are no longer in cairn.yaml describe nothing.
    for (auto it = lock_.steps.begin(); it != lock_.steps.end();) {
      if (dag_.spec().Find(it->first) == nullptr) {
        it = lock_.steps.erase(it);
      } else {
        ++it;
      }
    }
    lock_pruned_ = true;
  }
  lock_.steps[step] = std::move(entry);
  const fs::path path = cache_.workspace().root / std::string(kLockFileName);
  return WriteLockFile(path.string(), lock_);
}

void PipelineRun::IgnoreInGit(const std::vector<LockedPath>& paths,
                              std::vector<std::string>* warnings) {
  std::lock_guard<std::mutex> guard(gitignore_mu_);
  for (const auto& locked : paths) {
    const fs::path abs = cache_.workspace().Absolute(locked.path);
    if (auto st = data::EnsureGitIgnored(abs.parent_path().string(), abs.filename().string());
        !st) {
      warnings->push_back("cannot git-ignore " + locked.path + ": " + st.error().message());
    }
  }
}

Status PipelineRun::CommitOutputs(const Step& step, const StepPlan& plan,
                                  std::vector<LockedPath>* outs, std::vector<LockedPath>* metrics) {
  auto commit = [&](const std::vector<PathEntry>& paths, std::vector<LockedPath>* into) -> Status {
    for (const auto& entry : paths) {
      auto pointer = cache_.Commit(entry.path, options_.link_mode);
      if (!pointer) {
        return MakeError(pointer.error().code(), "step '" + step.name + "': cannot store " +
                                                     entry.path + ": " + pointer.error().message());
      }
      into->push_back(FromPointer(entry.path, *pointer));
    }
    return {};
  };
  CAIRN_RETURN_IF_ERROR(commit(step.outs, outs));
  CAIRN_RETURN_IF_ERROR(commit(step.metrics, metrics));
  RunCacheEntry cached{
      .step = step.name, .created_ms = NowMs(), .outs = *outs, .metrics = *metrics};
  if (auto st = run_cache_.Record(plan.fingerprint, cached); !st) {
    return MakeError(st.error().code(), "step '" + step.name + "': cannot record the run cache: " +
                                            st.error().message());
  }
  LockedStep locked{.fingerprint = plan.fingerprint,
                    .cmd = step.cmd,
                    .params = plan.params,
                    .deps = plan.deps,
                    .outs = *outs,
                    .metrics = *metrics};
  if (auto st = UpdateLock(step.name, std::move(locked)); !st) {
    return MakeError(st.error().code(),
                     "step '" + step.name + "': cannot write cairn.lock: " + st.error().message());
  }
  return {};
}

void PipelineRun::Restore(const Step& step, const StepPlan& plan, FinishedEvent* out) {
  StepResult& result = out->result;
  const RunCacheEntry& entry = *plan.cached;
  auto checkout = [&](const std::vector<LockedPath>& paths) -> Status {
    for (const auto& locked : paths) {
      if (auto st = cache_.Checkout(locked.path, ToPointer(locked), options_.link_mode,
                                    /*force=*/true);
          !st) {
        return MakeError(st.error().code(),
                         "cannot restore " + locked.path + ": " + st.error().message());
      }
    }
    return {};
  };
  Status st = checkout(entry.outs);
  if (st) st = checkout(entry.metrics);
  if (st) {
    st = UpdateLock(step.name, LockedStep{.fingerprint = plan.fingerprint,
                                          .cmd = step.cmd,
                                          .params = plan.params,
                                          .deps = plan.deps,
                                          .outs = entry.outs,
                                          .metrics = entry.metrics});
  }
  if (!st) {
    result.kind = StepResultKind::kFailed;
    result.reasons = {st.error().message()};
    return;
  }
  result.kind = StepResultKind::kRestored;
}

void PipelineRun::Fail(StepResult& result, std::string reason) {
  result.kind = StepResultKind::kFailed;
  result.reasons = {std::move(reason)};
}

std::optional<exec::StepJob> PipelineRun::PrepareExecution(const Step& step, FinishedEvent* out) {
  StepResult& result = out->result;
  const data::Workspace& ws = cache_.workspace();
  // A stale out must never pass for the new one (and a hard-linked one is
  // read-only): remove it, then make sure its folder exists.
  std::error_code ec;
  for (const auto* paths : {&step.outs, &step.metrics}) {
    for (const auto& entry : *paths) {
      const fs::path abs = ws.Absolute(entry.path);
      fs::remove_all(abs, ec);
      if (ec) {
        Fail(result, "cannot remove the old " + entry.path + ": " + ec.message());
        return std::nullopt;
      }
      fs::create_directories(abs.parent_path(), ec);
      if (ec) {
        Fail(result, "cannot create the folder of " + entry.path + ": " + ec.message());
        return std::nullopt;
      }
    }
  }
  const fs::path log_dir = ws.CairnDir() / "logs";
  fs::create_directories(log_dir, ec);
  if (ec) {
    Fail(result, "cannot create " + log_dir.string() + ": " + ec.message());
    return std::nullopt;
  }
  const fs::path log = log_dir / LogFileName(step.name);
  result.log_path = (fs::path(std::string(data::kCairnDirName)) / "logs" / LogFileName(step.name))
                        .generic_string();

  // A tracked step's command logs into its own child run: the stock mlflow
  // client reads these (mlflow.start_run() resumes MLFLOW_RUN_ID). Not part of
  // the fingerprint; the step's own env wins.
  std::map<std::string, std::string> env;
  if (tracking_ && !result.run_id.empty()) {
    env["MLFLOW_TRACKING_URI"] = tracking_->tracking_uri();
    env["MLFLOW_RUN_ID"] = result.run_id;
    env["MLFLOW_EXPERIMENT_ID"] = experiment_id_;
    env["CAIRN_PIPELINE_RUN_ID"] = parent_run_id_;
  }
  for (const auto& [key, value] : step.env) env[key] = value;
  return exec::StepJob{.name = step.name,
                       .cmd = step.cmd,
                       .cwd = ws.root.string(),
                       .env = std::move(env),
                       .log_path = log.string(),
                       .timeout_ms = step.timeout_ms,
                       .resources = {.cpus = step.resources.cpus,
                                     .memory_bytes = step.resources.memory_bytes,
                                     .gpus = step.resources.gpus}};
}

void PipelineRun::StartAttempt(const Step& step, const exec::StepJob& job, int attempt,
                               StepResult& result) {
  Post(StartedEvent{step.name, attempt});
  result.attempts = attempt;
  const int max_attempts = 1 + std::max(0, step.retries);
  AppendToFile(job.log_path,
               "=== cairn: step " + step.name + ", attempt " + std::to_string(attempt) + " of " +
                   std::to_string(max_attempts) + ", " + UtcTime(NowMs()) + " ===\n",
               /*truncate=*/attempt == 1);
}

bool PipelineRun::ShouldRetry(const Step& step, const exec::ExecResult& last, int attempt) const {
  if (last.outcome == exec::Outcome::kSucceeded || last.outcome == exec::Outcome::kCancelled) {
    return false;
  }
  return attempt < 1 + std::max(0, step.retries);
}

int64_t PipelineRun::BackoffMs(int attempt) const {
  return options_.retry_backoff_ms * (int64_t{1} << std::min(attempt - 1, 20));
}

void PipelineRun::ConcludeExecution(const Step& step, StepResult& result) {
  if (!result.last) return Fail(result, "cancelled");
  const exec::ExecResult& last = *result.last;
  if (last.outcome != exec::Outcome::kSucceeded) {
    if (last.outcome == exec::Outcome::kCancelled) {
      // Ours (Ctrl-C) or someone else's (scancel): the executor says which.
      return Fail(result,
                  cancel_->cancelled() || last.message.empty() ? "cancelled" : last.message);
    }
    return Fail(result,
                last.message.empty() ? std::string(exec::OutcomeName(last.outcome)) : last.message);
  }
  std::error_code ec;
  for (const auto* paths : {&step.outs, &step.metrics}) {
    for (const auto& entry : *paths) {
      if (!fs::exists(fs::symlink_status(cache_.workspace().Absolute(entry.path), ec))) {
        return Fail(result, "step '" + step.name + "' succeeded but did not write " +
                                (paths == &step.outs ? "out " : "metrics ") + entry.path);
      }
    }
  }
  result.kind = StepResultKind::kRan;
}

void PipelineRun::Execute(const Step& step, FinishedEvent* out) {
  StepResult& result = out->result;
  std::optional<exec::StepJob> job = PrepareExecution(step, out);
  if (!job) return;
  auto executor = ExecutorFor(step);
  if (!executor) return Fail(result, executor.error().message());
  for (int attempt = 1;; ++attempt) {
    if (cancel_->cancelled()) break;
    StartAttempt(step, *job, attempt, result);
    auto ran = (*executor)->Run(*job, *cancel_);
    if (!ran) return Fail(result, ran.error().message());
    result.last = *ran;
    if (!ShouldRetry(step, *ran, attempt)) break;
    if (!SleepUnlessCancelled(BackoffMs(attempt))) break;
  }
  ConcludeExecution(step, result);
}

void PipelineRun::Complete(const Step& step, const StepPlan& plan, int64_t start_ms,
                           FinishedEvent* out) {
  StepResult& result = out->result;
  std::vector<LockedPath> outs;
  std::vector<LockedPath> metrics;
  if (result.kind == StepResultKind::kRestored) {
    outs = plan.cached->outs;
    metrics = plan.cached->metrics;
  } else if (result.kind == StepResultKind::kRan) {
    result.reasons = plan.reasons;
    if (auto st = CommitOutputs(step, plan, &outs, &metrics); !st) {
      Fail(result, st.error().message());
      outs.clear();
      metrics.clear();
    }
  }
  if (result.kind == StepResultKind::kRestored || result.kind == StepResultKind::kRan) {
    IgnoreInGit(outs, &out->warnings);
    IgnoreInGit(metrics, &out->warnings);
  }
  result.duration_ms = NowMs() - start_ms;
  FinishChildRun(result.run_id, step, result, plan.params, plan.deps, outs, metrics,
                 &out->warnings);
}

FinishedEvent PipelineRun::Begin(const StepPlan& plan, int64_t start_ms) {
  FinishedEvent out;
  StepResult& result = out.result;
  result.step = plan.step;
  result.fingerprint = plan.fingerprint;
  result.reasons = plan.reasons;
  const Step& step = *dag_.spec().Find(plan.step);
  result.run_id =
      StartChildRun(step, plan, plan.status == StepStatus::kRestorable, start_ms, &out.warnings);
  return out;
}

FinishedEvent PipelineRun::Act(const StepPlan& plan) {
  const int64_t start = NowMs();
  FinishedEvent out = Begin(plan, start);
  const Step& step = *dag_.spec().Find(plan.step);
  if (plan.status == StepStatus::kRestorable) {
    Restore(step, plan, &out);
  } else {
    Execute(step, &out);
  }
  Complete(step, plan, start, &out);
  return out;
}

void PipelineRun::ActArray(const std::vector<StepPlan>& plans) {
  // Restorable items need no cluster: restore them here, first.
  struct Item {
    const StepPlan* plan;
    const Step* step;
    int64_t start_ms;
    FinishedEvent out;
    exec::StepJob job;
  };
  std::vector<Item> items;
  for (const StepPlan& plan : plans) {
    if (plan.status != StepStatus::kStale) {
      Post(Act(plan));
      continue;
    }
    const int64_t start = NowMs();
    Item item{.plan = &plan,
              .step = dag_.spec().Find(plan.step),
              .start_ms = start,
              .out = Begin(plan, start),
              .job = {}};
    std::optional<exec::StepJob> job = PrepareExecution(*item.step, &item.out);
    if (!job) {
      Complete(*item.step, plan, start, &item.out);
      Post(std::move(item.out));
      continue;
    }
    item.job = std::move(*job);
    items.push_back(std::move(item));
  }
  if (items.empty()) return;
  auto done = [&](Item& item) {
    ConcludeExecution(*item.step, item.out.result);
    Complete(*item.step, *item.plan, item.start_ms, &item.out);
    Post(std::move(item.out));
  };
  auto executor = ExecutorFor(*items.front().step);
  if (!executor) {
    for (Item& item : items) {
      Fail(item.out.result, executor.error().message());
      Complete(*item.step, *item.plan, item.start_ms, &item.out);
      Post(std::move(item.out));
    }
    return;
  }
  // Attempt k submits the items still going as one array: an item that
  // failed is retried alone (with the others that failed), never with the
  // ones that succeeded.
  std::vector<size_t> going(items.size());
  for (size_t i = 0; i < items.size(); ++i) going[i] = i;
  for (int attempt = 1; !going.empty(); ++attempt) {
    if (cancel_->cancelled()) break;
    std::vector<exec::StepJob> jobs;
    for (size_t i : going) {
      StartAttempt(*items[i].step, items[i].job, attempt, items[i].out.result);
      jobs.push_back(items[i].job);
    }
    auto ran = (*executor)->RunArray(jobs, *cancel_);
    if (!ran) {
      for (size_t i : going) {
        Fail(items[i].out.result, ran.error().message());
        Complete(*items[i].step, *items[i].plan, items[i].start_ms, &items[i].out);
        Post(std::move(items[i].out));
      }
      return;
    }
    std::vector<size_t> again;
    for (size_t k = 0; k < going.size(); ++k) {
      Item& item = items[going[k]];
      item.out.result.last = (*ran)[k];
      if (ShouldRetry(*item.step, (*ran)[k], attempt)) {
        again.push_back(going[k]);
      } else {
        done(item);
      }
    }
    going = std::move(again);
    if (!going.empty() && !SleepUnlessCancelled(BackoffMs(attempt))) break;
  }
  for (size_t i : going) done(items[i]);  // cancelled between attempts
}

Result<RunReport> PipelineRun::DryRun(const std::vector<std::string>& steps) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<StepPlan> plans, planner_.PlanAll(steps));
  RunReport report;
  for (const auto& plan : plans) {
    if (observer_.on_planned) observer_.on_planned(plan);
    StepResult result =
        MakeResult(plan.step, StepResultKind::kSkipped, plan.reasons, plan.fingerprint);
    switch (plan.status) {
      case StepStatus::kUpToDate:
        result.kind = StepResultKind::kUpToDate;
        break;
      case StepStatus::kRestorable:
        result.kind = StepResultKind::kRestored;
        break;
      case StepStatus::kStale:
        result.kind = StepResultKind::kSkipped;
        break;
    }
    report.steps.push_back(std::move(result));
  }
  return report;
}

Result<RunReport> PipelineRun::Run() {
  repo_name_ = cache_.workspace().root.filename().string();
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> steps, planner_.Select(options_.targets));
  if (options_.dry_run) return DryRun(steps);

  // Fail before anything runs when cairn.lock cannot be written at all.
  {
    const fs::path lock_path = cache_.workspace().root / std::string(kLockFileName);
    std::error_code ec;
    if (fs::exists(lock_path, ec) && ::access(lock_path.c_str(), W_OK) != 0) {
      return FailedPrecondition("cannot write " + lock_path.string() + ": not writable");
    }
  }
  local_ = exec::MakeLocalExecutor();
  StartParentRun();

  // The selected steps, their parents within the selection.
  std::map<std::string, size_t> rank;
  for (size_t i = 0; i < steps.size(); ++i) rank[steps[i]] = i;
  std::vector<int> waiting(steps.size(), 0);
  std::vector<std::vector<size_t>> children(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> parents, dag_.Parents(steps[i]));
    for (const auto& p : parents) {
      auto it = rank.find(p);
      if (it == rank.end()) continue;
      ++waiting[i];
      children[it->second].push_back(i);
    }
  }
  std::set<size_t> ready;  // by topological rank
  for (size_t i = 0; i < steps.size(); ++i) {
    if (waiting[i] == 0) ready.insert(i);
  }
  std::vector<bool> done(steps.size(), false);
  RunReport report;
  bool failed = false;
  int jobs = options_.jobs > 0
                 ? options_.jobs
                 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int running = 0;  // worker threads: one per step, or per fan-out job array

  auto finish = [&](StepResult result) {
    const size_t i = rank.at(result.step);
    done[i] = true;
    const bool success = result.kind == StepResultKind::kUpToDate ||
                         result.kind == StepResultKind::kRestored ||
                         result.kind == StepResultKind::kRan;
    const std::string name = result.step;
    if (observer_.on_finished) observer_.on_finished(result);
    report.steps.push_back(std::move(result));
    if (success) {
      for (size_t c : children[i]) {
        if (--waiting[c] == 0 && !done[c]) ready.insert(c);
      }
      return;
    }
    failed = true;
    auto downstream = dag_.Downstream(name);
    if (!downstream) return;
    for (const auto& d : *downstream) {
      auto it = rank.find(d);
      if (it == rank.end() || done[it->second]) continue;
      done[it->second] = true;
      ready.erase(it->second);
      StepResult skipped =
          MakeResult(d, StepResultKind::kSkipped, {"upstream '" + name + "' failed"});
      if (observer_.on_finished) observer_.on_finished(skipped);
      report.steps.push_back(std::move(skipped));
    }
  };

  std::map<uint64_t, std::thread> workers;
  uint64_t next_worker = 0;
  auto spawn = [&](std::function<void()> work) {
    const uint64_t id = next_worker++;
    ++running;
    workers.emplace(id, std::thread([this, id, work = std::move(work)]() {
                      work();
                      Post(WorkerDoneEvent{id});
                    }));
  };
  // Plans step i on this thread; the plan when the step must act (restore or
  // run), nullopt when it was finished here (up to date, or unplannable).
  auto plan_step = [&](size_t i) -> std::optional<StepPlan> {
    auto plan = planner_.PlanStep(steps[i]);
    if (!plan) {
      StepPlan failed_plan;
      failed_plan.step = steps[i];
      failed_plan.reasons = {plan.error().message()};
      if (observer_.on_planned) observer_.on_planned(failed_plan);
      finish(MakeResult(steps[i], StepResultKind::kFailed, {plan.error().message()}));
      return std::nullopt;
    }
    if (observer_.on_planned) observer_.on_planned(*plan);
    if (plan->status == StepStatus::kUpToDate) {
      finish(MakeResult(steps[i], StepResultKind::kUpToDate, {}, plan->fingerprint));
      return std::nullopt;
    }
    return std::move(*plan);
  };
  // The items of a Slurm fan-out step that are ready together are packed
  // into one job array (docs/pipelines.md, "Executors").
  auto packable = [&](size_t i) -> const Step* {
    const Step* step = dag_.spec().Find(steps[i]);
    if (!options_.slurm_arrays || step == nullptr || step->item.empty() ||
        step->executor != ExecutorKind::kSlurm) {
      return nullptr;
    }
    return step;
  };

  while (true) {
    while (!ready.empty() && running < jobs && !cancel_->cancelled()) {
      const size_t i = *ready.begin();
      ready.erase(ready.begin());
      if (const Step* step = packable(i)) {
        // Its siblings that are ready now join it (taken out of `ready`
        // before planning: finishing a step edits `ready`).
        std::vector<size_t> group = {i};
        for (size_t j : std::vector<size_t>(ready.begin(), ready.end())) {
          const Step* other = packable(j);
          if (other != nullptr && other->base_name == step->base_name) group.push_back(j);
        }
        for (size_t k = 1; k < group.size(); ++k) ready.erase(group[k]);
        std::vector<StepPlan> plans;
        for (size_t j : group) {
          if (done[j]) continue;  // skipped by a sibling that failed to plan
          if (auto plan = plan_step(j)) plans.push_back(std::move(*plan));
        }
        if (plans.empty()) continue;
        spawn([this, plans = std::move(plans)]() { ActArray(plans); });
        continue;
      }
      auto plan = plan_step(i);
      if (!plan) continue;
      spawn([this, p = std::move(*plan)]() { Post(Act(p)); });
    }
    if (running == 0) break;
    Event event;
    {
      std::unique_lock<std::mutex> guard(events_mu_);
      events_cv_.wait(guard, [&] { return !events_.empty(); });
      event = std::move(events_.front());
      events_.pop_front();
    }
    if (auto* started = std::get_if<StartedEvent>(&event)) {
      if (observer_.on_started) observer_.on_started(started->step, started->attempt);
      continue;
    }
    if (auto* ended = std::get_if<WorkerDoneEvent>(&event)) {
      if (auto it = workers.find(ended->worker); it != workers.end()) {
        it->second.join();
        workers.erase(it);
      }
      --running;
      continue;
    }
    auto& finished = std::get<FinishedEvent>(event);
    for (const auto& w : finished.warnings) Warn(w);
    finish(std::move(finished.result));
  }
  const bool cancelled = cancel_->cancelled();
  for (size_t i = 0; i < steps.size(); ++i) {
    if (done[i]) continue;
    StepResult skipped = MakeResult(steps[i], StepResultKind::kSkipped, {"cancelled"});
    if (observer_.on_finished) observer_.on_finished(skipped);
    report.steps.push_back(std::move(skipped));
  }
  report.ok = !failed && !cancelled;
  report.parent_run_id = parent_run_id_;
  FinishParentRun(report, cancelled);
  return report;
}

}  // namespace

std::string_view StepResultKindName(StepResultKind kind) {
  switch (kind) {
    case StepResultKind::kUpToDate:
      return "up to date";
    case StepResultKind::kRestored:
      return "restored";
    case StepResultKind::kRan:
      return "ran";
    case StepResultKind::kFailed:
      return "failed";
    case StepResultKind::kSkipped:
      return "skipped";
  }
  return "unknown";
}

Result<RunReport> RunPipeline(data::Cache& cache, const RunOptions& options,
                              const RunObserver& observer) {
  const fs::path root = cache.workspace().root;
  const fs::path spec_path = root / "cairn.yaml";
  std::string text;
  {
    std::FILE* f = std::fopen(spec_path.c_str(), "rb");
    if (f == nullptr) {
      return NotFound("no cairn.yaml in " + root.string() +
                      " (write the pipeline there: docs/pipelines.md)");
    }
    char buf[8192];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  // Messages name the file as the user knows it: "cairn.yaml:12:5: ...".
  CAIRN_ASSIGN_OR_RETURN(PipelineSpec spec, ParsePipelineSpec(text, "cairn.yaml"));
  CAIRN_ASSIGN_OR_RETURN(Dag dag, Dag::Build(std::move(spec)));
  CAIRN_ASSIGN_OR_RETURN(LockFile lock, LoadLockFile((root / std::string(kLockFileName)).string()));
  PipelineRun run(cache, options, observer, std::move(dag), std::move(lock));
  return run.Run();
}

}  // namespace cairn::pipeline
