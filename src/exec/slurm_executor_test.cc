// Against a real Slurm: the single-node cluster of scripts/services/slurm.sh
// (`eval "$(scripts/services/slurm.sh start | grep '^export ')"`, or
// `make services-up` and ctest through the Makefile). Without SLURM_CONF the
// cluster tests skip, unless CAIRN_REQUIRE_SLURM=1 (CI), where they fail.
#include "exec/slurm_executor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
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

int64_t MsSince(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - t).count();
}

// stdout (and stderr) of a shell command the test runs itself.
std::string Shell(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

bool SlurmRequired() {
  const char* v = std::getenv("CAIRN_REQUIRE_SLURM");
  return v != nullptr && std::string(v) == "1";
}

SlurmExecutorOptions Options(std::string partition = "", std::string bin_dir = "") {
  SlurmExecutorOptions options;
  options.partition = std::move(partition);
  options.bin_dir = std::move(bin_dir);
  options.poll_interval_ms = 200;  // the test cluster schedules within ~0.1 s
  return options;
}

fs::path MakeTempDir(const char* prefix) {
  std::string tmpl = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

// Needs no cluster: runs everywhere.
TEST(SlurmExecutorFactoryTest, MissingClientProgramsAreAPreconditionError) {
  fs::path empty = MakeTempDir("cairn-exec-nobin");
  ASSERT_FALSE(empty.empty());
  auto r = MakeSlurmExecutor(Options("", empty.string()));
  fs::remove_all(empty);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("sbatch"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find(empty.string()), std::string::npos) << r.error().message();
}

// Fake Slurm client programs (shell scripts in a bin_dir): sbatch records
// its arguments and environment; squeue and scontrol answer from files the
// test writes. They pin down the sbatch command line and the mapping of
// Slurm's final states without a cluster.
class FakeSlurmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("cairn-exec-fakeslurm");
    ASSERT_FALSE(dir_.empty());
    fs::create_directories(dir_ / "bin");
    const std::string d = dir_.string();
    Script("sinfo", "echo 'debug*'");
    Script("sbatch", "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + d +
                         "/sbatch.args\n"
                         "env > " +
                         d +
                         "/sbatch.env\n"
                         // A job array's batch script is the last argument.
                         "for a in \"$@\"; do last=$a; done\n"
                         "case \"$last\" in *.sh) cp \"$last\" " +
                         d +
                         "/sbatch.script;; esac\n"
                         "cat " +
                         d +
                         "/sbatch.out\n"
                         "exit $(cat " +
                         d + "/sbatch.rc)");
    Script("squeue", "if [ -e " + d +
                         "/unknown ]; then\n"
                         "  echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1\n"
                         "fi\n"
                         "cat " +
                         d + "/squeue.out");
    Script("scontrol", "if [ -e " + d +
                           "/unknown ]; then\n"
                           "  echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1\n"
                           "fi\n"
                           "cat " +
                           d + "/scontrol.out");
    Script("scancel", "echo \"$@\" >> " + d + "/scancel.calls");
    Write("sbatch.out", "4242;ci\n");
    Write("sbatch.rc", "0");
    Write("squeue.out", "");
    Ended("COMPLETED", "0:0");
    SlurmExecutorOptions options;
    options.bin_dir = (dir_ / "bin").string();
    options.poll_interval_ms = 10;
    auto executor = MakeSlurmExecutor(options);
    ASSERT_TRUE(executor.has_value()) << executor.error().ToString();
    executor_ = std::move(*executor);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  void Script(const std::string& name, const std::string& body) {
    fs::path p = dir_ / "bin" / name;
    std::ofstream(p) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(p, fs::perms::owner_all);
  }
  // What `scontrol show job` says about the ended job.
  void Ended(const std::string& state, const std::string& exit_code,
             const std::string& reason = "None") {
    Write("scontrol.out", "JobId=4242 JobName=cairn-x\n   JobState=" + state + " Reason=" + reason +
                              " Dependency=(null)\n   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 "
                              "ExitCode=" +
                              exit_code + "\n   RunTime=00:00:01\n");
  }
  std::vector<std::string> SbatchArgs() {
    std::vector<std::string> args;
    std::istringstream in(ReadAll(dir_ / "sbatch.args"));
    for (std::string line; std::getline(in, line);) args.push_back(line);
    return args;
  }
  StepJob Job() {
    StepJob job;
    job.name = "train@small";
    job.cmd = "python train.py --lr 0.1";
    job.cwd = dir_.string();
    job.log_path = (dir_ / "logs" / "train.log").string();
    return job;
  }

  fs::path dir_;
  std::unique_ptr<Executor> executor_;
  CancelToken no_cancel_;
};

TEST_F(FakeSlurmTest, SbatchCommandLineCarriesResourcesButNoEnvValues) {
  StepJob job = Job();
  job.resources.cpus = 4;
  job.resources.memory_bytes = 3LL * 1024 * 1024 * 1024 + 1;  // 3072 MiB + 1 byte -> 3073M
  job.resources.gpus = 2;
  job.timeout_ms = 90'000;  // 1.5 min -> 2
  job.env = {{"SECRET_VALUE", "a,b c $d"}};
  SlurmExecutorOptions options;
  options.bin_dir = (dir_ / "bin").string();
  options.partition = "gpu";
  options.poll_interval_ms = 10;
  auto executor = MakeSlurmExecutor(options);
  ASSERT_TRUE(executor.has_value()) << executor.error().ToString();
  auto r = (*executor)->Run(job, no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kSucceeded) << r->message;
  EXPECT_EQ(r->job_id, "4242");  // the ";cluster" of --parsable stripped
  std::vector<std::string> expected = {"--parsable",
                                       "--job-name",
                                       "cairn-train@small",
                                       "--partition",
                                       "gpu",
                                       "--cpus-per-task",
                                       "4",
                                       "--mem",
                                       "3073M",
                                       "--gres=gpu:2",
                                       "--time",
                                       "2",
                                       "--output",
                                       job.log_path,
                                       "--open-mode=append",
                                       "--chdir",
                                       job.cwd,
                                       "--export=ALL",
                                       "--wrap",
                                       job.cmd};
  EXPECT_EQ(SbatchArgs(), expected);
  EXPECT_NE(ReadAll(dir_ / "sbatch.env").find("SECRET_VALUE=a,b c $d\n"), std::string::npos);
  EXPECT_TRUE(fs::exists(job.log_path));  // created (with its folder) before submission
}

TEST_F(FakeSlurmTest, NoResourcesNoTimeoutMeansNoSuchOptions) {
  auto r = executor_->Run(Job(), no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  std::vector<std::string> args = SbatchArgs();
  for (const char* option : {"--partition", "--cpus-per-task", "--mem", "--time"}) {
    EXPECT_EQ(std::count(args.begin(), args.end(), option), 0) << option;
  }
  EXPECT_EQ(std::count_if(args.begin(), args.end(),
                          [](const std::string& a) { return a.starts_with("--gres"); }),
            0);
}

TEST_F(FakeSlurmTest, FinalStatesMapToOutcomes) {
  struct Case {
    std::string state, exit_code, reason;
    Outcome outcome;
    int exit, signal;
    std::string message_part;
  };
  const Case cases[] = {
      {"COMPLETED", "0:0", "None", Outcome::kSucceeded, 0, 0, "exit code 0"},
      {"FAILED", "2:0", "NonZeroExitCode", Outcome::kFailed, 2, 0, "exit code 2"},
      {"FAILED", "0:9", "JobLaunchFailure", Outcome::kFailed, -1, 9, "killed by SIGKILL"},
      {"FAILED", "0:0", "JobLaunchFailure", Outcome::kFailed, 0, 0, "JobLaunchFailure"},
      {"TIMEOUT", "0:15", "TimeLimit", Outcome::kTimedOut, -1, 15, "time limit"},
      {"CANCELLED", "0:15", "None", Outcome::kCancelled, -1, 15, "outside Cairn"},
      {"OUT_OF_MEMORY", "0:125", "OutOfMemory", Outcome::kLost, -1, 125, "out of memory"},
      {"NODE_FAIL", "0:0", "NodeDown", Outcome::kLost, 0, 0, "NODE_FAIL"},
      {"BOOT_FAIL", "0:0", "None", Outcome::kLost, 0, 0, "BOOT_FAIL"},
      {"DEADLINE", "0:0", "None", Outcome::kLost, 0, 0, "DEADLINE"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.state + " " + c.exit_code);
    Ended(c.state, c.exit_code, c.reason);
    auto r = executor_->Run(Job(), no_cancel_);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_EQ(r->outcome, c.outcome) << r->message;
    EXPECT_EQ(r->exit_code, c.exit);
    EXPECT_EQ(r->signal, c.signal);
    EXPECT_NE(r->message.find(c.message_part), std::string::npos) << r->message;
  }
}

TEST_F(FakeSlurmTest, RunningJobIsPolledUntilItLeavesTheQueue) {
  Write("squeue.out", "RUNNING\n");
  std::thread finisher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Write("squeue.out", "");
  });
  auto start = SteadyClock::now();
  auto r = executor_->Run(Job(), no_cancel_);
  finisher.join();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kSucceeded);
  EXPECT_GE(MsSince(start), 300);
}

