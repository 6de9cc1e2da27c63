// The runner on temporary repositories: the local executor runs real shell
// commands; counter files the commands append to prove what ran. Tracking
// runs against a live App on port 0. The Slurm test needs SLURM_CONF
// (scripts/services/slurm.sh); it is skipped without it unless
// CAIRN_REQUIRE_SLURM=1.
#include "pipeline/runner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "client/tracking_client.h"
#include "core/hash.h"
#include "data/cache.h"
#include "data/config.h"
#include "data/workspace.h"
#include "pipeline/lock.h"
#include "support/live_server.h"
#include "support/temp_files.h"

namespace cairn::pipeline {
namespace {

namespace fs = std::filesystem;

// prepare -> train -> evaluate@{small,large}; every command appends one line
// to counts/<step> so a test can tell what ran.
constexpr char kPipeline[] = R"(steps:
  prepare:
    cmd: echo run >> counts/prepare && mkdir -p data/prepared && cp data/raw.txt data/prepared/raw.txt && echo extra > data/prepared/extra.txt
    deps: [data/raw.txt]
    outs: [data/prepared]
  train:
    cmd: >-
      echo run >> counts/train && cat data/prepared/raw.txt params.yaml > model.txt &&
      printf '{"acc": 0.9, "nested": {"loss": 0.25}, "name": "x", "ok": true}' > metrics.json
    deps: [data/prepared]
    params: [train.lr]
    outs: [model.txt]
    metrics: [metrics.json]
  evaluate:
    foreach: [small, large]
    cmd: echo run >> counts/evaluate-${item} && cat model.txt > eval/${item}.json && echo ${item} >> eval/${item}.json
    deps: [model.txt]
    outs: [eval/${item}.json]
)";

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = test::MakeTempDir("cairn-runner");
    auto ws = data::InitWorkspace(root_);
    ASSERT_TRUE(ws) << ws.error().ToString();
    ws_ = *ws;
    auto cache = data::Cache::Open(ws_, data::DataConfig{});
    ASSERT_TRUE(cache) << cache.error().ToString();
    cache_ = std::move(*cache);
    fs::create_directories(ws_.root / "counts");
  }
  void TearDown() override {
    cache_.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void Write(const std::string& path, const std::string& text) {
    const fs::path abs = ws_.root / path;
    fs::create_directories(abs.parent_path());
    std::error_code ec;
    fs::remove(abs, ec);  // it may be a read-only hard link into the cache
    std::ofstream(abs, std::ios::binary) << text;
  }
  std::string Read(const std::string& path) { return test::ReadFile(ws_.root / path); }
  // Lines in counts/<name>: how often that command ran.
  int Count(const std::string& name) {
    std::ifstream in(ws_.root / "counts" / name);
    int n = 0;
    std::string line;
    while (std::getline(in, line)) ++n;
    return n;
  }

  void WriteStandardPipeline() {
    Write("cairn.yaml", kPipeline);
    Write("params.yaml", "train:\n  lr: 0.1\n  depth: 6\n");
    Write("data/raw.txt", "a,b\n1,2\n");
  }

  RunReport Run(RunOptions options = {}) {
    if (options.jobs == 0) options.jobs = 2;
    options.retry_backoff_ms = 10;
    auto report = RunPipeline(*cache_, options, observer_);
    EXPECT_TRUE(report) << report.error().ToString();
    return report ? *report : RunReport{};
  }

  static const StepResult* Find(const RunReport& report, const std::string& step) {
    for (const auto& s : report.steps) {
      if (s.step == step) return &s;
    }
    return nullptr;
  }
  static std::map<std::string, StepResultKind> Kinds(const RunReport& report) {
    std::map<std::string, StepResultKind> kinds;
    for (const auto& s : report.steps) kinds[s.step] = s.kind;
    return kinds;
  }

  std::string root_;
  data::Workspace ws_;
  std::unique_ptr<data::Cache> cache_;
  RunObserver observer_;
};

using K = StepResultKind;

TEST_F(RunnerTest, RunsEverythingThenNothing) {
  WriteStandardPipeline();
  std::vector<std::string> started;
  observer_.on_started = [&](const std::string& step, int attempt) {
    started.push_back(step + "#" + std::to_string(attempt));
  };
  RunReport first = Run();
  EXPECT_TRUE(first.ok);
  std::map<std::string, K> all_ran{{"prepare", K::kRan},
                                   {"train", K::kRan},
                                   {"evaluate@small", K::kRan},
                                   {"evaluate@large", K::kRan}};
  EXPECT_EQ(Kinds(first), all_ran);
  ASSERT_EQ(first.steps.size(), 4u);
  EXPECT_EQ(first.steps[0].step, "prepare");  // it finishes before anything else starts
  EXPECT_EQ(first.steps[1].step, "train");
  EXPECT_EQ(Find(first, "train")->reasons, std::vector<std::string>{"never run"});
  EXPECT_EQ(Find(first, "train")->attempts, 1);
  EXPECT_EQ(Find(first, "train")->log_path, ".cairn/logs/train.log");
  EXPECT_EQ(
      std::set<std::string>(started.begin(), started.end()),
      (std::set<std::string>{"prepare#1", "train#1", "evaluate@small#1", "evaluate@large#1"}));
  EXPECT_EQ(Count("prepare"), 1);
  EXPECT_EQ(Count("train"), 1);
  EXPECT_EQ(Count("evaluate-small"), 1);
  EXPECT_EQ(Count("evaluate-large"), 1);
  EXPECT_EQ(Read("eval/small.json"), Read("model.txt") + "small\n");
  // The log has the attempt's header line.
  EXPECT_NE(Read(".cairn/logs/train.log").find("=== cairn: step train, attempt 1 of 1, "),
            std::string::npos);

  RunReport second = Run();
  EXPECT_TRUE(second.ok);
  std::map<std::string, K> all_up{{"prepare", K::kUpToDate},
                                  {"train", K::kUpToDate},
                                  {"evaluate@small", K::kUpToDate},
                                  {"evaluate@large", K::kUpToDate}};
  EXPECT_EQ(Kinds(second), all_up);
  EXPECT_EQ(Count("prepare"), 1);
  EXPECT_EQ(Count("train"), 1);
  EXPECT_EQ(Count("evaluate-small"), 1);
}

