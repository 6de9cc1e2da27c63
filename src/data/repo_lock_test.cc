#include "data/repo_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "data/data_test_util.h"

namespace cairn::data {
namespace {

using testing::TempDir;

// Runs `fn` in a forked child; returns its exit status (or -1).
template <typename Fn>
pid_t ForkChild(Fn fn) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(fn());
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(RepoLock, SecondProcessIsRefusedNamingTheHolder) {
  TempDir t;
  auto ws = InitWorkspace(t.path());
  ASSERT_TRUE(ws);
  auto held = RepoLock::Acquire(*ws, "cairn repro", /*wait=*/false);
  ASSERT_TRUE(held) << held.error().ToString();
  const std::string expected = "locked by pid " + std::to_string(::getpid()) + " (cairn repro)";

  pid_t child = ForkChild([&] {
    auto second = RepoLock::Acquire(*ws, "cairn data add", false);
    if (second) return 10;
    if (second.error().code() != ErrorCode::kFailedPrecondition) return 11;
    if (second.error().message().find(expected) == std::string::npos) return 12;
    return 0;
  });
  EXPECT_EQ(WaitExit(child), 0);

  held->reset();  // release
  pid_t after = ForkChild([&] { return RepoLock::Acquire(*ws, "cairn data add", false) ? 0 : 1; });
  EXPECT_EQ(WaitExit(after), 0);
}

TEST(RepoLock, WaiterGetsTheLockWhenReleased) {
  TempDir t;
  auto ws = InitWorkspace(t.path());
  ASSERT_TRUE(ws);
  // The holder is the child (a forked child would inherit a lock the parent
  // held, through the shared open file description).
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ForkChild([&] {
    auto lock = RepoLock::Acquire(*ws, "holder", false);
    if (!lock) return 1;
    char c = 'x';
    if (::write(ready[1], &c, 1) != 1) return 2;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return 0;
  });
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ::close(ready[1]);
  auto refused = RepoLock::Acquire(*ws, "impatient", false);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("(holder)"), std::string::npos);
  auto start = std::chrono::steady_clock::now();
  auto waited = RepoLock::Acquire(*ws, "waiter", /*wait=*/true, /*announce=*/false);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(waited) << waited.error().ToString();
  EXPECT_GE(elapsed, std::chrono::milliseconds(100));
  EXPECT_EQ(WaitExit(child), 0);
}

TEST(RepoLock, ReleasedWhenTheHolderDies) {
  TempDir t;
  auto ws = InitWorkspace(t.path());
  ASSERT_TRUE(ws);
  pid_t child = ForkChild([&] {
    auto lock = RepoLock::Acquire(*ws, "dying", false);
    if (!lock) return 1;
    ::_exit(0);  // no destructor: the kernel drops the flock
  });
  ASSERT_EQ(WaitExit(child), 0);
  auto lock = RepoLock::Acquire(*ws, "next", false);
  EXPECT_TRUE(lock) << lock.error().ToString();
}

}  // namespace
}  // namespace cairn::data
