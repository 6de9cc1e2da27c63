#include "exec/executor.h"

#include <fmt/format.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

namespace cairn::exec {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSucceeded:
      return "succeeded";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kTimedOut:
      return "timed out";
    case Outcome::kCancelled:
      return "cancelled";
    case Outcome::kLost:
      return "lost";
  }
  return "unknown";
}


std::string FormatDuration(int64_t ms) {
  if (ms < 1000) return fmt::format("{}ms", ms);
  if (ms < 60'000) {
    if (ms % 1000 == 0) return fmt::format("{}s", ms / 1000);
    return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
  }
  int64_t s = ms / 1000;
  if (s < 3600)
    return s % 60 == 0 ? fmt::format("{}m", s / 60) : fmt::format("{}m{}s", s / 60, s % 60);
  return (s % 3600) / 60 == 0 ? fmt::format("{}h", s / 3600)
                              : fmt::format("{}h{}m", s / 3600, (s % 3600) / 60);
}

std::string SignalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

Result<int> OpenJobLog(const StepJob& job) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(job.log_path).parent_path(), ec);
  if (ec) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("step '{}': cannot create the log folder of {}: {}", job.name,
                                 job.log_path, ec.message()));
  }
  const int fd = ::open(job.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("step '{}': cannot open the log {}: {}", job.name, job.log_path,
                                 std::strerror(errno)));
  }
  return fd;
}

Status CheckArrayJobs(const std::vector<StepJob>& jobs) {
  if (jobs.empty()) return InvalidArgument("a job array needs at least one job");
  const StepJob& first = jobs.front();
  for (const StepJob& job : jobs) {
    if (job.timeout_ms != first.timeout_ms) {
      return InvalidArgument(fmt::format(
          "job array: step '{}' has another timeout than '{}' (an array's tasks share one)",
          job.name, first.name));
    }
    if (job.resources.cpus != first.resources.cpus ||
        job.resources.memory_bytes != first.resources.memory_bytes ||
        job.resources.gpus != first.resources.gpus) {
      return InvalidArgument(fmt::format(
          "job array: step '{}' has other resources than '{}' (an array's tasks share them)",
          job.name, first.name));
    }
  }
  return {};
}

Result<std::vector<ExecResult>> Executor::RunArray(const std::vector<StepJob>& jobs,
                                                   const CancelToken& cancel) {
  CAIRN_RETURN_IF_ERROR(CheckArrayJobs(jobs));
  std::vector<Result<ExecResult>> ran(jobs.size(), Internal("not run"));
  {
    std::vector<std::jthread> threads;
    threads.reserve(jobs.size());
    for (size_t i = 0; i < jobs.size(); ++i) {
      threads.emplace_back([&, i] { ran[i] = Run(jobs[i], cancel); });
    }
  }
  std::vector<ExecResult> results;
  results.reserve(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (ran[i]) {
      results.push_back(std::move(*ran[i]));
      continue;
    }
    // One job that could not start is that job's failure, not the batch's.
    ExecResult failed;
    failed.outcome = Outcome::kFailed;
    failed.message = ran[i].error().message();
    results.push_back(std::move(failed));
  }
  return results;
}

}  // namespace cairn::exec