TEST_F(RunnerTest, ParamChangeRunsOnlyTrainAndDependants) {
  WriteStandardPipeline();
  Run();
  Write("params.yaml", "train:\n  lr: 0.2\n  depth: 6\n");
  RunReport report = Run();
  EXPECT_TRUE(report.ok);
  EXPECT_EQ(Find(report, "prepare")->kind, K::kUpToDate);
  EXPECT_EQ(Find(report, "train")->kind, K::kRan);
  EXPECT_EQ(Find(report, "train")->reasons, std::vector<std::string>{"param train.lr 0.1 -> 0.2"});
  EXPECT_EQ(Find(report, "evaluate@small")->kind, K::kRan);
  EXPECT_EQ(Count("prepare"), 1);
  EXPECT_EQ(Count("train"), 2);
  EXPECT_EQ(Count("evaluate-small"), 2);
  EXPECT_EQ(Count("evaluate-large"), 2);
  // Changing depth (not a param of train) changes nothing.
  Write("params.yaml", "train:\n  lr: 0.2\n  depth: 9\n");
  RunReport again = Run();
  EXPECT_EQ(Find(again, "train")->kind, K::kUpToDate);
  EXPECT_EQ(Count("train"), 2);
  // Back to 0.1: the earlier result comes from the run cache, not a run.
  Write("params.yaml", "train:\n  lr: 0.1\n  depth: 9\n");
  RunReport back = Run();
  EXPECT_EQ(Find(back, "train")->kind, K::kRestored);
  EXPECT_EQ(Find(back, "evaluate@small")->kind, K::kRestored);
  EXPECT_EQ(Count("train"), 2);
  EXPECT_EQ(Count("evaluate-small"), 2);
  EXPECT_NE(Read("model.txt").find("lr: 0.1"), std::string::npos);
}

TEST_F(RunnerTest, DeletedOutIsRestoredNotRun) {
  WriteStandardPipeline();
  Run();
  const std::string model = Read("model.txt");
  fs::remove(ws_.root / "model.txt");
  fs::remove(ws_.root / "eval/large.json");
  RunReport report = Run();
  EXPECT_TRUE(report.ok);
  EXPECT_EQ(Find(report, "prepare")->kind, K::kUpToDate);
  EXPECT_EQ(Find(report, "train")->kind, K::kRestored);
  EXPECT_EQ(Find(report, "evaluate@small")->kind, K::kUpToDate);
  EXPECT_EQ(Find(report, "evaluate@large")->kind, K::kRestored);
  EXPECT_EQ(Read("model.txt"), model);
  EXPECT_EQ(Read("eval/large.json"), model + "large\n");
  EXPECT_EQ(Count("train"), 1);
  EXPECT_EQ(Count("evaluate-large"), 1);

  // Without the run cache it runs again.
  fs::remove(ws_.root / "model.txt");
  RunOptions no_cache;
  no_cache.use_run_cache = false;
  RunReport ran = Run(no_cache);
  EXPECT_EQ(Find(ran, "train")->kind, K::kRan);
  EXPECT_EQ(Count("train"), 2);
}

TEST_F(RunnerTest, RestoresFromTheLockWithoutARunCache) {
  // A fresh clone after `cairn data pull` has the objects but no run cache.
  WriteStandardPipeline();
  Run();
  const std::string model = Read("model.txt");
  fs::remove_all(cache_->RunsDir());
  fs::remove(ws_.root / "model.txt");
  RunReport report = Run();
  EXPECT_TRUE(report.ok);
  EXPECT_EQ(Find(report, "train")->kind, K::kRestored);
  EXPECT_EQ(Read("model.txt"), model);
  EXPECT_EQ(Count("train"), 1);
  // Not when the step itself changed.
  fs::remove(ws_.root / "model.txt");
  Write("params.yaml", "train:\n  lr: 0.5\n  depth: 6\n");
  RunReport changed = Run();
  EXPECT_EQ(Find(changed, "train")->kind, K::kRan);
  EXPECT_EQ(Count("train"), 2);
}

TEST_F(RunnerTest, OutsMetricsAndLogsAreGitIgnored) {
  WriteStandardPipeline();
  Write(".gitignore", "# mine\n*.tmp\n");
  RunReport report = Run();
  ASSERT_TRUE(report.ok);
  // As `cairn data add`: "/<name>" in the folder of each out; the user's
  // lines stay.
  EXPECT_EQ(Read(".gitignore"), "# mine\n*.tmp\n/model.txt\n/metrics.json\n");
  EXPECT_EQ(Read("data/.gitignore"), "/prepared\n");
  const std::string eval = Read("eval/.gitignore");
  EXPECT_TRUE(eval == "/small.json\n/large.json\n" || eval == "/large.json\n/small.json\n") << eval;
  EXPECT_NE(Read(".cairn/.gitignore").find("\n/logs\n"), std::string::npos)
      << Read(".cairn/.gitignore");

  // A restored out is ignored too (and nothing is written twice).
  fs::remove(ws_.root / "model.txt");
  Write(".gitignore", "# mine\n*.tmp\n");
  RunReport again = Run();
  ASSERT_TRUE(again.ok);
  EXPECT_EQ(Find(again, "train")->kind, K::kRestored);
  EXPECT_EQ(Read(".gitignore"), "# mine\n*.tmp\n/model.txt\n/metrics.json\n");
}

