#include "exec/slurm_executor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace cairn::exec {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// How long one Slurm client call may take before it is killed (the clients
// retry an unreachable controller for MessageTimeout, 10 s by default).
constexpr int64_t kToolTimeoutMs = 60'000;
// The reachability probe of MakeSlurmExecutor is quicker to give up.
constexpr int64_t kProbeTimeoutMs = 20'000;
// The token and the clock are looked at this often between polls.
constexpr int64_t kTokenCheckMs = 50;
// After scancel: repeat it this often, and give up waiting for Slurm to
// report the end after this long.
constexpr int64_t kRescancelMs = 5'000;
constexpr int64_t kStopWaitMs = 60'000;
// Queries failing (controller unreachable) this long in a row: the job is lost.
constexpr int64_t kUnreachableMs = 120'000;

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}


std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// The inherited environment with `overrides` replacing or adding entries.
std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string name(entry.substr(0, entry.find('=')));
    if (overrides.contains(name)) continue;
    out.emplace_back(entry);
  }
  for (const auto& [name, value] : overrides) out.push_back(name + "=" + value);
  return out;
}

// What one Slurm client call did.
struct ToolRun {
  int exit_code = -1;  // -1 when killed (by a signal or our timeout)
  bool timed_out = false;
  std::string out;
  std::string err;
  // "sbatch: error: ..." or "exit code 1", for messages.
  std::string Describe() const {
    std::string e = Trim(err);
    if (!e.empty()) return e;
    if (timed_out) return "no answer in time (killed)";
    return fmt::format("exit code {}", exit_code);
  }
};

struct Pipe {
  int fd[2] = {-1, -1};
  ~Pipe() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  void CloseWriteEnd() {
    if (fd[1] >= 0) ::close(fd[1]);
    fd[1] = -1;
  }
};