TEST_F(FakeSlurmTest, JobUnknownToSqueueAndScontrolIsLost) {
  Write("unknown", "");
  auto r = executor_->Run(Job(), no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kLost);
  EXPECT_NE(r->message.find("4242"), std::string::npos) << r->message;
}

TEST_F(FakeSlurmTest, PendingJobPastTheTimeoutIsScancelled) {
  Write("squeue.out", "PENDING\n");
  StepJob job = Job();
  job.timeout_ms = 200;
  std::thread finisher([&] {
    // Once scancel was called, Slurm reports the job ended.
    for (int i = 0; i < 200 && !fs::exists(dir_ / "scancel.calls"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Ended("CANCELLED", "0:0");
    Write("squeue.out", "");
  });
  auto r = executor_->Run(job, no_cancel_);
  finisher.join();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kTimedOut);
  EXPECT_EQ(r->message, "timed out after 200ms");
  EXPECT_EQ(ReadAll(dir_ / "scancel.calls").substr(0, 5), "4242\n");
}

TEST_F(FakeSlurmTest, MissingWorkingFolderIsAnErrorBeforeSubmission) {
  StepJob job = Job();
  job.cwd = (dir_ / "no-such-folder").string();
  auto r = executor_->Run(job, no_cancel_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("no-such-folder"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "sbatch.args"));
}

TEST_F(FakeSlurmTest, SbatchFailuresAreErrors) {
  Write("sbatch.out", "");
  Write("sbatch.rc", "1");
  auto r = executor_->Run(Job(), no_cancel_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("train@small"), std::string::npos) << r.error().message();

  Write("sbatch.out", "Submitted batch job 12\n");  // not --parsable output
  Write("sbatch.rc", "0");
  r = executor_->Run(Job(), no_cancel_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInternal);
  EXPECT_NE(r.error().message().find("Submitted batch job 12"), std::string::npos);
}

// Three items as one array: one sbatch with --array and a generated script
// that picks the item's command, folder and environment by
// SLURM_ARRAY_TASK_ID; each task's state from its own scontrol record.
TEST_F(FakeSlurmTest, ArrayIsOneSbatchWhoseScriptPicksTheTask) {
  const std::string tricky = "it's \"q\" $HOME `x` \\ ;\nnext line";
  std::vector<StepJob> jobs;
  for (const char* item : {"a", "b", "c"}) {
    StepJob job = Job();
    job.name = std::string("evaluate@") + item;
    job.cmd = std::string("printf '%s|%s|' \"$ITEM\" \"$TRICKY\" > out-") + item +
              ".txt; pwd >> out-" + item + ".txt";
    job.env = {{"ITEM", item}, {"TRICKY", tricky}};
    job.log_path = (dir_ / "logs" / (job.name + ".log")).string();
    job.timeout_ms = 60'000;
    job.resources.cpus = 2;
    jobs.push_back(job);
  }
  Write("scontrol.out",
        "JobId=4244 ArrayJobId=4242 ArrayTaskId=2 JobName=cairn-evaluate JobState=COMPLETED "
        "Reason=None ExitCode=0:0\n"
        "JobId=4243 ArrayJobId=4242 ArrayTaskId=1 JobName=cairn-evaluate JobState=FAILED "
        "Reason=NonZeroExitCode ExitCode=2:0\n"
        "JobId=4242 ArrayJobId=4242 ArrayTaskId=0 JobName=cairn-evaluate JobState=COMPLETED "
        "Reason=None ExitCode=0:0\n");
  auto r = executor_->RunArray(jobs, no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].job_id, "4242_0");
  EXPECT_EQ((*r)[1].job_id, "4242_1");
  EXPECT_EQ((*r)[2].job_id, "4242_2");
  EXPECT_EQ((*r)[0].outcome, Outcome::kSucceeded) << (*r)[0].message;
  EXPECT_EQ((*r)[1].outcome, Outcome::kFailed);
  EXPECT_EQ((*r)[1].exit_code, 2);
  EXPECT_EQ((*r)[2].outcome, Outcome::kSucceeded);

  std::vector<std::string> args = SbatchArgs();
  ASSERT_GE(args.size(), 4u);
  EXPECT_EQ(args[0], "--parsable");
  EXPECT_EQ(args[1], "--job-name");
  EXPECT_EQ(args[2], "cairn-evaluate");
  EXPECT_EQ(std::count(args.begin(), args.end(), "--array=0-2"), 1);
  auto at = [&](const std::string& option) -> std::string {
    auto it = std::find(args.begin(), args.end(), option);
    return it == args.end() || it + 1 == args.end() ? "" : *(it + 1);
  };
  EXPECT_EQ(at("--cpus-per-task"), "2");
  EXPECT_EQ(at("--time"), "1");
  EXPECT_TRUE(at("--output").ends_with("/%a.log")) << at("--output");
  EXPECT_EQ(std::count(args.begin(), args.end(), "--wrap"), 0);
  // Values are in the script, never on sbatch's command line or environment.
  for (const auto& a : args) EXPECT_EQ(a.find("next line"), std::string::npos) << a;
  EXPECT_EQ(ReadAll(dir_ / "sbatch.env").find("next line"), std::string::npos);
  // The script and the log links are gone once the array ended.
  for (const auto& entry : fs::directory_iterator(dir_ / "logs")) {
    EXPECT_FALSE(entry.path().filename().string().starts_with(".slurm-array")) << entry.path();
  }
  // The script, run as Slurm would for task 1, runs item b in its folder.
  const std::string script = (dir_ / "sbatch.script").string();
  ASSERT_TRUE(fs::exists(script));
  fs::create_directories(dir_ / "elsewhere");
  std::string ran = Shell("cd " + (dir_ / "elsewhere").string() + " && SLURM_ARRAY_TASK_ID=1 sh " +
                          script + "; echo rc=$?");
  EXPECT_EQ(ran, "rc=0\n");
  EXPECT_EQ(ReadAll(dir_ / "out-b.txt"), "b|" + tricky + "|" + dir_.string() + "\n");
  EXPECT_FALSE(fs::exists(dir_ / "out-a.txt"));
  EXPECT_EQ(Shell("{ SLURM_ARRAY_TASK_ID=7 sh " + script + "; echo rc=$?; }"),
            "cairn: this array has no task 7\nrc=98\n");
}

