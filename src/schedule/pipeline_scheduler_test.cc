// PipelineScheduler with a fake clock, a SQLite store and a real child: a
// shell script standing in for `cairn` (schedule_test_util.h).

#include "schedule/pipeline_scheduler.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "schedule/schedule_test_util.h"
#include "support/temp_files.h"

namespace cairn::schedule {
namespace {

using testing::ScheduleFixture;
using testing::WriteFile;

constexpr int64_t kT = 1'795'694'400'000;
constexpr auto kWait = std::chrono::seconds(20);

// True while `pid` is a live process (a zombie counts as gone).
bool Alive(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

class PipelineSchedulerTest : public ScheduleFixture {
 protected:
  PipelineSchedulerOptions Options(const std::string& owner = "test:1:a") {
    PipelineSchedulerOptions o;
    o.cairn_binary = binary_;
    o.owner = owner;
    o.interval = std::chrono::milliseconds(50);
    o.kill_grace_ms = 2000;
    return o;
  }
  std::string Real(const std::filesystem::path& p) {
    return std::filesystem::canonical(p).string();
  }
};

TEST_F(PipelineSchedulerTest, ADueTickRunsReproInTheRepositoryOnce) {
  Add("nightly", "@every 10s", {"train", "evaluate@small"}, 2);
  PipelineScheduler sched(*service_, clock_, Options());
  auto n = sched.RunDue();
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 0);  // not due yet
  clock_.Advance(10'000);
  n = sched.RunDue();
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 1);
  ASSERT_TRUE(sched.WaitIdle(kWait));
  auto runs = Runs("nightly");
  ASSERT_EQ(runs.size(), 1u);
  const store::PipelineScheduleRun& r = runs[0];
  EXPECT_EQ(r.status, "succeeded") << r.message << "\n" << r.log_tail;
  EXPECT_EQ(r.tick_ms, kT + 10'000);
  EXPECT_EQ(r.triggered_by, "cron");
  EXPECT_EQ(r.owner, "test:1:a");
  ASSERT_TRUE(r.exit_code.has_value());
  EXPECT_EQ(*r.exit_code, 0);
  EXPECT_EQ(r.message, "exit code 0");
  EXPECT_EQ(r.started_at, kT + 10'000);
  EXPECT_GE(r.finished_at, r.started_at);
  EXPECT_NE(r.log_tail.find("args: repro --jobs 2 train evaluate@small\n"), std::string::npos)
      << r.log_tail;
  EXPECT_NE(r.log_tail.find("pwd: " + Real(repo_) + "\n"), std::string::npos) << r.log_tail;
  EXPECT_NE(r.log_tail.find("schedule: nightly tick: " + std::to_string(kT + 10'000) +
                            " run: " + std::to_string(r.id)),
            std::string::npos)
      << r.log_tail;
  const std::string log =
      Real(repo_) + "/.cairn/logs/schedule-nightly-" + std::to_string(kT + 10'000) + ".log";
  EXPECT_EQ(r.log_path, log);
  EXPECT_EQ(test::ReadFile(log), r.log_tail);
  // The schedule moved on: the same time claims nothing again.
  auto s = service_->Get("nightly");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->next_tick_ms, kT + 20'000);
  n = sched.RunDue();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0);
  clock_.Advance(10'000);
  n = sched.RunDue();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  ASSERT_TRUE(sched.WaitIdle(kWait));
  EXPECT_EQ(Runs("nightly").size(), 2u);
}

TEST_F(PipelineSchedulerTest, TheChildInheritsNoOtherFileDescriptor) {
  // An fd the server left inheritable (as sockets may be) stays out of the child.
  int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::dup2(fd, 77), 77);
  ::close(fd);
  Add("fds", "@every 10s");
  PipelineScheduler sched(*service_, clock_, Options());
  clock_.Advance(10'000);
  ASSERT_EQ(sched.RunDue().value_or(-1), 1);
  ASSERT_TRUE(sched.WaitIdle(kWait));
  ::close(77);
  auto runs = Runs("fds");
  ASSERT_EQ(runs.size(), 1u);
  const std::string& tail = runs[0].log_tail;
  size_t at = tail.find("fds: ");
  ASSERT_NE(at, std::string::npos) << tail;
  std::string fds = tail.substr(at, tail.find('\n', at) - at) + " ";
  for (const char* std_fd : {" 0 ", " 1 ", " 2 "}) {
    EXPECT_NE(fds.find(std_fd), std::string::npos) << fds;
  }
  EXPECT_EQ(fds.find(" 77 "), std::string::npos) << fds;
}

TEST_F(PipelineSchedulerTest, TwoSchedulersOnOneStoreRunATickOnce) {
  Add("shared", "@every 10s");
  PipelineScheduler a(*service_, clock_, Options("replica-a"));
  PipelineScheduler b(*service_, clock_, Options("replica-b"));
  clock_.Advance(10'000);
  std::atomic<int> started{0};
  std::thread ta([&] { started += a.RunDue().value_or(0); });
  std::thread tb([&] { started += b.RunDue().value_or(0); });
  ta.join();
  tb.join();
  EXPECT_EQ(started.load(), 1);
  ASSERT_TRUE(a.WaitIdle(kWait));
  ASSERT_TRUE(b.WaitIdle(kWait));
  auto runs = Runs("shared");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "succeeded");
}

TEST_F(PipelineSchedulerTest, MissedTicksRunTheLatestOnceAndSaySo) {
  Add("catchup", "@every 10s");
  PipelineScheduler sched(*service_, clock_, Options());
  clock_.Advance(95'000);  // ticks at +10 s ... +90 s were missed
  auto n = sched.RunDue();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1);
  ASSERT_TRUE(sched.WaitIdle(kWait));
  auto runs = Runs("catchup");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].tick_ms, kT + 90'000);
  EXPECT_EQ(runs[0].status, "succeeded");
  EXPECT_EQ(runs[0].message,
            "catch-up: ticks from 2026-11-26T12:00:10Z until 2026-11-26T12:01:30Z were missed "
            "(server down or busy); ran only the latest, once; exit code 0");
  auto s = service_->Get("catchup");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->next_tick_ms, kT + 100'000);
}

TEST_F(PipelineSchedulerTest, AFailingPipelineIsRecordedFailedWithItsExitCodeAndLog) {
  Add("broken", "@every 10s");
  WriteFile(repo_ / "fail", "");
  PipelineScheduler sched(*service_, clock_, Options());
  clock_.Advance(10'000);
  ASSERT_EQ(sched.RunDue().value_or(-1), 1);
  ASSERT_TRUE(sched.WaitIdle(kWait));
  auto runs = Runs("broken");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "failed");
  ASSERT_TRUE(runs[0].exit_code.has_value());
  EXPECT_EQ(*runs[0].exit_code, 3);
  EXPECT_EQ(runs[0].message, "exit code 3");
  EXPECT_NE(runs[0].log_tail.find("step train failed"), std::string::npos) << runs[0].log_tail;
}

TEST_F(PipelineSchedulerTest, ARunWhoseOwnerDiedIsMarkedLostAndNeverRerun) {
  store::PipelineSchedule s = Add("orphan", "@every 10s");
  store::PipelineScheduleStore& st = store_->pipeline_schedules();
  // A previous server claimed tick +10 s and died: its lease ends at +11 s.
  auto claim = st.ClaimTick(s.id, kT + 10'000, "cron", "dead:1:x", kT + 10'000, 1'000, "");
  ASSERT_TRUE(claim && claim->has_value());
  ASSERT_TRUE(st.AdvanceNextTick(s.id, s.next_tick_ms, kT + 20'000).value_or(false));
  PipelineScheduler sched(*service_, clock_, Options());
  clock_.Advance(10'500);  // lease still valid
  ASSERT_EQ(sched.RunDue().value_or(-1), 0);
  EXPECT_EQ(Runs("orphan")[0].status, "running");
  clock_.Advance(1'000);  // +11.5 s: lease ended
  ASSERT_EQ(sched.RunDue().value_or(-1), 0);
  auto runs = Runs("orphan");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "lost");
  EXPECT_EQ(runs[0].finished_at, kT + 11'500);
  EXPECT_NE(runs[0].message.find("not rerun"), std::string::npos);
  // Its tick can never be claimed again; the next tick runs normally.
  auto again = st.ClaimTick(s.id, kT + 10'000, "cron", "test:1:a", kT + 11'500, 60'000, "");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->has_value());
  clock_.Advance(8'500);  // +20 s
  ASSERT_EQ(sched.RunDue().value_or(-1), 1);
  ASSERT_TRUE(sched.WaitIdle(kWait));
  runs = Runs("orphan");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].tick_ms, kT + 20'000);
  EXPECT_EQ(runs[0].status, "succeeded");
  EXPECT_EQ(runs[1].status, "lost");
}

TEST_F(PipelineSchedulerTest, ARunPastItsTimeoutIsKilledWithItsProcessGroup) {
  Add("slow", "@every 10s");
  WriteFile(repo_ / "hang", "");
  PipelineSchedulerOptions o = Options();
  o.run_timeout_ms = 300;
  PipelineScheduler sched(*service_, clock_, o);
  clock_.Advance(10'000);
  ASSERT_EQ(sched.RunDue().value_or(-1), 1);
  ASSERT_TRUE(sched.WaitIdle(kWait));
  auto runs = Runs("slow");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "failed");
  EXPECT_FALSE(runs[0].exit_code.has_value());
  EXPECT_EQ(runs[0].message, "timed out after 300ms (killed by signal 15)");
  // The grandchild (sleep 30) went with the group.
  pid_t sleeper = std::stoi(test::ReadFile(repo_ / "sleep.pid"));
  EXPECT_FALSE(Alive(sleeper));
}

TEST_F(PipelineSchedulerTest, StopEndsRunningChildrenAndRecordsThem) {
  Add("long", "@every 10s");
  WriteFile(repo_ / "hang", "");
  PipelineScheduler sched(*service_, clock_, Options());
  clock_.Advance(10'000);
  ASSERT_EQ(sched.RunDue().value_or(-1), 1);
  EXPECT_EQ(sched.active_runs(), 1);
  // Wait until the script has started its sleeper.
  for (int i = 0; i < 200 && test::ReadFile(repo_ / "sleep.pid").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_FALSE(test::ReadFile(repo_ / "sleep.pid").empty());
  const auto t0 = std::chrono::steady_clock::now();
  sched.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(sched.active_runs(), 0);
  auto runs = Runs("long");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "failed");
  EXPECT_EQ(runs[0].message, "stopped: the server is shutting down (killed by signal 15)");
  pid_t sleeper = std::stoi(test::ReadFile(repo_ / "sleep.pid"));
  EXPECT_FALSE(Alive(sleeper));
  // A stopped scheduler starts nothing more.
  clock_.Advance(10'000);
  EXPECT_EQ(sched.RunDue().value_or(-1), 0);
}

TEST_F(PipelineSchedulerTest, ABusyScheduleCoalescesItsTicks) {
  Add("busy", "@every 10s");
  WriteFile(repo_ / "hang", "");
  PipelineScheduler sched(*service_, clock_, Options());
  clock_.Advance(10'000);
  ASSERT_EQ(sched.RunDue().value_or(-1), 1);
  clock_.Advance(10'000);
  EXPECT_EQ(sched.RunDue().value_or(-1), 0);  // still running: not claimed
  EXPECT_EQ(Runs("busy").size(), 1u);
  sched.Stop();
}

TEST_F(PipelineSchedulerTest, ManualTriggersRunFromTheQueue) {
  Add("adhoc", "@daily");
  auto q = service_->Trigger("adhoc");
  ASSERT_TRUE(q);
  PipelineScheduler sched(*service_, clock_, Options());
  ASSERT_EQ(sched.RunDue().value_or(-1), 1);
  ASSERT_TRUE(sched.WaitIdle(kWait));
  auto runs = Runs("adhoc");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].id, q->id);
  EXPECT_EQ(runs[0].triggered_by, "manual");
  EXPECT_EQ(runs[0].status, "succeeded");
  EXPECT_EQ(sched.RunDue().value_or(-1), 0);
}

TEST_F(PipelineSchedulerTest, ARepositoryThatLeftTheRootIsNotRun) {
  Add("moved", "@every 10s");
  // Replace the repository by a link to a folder outside the root.
  const std::filesystem::path outside = std::filesystem::path(dir_) / "elsewhere";
  WriteFile(outside / "cairn.yaml", "steps: {}\n");
  std::filesystem::rename(repo_, std::filesystem::path(dir_) / "old-repo");
  std::filesystem::create_directory_symlink(outside, repo_);
  PipelineScheduler sched(*service_, clock_, Options());
  clock_.Advance(10'000);
  ASSERT_EQ(sched.RunDue().value_or(-1), 1);
  ASSERT_TRUE(sched.WaitIdle(kWait));
  auto runs = Runs("moved");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "failed");
  EXPECT_NE(runs[0].message.find("not run: "), std::string::npos) << runs[0].message;
  EXPECT_NE(runs[0].message.find("outside"), std::string::npos) << runs[0].message;
  EXPECT_FALSE(std::filesystem::exists(outside / ".cairn"));
}

TEST_F(PipelineSchedulerTest, DisabledSchedulesDoNotRun) {
  Add("off", "@every 10s");
  ASSERT_TRUE(service_->SetEnabled("off", false));
  PipelineScheduler sched(*service_, clock_, Options());
  clock_.Advance(60'000);
  EXPECT_EQ(sched.RunDue().value_or(-1), 0);
  EXPECT_TRUE(Runs("off").empty());
}

TEST_F(PipelineSchedulerTest, TheThreadRunsDueTicksByItself) {
  Add("threaded", "@every 10s");
  PipelineScheduler sched(*service_, clock_, Options());
  sched.Start();
  clock_.Advance(10'000);
  std::vector<store::PipelineScheduleRun> runs;
  for (int i = 0; i < 400; ++i) {
    runs = Runs("threaded");
    if (!runs.empty() && runs[0].status != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  sched.Stop();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "succeeded");
}

}  // namespace
}  // namespace cairn::schedule
