#include "exec/local_executor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace cairn::exec {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A process is gone when it no longer exists or is a zombie waiting for
// PID 1 to reap it (it runs nothing any more).
bool ProcessGone(pid_t pid) {
  std::string stat = ReadAll(fs::path("/proc") / std::to_string(pid) / "stat");
  if (stat.empty()) return true;
  size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() &&
         (stat[paren + 2] == 'Z' || stat[paren + 2] == 'X');
}

// Any live (non-zombie) process whose process group is `pgid`.
bool GroupAlive(pid_t pgid) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.empty() || name[0] < '0' || name[0] > '9') continue;
    std::string stat = ReadAll(entry.path() / "stat");
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 1));
    char state = 0;
    long ppid = 0, pgrp = 0;
    if (!(rest >> state >> ppid >> pgrp)) continue;
    if (pgrp == pgid && state != 'Z' && state != 'X') return true;
  }
  return false;
}

int64_t MsSince(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

class LocalExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "cairn-exec-local-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  StepJob Job(std::string cmd) {
    StepJob job;
    job.name = "step";
    job.cmd = std::move(cmd);
    job.cwd = dir_.string();
    job.log_path = (dir_ / "logs" / "step.log").string();
    return job;
  }

  pid_t ReadPid(const std::string& file) {
    std::string text = ReadAll(dir_ / file);
    return text.empty() ? -1 : static_cast<pid_t>(std::stol(text));
  }

  fs::path dir_;
  CancelToken no_cancel_;
};

TEST(OutcomeNameTest, NamesEveryOutcome) {
  EXPECT_EQ(OutcomeName(Outcome::kSucceeded), "succeeded");
  EXPECT_EQ(OutcomeName(Outcome::kFailed), "failed");
  EXPECT_EQ(OutcomeName(Outcome::kTimedOut), "timed out");
  EXPECT_EQ(OutcomeName(Outcome::kCancelled), "cancelled");
  EXPECT_EQ(OutcomeName(Outcome::kLost), "lost");
}

TEST_F(LocalExecutorTest, RunsInCwdAndAppendsBothStreamsToTheLog) {
  auto executor = MakeLocalExecutor();
  EXPECT_EQ(executor->name(), "local");
  fs::create_directories(dir_ / "logs");
  { std::ofstream(dir_ / "logs" / "step.log") << "earlier attempt\n"; }
  auto r = executor->Run(Job("echo to-stdout; echo to-stderr >&2; pwd; echo made > out.txt"),
                         no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kSucceeded);
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->signal, 0);
  EXPECT_EQ(r->message, "exit code 0");
  EXPECT_GT(std::stol(r->job_id), 0);
  EXPECT_GE(r->duration_ms, 0);
  EXPECT_EQ(ReadAll(dir_ / "out.txt"), "made\n");
  EXPECT_EQ(ReadAll(dir_ / "logs" / "step.log"),
            "earlier attempt\nto-stdout\nto-stderr\n" + fs::canonical(dir_).string() + "\n");
}

TEST_F(LocalExecutorTest, CreatesTheLogFolder) {
  auto executor = MakeLocalExecutor();
  StepJob job = Job("echo hi");
  job.log_path = (dir_ / "a" / "b" / "c.log").string();
  auto r = executor->Run(job, no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(ReadAll(dir_ / "a" / "b" / "c.log"), "hi\n");
}

TEST_F(LocalExecutorTest, NonZeroExitIsFailedWithItsCode) {
  auto r = MakeLocalExecutor()->Run(Job("echo before; exit 3"), no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kFailed);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->signal, 0);
  EXPECT_EQ(r->message, "exit code 3");
}

TEST_F(LocalExecutorTest, DeathBySignalIsFailedWithTheSignal) {
  auto r = MakeLocalExecutor()->Run(Job("kill -KILL $$"), no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kFailed);
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->message, "killed by SIGKILL");
}