TEST_F(FakeSlurmTest, ArrayTasksMustShareResourcesAndTimeout) {
  std::vector<StepJob> jobs = {Job(), Job()};
  jobs[1].name = "train@large";
  jobs[1].resources.gpus = 1;
  auto r = executor_->RunArray(jobs, no_cancel_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("train@large"), std::string::npos) << r.error().message();
  jobs[1].resources.gpus = 0;
  jobs[1].timeout_ms = 5000;
  r = executor_->RunArray(jobs, no_cancel_);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("timeout"), std::string::npos) << r.error().message();
  EXPECT_FALSE(executor_->RunArray({}, no_cancel_).has_value());
  EXPECT_FALSE(fs::exists(dir_ / "sbatch.args"));
}

// Pending tasks are one record with a range; they are waited for, and an
// array the controller forgot is lost, not waited for forever.
TEST_F(FakeSlurmTest, PendingArrayRangeIsWaitedForAndAForgottenArrayIsLost) {
  std::vector<StepJob> jobs = {Job(), Job()};
  jobs[1].name = "train@large";
  Write("scontrol.out",
        "JobId=4242 ArrayJobId=4242 ArrayTaskId=0-1%1 JobState=PENDING Reason=None "
        "ExitCode=0:0\n");
  std::thread finisher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    Write("scontrol.out",
          "JobId=4243 ArrayJobId=4242 ArrayTaskId=1 JobState=COMPLETED Reason=None "
          "ExitCode=0:0\n"
          "JobId=4242 ArrayJobId=4242 ArrayTaskId=0 JobState=COMPLETED Reason=None "
          "ExitCode=0:0\n");
  });
  auto start = SteadyClock::now();
  auto r = executor_->RunArray(jobs, no_cancel_);
  finisher.join();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_GE(MsSince(start), 300);
  EXPECT_EQ((*r)[0].outcome, Outcome::kSucceeded);
  EXPECT_EQ((*r)[1].outcome, Outcome::kSucceeded);

  Write("unknown", "");
  r = executor_->RunArray(jobs, no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ((*r)[0].outcome, Outcome::kLost);
  EXPECT_NE((*r)[1].message.find("4242_1"), std::string::npos) << (*r)[1].message;
}

class SlurmExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::getenv("SLURM_CONF") == nullptr) {
      if (SlurmRequired()) {
        FAIL() << "CAIRN_REQUIRE_SLURM=1 but SLURM_CONF is not set: start the test cluster with "
                  "`eval \"$(scripts/services/slurm.sh start | grep '^export ')\"`";
      }
      GTEST_SKIP() << "SLURM_CONF is not set: no Slurm cluster to test against (start one with "
                      "`eval \"$(scripts/services/slurm.sh start | grep '^export ')\"`)";
    }
    auto executor = MakeSlurmExecutor(Options());
    ASSERT_TRUE(executor.has_value()) << executor.error().ToString();
    executor_ = std::move(*executor);
    dir_ = MakeTempDir("cairn-exec-slurm");
    ASSERT_FALSE(dir_.empty());
  }
  void TearDown() override {
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  StepJob Job(std::string name, std::string cmd) {
    StepJob job;
    job.name = std::move(name);
    job.cmd = std::move(cmd);
    job.cwd = dir_.string();
    job.log_path = (dir_ / "logs" / (job.name + ".log")).string();
    return job;
  }

  static std::string ShowJob(const std::string& id) { return Shell("scontrol show job " + id); }
  static std::string QueueState(const std::string& id) {
    return Shell("squeue -h -j " + id + " -o %T");
  }

  std::unique_ptr<Executor> executor_;
  fs::path dir_;
  CancelToken no_cancel_;
};