TEST_F(RunnerTest, ForceRunsEvenWhenUpToDate) {
  WriteStandardPipeline();
  Run();
  RunOptions options;
  options.force = true;
  options.targets = {"train"};
  RunReport report = Run(options);
  EXPECT_EQ(Kinds(report), (std::map<std::string, K>{{"prepare", K::kRan}, {"train", K::kRan}}));
  EXPECT_EQ(Find(report, "train")->reasons, std::vector<std::string>{"forced"});
  EXPECT_EQ(Count("prepare"), 2);
  EXPECT_EQ(Count("train"), 2);
  EXPECT_EQ(Count("evaluate-small"), 1);  // not a target's upstream
}

TEST_F(RunnerTest, UnknownTargetIsAnError) {
  WriteStandardPipeline();
  RunOptions options;
  options.targets = {"nope"};
  auto report = RunPipeline(*cache_, options);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(report.error().message().find("nope"), std::string::npos);
}

TEST_F(RunnerTest, DryRunRunsNothing) {
  WriteStandardPipeline();
  std::vector<std::string> planned;
  observer_.on_planned = [&](const StepPlan& plan) { planned.push_back(plan.step); };
  RunOptions options;
  options.dry_run = true;
  RunReport report = Run(options);
  EXPECT_EQ(planned,
            (std::vector<std::string>{"prepare", "train", "evaluate@small", "evaluate@large"}));
  EXPECT_EQ(Count("prepare"), 0);
  EXPECT_FALSE(fs::exists(ws_.root / "cairn.lock"));
  EXPECT_FALSE(fs::exists(ws_.root / "model.txt"));
}

TEST_F(RunnerTest, FailingStepRetriesStopsDependantsNotSiblingsThenResumes) {
  Write("cairn.yaml", R"(steps:
  flaky:
    cmd: echo run >> counts/flaky && test -f fixed || exit 3; echo ok > flaky.out
    outs: [flaky.out]
    retries: 2
  after:
    cmd: echo run >> counts/after && cat flaky.out > after.out
    deps: [flaky.out]
    outs: [after.out]
  other:
    cmd: echo run >> counts/other && echo other > other.out
    outs: [other.out]
)");
  std::vector<int> attempts;
  observer_.on_started = [&](const std::string& step, int attempt) {
    if (step == "flaky") attempts.push_back(attempt);
  };
  RunReport report = Run();
  EXPECT_FALSE(report.ok);
  const StepResult* flaky = Find(report, "flaky");
  ASSERT_NE(flaky, nullptr);
  EXPECT_EQ(flaky->kind, K::kFailed);
  EXPECT_EQ(flaky->attempts, 3);
  ASSERT_TRUE(flaky->last.has_value());
  EXPECT_EQ(flaky->last->exit_code, 3);
  EXPECT_EQ(flaky->reasons, std::vector<std::string>{"exit code 3"});
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(Count("flaky"), 3);
  const std::string log = Read(".cairn/logs/flaky.log");
  EXPECT_NE(log.find("attempt 1 of 3"), std::string::npos);
  EXPECT_NE(log.find("attempt 3 of 3"), std::string::npos);
  EXPECT_EQ(Find(report, "after")->kind, K::kSkipped);
  EXPECT_EQ(Find(report, "after")->reasons, std::vector<std::string>{"upstream 'flaky' failed"});
  EXPECT_EQ(Count("after"), 0);
  EXPECT_EQ(Find(report, "other")->kind, K::kRan);
  EXPECT_EQ(Count("other"), 1);
  // The lock covers what succeeded.
  auto lock = LoadLockFile((ws_.root / "cairn.lock").string());
  ASSERT_TRUE(lock);
  EXPECT_EQ(lock->steps.count("other"), 1u);
  EXPECT_EQ(lock->steps.count("flaky"), 0u);

  // Fixed: the run resumes; what succeeded is not run again.
  Write("fixed", "");
  RunReport resumed = Run();
  EXPECT_TRUE(resumed.ok);
  EXPECT_EQ(Find(resumed, "flaky")->kind, K::kRan);
  EXPECT_EQ(Find(resumed, "flaky")->attempts, 1);
  EXPECT_EQ(Find(resumed, "after")->kind, K::kRan);
  EXPECT_EQ(Find(resumed, "other")->kind, K::kUpToDate);
  EXPECT_EQ(Count("flaky"), 4);
  EXPECT_EQ(Count("after"), 1);
  EXPECT_EQ(Count("other"), 1);
  EXPECT_EQ(Read("after.out"), "ok\n");
}

TEST_F(RunnerTest, StepThatWritesNoOutFails) {
  Write("cairn.yaml", R"(steps:
  lazy:
    cmd: echo nothing
    outs: [model]
)");
  RunReport report = Run();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(Find(report, "lazy")->kind, K::kFailed);
  EXPECT_EQ(Find(report, "lazy")->reasons,
            std::vector<std::string>{"step 'lazy' succeeded but did not write out model"});
}

TEST_F(RunnerTest, MissingDepFailsTheStep) {
  Write("cairn.yaml", R"(steps:
  a:
    cmd: cat nothere > a.out
    deps: [nothere]
    outs: [a.out]
  b:
    cmd: echo b > b.out
    outs: [b.out]
)");
  RunReport report = Run();
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(Find(report, "a")->kind, K::kFailed);
  ASSERT_FALSE(Find(report, "a")->reasons.empty());
  EXPECT_NE(Find(report, "a")->reasons[0].find("nothere"), std::string::npos);
  EXPECT_EQ(Find(report, "b")->kind, K::kRan);
}

TEST_F(RunnerTest, TimeoutKillsTheStep) {
  Write("cairn.yaml", R"(steps:
  slow:
    cmd: echo run >> counts/slow && sleep 30 && echo late > slow.out
    outs: [slow.out]
    timeout: 1s
)");
  const auto start = std::chrono::steady_clock::now();
  RunReport report = Run();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(15));
  EXPECT_FALSE(report.ok);
  const StepResult* slow = Find(report, "slow");
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(slow->kind, K::kFailed);
  ASSERT_TRUE(slow->last.has_value());
  EXPECT_EQ(slow->last->outcome, exec::Outcome::kTimedOut);
  ASSERT_FALSE(slow->reasons.empty());
  EXPECT_NE(slow->reasons[0].find("timed out"), std::string::npos);
  EXPECT_FALSE(fs::exists(ws_.root / "slow.out"));
}

