#pragma once
// How the long-running commands (`cairn server`, `cairn serve`) stop:
// SIGINT and SIGTERM are blocked in every thread (BlockTerminationSignals
// must run before the process starts any thread, so all inherit the mask)
// and received by one watcher thread with sigtimedwait. The first signal
// runs the graceful stop on a helper thread (in-flight requests finish); a
// second one exits at once with status 1.

#include <signal.h>

#include <functional>
#include <string_view>

namespace cairn::cli {

sigset_t BlockTerminationSignals();

// Blocks in `wait` (which returns once the service stopped) while watching
// for the signals; `stop` is run on the first. Prints "<who>: received
// SIGTERM, <doing>" and "<who>: second signal, exiting now" to stderr.
// Returns after `wait` returned and `stop` (if it ran) finished.
void RunUntilStopped(const sigset_t& signals, std::string_view who, std::string_view doing,
                     const std::function<void()>& stop, const std::function<void()>& wait);

}  // namespace cairn::cli