TEST_F(SlurmExecutorTest, RunsInChdirAndAppendsOutputToTheLog) {
  EXPECT_EQ(executor_->name(), "slurm");
  fs::create_directories(dir_ / "logs");
  { std::ofstream(dir_ / "logs" / "write.log") << "earlier attempt\n"; }
  auto r = executor_->Run(
      Job("write", "echo to-stdout; echo to-stderr >&2; pwd; echo made > out.txt"), no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kSucceeded) << r->message;
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->signal, 0);
  ASSERT_FALSE(r->job_id.empty());
  EXPECT_TRUE(std::all_of(r->job_id.begin(), r->job_id.end(), ::isdigit)) << r->job_id;
  EXPECT_GT(r->duration_ms, 0);
  EXPECT_EQ(ReadAll(dir_ / "out.txt"), "made\n");
  EXPECT_EQ(ReadAll(dir_ / "logs" / "write.log"),
            "earlier attempt\nto-stdout\nto-stderr\n" + dir_.string() + "\n");
  std::string show = ShowJob(r->job_id);
  EXPECT_NE(show.find("JobName=cairn-write"), std::string::npos) << show;
  EXPECT_NE(show.find("JobState=COMPLETED"), std::string::npos) << show;
}

TEST_F(SlurmExecutorTest, NonZeroExitIsFailedWithItsCode) {
  auto r = executor_->Run(Job("exit3", "echo failing; exit 3"), no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kFailed);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->signal, 0);
  EXPECT_EQ(r->message, "exit code 3");
}

TEST_F(SlurmExecutorTest, DeathBySignalIsFailedWithTheSignal) {
  auto r = executor_->Run(Job("killed", "kill -KILL $$"), no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kFailed);
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_EQ(r->message, "killed by SIGKILL");
}

TEST_F(SlurmExecutorTest, EnvWithTrickyValuesArrivesIntact) {
  // Commas would split --export=..., quotes and $ would be mangled on a
  // command line, a newline ends a #SBATCH line.
  const std::string tricky = "a 'single' \"double\" $HOME ${X} `date` \\ ; & | *, comma,=eq";
  const std::string multiline = "line one\nline two";
  StepJob job = Job("env", "printf '%s|%s|%s' \"$TRICKY\" \"$MULTI\" \"$PLAIN\" > env.txt");
  job.env = {{"TRICKY", tricky}, {"MULTI", multiline}, {"PLAIN", "plain"}};
  auto r = executor_->Run(job, no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->outcome, Outcome::kSucceeded) << r->message << "\n" << ReadAll(job.log_path);
  EXPECT_EQ(ReadAll(dir_ / "env.txt"), tricky + "|" + multiline + "|plain");
}

