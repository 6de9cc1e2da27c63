#pragma once
// A progress bar for long `cairn data` operations (add, checkout, push,
// fetch, pull): files, bytes and rate on one line of stderr, redrawn at most
// 10 times a second, only when stderr is a terminal (piped or redirected
// output never carries progress text). The line is cleared when the
// operation ends; the command then prints its summary on stdout.
//
// The operation reports into a data::ProgressCounter-like source through a
// poll function, so nothing on the operation's hot path waits for drawing.
//
// Thread safety: a ProgressBar draws from its own thread; construct and Stop
// it from one thread. FormatProgressLine is pure.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace cairn::cli {

struct ProgressSnapshot {
  uint64_t files_done = 0;
  uint64_t files_total = 0;  // 0: not known yet
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;  // 0: not known
};

// "adding  4,512/10,000 files  37.2 MiB/81.0 MiB  120.4 MiB/s  [#####-----]  45%"
// The percentage and bar follow bytes when their total is known, else files;
// without any total only the counts and rate are shown. The rate is
// bytes_done / seconds ("-" before any time passed). At most `width` columns
// (the bar shrinks or goes first, then the line is cut).
std::string FormatProgressLine(std::string_view label, const ProgressSnapshot& s, double seconds,
                               size_t width = 80);
// "1,234,567"
std::string FormatCount(uint64_t n);

// Whether to draw: CAIRN_PROGRESS=always forces it (drawing at once, even
// into a pipe: for tests and `| less -R`), =never turns it off; otherwise
// only when stderr is a terminal whose TERM is not "dumb". Arguments are
// isatty(2), $TERM and $CAIRN_PROGRESS (null when unset).
enum class ProgressMode { kOff, kTerminal, kForced };
ProgressMode DecideProgressMode(bool stderr_is_tty, const char* term, const char* setting);
ProgressMode ProgressModeFromEnvironment();

class ProgressBar {
 public:
  // Starts drawing `label` with what `poll` returns unless `mode` (default:
  // ProgressModeFromEnvironment()) is kOff, in which case it does nothing at
  // all. kTerminal draws first after 200 ms (quick commands never flash a
  // bar), kForced at once.
  ProgressBar(std::string label, std::function<ProgressSnapshot()> poll);
  ProgressBar(std::string label, std::function<ProgressSnapshot()> poll, ProgressMode mode);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool enabled() const { return enabled_; }
  // Stops drawing and clears the line. Idempotent.
  void Stop();

 private:
  void Run();

  std::string label_;
  std::function<ProgressSnapshot()> poll_;
  ProgressMode mode_;
  bool enabled_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cairn::cli