TEST_F(RunnerTest, CancelStopsRunningAndSkipsTheRest) {
  Write("cairn.yaml", R"(steps:
  slow:
    cmd: sleep 30 && echo x > slow.out
    outs: [slow.out]
  next:
    cmd: cat slow.out > next.out
    deps: [slow.out]
    outs: [next.out]
)");
  exec::CancelToken cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cancel.Cancel();
  });
  RunOptions options;
  options.cancel = &cancel;
  const auto start = std::chrono::steady_clock::now();
  RunReport report = Run(options);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(Find(report, "slow")->kind, K::kFailed);
  EXPECT_EQ(Find(report, "slow")->reasons, std::vector<std::string>{"cancelled"});
  EXPECT_EQ(Find(report, "next")->kind, K::kSkipped);
}

TEST_F(RunnerTest, ForeachStepsRunInParallelAndGetTheirFolders) {
  Write("cairn.yaml", R"(steps:
  fan:
    foreach: [a, b]
    cmd: date +%s%N > deep/nested/${item}.start && sleep 1 && date +%s%N > deep/nested/${item}.end
    outs: [deep/nested/${item}.start, deep/nested/${item}.end]
)");
  RunOptions options;
  options.jobs = 2;
  RunReport report = Run(options);
  ASSERT_TRUE(report.ok);
  auto num = [&](const std::string& p) { return std::stoll(Read(p)); };
  const long long a_start = num("deep/nested/a.start"), a_end = num("deep/nested/a.end");
  const long long b_start = num("deep/nested/b.start"), b_end = num("deep/nested/b.end");
  // Overlapping intervals: each started before the other ended.
  EXPECT_LT(a_start, b_end);
  EXPECT_LT(b_start, a_end);

  // With one job they run one after the other.
  RunOptions serial;
  serial.jobs = 1;
  serial.force = true;
  RunReport again = Run(serial);
  ASSERT_TRUE(again.ok);
  const long long a2_start = num("deep/nested/a.start"), a2_end = num("deep/nested/a.end");
  const long long b2_start = num("deep/nested/b.start"), b2_end = num("deep/nested/b.end");
  EXPECT_TRUE(a2_end <= b2_start || b2_end <= a2_start);
}

TEST_F(RunnerTest, LockFileHasTheDigests) {
  WriteStandardPipeline();
  RunReport report = Run();
  ASSERT_TRUE(report.ok);
  auto lock = LoadLockFile((ws_.root / "cairn.lock").string());
  ASSERT_TRUE(lock) << lock.error().ToString();
  ASSERT_EQ(lock->steps.size(), 4u);
  const LockedStep& train = lock->steps.at("train");
  EXPECT_EQ(train.fingerprint, Find(report, "train")->fingerprint);
  EXPECT_EQ(train.fingerprint.size(), 64u);
  EXPECT_EQ(train.params, (std::map<std::string, std::string>{{"train.lr", "0.1"}}));
  ASSERT_EQ(train.outs.size(), 1u);
  EXPECT_EQ(train.outs[0].path, "model.txt");
  EXPECT_EQ(train.outs[0].kind, data::PointerKind::kFile);
  EXPECT_EQ(train.outs[0].digest, Sha256Hex(Read("model.txt")));
  EXPECT_EQ(train.outs[0].size, Read("model.txt").size());
  ASSERT_EQ(train.metrics.size(), 1u);
  EXPECT_EQ(train.metrics[0].digest, Sha256Hex(Read("metrics.json")));
  ASSERT_EQ(train.deps.size(), 1u);
  EXPECT_EQ(train.deps[0].path, "data/prepared");
  EXPECT_EQ(train.deps[0].kind, data::PointerKind::kDir);
  const LockedStep& prepare = lock->steps.at("prepare");
  ASSERT_EQ(prepare.outs.size(), 1u);
  EXPECT_EQ(prepare.outs[0].digest, train.deps[0].digest);
  EXPECT_EQ(prepare.outs[0].files, std::optional<uint64_t>(2));
  ASSERT_EQ(prepare.deps.size(), 1u);
  EXPECT_EQ(prepare.deps[0].digest, Sha256Hex("a,b\n1,2\n"));
  EXPECT_EQ(lock->steps.at("evaluate@small").outs[0].digest,
            Sha256Hex(Read("model.txt") + "small\n"));
  // The outs are in the cache: the object of model.txt exists.
  auto has = cache_->Has(train.outs[0].digest);
  ASSERT_TRUE(has);
  EXPECT_TRUE(*has);
}

TEST_F(RunnerTest, CopyModeLeavesWritableOuts) {
  WriteStandardPipeline();
  RunOptions options;
  options.link_mode = data::LinkMode::kCopy;
  ASSERT_TRUE(Run(options).ok);
  auto perms = fs::status(ws_.root / "model.txt").permissions();
  EXPECT_NE(perms & fs::perms::owner_write, fs::perms::none);
  RunOptions linked;
  fs::remove(ws_.root / "model.txt");
  ASSERT_TRUE(Run(linked).ok);
  perms = fs::status(ws_.root / "model.txt").permissions();
  EXPECT_EQ(perms & fs::perms::owner_write, fs::perms::none);
}