TEST_F(SlurmExecutorTest, TimeoutCancelsTheJobAndItLeavesTheQueue) {
  // `&&`: Slurm signals the processes one by one; a shell that outlives its
  // killed sleep by a moment must not print "finished".
  StepJob job = Job("timeout", "echo started; sleep 60 && echo finished");
  job.timeout_ms = 2000;
  auto start = SteadyClock::now();
  auto r = executor_->Run(job, no_cancel_);
  int64_t elapsed = MsSince(start);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kTimedOut);
  EXPECT_EQ(r->message, "timed out after 2s");
  EXPECT_GE(elapsed, 2000);
  EXPECT_LT(elapsed, 15000);
  EXPECT_EQ(QueueState(r->job_id), "");
  std::string show = ShowJob(r->job_id);
  EXPECT_NE(show.find("JobState=CANCELLED"), std::string::npos) << show;
  // Slurm's own limit is the timeout in whole minutes, rounded up.
  EXPECT_NE(show.find("TimeLimit=00:01:00"), std::string::npos) << show;
  EXPECT_EQ(ReadAll(job.log_path).find("finished"), std::string::npos);
}

TEST_F(SlurmExecutorTest, CancelTokenCancelsTheJob) {
  CancelToken cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    cancel.Cancel();
  });
  auto start = SteadyClock::now();
  auto r = executor_->Run(Job("cancel", "sleep 60"), cancel);
  int64_t elapsed = MsSince(start);
  canceller.join();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kCancelled);
  EXPECT_GE(elapsed, 1500);
  EXPECT_LT(elapsed, 15000);
  EXPECT_EQ(QueueState(r->job_id), "");
  EXPECT_NE(ShowJob(r->job_id).find("JobState=CANCELLED"), std::string::npos);
}

TEST_F(SlurmExecutorTest, AlreadyCancelledTokenSubmitsNothing) {
  CancelToken cancel;
  cancel.Cancel();
  auto r = executor_->Run(Job("never", "touch started"), cancel);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kCancelled);
  EXPECT_TRUE(r->job_id.empty());
}