TEST_F(LocalExecutorTest, EnvIsMergedOverTheInheritedEnvironment) {
  ASSERT_EQ(::setenv("CAIRN_EXEC_TEST_INHERITED", "from-parent", 1), 0);
  ASSERT_EQ(::setenv("CAIRN_EXEC_TEST_OVERRIDDEN", "old", 1), 0);
  StepJob job =
      Job("printf '%s|%s|%s' \"$CAIRN_EXEC_TEST_INHERITED\" \"$CAIRN_EXEC_TEST_OVERRIDDEN\" "
          "\"$TRICKY\" > env.txt");
  const std::string tricky = "a 'quoted' \"double\" $HOME `x` \\ ; & | * \n second line";
  job.env = {{"CAIRN_EXEC_TEST_OVERRIDDEN", "new value"}, {"TRICKY", tricky}};
  auto r = MakeLocalExecutor()->Run(job, no_cancel_);
  ::unsetenv("CAIRN_EXEC_TEST_INHERITED");
  ::unsetenv("CAIRN_EXEC_TEST_OVERRIDDEN");
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->outcome, Outcome::kSucceeded) << r->message;
  EXPECT_EQ(ReadAll(dir_ / "env.txt"), "from-parent|new value|" + tricky);
}

TEST_F(LocalExecutorTest, StdinIsDevNull) {
  // `cat` with an inherited terminal or pipe would block; /dev/null ends it.
  StepJob job = Job("cat > stdin.txt; echo done");
  job.timeout_ms = 10000;
  auto r = MakeLocalExecutor()->Run(job, no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kSucceeded) << r->message;
  EXPECT_TRUE(fs::exists(dir_ / "stdin.txt"));
  EXPECT_EQ(ReadAll(dir_ / "stdin.txt"), "");
  EXPECT_LT(r->duration_ms, 5000);
}

TEST_F(LocalExecutorTest, RunsInItsOwnSessionAndProcessGroup) {
  auto r = MakeLocalExecutor()->Run(Job("ps -o pid=,pgid=,sid= -p $$ > ids.txt"), no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->outcome, Outcome::kSucceeded) << r->message;
  std::istringstream ids(ReadAll(dir_ / "ids.txt"));
  long pid = 0, pgid = 0, sid = 0;
  ASSERT_TRUE(ids >> pid >> pgid >> sid) << ReadAll(dir_ / "ids.txt");
  EXPECT_EQ(std::to_string(pid), r->job_id);
  EXPECT_EQ(pgid, pid);
  EXPECT_EQ(sid, pid);
  EXPECT_NE(pgid, ::getpgrp());
}

TEST_F(LocalExecutorTest, TimeoutKillsTheWholeGroupGrandchildrenIncluded) {
  StepJob job = Job("sh -c 'sleep 100 & echo $! > grandchild.pid; wait' & wait");
  job.timeout_ms = 700;
  auto start = SteadyClock::now();
  auto r = MakeLocalExecutor()->Run(job, no_cancel_);
  int64_t elapsed = MsSince(start);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kTimedOut);
  EXPECT_EQ(r->message, "timed out after 700ms");
  EXPECT_EQ(r->signal, SIGTERM);
  EXPECT_GE(r->duration_ms, 700);
  EXPECT_LT(elapsed, 4000);  // SIGTERM sufficed: no 5 s grace wait
  pid_t grandchild = ReadPid("grandchild.pid");
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(ProcessGone(grandchild)) << "sleep " << grandchild << " survived the timeout";
  EXPECT_FALSE(GroupAlive(static_cast<pid_t>(std::stol(r->job_id))));
}

TEST_F(LocalExecutorTest, SigtermIgnoredEscalatesToSigkillAfterTheGrace) {
  // `trap '' TERM` makes SIGTERM ignored for the shell and for `sleep` it execs.
  StepJob job = Job("trap '' TERM; sleep 100 & echo $! > child.pid; wait");
  job.timeout_ms = 300;
  auto start = SteadyClock::now();
  auto r = MakeLocalExecutor({.kill_grace_ms = 600})->Run(job, no_cancel_);
  int64_t elapsed = MsSince(start);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kTimedOut);
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_GE(elapsed, 300 + 600);
  EXPECT_LT(elapsed, 5000);
  pid_t child = ReadPid("child.pid");
  ASSERT_GT(child, 0);
  EXPECT_TRUE(ProcessGone(child));
}

