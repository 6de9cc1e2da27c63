#include "exec/local_executor.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace cairn::exec {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// How often Run looks at the cancel token and the clock while the job runs
// (the header promises at least every 100 ms).
constexpr int kPollMs = 50;
// After SIGKILL, how long to wait for the group to disappear before giving
// up (a process stuck in uninterruptible sleep cannot be helped).
constexpr int64_t kAfterKillWaitMs = 10000;

std::string ErrnoText(int err) { return std::strerror(err); }

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}


// True when some process of group `pgid` is alive (running or stopped, not
// a zombie). kill(-pgid, 0) cannot tell: zombies answer it, and the leader
// stays a zombie on purpose until Run reaps it (so the pgid is never reused
// while we may signal it).
bool GroupHasLiveMembers(pid_t pgid) {
  if (::kill(-pgid, 0) != 0 && errno == ESRCH) return false;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return true;  // cannot tell: assume alive (the caller kills)
  bool alive = false;
  while (dirent* entry = ::readdir(dir)) {
    const char* name = entry->d_name;
    if (name[0] < '0' || name[0] > '9') continue;
    std::string path = std::string("/proc/") + name + "/stat";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
    ::close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parens, so
    // parse after the last ')'.
    char* close_paren = std::strrchr(buf, ')');
    if (close_paren == nullptr) continue;
    char state = 0;
    long ppid = 0, pgrp = 0;
    if (std::sscanf(close_paren + 1, " %c %ld %ld", &state, &ppid, &pgrp) != 3) continue;
    if (pgrp == pgid && state != 'Z' && state != 'X') {
      alive = true;
      break;
    }
  }
  ::closedir(dir);
  return alive;
}

// Waits up to `ms` for group `pgid` to have no live members.
bool WaitGroupGone(pid_t pgid, int64_t ms) {
  Clock::time_point start = Clock::now();
  int sleep_ms = 1;
  while (GroupHasLiveMembers(pgid)) {
    if (MsSince(start) >= ms) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    sleep_ms = std::min(sleep_ms * 2, 50);
  }
  return true;
}

// SIGTERM to the group, SIGKILL after `grace_ms` if anything is left.
void StopGroup(pid_t pgid, int64_t grace_ms) {
  ::kill(-pgid, SIGTERM);
  if (WaitGroupGone(pgid, grace_ms)) return;
  ::kill(-pgid, SIGKILL);
  WaitGroupGone(pgid, kAfterKillWaitMs);
}

// The child's environment: the inherited one with `overrides` replacing or
// adding entries.
std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    std::string name(entry.substr(0, eq));
    if (overrides.contains(name)) continue;
    out.emplace_back(entry);
  }
  for (const auto& [name, value] : overrides) out.push_back(name + "=" + value);
  return out;
}

Status ValidateJob(const StepJob& job) {
  if (job.cmd.empty()) return InvalidArgument(fmt::format("step '{}': empty command", job.name));
  if (!fs::path(job.cwd).is_absolute()) {
    return InvalidArgument(fmt::format("step '{}': cwd '{}' is not absolute", job.name, job.cwd));
  }
  if (!fs::path(job.log_path).is_absolute()) {
    return InvalidArgument(
        fmt::format("step '{}': log path '{}' is not absolute", job.name, job.log_path));
  }
  for (const auto& [name, value] : job.env) {
    if (name.empty() || name.find('=') != std::string::npos ||
        name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      return InvalidArgument(
          fmt::format("step '{}': invalid environment variable name '{}'", job.name, name));
    }
  }
  if (job.timeout_ms && *job.timeout_ms <= 0) {
    return InvalidArgument(
        fmt::format("step '{}': timeout must be positive, got {} ms", job.name, *job.timeout_ms));
  }
  return {};
}

// RAII holders for the posix_spawn objects.
struct SpawnAttr {
  posix_spawnattr_t attr;
  SpawnAttr() { posix_spawnattr_init(&attr); }
  ~SpawnAttr() { posix_spawnattr_destroy(&attr); }
};
struct SpawnActions {
  posix_spawn_file_actions_t actions;
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
};

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Spawns `/bin/sh -c cmd` in a new session with stdin /dev/null and
// stdout+stderr on `log_fd`. Returns the pid.
Result<pid_t> Spawn(const StepJob& job, int log_fd) {
  SpawnAttr attr;
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  // A new session (so a process group of its own), every signal at its
  // default disposition and unblocked: the runner's threads may block or
  // ignore signals (SIGPIPE, SIGINT) that the job must not inherit.
  posix_spawnattr_setflags(&attr.attr,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&attr.attr, &empty);
  posix_spawnattr_setsigdefault(&attr.attr, &all);

  SpawnActions actions;
  posix_spawn_file_actions_addopen(&actions.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions.actions, log_fd, 1);
  posix_spawn_file_actions_adddup2(&actions.actions, log_fd, 2);
  // Other threads' descriptors (sockets, other jobs' logs) stay out of the job.
  posix_spawn_file_actions_addclosefrom_np(&actions.actions, 3);
  posix_spawn_file_actions_addchdir_np(&actions.actions, job.cwd.c_str());

  std::vector<std::string> env = MergedEnvironment(job.env);
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = job.cmd;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/bin/sh", &actions.actions, &attr.attr, argv, envp.data());
  if (rc != 0) {
    return Internal(
        fmt::format("step '{}': cannot start /bin/sh in {}: {}", job.name, job.cwd, ErrnoText(rc)));
  }
  return pid;
}

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

