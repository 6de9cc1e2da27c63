#pragma once
// The pipeline scheduler thread of `cairn server` (the same kind of thread
// as monitor::MonitorScheduler): every `interval` it
//   1. marks "lost" the running runs whose owner's lease ended (a server
//      that died mid-run): they are recorded, never rerun;
//   2. for each enabled schedule whose next cron time has passed, claims the
//      latest due tick (store::PipelineScheduleStore::ClaimTick: once across
//      replicas and restarts; earlier missed ticks are skipped and the run's
//      message says so: a cron catch-up of 1) and advances next_tick_ms. A
//      schedule whose previous run is still queued or running is not
//      claimed: its ticks coalesce into one run after it;
//   3. claims queued manual runs (`cairn pipeline schedule trigger`);
// and starts each claimed run as a child process in the repository folder:
//   <cairn_binary> repro [--jobs N] [targets...]
// in its own session (a process group), stdin /dev/null, stdout and stderr
// to <repo>/.cairn/logs/schedule-<name>-<tick>.log, no other file
// descriptor of the server (closefrom 3), signals unblocked and
// default, environment inherited plus CAIRN_SCHEDULE_NAME,
// CAIRN_SCHEDULE_RUN_ID, CAIRN_SCHEDULE_TICK_MS and `options.env`. While it
// runs, a worker thread renews the run's lease every lease/3; at the end it
// records the status (exit 0: succeeded, else failed), the exit code, the
// last 4 KiB of the log (as valid UTF-8) and a message ("exit code 2",
// "killed by signal 9", "timed out after 30s", "stopped: the server is
// shutting down"). A run past `run_timeout_ms` gets SIGTERM to its process
// group, SIGKILL after `kill_grace_ms`; so does every run on Stop().
//
// The repository is checked again (service.ResolveRepo) before each run: a
// repository that left the pipeline root, or a server without one, fails
// the run with that message, running nothing.
//
// Thread safety: Start/Stop from one controlling thread. RunDue, WaitIdle
// and active_runs may be called from any thread, also while the thread
// ticks (claims are store transactions, so two concurrent ticks never start
// a run twice). The service and clock must outlive the scheduler.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/error.h"
#include "schedule/schedule_service.h"

namespace cairn::schedule {

struct PipelineSchedulerOptions {
  // The `cairn` binary run as `<binary> repro ...`; "" = this process's own
  // executable (/proc/self/exe, resolved at construction).
  std::string cairn_binary;
  std::chrono::milliseconds interval{1000};
  int64_t lease_ms = 60'000;
  int64_t run_timeout_ms = 0;  // 0: none
  int64_t kill_grace_ms = 5'000;
  // Who claims runs; "" = host:pid:random.
  std::string owner;
  // Added to every child's environment.
  std::map<std::string, std::string> env;
};

class PipelineScheduler {
 public:
  PipelineScheduler(PipelineScheduleService& service, const Clock& clock,
                    PipelineSchedulerOptions options = {});
  ~PipelineScheduler();  // Stop()
  PipelineScheduler(const PipelineScheduler&) = delete;
  PipelineScheduler& operator=(const PipelineScheduler&) = delete;

  void Start();
  // Stops the thread after its tick in progress, then stops every running
  // child (SIGTERM, SIGKILL after kill_grace_ms) and records those runs
  // failed. Idempotent.
  void Stop();

  // One tick (steps 1-3 above) at clock.NowMillis(); returns the runs it
  // started (their children run on worker threads). For tests with a fake
  // clock, and the thread's loop.
  Result<int> RunDue();
  // Waits until no child of this scheduler runs; false on timeout.
  bool WaitIdle(std::chrono::milliseconds timeout);
  // Children running now.
  int active_runs() const;
  const std::string& owner() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The last `max_bytes` of `text` as valid UTF-8 without NULs: the cut moves
// forward to a character boundary, invalid bytes become '?'. Exposed for tests.
std::string Utf8Tail(std::string_view text, size_t max_bytes);

}  // namespace cairn::schedule
