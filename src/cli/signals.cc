#include "cli/signals.h"

#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "cli/command.h"

namespace cairn::cli {

sigset_t BlockTerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

void RunUntilStopped(const sigset_t& signals, std::string_view who, std::string_view doing,
                     const std::function<void()>& stop, const std::function<void()>& wait) {
  const std::string name(who);
  const std::string action(doing);
  std::atomic<bool> done{false};
  std::thread stopper;  // runs the graceful stop; touched by the watcher, joined after it
  std::thread watcher([&] {
    const timespec tick{0, 200'000'000};
    bool stopping = false;
    while (!done.load()) {
      int sig = sigtimedwait(&signals, nullptr, &tick);
      if (sig != SIGINT && sig != SIGTERM) continue;
      if (stopping) {
        std::fprintf(stderr, "%s: second signal, exiting now\n", name.c_str());
        std::_Exit(kExitError);
      }
      stopping = true;
      std::fprintf(stderr, "%s: received %s, %s\n", name.c_str(),
                   sig == SIGINT ? "SIGINT" : "SIGTERM", action.c_str());
      stopper = std::thread(stop);
    }
  });
  wait();
  // wait() may return while the rest of the stop (e.g. draining batchers)
  // still runs on the stopper thread: joined below.
  done.store(true);
  watcher.join();
  if (stopper.joinable()) stopper.join();
}

}  // namespace cairn::cli
