#pragma once
// The local executor: each job is `/bin/sh -c cmd` in a new session
// (setsid, so the job is its own process group), spawned with posix_spawn
// (or vfork+exec), stdin from /dev/null, stdout+stderr appended to the log.
// Timeout or cancel: SIGTERM to the whole group, SIGKILL to the group after
// `kill_grace_ms`; the job's grandchildren go too. When Run returns, no
// process of the group is left.
//
// Thread safety: Run may be called from many threads at once (each call
// waits for its own child with waitpid on its pid).
#include <cstdint>
#include <memory>

#include "exec/executor.h"

namespace cairn::exec {

struct LocalExecutorOptions {
  int64_t kill_grace_ms = 5000;
};

std::unique_ptr<Executor> MakeLocalExecutor(LocalExecutorOptions options = {});

}  // namespace cairn::exec