TEST_F(RunnerTest, TrackingRecordsParentAndChildRuns) {
  auto server = test::LiveServer::Start("cairn-runner-track");
  ASSERT_TRUE(server) << server.error().ToString();
  auto client = client::TrackingClient::Create((*server)->uri());
  ASSERT_TRUE(client);
  WriteStandardPipeline();
  RunOptions options;
  options.tracking = &*client;
  std::vector<std::string> warnings;
  observer_.on_warning = [&](const std::string& w) { warnings.push_back(w); };
  RunReport report = Run(options);
  ASSERT_TRUE(report.ok);
  EXPECT_TRUE(warnings.empty()) << warnings[0];
  ASSERT_FALSE(report.parent_run_id.empty());

  const std::string experiment_name = "pipeline:" + ws_.root.filename().string();
  auto experiment = client->GetExperimentByName(experiment_name);
  ASSERT_TRUE(experiment) << experiment.error().ToString();
  auto runs = client->SearchAllRuns({.experiment_ids = {experiment->experiment_id}});
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 5u);  // the parent and four steps
  auto tag = [](const store::Run& run, const std::string& key) -> std::string {
    for (const auto& t : run.tags) {
      if (t.key == key) return t.value;
    }
    return "<none>";
  };
  std::map<std::string, store::Run> by_step;
  for (const auto& run : *runs) {
    if (run.info.run_id == report.parent_run_id) {
      EXPECT_EQ(tag(run, "cairn.pipeline"), ws_.root.filename().string());
      EXPECT_EQ(run.info.status, "FINISHED");
      EXPECT_TRUE(run.info.run_name.starts_with("repro "));
      continue;
    }
    EXPECT_EQ(tag(run, "mlflow.parentRunId"), report.parent_run_id);
    by_step[tag(run, "cairn.step")] = run;
  }
  ASSERT_EQ(by_step.size(), 4u);
  const store::Run& train = by_step.at("train");
  EXPECT_EQ(train.info.run_name, "train");
  EXPECT_EQ(train.info.run_id, Find(report, "train")->run_id);
  EXPECT_EQ(train.info.status, "FINISHED");
  EXPECT_EQ(tag(train, "cairn.cached"), "false");
  EXPECT_EQ(tag(train, "cairn.executor"), "local");
  EXPECT_EQ(tag(train, "cairn.attempts"), "1");
  EXPECT_EQ(tag(train, "cairn.fingerprint"), Find(report, "train")->fingerprint);
  EXPECT_EQ(tag(train, "cairn.out.model.txt"), "sha256:" + Sha256Hex(Read("model.txt")));
  EXPECT_EQ(tag(by_step.at("prepare"), "cairn.dep.data/raw.txt"),
            "sha256:" + Sha256Hex("a,b\n1,2\n"));
  // Lineage: each dep is a dataset input of the step's run.
  auto prepare = client->GetRun(by_step.at("prepare").info.run_id);
  ASSERT_TRUE(prepare) << prepare.error().ToString();
  ASSERT_EQ(prepare->inputs.size(), 1u);
  const store::DatasetInput& raw = prepare->inputs[0];
  const std::string raw_sha = Sha256Hex("a,b\n1,2\n");
  EXPECT_EQ(raw.dataset.name, "data/raw.txt");
  EXPECT_EQ(raw.dataset.digest, raw_sha.substr(0, 16));
  EXPECT_EQ(raw.dataset.source_type, "cairn");
  EXPECT_EQ(raw.dataset.source, "cairn:sha256:" + raw_sha);
  EXPECT_EQ(raw.dataset.profile, R"({"kind":"file","size":8})");
  ASSERT_EQ(raw.tags.size(), 1u);
  EXPECT_EQ(raw.tags[0], (store::Tag{"mlflow.data.context", "training"}));
  auto train_run = client->GetRun(train.info.run_id);
  ASSERT_TRUE(train_run) << train_run.error().ToString();
  ASSERT_EQ(train_run->inputs.size(), 1u);
  const store::DatasetInput& prepared = train_run->inputs[0];
  EXPECT_EQ(prepared.dataset.name, "data/prepared");
  const std::string prepared_digest = tag(train, "cairn.dep.data/prepared");
  ASSERT_TRUE(prepared_digest.starts_with("sha256:")) << prepared_digest;
  EXPECT_EQ(prepared.dataset.source, "cairn:" + prepared_digest);
  EXPECT_EQ(prepared.dataset.digest, prepared_digest.substr(7, 16));
  // raw.txt (8 bytes) and extra.txt (6 bytes).
  EXPECT_EQ(prepared.dataset.profile, R"({"files":2,"kind":"dir","size":14})");
  std::map<std::string, double> metrics;
  for (const auto& m : train.metrics) metrics[m.key] = m.value;
  EXPECT_EQ(metrics, (std::map<std::string, double>{{"acc", 0.9}, {"nested.loss", 0.25}}));
  ASSERT_EQ(train.params.size(), 1u);
  EXPECT_EQ(train.params[0].key, "train.lr");
  EXPECT_EQ(train.params[0].value, "0.1");
  auto artifacts = client->ListArtifacts(train.info.run_id, "logs");
  ASSERT_TRUE(artifacts) << artifacts.error().ToString();
  ASSERT_EQ(artifacts->size(), 1u);
  EXPECT_EQ((*artifacts)[0].path, "logs/train.log");

  // A restored step is a child run too, marked cached.
  fs::remove(ws_.root / "model.txt");
  RunReport second = Run(options);
  ASSERT_TRUE(second.ok);
  ASSERT_EQ(Find(second, "train")->kind, K::kRestored);
  auto restored = client->GetRun(Find(second, "train")->run_id);
  ASSERT_TRUE(restored);
  EXPECT_EQ(tag(*restored, "cairn.cached"), "true");
  ASSERT_EQ(restored->inputs.size(), 1u);
  EXPECT_EQ(restored->inputs[0].dataset.name, "data/prepared");
  EXPECT_EQ(tag(*restored, "mlflow.parentRunId"), second.parent_run_id);
  EXPECT_TRUE(Find(second, "prepare")->run_id.empty());  // up to date: no child run
  std::map<std::string, double> restored_metrics;
  for (const auto& m : restored->metrics) restored_metrics[m.key] = m.value;
  EXPECT_EQ(restored_metrics.at("acc"), 0.9);
}