// Runs `program args...` to completion with stdin /dev/null, collecting
// stdout and stderr. `env` null: the inherited environment. An error only
// when the program cannot be started.
Result<ToolRun> RunTool(const std::string& program, const std::vector<std::string>& args,
                        const std::vector<std::string>* env = nullptr,
                        int64_t timeout_ms = kToolTimeoutMs) {
  Pipe out, err;
  if (::pipe2(out.fd, O_CLOEXEC) != 0 || ::pipe2(err.fd, O_CLOEXEC) != 0) {
    return Internal(fmt::format("cannot run {}: pipe: {}", program, std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.fd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err.fd[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);

  std::vector<std::string> argv_storage;
  argv_storage.push_back(program);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage = env ? *env : std::vector<std::string>{};
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attr, argv.data(),
                         env ? envp.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return MakeError(ErrorCode::kFailedPrecondition,
                     fmt::format("cannot run {}: {}", program, std::strerror(rc)));
  }
  out.CloseWriteEnd();
  err.CloseWriteEnd();

  ToolRun run;
  Clock::time_point start = Clock::now();
  bool out_open = true, err_open = true, killed = false;
  char buf[4096];
  while (out_open || err_open) {
    pollfd fds[2] = {{out_open ? out.fd[0] : -1, POLLIN, 0},
                     {err_open ? err.fd[0] : -1, POLLIN, 0}};
    int64_t left = timeout_ms - MsSince(start);
    if (left <= 0 && !killed) {
      ::kill(pid, SIGKILL);
      killed = true;
      run.timed_out = true;
    }
    int n = ::poll(fds, 2, killed ? 1000 : static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        (i == 0 ? run.out : run.err).append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        (i == 0 ? out_open : err_open) = false;
      }
    }
    if (killed && n == 0) break;  // a grandchild holds the pipe: stop reading
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

// `name` in bin_dir, or the first executable `name` on PATH.
std::optional<std::string> FindProgram(const std::string& bin_dir, const std::string& name) {
  auto executable = [](const fs::path& p) {
    std::error_code ec;
    return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
  };
  if (!bin_dir.empty()) {
    fs::path p = fs::path(bin_dir) / name;
    if (executable(p)) return p.string();
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    fs::path p = fs::path(dir) / name;
    if (executable(p)) return p.string();
  }
  return std::nullopt;
}

// Slurm job states (squeue %T, scontrol JobState) after which a job runs no more.
bool IsTerminalState(std::string_view state) {
  static constexpr std::string_view kTerminal[] = {
      "COMPLETED", "FAILED",        "CANCELLED", "TIMEOUT",   "NODE_FAIL",
      "BOOT_FAIL", "OUT_OF_MEMORY", "DEADLINE",  "PREEMPTED", "REVOKED"};
  return std::find(std::begin(kTerminal), std::end(kTerminal), state) != std::end(kTerminal);
}

bool SaysInvalidJobId(const ToolRun& run) {
  return run.err.find("Invalid job id") != std::string::npos;
}

// The value of `key=` in `scontrol show job` output ("" when absent).
std::string FieldOf(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while ((pos = text.find(key, pos)) != std::string_view::npos) {
    bool at_token_start = pos == 0 || text[pos - 1] == ' ' || text[pos - 1] == '\n';
    if (at_token_start && pos + key.size() < text.size() && text[pos + key.size()] == '=') {
      size_t b = pos + key.size() + 1;
      size_t e = text.find_first_of(" \n", b);
      return std::string(text.substr(b, e == std::string_view::npos ? e : e - b));
    }
    pos += key.size();
  }
  return "";
}

// What one look at a job found.
struct JobLook {
  enum Kind { kActive, kEnded, kUnknown, kQueryFailed } kind = kQueryFailed;
  std::string state;   // JobState when ended
  std::string reason;  // Reason when ended
  int exit_code = 0;   // ExitCode=code:signal
  int signal = 0;
  std::string failure;  // when kQueryFailed: what the client said
};

int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// `text` as one single-quoted word for /bin/sh: every byte literal.
std::string ShellQuote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

// scontrol's ArrayTaskId: "3", "0-5", "1,3-4", with an optional "%N"
// throttle; nullopt when it is none of these.
std::optional<std::vector<int>> ParseTaskIds(std::string_view text) {
  text = text.substr(0, text.find('%'));
  std::vector<int> ids;
  auto number = [](std::string_view t) -> std::optional<int> {
    if (t.empty() || t.size() > 9) return std::nullopt;
    int v = 0;
    for (char c : t) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t dash = part.find('-');
    auto lo = number(part.substr(0, dash));
    auto hi = dash == std::string_view::npos ? lo : number(part.substr(dash + 1));
    if (!lo || !hi || *hi < *lo || *hi - *lo > 1'000'000) return std::nullopt;
    for (int i = *lo; i <= *hi; ++i) ids.push_back(i);
  }
  if (ids.empty()) return std::nullopt;
  return ids;
}

// One record of `scontrol -o show job <array id>` (one line each): a task
// that started (ArrayTaskId=4), or the pending rest (ArrayTaskId=0-5).
struct ArrayRecord {
  std::vector<int> tasks;
  JobLook look;  // kind kActive or kEnded
};

std::vector<ArrayRecord> ParseArrayRecords(std::string_view text, std::string_view array_id) {
  std::vector<ArrayRecord> records;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (FieldOf(line, "ArrayJobId") != array_id) continue;
    auto tasks = ParseTaskIds(FieldOf(line, "ArrayTaskId"));
    if (!tasks) continue;
    ArrayRecord record;
    record.tasks = std::move(*tasks);
    record.look.state = FieldOf(line, "JobState");
    record.look.reason = FieldOf(line, "Reason");
    if (record.look.state.empty()) continue;
    record.look.kind = IsTerminalState(record.look.state) ? JobLook::kEnded : JobLook::kActive;
    std::string exit = FieldOf(line, "ExitCode");
    size_t colon = exit.find(':');
    if (colon != std::string::npos) {
      record.look.exit_code = std::atoi(exit.substr(0, colon).c_str());
      record.look.signal = std::atoi(exit.substr(colon + 1).c_str());
    }
    records.push_back(std::move(record));
  }
  return records;
}

// The generated batch script and the per-task log links of one job array,
// in a folder next to the first job's log; removed when the array ended.
class ArrayScratch {
 public:
  ~ArrayScratch() {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  Status Create(const fs::path& parent) {
    static std::atomic<uint64_t> counter{0};
    dir_ = parent / fmt::format(".slurm-array-{}-{}", ::getpid(), counter.fetch_add(1));
    std::error_code ec;
    fs::remove_all(dir_, ec);
    if (!fs::create_directories(dir_, ec) || ec) {
      const std::string where = dir_.string();
      dir_.clear();
      return FailedPrecondition(fmt::format("cannot create the job array folder {}: {}", where,
                                            ec ? ec.message() : "exists"));
    }
    return {};
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

class SlurmExecutor final : public Executor {
 public:
  SlurmExecutor(SlurmExecutorOptions options, std::string sbatch, std::string squeue,
                std::string scontrol, std::string scancel)
      : options_(std::move(options)),
        sbatch_(std::move(sbatch)),
        squeue_(std::move(squeue)),
        scontrol_(std::move(scontrol)),
        scancel_(std::move(scancel)) {}

  std::string_view name() const override { return "slurm"; }

  Result<ExecResult> Run(const StepJob& job, const CancelToken& cancel) override {
    CAIRN_RETURN_IF_ERROR(Validate(job));
    ExecResult result;
    if (cancel.cancelled()) {
      result.outcome = Outcome::kCancelled;
      result.message = "cancelled before it started";
      return result;
    }
    // Slurm runs a job whose --chdir is missing in /tmp instead: refuse it
    // here (Cairn's repositories are on storage the nodes share).
    std::error_code ec;
    if (!fs::is_directory(job.cwd, ec)) {
      return MakeError(
          ErrorCode::kFailedPrecondition,
          fmt::format("step '{}': working folder {} does not exist", job.name, job.cwd));
    }
    CAIRN_RETURN_IF_ERROR(PrepareLog(job));
    Clock::time_point start = Clock::now();
    CAIRN_ASSIGN_OR_RETURN(result.job_id, Submit(job));

    std::optional<Outcome> stopping;  // set once we scancel'ed the job
    Clock::time_point stop_started, last_scancel;
    bool failing = false;  // queries fail (controller unreachable) since failing_since
    Clock::time_point failing_since;
    std::string last_failure;
    Clock::time_point next_poll =
        Clock::now() + std::chrono::milliseconds(options_.poll_interval_ms);
    while (true) {
      // Between polls, watch the token and the clock.
      while (Clock::now() < next_poll) {
        if (!stopping) {
          if (cancel.cancelled()) {
            stopping = Outcome::kCancelled;
          } else if (job.timeout_ms && MsSince(start) >= *job.timeout_ms) {
            stopping = Outcome::kTimedOut;
          }
          if (stopping) {
            stop_started = last_scancel = Clock::now();
            Cancel(result.job_id);
            break;  // look at once: a pending job ends right away
          }
        }
        auto left = next_poll - Clock::now();
        std::this_thread::sleep_for(
            std::min<Clock::duration>(left, std::chrono::milliseconds(kTokenCheckMs)));
      }
      next_poll = Clock::now() + std::chrono::milliseconds(options_.poll_interval_ms);

      JobLook look = Look(result.job_id);
      if (look.kind == JobLook::kQueryFailed) {
        if (!failing) failing_since = Clock::now();
        failing = true;
        last_failure = look.failure;
        if (MsSince(failing_since) < kUnreachableMs) continue;
        Cancel(result.job_id);
        result.duration_ms = MsSince(start);
        result.outcome = stopping.value_or(Outcome::kLost);
        result.message = fmt::format("lost contact with Slurm for {} about job {}: {}",
                                     FormatDuration(kUnreachableMs), result.job_id, last_failure);
        return result;
      }
      failing = false;
      if (look.kind == JobLook::kActive) {
        if (stopping) {
          if (MsSince(stop_started) >= kStopWaitMs) {
            result.duration_ms = MsSince(start);
            result.outcome = *stopping;
            result.message = fmt::format("{}; Slurm had not ended job {} {} after scancel",
                                         StopMessage(*stopping, job, result.duration_ms),
                                         result.job_id, FormatDuration(kStopWaitMs));
            return result;
          }
          if (MsSince(last_scancel) >= kRescancelMs) {
            last_scancel = Clock::now();
            Cancel(result.job_id);
          }
        }
        continue;
      }
      result.duration_ms = MsSince(start);
      if (look.kind == JobLook::kUnknown) {
        result.outcome = stopping.value_or(Outcome::kLost);
        result.message = stopping ? StopMessage(*stopping, job, result.duration_ms)
                                  : fmt::format("Slurm no longer knows job {}", result.job_id);
        return result;
      }
      Conclude(look, job, stopping, result);
      return result;
    }
  }

  // One job array: task i runs jobs[i] (docs/pipelines.md, "Executors").
  Result<std::vector<ExecResult>> RunArray(const std::vector<StepJob>& jobs,
                                           const CancelToken& cancel) override {
    CAIRN_RETURN_IF_ERROR(CheckArrayJobs(jobs));
    if (jobs.size() == 1) {
      CAIRN_ASSIGN_OR_RETURN(ExecResult one, Run(jobs.front(), cancel));
      return std::vector<ExecResult>{std::move(one)};
    }
    std::error_code ec;
    for (const StepJob& job : jobs) {
      CAIRN_RETURN_IF_ERROR(Validate(job));
      if (!fs::is_directory(job.cwd, ec)) {
        return MakeError(
            ErrorCode::kFailedPrecondition,
            fmt::format("step '{}': working folder {} does not exist", job.name, job.cwd));
      }
    }
    const size_t n = jobs.size();
    std::vector<ExecResult> results(n);
    if (cancel.cancelled()) {
      for (ExecResult& r : results) {
        r.outcome = Outcome::kCancelled;
        r.message = "cancelled before it started";
      }
      return results;
    }
    for (const StepJob& job : jobs) CAIRN_RETURN_IF_ERROR(PrepareLog(job));

    // The batch script picks the task's command by SLURM_ARRAY_TASK_ID; each
    // task's --output (%a) is a link to its job's log, so Slurm's own lines
    // (a cancel, a time limit) land in the right log too.
    ArrayScratch scratch;
    CAIRN_RETURN_IF_ERROR(scratch.Create(fs::path(jobs.front().log_path).parent_path()));
    std::string script =
        "#!/bin/sh\n"
        "# Generated by Cairn: one job array, task i runs fan-out item i.\n"
        "case \"${SLURM_ARRAY_TASK_ID:-}\" in\n";
    for (size_t i = 0; i < n; ++i) {
      const StepJob& job = jobs[i];
      script += fmt::format("{})\n  # {}\n  cd -- {} || exit 97\n  exec env --", i,
                            ShellQuote(job.name).substr(0, 200), ShellQuote(job.cwd));
      for (const auto& [name, value] : job.env) script += " " + ShellQuote(name + "=" + value);
      script += " /bin/sh -c " + ShellQuote(job.cmd) + "\n  ;;\n";
      fs::create_symlink(job.log_path, scratch.dir() / fmt::format("{}.log", i), ec);
      if (ec) {
        return FailedPrecondition(fmt::format("step '{}': cannot link its log into {}: {}",
                                              job.name, scratch.dir().string(), ec.message()));
      }
    }
    script +=
        "*)\n  echo \"cairn: this array has no task ${SLURM_ARRAY_TASK_ID:-}\" >&2\n  exit 98\n"
        "  ;;\nesac\n";
    const fs::path script_path = scratch.dir() / "job.sh";
    {
      std::FILE* f = std::fopen(script_path.c_str(), "wb");
      bool ok = f != nullptr && std::fwrite(script.data(), 1, script.size(), f) == script.size();
      if (f != nullptr) ok = std::fclose(f) == 0 && ok;
      if (!ok) {
        return FailedPrecondition(
            fmt::format("cannot write the job array script {}", script_path.string()));
      }
    }
    // "evaluate@small", "evaluate@large" -> "evaluate"
    std::string name = jobs.front().name;
    name = name.substr(0, name.find('@'));
    const std::string what = fmt::format("step '{}' ({} items as one job array)", name, n);
    std::vector<std::string> args = CommonArgs(jobs.front(), name);
    args.insert(args.end(), {fmt::format("--array=0-{}", n - 1), "--output",
                             (scratch.dir() / "%a.log").string(), "--open-mode=append", "--chdir",
                             jobs.front().cwd, "--export=ALL", script_path.string()});

    const Clock::time_point start = Clock::now();
    CAIRN_ASSIGN_OR_RETURN(std::string array_id, Sbatch(what, args, nullptr));

    struct Task {
      bool done = false;
      std::optional<Clock::time_point> started;  // first seen out of PENDING
      std::optional<Outcome> stopping;           // we scancel'ed it
      Clock::time_point stop_started, last_scancel;
      int missing = 0;  // polls in a row that did not mention it
    };
    std::vector<Task> tasks(n);
    for (size_t i = 0; i < n; ++i) results[i].job_id = fmt::format("{}_{}", array_id, i);
    size_t left = n;
    auto conclude_stopped = [&](size_t i, Outcome outcome, std::string message) {
      results[i].duration_ms = MsSince(start);
      results[i].outcome = outcome;
      results[i].message = std::move(message);
      tasks[i].done = true;
      --left;
    };
    bool cancelling = false;
    bool failing = false;  // queries fail (controller unreachable) since failing_since
    Clock::time_point failing_since;
    Clock::time_point next_poll =
        Clock::now() + std::chrono::milliseconds(options_.poll_interval_ms);
    while (left > 0) {
      // Between polls, watch the token and each running task's clock.
      while (Clock::now() < next_poll) {
        bool acted = false;
        if (!cancelling && cancel.cancelled()) {
          cancelling = true;
          acted = true;
          Cancel(array_id);  // the whole array, pending tasks included
          for (Task& t : tasks) {
            if (t.done || t.stopping) continue;
            t.stopping = Outcome::kCancelled;
            t.stop_started = t.last_scancel = Clock::now();
          }
        }
        if (jobs.front().timeout_ms) {
          for (size_t i = 0; i < n; ++i) {
            Task& t = tasks[i];
            if (t.done || t.stopping || !t.started) continue;
            if (MsSince(*t.started) < *jobs.front().timeout_ms) continue;
            t.stopping = Outcome::kTimedOut;
            t.stop_started = t.last_scancel = Clock::now();
            Cancel(results[i].job_id);
            acted = true;
          }
        }
        if (acted) break;  // look at once
        auto wait = next_poll - Clock::now();
        std::this_thread::sleep_for(
            std::min<Clock::duration>(wait, std::chrono::milliseconds(kTokenCheckMs)));
      }
      next_poll = Clock::now() + std::chrono::milliseconds(options_.poll_interval_ms);

      auto show = RunTool(scontrol_, {"-o", "show", "job", array_id});
      const bool unknown = show && show->exit_code != 0 && SaysInvalidJobId(*show);
      if (!show || (show->exit_code != 0 && !unknown)) {
        if (!failing) failing_since = Clock::now();
        failing = true;
        if (MsSince(failing_since) < kUnreachableMs) continue;
        Cancel(array_id);
        const std::string failure = show ? "scontrol: " + show->Describe() : show.error().message();
        for (size_t i = 0; i < n; ++i) {
          if (tasks[i].done) continue;
          conclude_stopped(i, tasks[i].stopping.value_or(Outcome::kLost),
                           fmt::format("lost contact with Slurm for {} about job {}: {}",
                                       FormatDuration(kUnreachableMs), results[i].job_id, failure));
        }
        break;
      }
      failing = false;
      std::vector<const JobLook*> look(n, nullptr);
      std::vector<ArrayRecord> records;
      if (!unknown) records = ParseArrayRecords(show->out, array_id);
      for (const ArrayRecord& record : records) {
        for (int t : record.tasks) {
          if (t >= 0 && static_cast<size_t>(t) < n) look[t] = &record.look;
        }
      }
      for (size_t i = 0; i < n; ++i) {
        Task& t = tasks[i];
        if (t.done) continue;
        if (look[i] == nullptr) {
          // Gone from the controller (purged, or the array is unknown).
          if (!unknown && ++t.missing < 2) continue;
          conclude_stopped(i, t.stopping.value_or(Outcome::kLost),
                           t.stopping
                               ? StopMessage(*t.stopping, jobs[i], MsSince(start))
                               : fmt::format("Slurm no longer knows job {}", results[i].job_id));
          continue;
        }
        t.missing = 0;
        if (look[i]->kind == JobLook::kEnded) {
          results[i].duration_ms = MsSince(start);
          Conclude(*look[i], jobs[i], t.stopping, results[i]);
          t.done = true;
          --left;
          continue;
        }
        if (!t.started && look[i]->state != "PENDING") t.started = Clock::now();
        if (!t.stopping) continue;
        if (MsSince(t.stop_started) >= kStopWaitMs) {
          const int64_t took = MsSince(start);
          conclude_stopped(i, *t.stopping,
                           fmt::format("{}; Slurm had not ended job {} {} after scancel",
                                       StopMessage(*t.stopping, jobs[i], took), results[i].job_id,
                                       FormatDuration(kStopWaitMs)));
        } else if (MsSince(t.last_scancel) >= kRescancelMs) {
          t.last_scancel = Clock::now();
          Cancel(results[i].job_id);
        }
      }
    }
    return results;
  }

 private:
  static Status Validate(const StepJob& job) {
    if (job.cmd.empty()) return InvalidArgument(fmt::format("step '{}': empty command", job.name));
    if (!fs::path(job.cwd).is_absolute()) {
      return InvalidArgument(fmt::format("step '{}': cwd '{}' is not absolute", job.name, job.cwd));
    }
    if (!fs::path(job.log_path).is_absolute()) {
      return InvalidArgument(
          fmt::format("step '{}': log path '{}' is not absolute", job.name, job.log_path));
    }
    for (const auto& [name, value] : job.env) {
      if (name.empty() || name.find_first_of("=\0", 0, 2) != std::string::npos ||
          value.find('\0') != std::string::npos) {
        return InvalidArgument(
            fmt::format("step '{}': invalid environment variable name '{}'", job.name, name));
      }
    }
    if (job.timeout_ms && *job.timeout_ms <= 0) {
      return InvalidArgument(
          fmt::format("step '{}': timeout must be positive, got {} ms", job.name, *job.timeout_ms));
    }
    if (job.resources.cpus && *job.resources.cpus <= 0) {
      return InvalidArgument(fmt::format("step '{}': cpus must be positive", job.name));
    }
    if (job.resources.memory_bytes && *job.resources.memory_bytes <= 0) {
      return InvalidArgument(fmt::format("step '{}': memory must be positive", job.name));
    }
    if (job.resources.gpus < 0) {
      return InvalidArgument(fmt::format("step '{}': gpus must not be negative", job.name));
    }
    return {};
  }

  // The log's folder and the log itself exist before Slurm appends to it, so
  // an unwritable log is an error here rather than a job that fails silently.
  static Status PrepareLog(const StepJob& job) {
    CAIRN_ASSIGN_OR_RETURN(int fd, OpenJobLog(job));
    ::close(fd);
    return {};
  }

  // The sbatch options a job and a job array share: name, partition,
  // resources, time limit.
  std::vector<std::string> CommonArgs(const StepJob& job, const std::string& name) const {
    std::string job_name = options_.job_name_prefix + name;
    // One token in scontrol's output, whatever the step is called.
    for (char& c : job_name) {
      if (std::isspace(static_cast<unsigned char>(c)) ||
          std::iscntrl(static_cast<unsigned char>(c)))
        c = '_';
    }
    std::vector<std::string> args = {"--parsable", "--job-name", job_name};
    if (!options_.partition.empty()) args.insert(args.end(), {"--partition", options_.partition});
    if (job.resources.cpus) {
      args.insert(args.end(), {"--cpus-per-task", std::to_string(*job.resources.cpus)});
    }
    if (job.resources.memory_bytes) {
      args.insert(args.end(),
                  {"--mem", fmt::format("{}M", CeilDiv(*job.resources.memory_bytes, 1024 * 1024))});
    }
    if (job.resources.gpus > 0) args.push_back(fmt::format("--gres=gpu:{}", job.resources.gpus));
    if (job.timeout_ms) {
      // Slurm's limit is whole minutes; Cairn's own clock enforces the exact
      // timeout with scancel.
      args.insert(args.end(), {"--time", std::to_string(CeilDiv(*job.timeout_ms, 60'000))});
    }
    return args;
  }

  // Runs sbatch and returns the job id it printed.
  Result<std::string> Sbatch(const std::string& what, const std::vector<std::string>& args,
                             const std::vector<std::string>* env) {
    CAIRN_ASSIGN_OR_RETURN(ToolRun run, RunTool(sbatch_, args, env));
    if (run.exit_code != 0) {
      return MakeError(ErrorCode::kFailedPrecondition,
                       fmt::format("{}: sbatch refused the job{}: {}", what,
                                   options_.partition.empty()
                                       ? std::string()
                                       : fmt::format(" (partition '{}')", options_.partition),
                                   run.Describe()));
    }
    // "<id>" or "<id>;<cluster>"
    std::string id = Trim(run.out.substr(0, run.out.find_first_of(";\n")));
    if (id.empty() ||
        !std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Internal(
          fmt::format("{}: sbatch --parsable printed '{}', not a job id", what, Trim(run.out)));
    }
    return id;
  }

  // sbatch; returns the job id.
  Result<std::string> Submit(const StepJob& job) {
    std::vector<std::string> args = CommonArgs(job, job.name);
    args.insert(args.end(), {"--output", job.log_path, "--open-mode=append", "--chdir", job.cwd,
                             // Values travel in sbatch's own environment: no quoting
                             // of them on any command line.
                             "--export=ALL", "--wrap", job.cmd});
    std::vector<std::string> env = MergedEnvironment(job.env);
    return Sbatch(fmt::format("step '{}'", job.name), args, &env);
  }

  void Cancel(const std::string& job_id) {
    // Failures are seen in the next look (the job stays active).
    (void)RunTool(scancel_, {job_id});
  }

  JobLook Look(const std::string& job_id) {
    JobLook look;
    auto queue = RunTool(squeue_, {"-h", "-j", job_id, "-o", "%T"});
    if (!queue) {
      look.failure = queue.error().message();
      return look;
    }
    std::string state = Trim(queue->out);
    if (queue->exit_code == 0 && !state.empty() && !IsTerminalState(state)) {
      look.kind = JobLook::kActive;
      return look;
    }
    if (queue->exit_code != 0 && !SaysInvalidJobId(*queue)) {
      look.failure = "squeue: " + queue->Describe();
      return look;
    }
    // Out of the queue (or ended in it): scontrol has the final word.
    auto show = RunTool(scontrol_, {"show", "job", job_id});
    if (!show) {
      look.failure = show.error().message();
      return look;
    }
    if (show->exit_code != 0) {
      if (SaysInvalidJobId(*show)) {
        look.kind = JobLook::kUnknown;
      } else {
        look.failure = "scontrol: " + show->Describe();
      }
      return look;
    }
    look.state = FieldOf(show->out, "JobState");
    look.reason = FieldOf(show->out, "Reason");
    if (look.state.empty()) {
      look.failure = "scontrol show job printed no JobState";
      return look;
    }
    if (!IsTerminalState(look.state)) {
      look.kind = JobLook::kActive;  // COMPLETING and the like
      return look;
    }
    look.kind = JobLook::kEnded;
    std::string exit = FieldOf(show->out, "ExitCode");
    size_t colon = exit.find(':');
    if (colon != std::string::npos) {
      look.exit_code = std::atoi(exit.substr(0, colon).c_str());
      look.signal = std::atoi(exit.substr(colon + 1).c_str());
    }
    return look;
  }

  static std::string StopMessage(Outcome outcome, const StepJob& job, int64_t duration_ms) {
    if (outcome == Outcome::kTimedOut) {
      return fmt::format("timed out after {}", FormatDuration(*job.timeout_ms));
    }
    return fmt::format("cancelled after {}", FormatDuration(duration_ms));
  }

  static void Conclude(const JobLook& look, const StepJob& job, std::optional<Outcome> stopping,
                       ExecResult& result) {
    if (look.signal != 0) {
      result.signal = look.signal;
    } else {
      result.exit_code = look.exit_code;
    }
    std::string reason =
        look.reason.empty() || look.reason == "None" ? "" : fmt::format(", reason {}", look.reason);
    if (stopping) {
      result.outcome = *stopping;
      result.message = StopMessage(*stopping, job, result.duration_ms);
    } else if (look.state == "TIMEOUT") {
      result.outcome = Outcome::kTimedOut;
      result.message = fmt::format("Slurm's time limit ended job {} (TIMEOUT)", result.job_id);
    } else if (look.state == "CANCELLED") {
      result.outcome = Outcome::kCancelled;
      result.message =
          fmt::format("job {} was cancelled outside Cairn (CANCELLED{})", result.job_id, reason);
    } else if (look.state == "OUT_OF_MEMORY") {
      result.outcome = Outcome::kLost;
      result.message = fmt::format(
          "job {} ran out of memory (Slurm OUT_OF_MEMORY){}: raise the step's memory",
          result.job_id,
          job.resources.memory_bytes
              ? fmt::format(" with --mem {}M", CeilDiv(*job.resources.memory_bytes, 1024 * 1024))
              : "");
    } else if (look.state == "COMPLETED" || look.state == "FAILED") {
      if (look.signal != 0) {
        result.outcome = Outcome::kFailed;
        result.message = fmt::format("killed by {}", SignalName(look.signal));
      } else if (look.exit_code != 0) {
        result.outcome = Outcome::kFailed;
        result.message = fmt::format("exit code {}", look.exit_code);
      } else if (look.state == "COMPLETED") {
        result.outcome = Outcome::kSucceeded;
        result.message = "exit code 0";
      } else {
        result.outcome = Outcome::kFailed;
        result.message = fmt::format("Slurm reports job {} FAILED{}", result.job_id, reason);
      }
    } else {
      // NODE_FAIL, BOOT_FAIL, DEADLINE, PREEMPTED, REVOKED
      result.outcome = Outcome::kLost;
      result.message =
          fmt::format("Slurm ended job {} with {}{}", result.job_id, look.state, reason);
    }
  }

  SlurmExecutorOptions options_;
  std::string sbatch_, squeue_, scontrol_, scancel_;
};

}  // namespace

Result<std::unique_ptr<Executor>> MakeSlurmExecutor(SlurmExecutorOptions options) {
  if (options.poll_interval_ms <= 0) {
    return InvalidArgument(
        fmt::format("slurm poll interval must be positive, got {} ms", options.poll_interval_ms));
  }
  const char* conf = std::getenv("SLURM_CONF");
  std::string conf_hint =
      conf ? fmt::format("SLURM_CONF={}", conf)
           : std::string(
                 "SLURM_CONF is not set: set it to the cluster's slurm.conf (for the test "
                 "cluster: eval \"$(scripts/services/slurm.sh start | grep '^export ')\")");
  std::string where = options.bin_dir.empty() ? "PATH" : options.bin_dir;
  std::string found[5];
  const char* names[5] = {"sbatch", "squeue", "scontrol", "scancel", "sinfo"};
  for (int i = 0; i < 5; ++i) {
    auto p = FindProgram(options.bin_dir, names[i]);
    if (!p) {
      return FailedPrecondition(fmt::format(
          "the Slurm executor needs {} but it is not on {} (install the Slurm client programs, "
          "e.g. the Debian package slurm-client, or set the executor's bin_dir)",
          names[i], where));
    }
    found[i] = *p;
  }
  // A missing slurm.conf makes every client retry for a minute: say so at once.
  std::error_code ec;
  if (conf && !fs::exists(conf, ec)) {
    return FailedPrecondition(fmt::format(
        "SLURM_CONF={} does not exist: set SLURM_CONF to the cluster's slurm.conf", conf));
  }
  auto sinfo = RunTool(found[4], {"-h", "-o", "%P"}, nullptr, kProbeTimeoutMs);
  if (!sinfo) return std::unexpected(sinfo.error());
  if (sinfo->exit_code != 0) {
    return FailedPrecondition(
        fmt::format("cannot reach the Slurm controller: `{} -h -o %P` said: {} ({})", found[4],
                    sinfo->Describe(), conf_hint));
  }
  return std::unique_ptr<Executor>(
      std::make_unique<SlurmExecutor>(std::move(options), found[0], found[1], found[2], found[3]));
}

}  // namespace cairn::exec
