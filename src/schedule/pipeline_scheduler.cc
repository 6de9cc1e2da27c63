// PipelineScheduler (see pipeline_scheduler.h): one ticking thread that
// claims due runs, and one worker thread per running child.

#include "schedule/pipeline_scheduler.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/log.h"

extern char** environ;

namespace cairn::schedule {
namespace {

constexpr size_t kLogTailBytes = 4096;
constexpr int kMaxQueuedPerTick = 16;
constexpr auto kPollInterval = std::chrono::milliseconds(50);

std::string DefaultOwner() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown");
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rd()));
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + suffix;
}

std::string SelfExe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("/proc/self/exe") : p.string();
}

std::string DurationText(int64_t ms) {
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  int64_t s = ms / 1000;
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

// The last bytes of a file (up to max_bytes); "" when unreadable.
std::string ReadTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  if (size <= 0) return "";
  std::streamoff start = size > static_cast<std::streamoff>(max_bytes)
                             ? size - static_cast<std::streamoff>(max_bytes)
                             : 0;
  in.seekg(start);
  std::string out(static_cast<size_t>(size - start), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

// Length of the valid UTF-8 sequence at text[i], 0 when invalid.
size_t Utf8SeqLen(std::string_view text, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = b(i);
  size_t n = 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4;
  else
    return 0;
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  }
  if (n == 3 && c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
  if (n == 3 && c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogates
  if (n == 4 && c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
  if (n == 4 && c == 0xF4 && b(i + 1) >= 0x90) return 0;  // > U+10FFFF
  return n;
}

}  // namespace

std::string Utf8Tail(std::string_view text, size_t max_bytes) {
  size_t start = text.size() > max_bytes ? text.size() - max_bytes : 0;
  // Skip continuation bytes of a character cut by the window.
  while (start < text.size() && start > 0 &&
         (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) {
    ++start;
  }
  std::string out;
  out.reserve(text.size() - start);
  for (size_t i = start; i < text.size();) {
    size_t n = Utf8SeqLen(text, i);
    if (n == 0 || text[i] == '\0') {
      out.push_back('?');
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

struct PipelineScheduler::Impl {
  PipelineScheduleService& service;
  const Clock& clock;
  PipelineSchedulerOptions options;
  std::string owner;
  std::string binary;

  // The ticking thread.
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::thread thread;
  std::mutex start_stop_mu;

  // Workers, one per running child, by run id.
  struct Worker {
    std::thread thread;
    int64_t schedule_id = 0;
    bool done = false;  // guarded by workers_mu
  };
  mutable std::mutex workers_mu;
  std::condition_variable workers_cv;
  std::map<int64_t, std::unique_ptr<Worker>> workers;  // guarded by workers_mu
  std::atomic<bool> stop_children{false};

  Impl(PipelineScheduleService& s, const Clock& c, PipelineSchedulerOptions o)
      : service(s), clock(c), options(std::move(o)) {
    owner = options.owner.empty() ? DefaultOwner() : options.owner;
    binary = options.cairn_binary.empty() ? SelfExe() : options.cairn_binary;
  }

  store::PipelineScheduleStore& st() { return service.store(); }

  // Joins the workers that finished.
  void Reap() {
    std::vector<std::unique_ptr<Worker>> finished;
    {
      std::lock_guard lock(workers_mu);
      for (auto it = workers.begin(); it != workers.end();) {
        if (it->second->done) {
          finished.push_back(std::move(it->second));
          it = workers.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& w : finished) {
      if (w->thread.joinable()) w->thread.join();
    }
  }

  bool RunningFor(int64_t schedule_id) {
    std::lock_guard lock(workers_mu);
    for (const auto& [id, w] : workers) {
      if (w->schedule_id == schedule_id && !w->done) return true;
    }
    return false;
  }

  void Finish(const store::PipelineScheduleRun& run, const std::string& status,
              std::optional<int> exit_code, std::string tail, const std::string& message) {
    store::RunCompletion c;
    c.run_id = run.id;
    c.owner = owner;
    c.status = status;
    c.exit_code = exit_code;
    c.log_tail = std::move(tail);
    c.message = message;
    c.finished_at = clock.NowMillis();
    Status s = st().FinishRun(c);
    if (!s) {
      CAIRN_LOG_WARN("pipeline scheduler: recording run {} of '{}' failed: {}", run.id,
                     run.schedule_name, s.error().message());
    } else {
      CAIRN_LOG_INFO("pipeline scheduler: run {} of '{}' (tick {}) {}: {}", run.id,
                     run.schedule_name, run.tick_ms, status, message);
    }
  }

  // Runs one claimed run to its end (on its worker thread).
  void Execute(const store::PipelineSchedule& s, const store::PipelineScheduleRun& run) {
    auto repo = service.ResolveRepo(s.repo);
    if (!repo) {
      Finish(run, "failed", std::nullopt, "", "not run: " + repo.error().message());
      return;
    }
    namespace fs = std::filesystem;
    const fs::path log_dir = fs::path(*repo) / ".cairn" / "logs";
    const std::string log_path =
        (log_dir / ("schedule-" + s.name + "-" + std::to_string(run.tick_ms) + ".log")).string();
    std::error_code ec;
    fs::create_directories(log_dir, ec);
    if (ec) {
      Finish(run, "failed", std::nullopt, "",
             "not run: cannot create " + log_dir.string() + ": " + ec.message());
      return;
    }
    if (Status p = st().SetLogPath(run.id, log_path); !p) {
      CAIRN_LOG_WARN("pipeline scheduler: run {}: {}", run.id, p.error().message());
    }

    std::vector<std::string> args = {binary, "repro"};
    if (s.jobs > 0) {
      args.push_back("--jobs");
      args.push_back(std::to_string(s.jobs));
    }
    for (const auto& t : s.targets) args.push_back(t);

    std::map<std::string, std::string> extra = options.env;
    extra["CAIRN_SCHEDULE_NAME"] = s.name;
    extra["CAIRN_SCHEDULE_RUN_ID"] = std::to_string(run.id);
    extra["CAIRN_SCHEDULE_TICK_MS"] = std::to_string(run.tick_ms);
    std::vector<std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      std::string_view kv(*e);
      std::string key(kv.substr(0, kv.find('=')));
      if (!extra.contains(key)) env.emplace_back(kv);
    }
    for (const auto& [k, v] : extra) env.push_back(k + "=" + v);

    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);  // the server blocks SIGTERM/SIGINT in its threads
    sigset_t def;
    sigemptyset(&def);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2, SIGCHLD}) {
      sigaddset(&def, sig);
    }
    posix_spawnattr_setsigdefault(&attr, &def);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    // Nothing else of the server (its sockets, database files) goes to the
    // child: an inherited client connection would stay open while it runs.
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawn_file_actions_addchdir_np(&fa, repo->c_str());
    pid_t pid = -1;
    int rc = posix_spawn(&pid, binary.c_str(), &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      Finish(run, "failed", std::nullopt, "",
             "not run: cannot start " + binary + ": " + std::strerror(rc));
      return;
    }

    using steady = std::chrono::steady_clock;
    const auto started = steady::now();
    auto last_renew = started;
    std::optional<steady::time_point> term_at;
    bool killed = false;
    std::string stop_reason;
    int wstatus = 0;
    for (;;) {
      pid_t w = waitpid(pid, &wstatus, WNOHANG);
      if (w == pid) break;
      if (w < 0 && errno != EINTR) {
        wstatus = -1;
        break;
      }
      const auto now = steady::now();
      const int64_t elapsed_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - started).count();
      if (!term_at) {
        if (stop_children.load()) {
          stop_reason = "stopped: the server is shutting down";
        } else if (options.run_timeout_ms > 0 && elapsed_ms > options.run_timeout_ms) {
          stop_reason = "timed out after " + DurationText(options.run_timeout_ms);
        }
        if (!stop_reason.empty()) {
          kill(-pid, SIGTERM);
          term_at = now;
        }
      } else if (!killed && now - *term_at >= std::chrono::milliseconds(options.kill_grace_ms)) {
        kill(-pid, SIGKILL);
        killed = true;
      }
      if (now - last_renew >=
          std::chrono::milliseconds(std::max<int64_t>(options.lease_ms / 3, 1))) {
        last_renew = now;
        Status r = st().RenewLease(run.id, owner, clock.NowMillis() + options.lease_ms);
        if (!r) {
          CAIRN_LOG_WARN("pipeline scheduler: renewing the lease of run {}: {}", run.id,
                         r.error().message());
        }
      }
      std::this_thread::sleep_for(kPollInterval);
    }
    // Whatever the command left behind in its group goes with it.
    kill(-pid, SIGKILL);

    std::string tail = Utf8Tail(ReadTail(log_path, kLogTailBytes), kLogTailBytes);
    std::optional<int> exit_code;
    std::string message;
    bool ok = false;
    if (wstatus == -1) {
      message = "lost track of the child process " + std::to_string(pid);
    } else if (WIFEXITED(wstatus)) {
      exit_code = WEXITSTATUS(wstatus);
      ok = *exit_code == 0 && stop_reason.empty();
      message = "exit code " + std::to_string(*exit_code);
    } else if (WIFSIGNALED(wstatus)) {
      message = "killed by signal " + std::to_string(WTERMSIG(wstatus));
    }
    if (!stop_reason.empty()) message = stop_reason + " (" + message + ")";
    Finish(run, ok ? "succeeded" : "failed", exit_code, std::move(tail), message);
  }

  void StartRun(const store::PipelineSchedule& s, const store::PipelineScheduleRun& run) {
    std::lock_guard lock(workers_mu);
    auto worker = std::make_unique<Worker>();
    worker->schedule_id = s.id;
    Worker* w = worker.get();
    workers[run.id] = std::move(worker);
    w->thread = std::thread([this, s, run, w] {
      try {
        Execute(s, run);
      } catch (const std::exception& e) {
        CAIRN_LOG_ERROR("pipeline scheduler: run {} threw: {}", run.id, e.what());
      }
      {
        std::lock_guard done_lock(workers_mu);
        w->done = true;
      }
      workers_cv.notify_all();
    });
  }

  Result<int> RunDue() {
    Reap();
    if (stop_children.load()) return 0;
    const int64_t now = clock.NowMillis();
    CAIRN_ASSIGN_OR_RETURN(int64_t lost, st().MarkLostRuns(now));
    if (lost > 0) {
      CAIRN_LOG_WARN("pipeline scheduler: marked {} run(s) lost (their lease ended)", lost);
    }
    int started = 0;
    CAIRN_ASSIGN_OR_RETURN(std::vector<store::PipelineSchedule> all, service.List());
    for (const store::PipelineSchedule& s : all) {
      if (!s.enabled || s.next_tick_ms > now) continue;
      auto cron = CronSchedule::Parse(s.cron);
      if (!cron) {
        CAIRN_LOG_WARN("pipeline scheduler: schedule '{}' has an invalid cron: {}", s.name,
                       cron.error().message());
        continue;
      }
      if (s.next_tick_ms <= 0) {
        (void)st().AdvanceNextTick(s.id, s.next_tick_ms, cron->Next(now));
        continue;
      }
      std::optional<DueTick> due = LatestDueTick(*cron, s.next_tick_ms, now);
      if (!due) continue;
      if (RunningFor(s.id)) continue;
      CAIRN_ASSIGN_OR_RETURN(bool busy, st().HasActiveRun(s.id));
      if (busy) continue;  // ticks coalesce into one run after it
      std::string message;
      if (due->skipped_earlier) {
        message = "catch-up: ticks from " + FormatUtc(s.next_tick_ms) + " until " +
                  FormatUtc(due->tick_ms) +
                  " were missed (server down or busy); ran only the latest, once";
      }
      auto claim =
          st().ClaimTick(s.id, due->tick_ms, "cron", owner, now, options.lease_ms, message);
      auto advanced = st().AdvanceNextTick(s.id, s.next_tick_ms, cron->Next(due->tick_ms));
      if (!advanced) {
        CAIRN_LOG_WARN("pipeline scheduler: advancing '{}': {}", s.name,
                       advanced.error().message());
      }
      if (!claim) {
        CAIRN_LOG_WARN("pipeline scheduler: claiming a tick of '{}': {}", s.name,
                       claim.error().message());
        continue;
      }
      if (!claim->has_value()) continue;  // another scheduler has it
      StartRun(s, **claim);
      ++started;
    }
    for (int i = 0; i < kMaxQueuedPerTick; ++i) {
      CAIRN_ASSIGN_OR_RETURN(std::optional<store::PipelineScheduleRun> q,
                             st().ClaimQueuedRun(owner, now, options.lease_ms));
      if (!q) break;
      auto s = service.Get(q->schedule_name);
      if (!s) {
        Finish(*q, "failed", std::nullopt, "", "not run: " + s.error().message());
        continue;
      }
      StartRun(*s, *q);
      ++started;
    }
    return started;
  }

  void Tick() {
    try {
      auto n = RunDue();
      if (!n) CAIRN_LOG_WARN("pipeline scheduler: tick failed: {}", n.error().message());
    } catch (const std::exception& e) {
      CAIRN_LOG_ERROR("pipeline scheduler: tick threw: {}", e.what());
    }
  }

  void Loop() {
    std::unique_lock lock(mu);
    while (!stopping) {
      lock.unlock();
      Tick();
      lock.lock();
      cv.wait_for(lock, options.interval, [this] { return stopping; });
    }
  }

  void StopChildren() {
    stop_children.store(true);
    std::vector<std::unique_ptr<Worker>> all;
    {
      std::lock_guard lock(workers_mu);
      for (auto& [id, w] : workers) all.push_back(std::move(w));
      workers.clear();
    }
    for (auto& w : all) {
      if (w->thread.joinable()) w->thread.join();
    }
  }
};

PipelineScheduler::PipelineScheduler(PipelineScheduleService& service, const Clock& clock,
                                     PipelineSchedulerOptions options)
    : impl_(std::make_unique<Impl>(service, clock, std::move(options))) {}

PipelineScheduler::~PipelineScheduler() { Stop(); }

void PipelineScheduler::Start() {
  std::lock_guard guard(impl_->start_stop_mu);
  if (impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = false;
  }
  impl_->stop_children.store(false);
  impl_->thread = std::thread([this] { impl_->Loop(); });
}

void PipelineScheduler::Stop() {
  std::lock_guard guard(impl_->start_stop_mu);
  if (impl_->thread.joinable()) {
    {
      std::lock_guard lock(impl_->mu);
      impl_->stopping = true;
    }
    impl_->cv.notify_all();
    impl_->thread.join();
  }
  impl_->StopChildren();
}

Result<int> PipelineScheduler::RunDue() { return impl_->RunDue(); }

bool PipelineScheduler::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->workers_mu);
  bool idle = impl_->workers_cv.wait_for(lock, timeout, [this] {
    for (const auto& [id, w] : impl_->workers) {
      if (!w->done) return false;
    }
    return true;
  });
  lock.unlock();
  impl_->Reap();
  return idle;
}

int PipelineScheduler::active_runs() const {
  std::lock_guard lock(impl_->workers_mu);
  int n = 0;
  for (const auto& [id, w] : impl_->workers) n += w->done ? 0 : 1;
  return n;
}

const std::string& PipelineScheduler::owner() const { return impl_->owner; }

}  // namespace cairn::schedule