// A tracked step's command sees its own child run (MLFLOW_RUN_ID and the
// tracking URI the stock mlflow client reads), and the step's env still wins.
TEST_F(RunnerTest, TrackedStepCommandLogsIntoItsChildRun) {
  auto server = test::LiveServer::Start("cairn-runner-env");
  ASSERT_TRUE(server) << server.error().ToString();
  auto client = client::TrackingClient::Create((*server)->uri());
  ASSERT_TRUE(client);
  Write("cairn.yaml",
        "steps:\n"
        "  show:\n"
        "    cmd: echo \"$MLFLOW_RUN_ID $MLFLOW_TRACKING_URI $MLFLOW_EXPERIMENT_ID "
        "$CAIRN_PIPELINE_RUN_ID $MLFLOW_RUN_NAME\" > env.txt\n"
        "    outs: [env.txt]\n"
        "    env: {MLFLOW_RUN_NAME: mine}\n");
  RunOptions options;
  options.tracking = &*client;
  RunReport report = Run(options);
  ASSERT_TRUE(report.ok);
  const StepResult* show = Find(report, "show");
  ASSERT_NE(show, nullptr);
  ASSERT_FALSE(show->run_id.empty());
  auto run = client->GetRun(show->run_id);
  ASSERT_TRUE(run) << run.error().ToString();
  EXPECT_EQ(Read("env.txt"), show->run_id + " " + client->tracking_uri() + " " +
                                 run->info.experiment_id + " " + report.parent_run_id +
                                 " mine\n");

  // Untracked, the command sees no run at all (none inherited from this test's
  // environment either).
  for (const char* name :
       {"MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "CAIRN_PIPELINE_RUN_ID"}) {
    ::unsetenv(name);
  }
  fs::remove(ws_.root / "env.txt");
  RunOptions untracked;
  untracked.force = true;
  ASSERT_TRUE(Run(untracked).ok);
  EXPECT_EQ(Read("env.txt"), "    mine\n");
}

TEST_F(RunnerTest, FailedStepIsAFailedChildRun) {
  auto server = test::LiveServer::Start("cairn-runner-track");
  ASSERT_TRUE(server) << server.error().ToString();
  auto client = client::TrackingClient::Create((*server)->uri());
  ASSERT_TRUE(client);
  Write("cairn.yaml", "steps:\n  bad:\n    cmd: exit 4\n    outs: [x]\n");
  RunOptions options;
  options.tracking = &*client;
  options.experiment = "my-pipeline";
  RunReport report = Run(options);
  EXPECT_FALSE(report.ok);
  auto child = client->GetRun(Find(report, "bad")->run_id);
  ASSERT_TRUE(child);
  EXPECT_EQ(child->info.status, "FAILED");
  auto parent = client->GetRun(report.parent_run_id);
  ASSERT_TRUE(parent);
  EXPECT_EQ(parent->info.status, "FAILED");
  auto experiment = client->GetExperiment(parent->info.experiment_id);
  ASSERT_TRUE(experiment);
  EXPECT_EQ(experiment->name, "my-pipeline");
}

TEST_F(RunnerTest, SlurmStep) {
  if (std::getenv("SLURM_CONF") == nullptr) {
    if (const char* req = std::getenv("CAIRN_REQUIRE_SLURM"); req && std::string(req) == "1") {
      FAIL() << "CAIRN_REQUIRE_SLURM=1 but SLURM_CONF is not set "
                "(scripts/services/slurm.sh start)";
    }
    GTEST_SKIP() << "SLURM_CONF not set";
  }
  Write("cairn.yaml", R"(steps:
  local:
    cmd: echo local > local.out
    outs: [local.out]
  remote:
    cmd: cat local.out > sub/remote.out && echo "on slurm" && echo $SLURM_JOB_ID > sub/job.id
    deps: [local.out]
    outs: [sub/remote.out, sub/job.id]
    executor: slurm
    resources: {cpus: 1, memory: 100M}
    timeout: 2m
)");
  RunOptions options;
  options.slurm.poll_interval_ms = 200;
  RunReport report = Run(options);
  const StepResult* remote = Find(report, "remote");
  ASSERT_NE(remote, nullptr);
  ASSERT_EQ(remote->kind, K::kRan) << (remote->reasons.empty() ? "" : remote->reasons[0]);
  EXPECT_EQ(Read("sub/remote.out"), "local\n");
  EXPECT_FALSE(Read("sub/job.id").empty());
  EXPECT_NE(Read(".cairn/logs/remote.log").find("on slurm"), std::string::npos);
  ASSERT_TRUE(remote->last.has_value());
  EXPECT_EQ(remote->last->job_id + "\n", Read("sub/job.id"));
}

// A six-item Slurm fan-out goes to Slurm as one job array of six tasks; the
// item that fails is retried alone; outputs and the lock are per item.
TEST_F(RunnerTest, SlurmFanOutRunsAsOneJobArrayAndRetriesOnlyTheFailedItem) {
  if (std::getenv("SLURM_CONF") == nullptr) {
    if (const char* req = std::getenv("CAIRN_REQUIRE_SLURM"); req && std::string(req) == "1") {
      FAIL() << "CAIRN_REQUIRE_SLURM=1 but SLURM_CONF is not set "
                "(scripts/services/slurm.sh start)";
    }
    GTEST_SKIP() << "SLURM_CONF not set";
  }
  Write("cairn.yaml", R"(steps:
  model:
    cmd: echo weights > model.txt
    outs: [model.txt]
  fan:
    foreach: [a, b, c, d, e, f]
    cmd: >-
      echo run >> counts/fan-${item} &&
      if [ ${item} = c ] && [ ! -e counts/c-failed-once ]; then touch counts/c-failed-once; exit 7; fi &&
      mkdir -p out && cat model.txt > out/${item}.txt && echo "${item} $ITEM_ENV" >> out/${item}.txt
    deps: [model.txt]
    outs: [out/${item}.txt]
    env: {ITEM_ENV: "env of ${item}"}
    executor: slurm
    retries: 1
    timeout: 2m
    resources: {cpus: 1}
)");
  RunOptions options;
  options.slurm.poll_interval_ms = 200;
  std::vector<std::pair<std::string, int>> started;
  observer_.on_started = [&](const std::string& step, int attempt) {
    started.emplace_back(step, attempt);
  };
  RunReport report = Run(options);
  EXPECT_TRUE(report.ok);
  const std::vector<std::string> items = {"a", "b", "c", "d", "e", "f"};
  const StepResult* first = Find(report, "fan@a");
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->last.has_value());
  const std::string array_id = first->last->job_id.substr(0, first->last->job_id.find('_'));
  ASSERT_NE(first->last->job_id.find('_'), std::string::npos) << first->last->job_id;
  for (size_t k = 0; k < items.size(); ++k) {
    const std::string& item = items[k];
    SCOPED_TRACE(item);
    const StepResult* r = Find(report, "fan@" + item);
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(r->kind, K::kRan) << (r->reasons.empty() ? "" : r->reasons[0]);
    EXPECT_EQ(Read("out/" + item + ".txt"), "weights\n" + item + " env of " + item + "\n");
    ASSERT_TRUE(r->last.has_value());
    if (item == "c") {
      // Its first attempt was task 2 of the array; the retry ran alone.
      EXPECT_EQ(r->attempts, 2);
      EXPECT_EQ(Count("fan-c"), 2);
      EXPECT_FALSE(r->last->job_id.starts_with(array_id + "_")) << r->last->job_id;
      const std::string log = Read(".cairn/logs/fan@c.log");
      EXPECT_NE(log.find("attempt 1 of 2"), std::string::npos) << log;
      EXPECT_NE(log.find("attempt 2 of 2"), std::string::npos) << log;
    } else {
      EXPECT_EQ(r->attempts, 1);
      EXPECT_EQ(Count("fan-" + item), 1);
      EXPECT_EQ(r->last->job_id, array_id + "_" + std::to_string(k));
    }
  }
  // Slurm saw one array of six tasks (plus the single retry of c).
  std::string show;
  {
    FILE* p = ::popen(("scontrol -o show job " + array_id + " 2>&1").c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) show.append(buf, n);
    ::pclose(p);
  }
  size_t tasks = 0;
  for (size_t pos = 0; (pos = show.find("ArrayJobId=" + array_id + " ", pos)) != std::string::npos;
       ++pos) {
    ++tasks;
  }
  EXPECT_EQ(tasks, 6u) << show;
  EXPECT_NE(show.find("JobName=cairn-fan "), std::string::npos) << show;
  // Six first attempts, then c's second.
  int firsts = 0;
  for (const auto& [step, attempt] : started) {
    if (step.starts_with("fan@") && attempt == 1) ++firsts;
  }
  EXPECT_EQ(firsts, 6);
  EXPECT_EQ(std::count(started.begin(), started.end(), std::make_pair(std::string("fan@c"), 2)), 1);
  // The lock has every item; a second run has nothing to do.
  auto lock = LoadLockFile((ws_.root / "cairn.lock").string());
  ASSERT_TRUE(lock) << lock.error().ToString();
  for (const auto& item : items) EXPECT_TRUE(lock->steps.contains("fan@" + item)) << item;
  RunReport again = Run(options);
  for (const auto& item : items) EXPECT_EQ(Kinds(again)["fan@" + item], K::kUpToDate) << item;
}