// Waits up to `ms` for the job's leader to exit, without reaping it (the
// zombie keeps the pgid reserved). True when it exited.
bool WaitLeaderExit(pid_t pid, int pidfd, int ms) {
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int rc = ::poll(&p, 1, ms);
    if (rc < 0 && errno != EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }
  siginfo_t info{};
  while (true) {
    int rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (rc == 0) return info.si_pid == pid;
    if (errno != EINTR) return true;  // ECHILD: someone else reaped it; treat as exited
  }
}

class LocalExecutor final : public Executor {
 public:
  explicit LocalExecutor(LocalExecutorOptions options) : options_(options) {}

  std::string_view name() const override { return "local"; }

  Result<ExecResult> Run(const StepJob& job, const CancelToken& cancel) override {
    CAIRN_RETURN_IF_ERROR(ValidateJob(job));
    std::error_code ec;
    if (!fs::is_directory(job.cwd, ec)) {
      return MakeError(
          ErrorCode::kFailedPrecondition,
          fmt::format("step '{}': working folder {} does not exist", job.name, job.cwd));
    }
    ExecResult result;
    if (cancel.cancelled()) {
      result.outcome = Outcome::kCancelled;
      result.message = "cancelled before it started";
      return result;
    }
    CAIRN_ASSIGN_OR_RETURN(int log_fd_raw, OpenJobLog(job));
    Fd log_fd(log_fd_raw);

    Clock::time_point start = Clock::now();
    CAIRN_ASSIGN_OR_RETURN(pid_t pid, Spawn(job, log_fd.fd));
    ::close(log_fd.fd);
    log_fd.fd = -1;
    result.job_id = std::to_string(pid);
    Fd pidfd(PidfdOpen(pid));

    // Wait for the leader, stopping the group on timeout or cancel.
    std::optional<Outcome> stopped_by_us;
    while (!WaitLeaderExit(pid, pidfd.fd, kPollMs)) {
      if (stopped_by_us) continue;
      if (cancel.cancelled()) {
        stopped_by_us = Outcome::kCancelled;
      } else if (job.timeout_ms && MsSince(start) >= *job.timeout_ms) {
        stopped_by_us = Outcome::kTimedOut;
      }
      // StopGroup returns once the group is gone (the leader included), so
      // the next WaitLeaderExit sees the exit at once.
      if (stopped_by_us) StopGroup(pid, options_.kill_grace_ms);
    }
    // The leader exited (a zombie holding the pgid): whatever it left behind
    // in its group goes too, then the leader is reaped.
    if (GroupHasLiveMembers(pid)) StopGroup(pid, options_.kill_grace_ms);
    int status = 0;
    pid_t reaped;
    while ((reaped = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    result.duration_ms = MsSince(start);
    if (reaped != pid) {
      // Reaped elsewhere (SIGCHLD ignored by the process, a stray waitpid(-1)).
      result.outcome = stopped_by_us.value_or(Outcome::kLost);
      result.message = "the exit status of the job was lost (its process was reaped elsewhere)";
      return result;
    }

    if (WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
    }
    if (stopped_by_us == Outcome::kTimedOut) {
      result.outcome = Outcome::kTimedOut;
      result.message = fmt::format("timed out after {}", FormatDuration(*job.timeout_ms));
    } else if (stopped_by_us == Outcome::kCancelled) {
      result.outcome = Outcome::kCancelled;
      result.message = fmt::format("cancelled after {}", FormatDuration(result.duration_ms));
    } else if (WIFSIGNALED(status)) {
      result.outcome = Outcome::kFailed;
      result.message = fmt::format("killed by {}", SignalName(result.signal));
    } else if (result.exit_code == 0) {
      result.outcome = Outcome::kSucceeded;
      result.message = "exit code 0";
    } else {
      result.outcome = Outcome::kFailed;
      result.message = fmt::format("exit code {}", result.exit_code);
    }
    return result;
  }

 private:
  LocalExecutorOptions options_;
};

}  // namespace

std::unique_ptr<Executor> MakeLocalExecutor(LocalExecutorOptions options) {
  return std::make_unique<LocalExecutor>(options);
}

}  // namespace cairn::exec