TEST_F(LocalExecutorTest, CancelStopsTheGroup) {
  CancelToken cancel;
  StepJob job = Job("sleep 100 & echo $! > child.pid; wait");
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    cancel.Cancel();
  });
  auto start = SteadyClock::now();
  auto r = MakeLocalExecutor()->Run(job, cancel);
  int64_t elapsed = MsSince(start);
  canceller.join();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kCancelled);
  EXPECT_GE(elapsed, 400);
  EXPECT_LT(elapsed, 3000);
  pid_t child = ReadPid("child.pid");
  ASSERT_GT(child, 0);
  EXPECT_TRUE(ProcessGone(child));
}

TEST_F(LocalExecutorTest, AlreadyCancelledTokenStartsNothing) {
  CancelToken cancel;
  cancel.Cancel();
  auto r = MakeLocalExecutor()->Run(Job("touch started"), cancel);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kCancelled);
  EXPECT_FALSE(fs::exists(dir_ / "started"));
}

TEST_F(LocalExecutorTest, LeftoverBackgroundProcessesAreStoppedWhenTheJobExits) {
  auto start = SteadyClock::now();
  auto r = MakeLocalExecutor()->Run(Job("sleep 100 & echo $! > child.pid; exit 0"), no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kSucceeded);
  EXPECT_LT(MsSince(start), 4000);
  pid_t child = ReadPid("child.pid");
  ASSERT_GT(child, 0);
  EXPECT_TRUE(ProcessGone(child));
}

TEST_F(LocalExecutorTest, ShortJobsReturnPromptly) {
  StepJob job = Job("true");
  job.timeout_ms = 60000;
  auto r = MakeLocalExecutor()->Run(job, no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kSucceeded);
  EXPECT_LT(r->duration_ms, 1000);
}

TEST_F(LocalExecutorTest, ManyConcurrentRunsFromThreads) {
  auto executor = MakeLocalExecutor();
  constexpr int kJobs = 8;
  std::vector<Result<ExecResult>> results(kJobs, Internal("not run"));
  std::vector<std::thread> threads;
  auto start = SteadyClock::now();
  for (int i = 0; i < kJobs; ++i) {
    threads.emplace_back([&, i] {
      StepJob job = Job(i % 2 == 0 ? "sleep 1; echo job $N" : "sleep 1; echo job $N; exit $N");
      job.name = "job" + std::to_string(i);
      job.env = {{"N", std::to_string(i)}};
      job.log_path = (dir_ / "logs" / (job.name + ".log")).string();
      results[i] = executor->Run(job, no_cancel_);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LT(MsSince(start), kJobs * 1000 / 2);  // they ran side by side
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(results[i].has_value()) << results[i].error().ToString();
    EXPECT_EQ(results[i]->exit_code, i % 2 == 0 ? 0 : i);
    EXPECT_EQ(results[i]->outcome, i % 2 == 0 ? Outcome::kSucceeded : Outcome::kFailed);
    EXPECT_EQ(ReadAll(dir_ / "logs" / ("job" + std::to_string(i) + ".log")),
              "job " + std::to_string(i) + "\n");
  }
}

TEST_F(LocalExecutorTest, BadJobsAreErrorsThatSayWhy) {
  auto executor = MakeLocalExecutor();
  StepJob relative = Job("true");
  relative.cwd = "relative/dir";
  auto r = executor->Run(relative, no_cancel_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("relative/dir"), std::string::npos);

  StepJob missing = Job("true");
  missing.cwd = (dir_ / "nope").string();
  r = executor->Run(missing, no_cancel_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("nope"), std::string::npos);

  StepJob bad_log = Job("touch ran");
  { std::ofstream(dir_ / "a-file") << "x"; }
  bad_log.log_path = (dir_ / "a-file" / "step.log").string();
  r = executor->Run(bad_log, no_cancel_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("a-file"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "ran"));

  StepJob bad_env = Job("true");
  bad_env.env = {{"A=B", "x"}};
  r = executor->Run(bad_env, no_cancel_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn::exec