// With arrays off, each item is its own job (the path of non-fan-out steps).
TEST_F(RunnerTest, SlurmFanOutWithoutArraysIsOneJobPerItem) {
  if (std::getenv("SLURM_CONF") == nullptr) {
    if (const char* req = std::getenv("CAIRN_REQUIRE_SLURM"); req && std::string(req) == "1") {
      FAIL() << "CAIRN_REQUIRE_SLURM=1 but SLURM_CONF is not set";
    }
    GTEST_SKIP() << "SLURM_CONF not set";
  }
  Write("cairn.yaml", R"(steps:
  fan:
    foreach: [a, b]
    cmd: echo ${item} > ${item}.txt
    outs: [${item}.txt]
    executor: slurm
)");
  RunOptions options;
  options.slurm.poll_interval_ms = 200;
  options.slurm_arrays = false;
  RunReport report = Run(options);
  ASSERT_TRUE(report.ok);
  for (const char* item : {"a", "b"}) {
    const StepResult* r = Find(report, std::string("fan@") + item);
    ASSERT_NE(r, nullptr);
    ASSERT_TRUE(r->last.has_value());
    EXPECT_EQ(r->last->job_id.find('_'), std::string::npos) << r->last->job_id;
    EXPECT_EQ(Read(std::string(item) + ".txt"), std::string(item) + "\n");
  }
}

// Audit (issue 5, "Bad input and faults"): a step killed by a signal fails
// naming the signal, is retried, and records nothing.
TEST_F(RunnerTest, StepKilledBySignalFailsNamingItAndIsRetried) {
  Write("cairn.yaml", R"(steps:
  victim:
    cmd: echo run >> counts/victim && echo partial > v.out && kill -KILL $$
    outs: [v.out]
    retries: 1
  sibling:
    cmd: echo s > s.out
    outs: [s.out]
)");
  RunReport report = Run();
  EXPECT_FALSE(report.ok);
  const StepResult* victim = Find(report, "victim");
  ASSERT_NE(victim, nullptr);
  EXPECT_EQ(victim->kind, K::kFailed);
  EXPECT_EQ(victim->attempts, 2);
  EXPECT_EQ(Count("victim"), 2);
  ASSERT_EQ(victim->reasons.size(), 1u);
  EXPECT_EQ(victim->reasons[0], "killed by SIGKILL");
  ASSERT_TRUE(victim->last.has_value());
  EXPECT_EQ(victim->last->signal, SIGKILL);
  EXPECT_EQ(Find(report, "sibling")->kind, K::kRan);
  // The partial out is not recorded: the lock has the sibling only.
  auto lock = LoadLockFile((ws_.root / "cairn.lock").string());
  ASSERT_TRUE(lock) << lock.error().ToString();
  EXPECT_FALSE(lock->steps.contains("victim"));
  EXPECT_TRUE(lock->steps.contains("sibling"));
}

