// `cairn repro [TARGET...]` and `cairn pipeline run [TARGET...]`: run the
// pipeline in cairn.yaml (pipeline/runner.h) in the repository around the
// current folder, holding the repository lock, printing one line per step as
// it goes and a summary.
//
// Tracking: on when a tracking server answers at the resolved URI
// (--tracking-uri > CAIRN_TRACKING_URI > MLFLOW_TRACKING_URI >
// http://127.0.0.1:5000); when none answers, one warning ("not tracked:
// cannot reach ...") and the pipeline runs anyway; --no-track skips it.
// The repository lock (data/repo_lock.h): a second `cairn repro` waits for
// the first, or with --no-wait refuses naming the holder.
// SIGINT / SIGTERM cancel the run (running steps are stopped; a second
// signal kills the process).
//
// Exit codes: 0 every step ok, 1 a step failed (or the run could not start),
// 130 cancelled, 2 usage.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "core/config.h"
#include "data/cache.h"
#include "data/config.h"
#include "data/repo_lock.h"
#include "data/workspace.h"
#include "exec/executor.h"
#include "pipeline/runner.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;

struct ReproFlags {
  std::vector<std::string> targets;
  int jobs = 0;
  bool force = false;
  bool dry_run = false;
  bool no_run_cache = false;
  bool copy = false;
  bool no_track = false;
  bool no_wait = false;
  std::string experiment;
  std::string tracking_uri;
};

// Set by the signal handler; lives for the whole process.
exec::CancelToken g_cancel;

extern "C" void OnTerminationSignal(int /*sig*/) {
  g_cancel.Cancel();  // a lock-free atomic store: async-signal-safe
  static const char kMsg[] = "\ncairn repro: cancelling (stopping running steps)\n";
  ssize_t ignored = ::write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
  (void)ignored;
}

void InstallSignalHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnTerminationSignal;
  sigemptyset(&sa.sa_mask);
  // A second signal gets the default action: the process ends at once.
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

std::string Seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// The last `n` lines of a file ("" when unreadable).
std::vector<std::string> LastLines(const fs::path& path, size_t n) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
    if (lines.size() > n) lines.pop_front();
  }
  return {lines.begin(), lines.end()};
}

// A client when a tracking server answers; nullopt (after one warning,
// unless silent) otherwise.
std::optional<client::TrackingClient> ConnectTracking(const ReproFlags& flags) {
  const std::string uri = ResolveTrackingUri(
      flags.tracking_uri.empty() ? std::nullopt : std::optional<std::string>(flags.tracking_uri));
  client::ClientOptions options;
  options.connect_timeout_ms = 3000;
  options.request_timeout_ms = 60'000;
  auto client = client::TrackingClient::Create(uri, options);
  if (!client) {
    std::cerr << "warning: not tracked: " << client.error().message() << std::endl;
    return std::nullopt;
  }
  auto probe = client->SearchExperiments({.max_results = 1});
  if (!probe) {
    const auto code = probe.error().code();
    if (code == ErrorCode::kUnavailable || code == ErrorCode::kDeadlineExceeded) {
      std::cerr << "warning: not tracked: cannot reach the tracking server at " << uri
                << " (start `cairn server`, set --tracking-uri or CAIRN_TRACKING_URI, or pass "
                   "--no-track)"
                << std::endl;
    } else {
      std::cerr << "warning: not tracked: " << uri << ": " << probe.error().message() << std::endl;
    }
    return std::nullopt;
  }
  return std::move(*client);
}