TEST_F(SlurmExecutorTest, ScancelFromOutsideIsCancelled) {
  // A unique name, so the test finds its own job in the queue.
  std::string name = "outside-" + dir_.filename().string();
  std::thread outsider([&] {
    for (int i = 0; i < 100; ++i) {
      std::string id = Shell("squeue -h -n cairn-" + name + " -o %i");
      if (!id.empty() && id.find_first_not_of("0123456789\n") == std::string::npos) {
        Shell("scancel " + id);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  auto r = executor_->Run(Job(name, "sleep 60"), no_cancel_);
  outsider.join();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kCancelled);
  EXPECT_NE(r->message.find("outside Cairn"), std::string::npos) << r->message;
}

TEST_F(SlurmExecutorTest, ResourcesReachTheJob) {
  StepJob job = Job("resources", "echo ok");
  job.resources.cpus = 1;
  job.resources.memory_bytes = 100LL * 1024 * 1024 + 1;  // rounded up to 101 MiB
  job.timeout_ms = 61'000;                               // rounded up to 2 minutes
  auto r = executor_->Run(job, no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->outcome, Outcome::kSucceeded) << r->message;
  std::string show = ShowJob(r->job_id);
  EXPECT_NE(show.find("NumCPUs=1 "), std::string::npos) << show;
  EXPECT_NE(show.find("CPUs/Task=1 "), std::string::npos) << show;
  EXPECT_NE(show.find("MinMemoryNode=101M"), std::string::npos) << show;
  EXPECT_NE(show.find("TimeLimit=00:02:00"), std::string::npos) << show;
}

TEST_F(SlurmExecutorTest, BadPartitionIsAnErrorNamingIt) {
  auto executor = MakeSlurmExecutor(Options("no-such-partition"));
  ASSERT_TRUE(executor.has_value()) << executor.error().ToString();
  auto r = (*executor)->Run(Job("badpart", "echo hi"), no_cancel_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("no-such-partition"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("invalid partition"), std::string::npos)
      << r.error().message();
}

TEST_F(SlurmExecutorTest, TwoJobsAtOnceFromTwoThreads) {
  Result<ExecResult> results[2] = {Internal("not run"), Internal("not run")};
  std::thread threads[2];
  for (int i = 0; i < 2; ++i) {
    threads[i] = std::thread([&, i] {
      StepJob job = Job("pair" + std::to_string(i), "sleep 1; echo job $N > out$N.txt; exit $N");
      job.env = {{"N", std::to_string(i)}};
      results[i] = executor_->Run(job, no_cancel_);
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(results[i].has_value()) << results[i].error().ToString();
    EXPECT_EQ(results[i]->exit_code, i);
    EXPECT_EQ(results[i]->outcome, i == 0 ? Outcome::kSucceeded : Outcome::kFailed);
    EXPECT_EQ(ReadAll(dir_ / ("out" + std::to_string(i) + ".txt")),
              "job " + std::to_string(i) + "\n");
  }
  EXPECT_NE(results[0]->job_id, results[1]->job_id);
}

// The fan-out case: six items as one job array of six tasks.
TEST_F(SlurmExecutorTest, SixItemsRunAsOneArrayWithSixTasks) {
  std::vector<StepJob> jobs;
  for (int i = 0; i < 6; ++i) {
    StepJob job = Job("fan@" + std::to_string(i),
                      "echo task $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_JOB_ID item $ITEM; "
                      "echo $ITEM > item-$ITEM.txt; test $ITEM != 3");
    job.env = {{"ITEM", std::to_string(i)}};
    job.timeout_ms = 120'000;
    jobs.push_back(job);
  }
  auto r = executor_->RunArray(jobs, no_cancel_);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->size(), 6u);
  const std::string array_id = (*r)[0].job_id.substr(0, (*r)[0].job_id.find('_'));
  ASSERT_FALSE(array_id.empty());
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    const ExecResult& res = (*r)[i];
    EXPECT_EQ(res.job_id, array_id + "_" + std::to_string(i));
    EXPECT_EQ(ReadAll(dir_ / ("item-" + std::to_string(i) + ".txt")), std::to_string(i) + "\n");
    EXPECT_EQ(ReadAll(jobs[i].log_path), "task " + std::to_string(i) + " of " + array_id +
                                             " item " + std::to_string(i) + "\n");
    if (i == 3) {
      EXPECT_EQ(res.outcome, Outcome::kFailed);
      EXPECT_EQ(res.exit_code, 1);
    } else {
      EXPECT_EQ(res.outcome, Outcome::kSucceeded) << res.message;
    }
  }
  // One job in Slurm's eyes: six task records under one array id.
  std::string show = Shell("scontrol -o show job " + array_id);
  size_t records = 0;
  for (size_t pos = 0; (pos = show.find("ArrayJobId=" + array_id + " ", pos)) != std::string::npos;
       ++pos) {
    ++records;
  }
  EXPECT_EQ(records, 6u) << show;
  EXPECT_NE(show.find("JobName=cairn-fan "), std::string::npos) << show;
  EXPECT_NE(show.find("TimeLimit=00:02:00"), std::string::npos) << show;
}

TEST_F(SlurmExecutorTest, ArrayTimeoutStopsOnlyTheSlowTask) {
  std::vector<StepJob> jobs = {Job("slow@0", "echo started; sleep 58 && echo finished"),
                               Job("slow@1", "echo quick")};
  for (auto& job : jobs) job.timeout_ms = 3000;
  auto start = SteadyClock::now();
  auto r = executor_->RunArray(jobs, no_cancel_);
  int64_t elapsed = MsSince(start);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ((*r)[0].outcome, Outcome::kTimedOut) << (*r)[0].message;
  EXPECT_EQ((*r)[0].message, "timed out after 3s");
  EXPECT_EQ((*r)[1].outcome, Outcome::kSucceeded) << (*r)[1].message;
  EXPECT_GE(elapsed, 3000);
  EXPECT_LT(elapsed, 20000);
  EXPECT_EQ(ReadAll(jobs[0].log_path).find("finished"), std::string::npos);
  EXPECT_NE(ReadAll(jobs[0].log_path).find("started"), std::string::npos);
  EXPECT_EQ(ReadAll(jobs[1].log_path), "quick\n");
  EXPECT_EQ(QueueState((*r)[0].job_id), "");
  EXPECT_NE(ShowJob((*r)[0].job_id).find("JobState=CANCELLED"), std::string::npos);
}

TEST_F(SlurmExecutorTest, CancelTokenCancelsTheWholeArray) {
  std::vector<StepJob> jobs;
  for (int i = 0; i < 4; ++i) jobs.push_back(Job("stop@" + std::to_string(i), "sleep 58"));
  CancelToken cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    cancel.Cancel();
  });
  auto start = SteadyClock::now();
  auto r = executor_->RunArray(jobs, cancel);
  int64_t elapsed = MsSince(start);
  canceller.join();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_GE(elapsed, 1500);
  EXPECT_LT(elapsed, 20000);
  const std::string array_id = (*r)[0].job_id.substr(0, (*r)[0].job_id.find('_'));
  for (const ExecResult& res : *r) {
    EXPECT_EQ(res.outcome, Outcome::kCancelled) << res.job_id << ": " << res.message;
  }
  // Running and pending tasks alike (2 CPUs: two ran, two waited).
  EXPECT_EQ(Shell("squeue -h -r -j " + array_id + " -o %i"), "");
}

// Six tasks of ~nothing as one array against six single jobs one after the
// other (the old path with --jobs 1) and six single jobs at once (--jobs 6),
// in the same run. Printed for the report; asserted loosely (shared machine).
TEST_F(SlurmExecutorTest, ArrayBeatsOneJobPerItem) {
  auto make = [&](const std::string& prefix) {
    std::vector<StepJob> jobs;
    for (int i = 0; i < 6; ++i) jobs.push_back(Job(prefix + "@" + std::to_string(i), "true"));
    return jobs;
  };
  auto start = SteadyClock::now();
  for (const StepJob& job : make("seq")) {
    auto r = executor_->Run(job, no_cancel_);
    ASSERT_TRUE(r.has_value() && r->outcome == Outcome::kSucceeded);
  }
  const int64_t sequential = MsSince(start);
  start = SteadyClock::now();
  {
    std::vector<StepJob> jobs = make("par");
    std::vector<std::jthread> threads;
    for (const StepJob& job : jobs) {
      threads.emplace_back([&, job] { (void)executor_->Run(job, no_cancel_); });
    }
  }
  const int64_t parallel = MsSince(start);
  start = SteadyClock::now();
  auto r = executor_->RunArray(make("arr"), no_cancel_);
  const int64_t array = MsSince(start);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  for (const ExecResult& res : *r) EXPECT_EQ(res.outcome, Outcome::kSucceeded);
  std::printf(
      "6 items: sequential single jobs %lld ms, 6 single jobs at once %lld ms, "
      "one array %lld ms (array/sequential %.2f, array/parallel %.2f)\n",
      static_cast<long long>(sequential), static_cast<long long>(parallel),
      static_cast<long long>(array), static_cast<double>(array) / sequential,
      static_cast<double>(array) / parallel);
  EXPECT_LT(array, sequential);
}

TEST_F(SlurmExecutorTest, UnreachableControllerIsAPreconditionError) {
  // A copy of the cluster's slurm.conf pointing at a port nobody serves.
  std::string conf = std::getenv("SLURM_CONF");
  std::string text = ReadAll(conf);
  size_t port = text.find("SlurmctldPort=");
  ASSERT_NE(port, std::string::npos);
  size_t eol = text.find('\n', port);
  text.replace(port, eol - port, "SlurmctldPort=1");
  text += "MessageTimeout=2\n";
  fs::path bogus = dir_ / "slurm.conf";
  { std::ofstream(bogus) << text; }
  ::setenv("SLURM_CONF", bogus.c_str(), 1);
  auto r = MakeSlurmExecutor(Options());
  ::setenv("SLURM_CONF", (dir_ / "missing.conf").c_str(), 1);
  auto missing = MakeSlurmExecutor(Options());
  ::setenv("SLURM_CONF", conf.c_str(), 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(r.error().message().find("cannot reach the Slurm controller"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find(bogus.string()), std::string::npos) << r.error().message();
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("missing.conf does not exist"), std::string::npos)
      << missing.error().message();
}

}  // namespace
}  // namespace cairn::exec
