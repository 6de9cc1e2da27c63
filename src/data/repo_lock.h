#pragma once
// The repository lock (docs/pipelines.md): an exclusive flock(2) on
// .cairn/tmp/lock held by every command that writes pointers, the cache's
// link farm, cairn.lock or the workspace (data add/checkout/pull/gc, repro).
// Readers (status, dag, push) do not take it.
//
// The lock dies with its process (flock semantics), so a killed command never
// leaves the repository locked. The lock file records the holder's pid and
// command line for the message a waiting command prints.
//
// Errors: kFailedPrecondition when `wait` is false and another process holds
// the lock ("the repository is locked by pid 123 (cairn repro); wait for it
// or stop it"); kInternal for I/O errors.
// Thread safety: one RepoLock per process at a time; not reentrant.
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "data/workspace.h"

namespace cairn::data {

class RepoLock {
 public:
  // Takes the lock. With `wait`, blocks until it is free, printing once to
  // stderr who holds it (when `announce`). `what` names the command for
  // others' messages ("cairn repro").
  static Result<std::unique_ptr<RepoLock>> Acquire(const Workspace& ws, std::string_view what,
                                                   bool wait, bool announce = true);
  ~RepoLock();
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;

 private:
  explicit RepoLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace cairn::data