int RunRepro(const ReproFlags& flags) {
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  if (ec) return ReportError(Error(ErrorCode::kInternal, "cannot read the current folder"));
  auto ws = data::FindWorkspace(cwd);
  if (!ws) return ReportError(ws.error());
  if (!fs::exists(ws->CairnDir(), ec)) {
    ws = data::InitWorkspace(ws->root);
    if (!ws) return ReportError(ws.error());
  }
  auto config = data::LoadDataConfig(*ws);
  if (!config) return ReportError(config.error());
  // The lock comes before the cache: opening the cache may create its stat
  // cache database, and two processes creating it at once can collide
  // (SQLite answers "database is locked" without waiting).
  std::unique_ptr<data::RepoLock> repo_lock;
  if (!flags.dry_run) {
    auto lock = data::RepoLock::Acquire(*ws, "cairn repro", /*wait=*/!flags.no_wait);
    if (!lock) return ReportError(lock.error());
    repo_lock = std::move(*lock);
  }
  auto cache = data::Cache::Open(*ws, *config);
  if (!cache) return ReportError(cache.error());

  std::optional<client::TrackingClient> tracking;
  if (!flags.no_track && !flags.dry_run) tracking = ConnectTracking(flags);

  InstallSignalHandlers();

  pipeline::RunOptions options;
  options.targets = flags.targets;
  options.jobs = flags.jobs;
  options.force = flags.force;
  options.use_run_cache = !flags.no_run_cache;
  options.dry_run = flags.dry_run;
  options.link_mode = flags.copy ? data::LinkMode::kCopy : data::LinkMode::kHardlink;
  options.tracking = tracking ? &*tracking : nullptr;
  options.experiment = flags.experiment;
  options.cancel = &g_cancel;

  std::map<std::string, std::vector<std::string>> reasons;  // step -> why it runs
  pipeline::RunObserver observer;
  observer.on_planned = [&](const pipeline::StepPlan& plan) {
    reasons[plan.step] = plan.reasons;
    if (!flags.dry_run) return;
    switch (plan.status) {
      case pipeline::StepStatus::kUpToDate:
        std::cout << plan.step << ": up to date\n";
        break;
      case pipeline::StepStatus::kRestorable:
        std::cout << plan.step << ": would restore from cache\n";
        break;
      case pipeline::StepStatus::kStale:
        std::cout << plan.step << ": would run (" << Join(plan.reasons) << ")\n";
        break;
    }
    std::cout.flush();
  };
  observer.on_started = [&](const std::string& step, int attempt) {
    if (attempt == 1) {
      std::cout << step << ": running (" << Join(reasons[step]) << ")" << std::endl;
    } else {
      std::cout << step << ": retrying (attempt " << attempt << ")" << std::endl;
    }
  };
  observer.on_finished = [&](const pipeline::StepResult& result) {
    switch (result.kind) {
      case pipeline::StepResultKind::kUpToDate:
        std::cout << result.step << ": up to date\n";
        break;
      case pipeline::StepResultKind::kRestored:
        std::cout << result.step << ": restored from cache\n";
        break;
      case pipeline::StepResultKind::kRan:
        std::cout << result.step << ": ran in " << Seconds(result.duration_ms) << " (attempt "
                  << result.attempts << ")\n";
        break;
      case pipeline::StepResultKind::kFailed:
        std::cout << result.step << ": FAILED (" << Join(result.reasons) << ")";
        if (!result.log_path.empty()) {
          std::cout << " \u2014 log: " << result.log_path << "\n";
          for (const auto& line : LastLines(ws->Absolute(result.log_path), 10)) {
            std::cout << "    | " << line << "\n";
          }
        } else {
          std::cout << "\n";
        }
        break;
      case pipeline::StepResultKind::kSkipped:
        std::cout << result.step << ": skipped (" << Join(result.reasons) << ")\n";
        break;
    }
    std::cout.flush();
  };
  observer.on_warning = [](const std::string& warning) {
    std::cerr << "warning: " << warning << std::endl;
  };

  const auto start = std::chrono::steady_clock::now();
  auto report = pipeline::RunPipeline(**cache, options, observer);
  if (!report) return ReportError(report.error());
  const int64_t elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  if (flags.dry_run) {
    std::cout << "dry run: nothing was run\n";
    return kExitOk;
  }
  int counts[5] = {0, 0, 0, 0, 0};
  for (const auto& step : report->steps) ++counts[static_cast<int>(step.kind)];
  using K = pipeline::StepResultKind;
  std::cout << report->steps.size() << " steps: " << counts[static_cast<int>(K::kRan)] << " ran, "
            << counts[static_cast<int>(K::kRestored)] << " restored, "
            << counts[static_cast<int>(K::kUpToDate)] << " up to date, "
            << counts[static_cast<int>(K::kFailed)] << " failed, "
            << counts[static_cast<int>(K::kSkipped)] << " skipped (" << Seconds(elapsed) << ")\n";
  if (!report->parent_run_id.empty()) {
    std::cout << "tracked as run " << report->parent_run_id << " at " << tracking->tracking_uri()
              << "\n";
  }
  std::cout.flush();
  if (g_cancel.cancelled()) return 130;
  return report->ok ? kExitOk : kExitError;
}

void AddReproOptions(CLI::App* cmd, const std::shared_ptr<ReproFlags>& flags, Action& action) {
  cmd->add_option("targets", flags->targets,
                  "Steps to bring up to date, with their upstream (default: every step; a "
                  "foreach step's base name selects all its expansions)");
  cmd->add_option("-j,--jobs", flags->jobs, "Steps run at once (default: cores)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("-f,--force", flags->force,
                "Run the selected steps even when up to date or cached");
  cmd->add_flag("--dry-run", flags->dry_run, "Print what would run; run nothing");
  cmd->add_flag("--no-run-cache", flags->no_run_cache,
                "Do not restore earlier results from the run cache");
  cmd->add_flag("--copy", flags->copy,
                "Outputs as writable copies (default: read-only hard links to the cache)");
  cmd->add_flag("--no-track", flags->no_track, "Do not record runs on the tracking server");
  cmd->add_flag("--no-wait", flags->no_wait,
                "Refuse (exit 1) instead of waiting when another cairn repro or cairn data "
                "writer holds the repository");
  cmd->add_option("--experiment", flags->experiment,
                  "Experiment of the tracking runs (default: pipeline:<repository folder>)");
  cmd->add_option("--tracking-uri", flags->tracking_uri,
                  "Tracking server (default: $CAIRN_TRACKING_URI, $MLFLOW_TRACKING_URI, " +
                      std::string(kDefaultTrackingUri) + ")");
  cmd->callback([flags, &action] { action = [flags] { return RunRepro(*flags); }; });
}

}  // namespace

void AddPipelineRunCommand(CLI::App& pipeline, Action& action) {
  auto flags = std::make_shared<ReproFlags>();
  AddReproOptions(pipeline.add_subcommand("run", "Run the pipeline (as `cairn repro`)"), flags,
                  action);
}

void AddReproCommand(CLI::App& app, Action& action) {
  auto flags = std::make_shared<ReproFlags>();
  AddReproOptions(
      app.add_subcommand("repro",
                         "Run the pipeline in cairn.yaml: steps whose inputs did not change are "
                         "restored or skipped, not run"),
      flags, action);
}

}  // namespace cairn::cli