// Audit: a dep that existed at the last run and then disappears fails its
// step by name, skips what depends on it, leaves cairn.lock as it was, and
// once it is back nothing needs to run.
TEST_F(RunnerTest, DepThatDisappearsFailsItsStepAndLeavesTheLockAlone) {
  WriteStandardPipeline();
  ASSERT_TRUE(Run().ok);
  const std::string lock_before = Read("cairn.lock");
  const std::string raw = Read("data/raw.txt");
  fs::remove(ws_.root / "data/raw.txt");
  RunReport report = Run();
  EXPECT_FALSE(report.ok);
  const StepResult* prepare = Find(report, "prepare");
  ASSERT_NE(prepare, nullptr);
  EXPECT_EQ(prepare->kind, K::kFailed);
  ASSERT_FALSE(prepare->reasons.empty());
  EXPECT_NE(prepare->reasons[0].find("data/raw.txt"), std::string::npos) << prepare->reasons[0];
  EXPECT_EQ(Kinds(report)["train"], K::kSkipped);
  EXPECT_EQ(Kinds(report)["evaluate@small"], K::kSkipped);
  EXPECT_EQ(Count("prepare"), 1);
  EXPECT_EQ(Read("cairn.lock"), lock_before);
  Write("data/raw.txt", raw);
  RunReport back = Run();
  EXPECT_TRUE(back.ok);
  for (const auto& [step, kind] : Kinds(back)) EXPECT_EQ(kind, K::kUpToDate) << step;
  EXPECT_EQ(Count("prepare"), 1);
}

bool SlurmAvailableOrSkip() {
  if (std::getenv("SLURM_CONF") != nullptr) return true;
  if (const char* req = std::getenv("CAIRN_REQUIRE_SLURM"); req && std::string(req) == "1") {
    ADD_FAILURE() << "CAIRN_REQUIRE_SLURM=1 but SLURM_CONF is not set";
  }
  return false;
}

std::string ShellOutput(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  return out;
}

// Audit: a Slurm job cancelled outside Cairn (an admin's scancel) fails its
// step saying so, and is not retried.
TEST_F(RunnerTest, SlurmJobCancelledOutsideFailsItsStepSayingSo) {
  if (!SlurmAvailableOrSkip()) GTEST_SKIP() << "SLURM_CONF not set";
  const std::string name = "victim-" + fs::path(root_).filename().string().substr(13);
  Write("cairn.yaml", "steps:\n  " + name +
                          ":\n    cmd: echo run >> counts/victim && sleep 58 && echo x > v.out\n"
                          "    outs: [v.out]\n    executor: slurm\n    retries: 2\n");
  std::thread outsider([&] {
    for (int i = 0; i < 150; ++i) {
      std::string id = ShellOutput("squeue -h -t RUNNING -n cairn-" + name + " -o %i");
      if (!id.empty() && id.find_first_not_of("0123456789\n") == std::string::npos) {
        ShellOutput("scancel " + id);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  RunOptions options;
  options.slurm.poll_interval_ms = 200;
  RunReport report = Run(options);
  outsider.join();
  const StepResult* r = Find(report, name);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->kind, K::kFailed);
  EXPECT_EQ(r->attempts, 1);
  ASSERT_FALSE(r->reasons.empty());
  EXPECT_NE(r->reasons[0].find("cancelled outside Cairn"), std::string::npos) << r->reasons[0];
  EXPECT_FALSE(report.ok);
}

// Ctrl-C during a Slurm fan-out cancels the whole array, running and
// pending tasks alike; every item fails as cancelled.
TEST_F(RunnerTest, CancelDuringASlurmFanOutCancelsTheArray) {
  if (!SlurmAvailableOrSkip()) GTEST_SKIP() << "SLURM_CONF not set";
  Write("cairn.yaml", R"(steps:
  wait:
    foreach: [a, b, c, d]
    cmd: echo started > started-${item} && sleep 58 && echo x > ${item}.out
    outs: [${item}.out]
    executor: slurm
    retries: 2
)");
  exec::CancelToken cancel;
  RunOptions options;
  options.slurm.poll_interval_ms = 200;
  options.cancel = &cancel;
  std::thread ctrl_c([&] {
    // Once a task runs (its first line is written), press Ctrl-C.
    for (int i = 0; i < 200 && !fs::exists(ws_.root / "started-a"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    cancel.Cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  RunReport report = Run(options);
  ctrl_c.join();
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  EXPECT_FALSE(report.ok);
  EXPECT_LT(elapsed, 30'000);
  std::string array_id;
  for (const char* item : {"a", "b", "c", "d"}) {
    const StepResult* r = Find(report, std::string("wait@") + item);
    ASSERT_NE(r, nullptr) << item;
    EXPECT_EQ(r->kind, K::kFailed) << item;
    EXPECT_EQ(r->attempts, 1) << item;
    ASSERT_FALSE(r->reasons.empty());
    EXPECT_EQ(r->reasons[0], "cancelled") << item;
    ASSERT_TRUE(r->last.has_value());
    array_id = r->last->job_id.substr(0, r->last->job_id.find('_'));
  }
  ASSERT_FALSE(array_id.empty());
  EXPECT_EQ(ShellOutput("squeue -h -r -j " + array_id + " -o %i"), "");
  const std::string show = ShellOutput("scontrol -o show job " + array_id);
  EXPECT_EQ(show.find("JobState=RUNNING"), std::string::npos) << show;
  EXPECT_EQ(show.find("JobState=PENDING"), std::string::npos) << show;
  EXPECT_EQ(show.find("JobState=COMPLETED"), std::string::npos) << show;
}

}  // namespace
}  // namespace cairn::pipeline
