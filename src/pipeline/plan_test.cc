#include "pipeline/plan.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "data/cache.h"
#include "data/config.h"
#include "data/data_test_util.h"
#include "data/workspace.h"
#include "pipeline/params.h"

namespace cairn::pipeline {
namespace {

namespace fs = std::filesystem;
using data::testing::AgeFile;
using data::testing::ReadFile;
using data::testing::TempDir;
using data::testing::WriteFile;
using ::testing::ElementsAre;

// ---- fingerprints ----

Step GoldenStep() {
  Step step;
  step.name = "train";
  step.base_name = "train";
  step.cmd = "python train.py --lr \"x\"\t";
  step.env = {{"OMP_NUM_THREADS", "2"}, {"A", "\xc3\xa9"}};
  return step;
}

std::map<std::string, std::string> GoldenParams() {
  return {{"train.lr", "0.1"},
          {"train.depth", "6"},
          {"other.yaml:name", "\"resnet\""},
          {"m", "{\"a\":null,\"b\":[1,true]}"}};
}

std::vector<LockedPath> GoldenDeps() {
  return {{"train.py", data::PointerKind::kFile, std::string(64, 'b'), 10, std::nullopt},
          {"data/prepared", data::PointerKind::kDir, std::string(64, 'a'), 20, 2}};
}

// Expected values computed independently with Python:
//   obj = {"cmd": "python train.py --lr \"x\"\t", "deps": [sorted by path],
//          "env": {"OMP_NUM_THREADS": "2", "A": "é"},
//          "params": {"train.lr": 0.1, "train.depth": 6, "other.yaml:name": "resnet",
//                     "m": {"b": [1, True], "a": None}}}
//   s = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
//   hashlib.sha256(s.encode()).hexdigest()
TEST(FingerprintTest, GoldenValue) {
  std::string input = FingerprintInput(GoldenStep(), GoldenParams(), GoldenDeps());
  EXPECT_EQ(input,
            "{\"cmd\":\"python train.py --lr \\\"x\\\"\\t\",\"deps\":[{\"digest\":\"" +
                std::string(64, 'a') + "\",\"path\":\"data/prepared\"},{\"digest\":\"" +
                std::string(64, 'b') +
                "\",\"path\":\"train.py\"}],\"env\":{\"A\":\"\xc3\xa9\",\"OMP_NUM_THREADS\":\"2\"},"
                "\"params\":{\"m\":{\"a\":null,\"b\":[1,true]},\"other.yaml:name\":\"resnet\","
                "\"train.depth\":6,\"train.lr\":0.1}}");
  EXPECT_EQ(ComputeFingerprint(GoldenStep(), GoldenParams(), GoldenDeps()),
            "ae3e86aedaa8b501d6ad23a4057e34c90aa05b22cc80631dccb8a948e329e0b0");
}

TEST(FingerprintTest, OnlyCmdEnvParamsAndDepDigestsCount) {
  const std::string base = ComputeFingerprint(GoldenStep(), GoldenParams(), GoldenDeps());
  Step other = GoldenStep();
  other.outs = {{"model", {}}};
  other.metrics = {{"m.json", {}}};
  other.retries = 3;
  other.timeout_ms = 1000;
  other.executor = ExecutorKind::kSlurm;
  other.resources.cpus = 4;
  std::vector<LockedPath> sizes = GoldenDeps();
  sizes[0].size = 999;  // only digests and paths count
  EXPECT_EQ(ComputeFingerprint(other, GoldenParams(), sizes), base);

  Step cmd = GoldenStep();
  cmd.cmd += " ";
  EXPECT_NE(ComputeFingerprint(cmd, GoldenParams(), GoldenDeps()), base);
  Step env = GoldenStep();
  env.env["OMP_NUM_THREADS"] = "3";
  EXPECT_NE(ComputeFingerprint(env, GoldenParams(), GoldenDeps()), base);
  auto params = GoldenParams();
  params["train.lr"] = "0.10";
  EXPECT_NE(ComputeFingerprint(GoldenStep(), params, GoldenDeps()), base);
  auto deps = GoldenDeps();
  deps[1].digest = std::string(64, 'c');
  EXPECT_NE(ComputeFingerprint(GoldenStep(), GoldenParams(), deps), base);
}

// ---- the run cache ----

TEST(RunCacheTest, RecordLookupAndCorruptEntries) {
  TempDir dir;
  RunCache runs((dir.path() / "runs").string());
  const std::string fp(64, 'd');
  auto none = runs.Lookup(fp);
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());

  RunCacheEntry entry;
  entry.step = "train";
  entry.created_ms = 1700000000123;
  entry.outs = {{"model", data::PointerKind::kDir, std::string(64, 'a'), 30, 3}};
  entry.metrics = {
      {"metrics.json", data::PointerKind::kFile, std::string(64, 'b'), 12, std::nullopt}};
  ASSERT_TRUE(runs.Record(fp, entry).has_value());
  std::string text = ReadFile(dir.path() / "runs" / (fp + ".json"));
  EXPECT_EQ(text,
            "{\"created_ms\":1700000000123,\"format\":\"cairn-run\",\"metrics\":[{\"digest\":\"" +
                std::string(64, 'b') +
                "\",\"kind\":\"file\",\"path\":\"metrics.json\",\"size\":12}],\"outs\":[{"
                "\"digest\":\"" +
                std::string(64, 'a') +
                "\",\"files\":3,\"kind\":\"dir\",\"path\":\"model\",\"size\":30}],\"step\":"
                "\"train\",\"version\":1}\n");
  auto found = runs.Lookup(fp);
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->step, "train");
  EXPECT_EQ((*found)->created_ms, 1700000000123);
  EXPECT_EQ((*found)->outs, entry.outs);
  EXPECT_EQ((*found)->metrics, entry.metrics);

  // A cache entry that does not parse is ignored, not an error.
  WriteFile(dir.path() / "runs" / (fp + ".json"), "{\"format\":\"cairn-run\",\"version\":1,");
  auto corrupt = runs.Lookup(fp);
  ASSERT_TRUE(corrupt.has_value());
  EXPECT_FALSE(corrupt->has_value());
  WriteFile(dir.path() / "runs" / (fp + ".json"),
            "{\"format\":\"cairn-run\",\"version\":1,\"step\":\"x\",\"outs\":[{\"path\":\"../x\","
            "\"kind\":\"file\",\"digest\":\"" +
                std::string(64, 'a') + "\",\"size\":1}]}");
  auto escaping = runs.Lookup(fp);
  ASSERT_TRUE(escaping.has_value());
  EXPECT_FALSE(escaping->has_value());

  auto bad = runs.Lookup("../../etc/passwd");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

// ---- the planner on temporary repositories ----

constexpr char kSpec[] =
    "steps:\n"
    "  prepare:\n"
    "    cmd: python prepare.py\n"
    "    deps: [data/raw, prepare.py]\n"
    "    outs: [data/prepared]\n"
    "  train:\n"
    "    cmd: python train.py\n"
    "    deps: [data/prepared, train.py]\n"
    "    params: [train.lr, train.depth]\n"
    "    outs: [model]\n"
    "    metrics: [metrics.json]\n"
    "    env: {SEED: \"1\"}\n"
    "  evaluate:\n"
    "    foreach: [small, large]\n"
    "    cmd: python evaluate.py --split ${item}\n"
    "    deps: [model, data/prepared/part-1.csv]\n"
    "    outs: [eval/${item}.json]\n";

class PlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ws = data::InitWorkspace(dir_.path());
    ASSERT_TRUE(ws.has_value()) << ws.error().message();
    ws_ = *ws;
    auto cache = data::Cache::Open(ws_, data::DataConfig{});
    ASSERT_TRUE(cache.has_value()) << cache.error().message();
    cache_ = std::move(*cache);
    Write("params.yaml", "train:\n  lr: 0.1\n  depth: 6\n");
    Write("data/raw/a.csv", "x,y\n1,2\n");
    Write("data/raw/b.csv", "x,y\n3,4\n");
    Write("prepare.py", "print('prepare')\n");
    Write("train.py", "print('train')\n");
    WriteSpec(kSpec);
  }

  void Write(const std::string& rel, const std::string& content) {
    WriteFile(ws_.root / rel, content);
    AgeFile(ws_.root / rel);
  }

  void WriteSpec(const std::string& text) {
    auto spec = ParsePipelineSpec(text, "cairn.yaml");
    ASSERT_TRUE(spec.has_value()) << spec.error().message();
    auto dag = Dag::Build(std::move(*spec));
    ASSERT_TRUE(dag.has_value()) << dag.error().message();
    dag_ = std::make_unique<Dag>(std::move(*dag));
  }

  Planner MakePlanner(PlanOptions options = {}) { return Planner(*cache_, *dag_, lock_, options); }

  std::vector<StepPlan> PlanAll(PlanOptions options = {}, std::vector<std::string> targets = {}) {
    Planner planner = MakePlanner(options);
    auto steps = planner.Select(targets);
    EXPECT_TRUE(steps.has_value()) << steps.error().message();
    if (!steps) return {};
    auto plans = planner.PlanAll(*steps);
    EXPECT_TRUE(plans.has_value()) << plans.error().message();
    return plans ? *plans : std::vector<StepPlan>{};
  }

  StepPlan Plan(const std::string& step, PlanOptions options = {}) {
    Planner planner = MakePlanner(options);
    auto plan = planner.PlanStep(step);
    EXPECT_TRUE(plan.has_value()) << plan.error().message();
    return plan ? *plan : StepPlan{};
  }

  // What the runner does for a stale step: write outs (their bytes depend on
  // the fingerprint, as a real step's would on its inputs), commit them,
  // record the run cache and the lock.
  void Run(const std::string& name) {
    StepPlan plan = Plan(name);
    ASSERT_FALSE(plan.fingerprint.empty());
    const Step* step = dag_->spec().Find(name);
    ASSERT_NE(step, nullptr);
    LockedStep locked;
    locked.fingerprint = plan.fingerprint;
    locked.cmd = step->cmd;
    locked.params = plan.params;
    locked.deps = plan.deps;
    RunCacheEntry entry;
    entry.step = name;
    auto produce = [&](const std::string& path, std::vector<LockedPath>& into) {
      std::error_code ec;
      fs::remove_all(ws_.root / path, ec);
      std::string content = name + " from " + plan.fingerprint.substr(0, 12) + "\n";
      if (path.find('.') == std::string::npos || path == "data/prepared") {
        Write(path + "/part-1.csv", content + "1");
        Write(path + "/part-2.csv", content + "2");
      } else {
        Write(path, content);
      }
      auto pointer = cache_->Commit(path, data::LinkMode::kCopy);
      ASSERT_TRUE(pointer.has_value()) << pointer.error().message();
      into.push_back(FromPointer(path, *pointer));
    };
    for (const PathEntry& out : step->outs) produce(out.path, locked.outs);
    for (const PathEntry& m : step->metrics) produce(m.path, locked.metrics);
    entry.outs = locked.outs;
    entry.metrics = locked.metrics;
    ASSERT_TRUE(RunCache(cache_->RunsDir()).Record(plan.fingerprint, entry).has_value());
    lock_.steps[name] = locked;
  }

  void RunAll() {
    for (const std::string& name : dag_->TopologicalOrder()) Run(name);
  }

  static std::vector<std::string> Statuses(const std::vector<StepPlan>& plans) {
    std::vector<std::string> out;
    for (const StepPlan& p : plans)
      out.push_back(p.step + ": " + std::string(StepStatusName(p.status)));
    return out;
  }

  TempDir dir_;
  data::Workspace ws_;
  std::unique_ptr<data::Cache> cache_;
  std::unique_ptr<Dag> dag_;
  LockFile lock_;
};

TEST_F(PlannerTest, SelectTakesUpstreamAndBaseNames) {
  Planner planner = MakePlanner();
  auto all = planner.Select({});
  ASSERT_TRUE(all.has_value());
  EXPECT_THAT(*all, ElementsAre("prepare", "train", "evaluate@small", "evaluate@large"));
  auto train = planner.Select({"train"});
  ASSERT_TRUE(train.has_value());
  EXPECT_THAT(*train, ElementsAre("prepare", "train"));
  auto eval = planner.Select({"evaluate"});
  ASSERT_TRUE(eval.has_value());
  EXPECT_THAT(*eval, ElementsAre("prepare", "train", "evaluate@small", "evaluate@large"));
  auto large = planner.Select({"evaluate@large", "prepare"});
  ASSERT_TRUE(large.has_value());
  EXPECT_THAT(*large, ElementsAre("prepare", "train", "evaluate@large"));
  auto unknown = planner.Select({"trian"});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(unknown.error().message(),
            "unknown step 'trian' (steps: prepare, train, evaluate@small, evaluate@large)");
}

TEST_F(PlannerTest, NeverRunThenUpToDate) {
  auto plans = PlanAll();
  ASSERT_EQ(plans.size(), 4u);
  EXPECT_EQ(plans[0].status, StepStatus::kStale);
  EXPECT_THAT(plans[0].reasons, ElementsAre("never run"));
  EXPECT_EQ(plans[0].fingerprint.size(), 64u);
  EXPECT_THAT(plans[1].reasons, ElementsAre("never run", "upstream 'prepare' will run"));
  EXPECT_TRUE(plans[1].fingerprint.empty());
  EXPECT_EQ(plans[1].params.at("train.lr"), "0.1");
  // evaluate reads a file of prepare's out too: both parents are named.
  EXPECT_THAT(plans[2].reasons,
              ElementsAre("never run", "upstream 'prepare' will run", "upstream 'train' will run"));
  EXPECT_THAT(plans[3].reasons,
              ElementsAre("never run", "upstream 'prepare' will run", "upstream 'train' will run"));

  RunAll();
  plans = PlanAll();
  EXPECT_THAT(Statuses(plans),
              ElementsAre("prepare: up to date", "train: up to date", "evaluate@small: up to date",
                          "evaluate@large: up to date"));
  for (const StepPlan& p : plans) {
    EXPECT_TRUE(p.reasons.empty()) << p.step;
    EXPECT_EQ(p.fingerprint, lock_.steps.at(p.step).fingerprint);
  }
  // Deps are reported in the step's order with their digests.
  ASSERT_EQ(plans[1].deps.size(), 2u);
  EXPECT_EQ(plans[1].deps[0].path, "data/prepared");
  EXPECT_EQ(plans[1].deps[0].digest, lock_.steps.at("prepare").outs[0].digest);
  EXPECT_EQ(plans[1].deps[1].path, "train.py");
}

TEST_F(PlannerTest, ParamChangeNamesOldAndNewValue) {
  RunAll();
  Write("params.yaml", "train:\n  lr: 0.2\n  depth: 6\n");
  auto plans = PlanAll();
  ASSERT_EQ(plans.size(), 4u);
  EXPECT_EQ(plans[0].status, StepStatus::kUpToDate);
  EXPECT_EQ(plans[1].status, StepStatus::kStale);
  EXPECT_THAT(plans[1].reasons, ElementsAre("param train.lr 0.1 -> 0.2"));
  EXPECT_THAT(plans[2].reasons, ElementsAre("upstream 'train' will run"));
  EXPECT_THAT(plans[3].reasons, ElementsAre("upstream 'train' will run"));

  // Going back to 0.1: the earlier result is in the run cache, but the
  // workspace holds it anyway (the lock was not rewritten): up to date.
  Run("train");
  Write("params.yaml", "train:\n  lr: 0.1\n  depth: 6\n");
  StepPlan back = Plan("train");
  EXPECT_EQ(back.status, StepStatus::kRestorable);
  ASSERT_TRUE(back.cached.has_value());
  EXPECT_EQ(back.cached->step, "train");
  EXPECT_NE(back.cached->outs[0].digest, lock_.steps.at("train").outs[0].digest);
}

TEST_F(PlannerTest, ReformattedParamsKeepTheFingerprint) {
  RunAll();
  const std::string before = lock_.steps.at("train").fingerprint;
  Write("params.yaml", "# reformatted\ntrain: {depth: 6,   lr: 0.1}\nunrelated: [1, 2]\n");
  StepPlan plan = Plan("train");
  EXPECT_EQ(plan.status, StepStatus::kUpToDate);
  EXPECT_EQ(plan.fingerprint, before);
  // A param added to the step and one value written differently.
  Write("params.yaml", "train:\n  lr: 0.10\n  depth: 6\n  epochs: 3\n");
  WriteSpec(std::string(kSpec).replace(std::string(kSpec).find("train.depth]"), 12,
                                       "train.depth, train.epochs]"));
  plan = Plan("train");
  EXPECT_EQ(plan.status, StepStatus::kStale);
  EXPECT_THAT(plan.reasons, ElementsAre("param train.epochs added", "param train.lr 0.1 -> 0.10"));
}

TEST_F(PlannerTest, CmdEnvAndDepChanges) {
  RunAll();
  std::string spec = kSpec;
  std::string cmd_changed = spec;
  cmd_changed.replace(cmd_changed.find("python train.py\n"), 16, "python train.py --fast\n");
  WriteSpec(cmd_changed);
  EXPECT_THAT(Plan("train").reasons, ElementsAre("cmd changed"));

  std::string env_changed = spec;
  env_changed.replace(env_changed.find("SEED: \"1\""), 9, "SEED: \"2\"");
  WriteSpec(env_changed);
  EXPECT_THAT(Plan("train").reasons, ElementsAre("env changed"));

  std::string dep_added = spec;
  dep_added.replace(dep_added.find("[data/raw, prepare.py]"), 22,
                    "[data/raw, prepare.py, extra.txt]");
  Write("extra.txt", "x");
  WriteSpec(dep_added);
  EXPECT_THAT(Plan("prepare").reasons, ElementsAre("dep extra.txt added"));
  std::string dep_removed = spec;
  dep_removed.replace(dep_removed.find("[data/raw, prepare.py]"), 22, "[data/raw]");
  WriteSpec(dep_removed);
  EXPECT_THAT(Plan("prepare").reasons, ElementsAre("dep prepare.py removed"));

  WriteSpec(spec);
  Write("data/raw/a.csv", "x,y\n1,20\n");
  auto plans = PlanAll();
  ASSERT_EQ(plans.size(), 4u);
  EXPECT_THAT(plans[0].reasons, ElementsAre("dep data/raw changed"));
  EXPECT_THAT(plans[1].reasons, ElementsAre("upstream 'prepare' will run"));
  EXPECT_THAT(plans[2].reasons,
              ElementsAre("upstream 'prepare' will run", "upstream 'train' will run"));
  // Several reasons, in the documented order, and "forced" first.
  WriteSpec(cmd_changed);
  Write("params.yaml", "train:\n  lr: 0.3\n  depth: 6\n");
  Write("data/raw/a.csv", "x,y\n1,2\n");
  Write("train.py", "print('train v2')\n");
  PlanOptions force;
  force.force = true;
  EXPECT_THAT(
      Plan("train", force).reasons,
      ElementsAre("forced", "cmd changed", "param train.lr 0.1 -> 0.3", "dep train.py changed"));
  EXPECT_THAT(Plan("prepare", force).reasons, ElementsAre("forced"));
}

TEST_F(PlannerTest, MissingAndModifiedOuts) {
  RunAll();
  PlanOptions no_run_cache;
  no_run_cache.use_run_cache = false;
  fs::remove_all(ws_.root / "model");
  StepPlan missing = Plan("train", no_run_cache);
  EXPECT_EQ(missing.status, StepStatus::kStale);
  EXPECT_THAT(missing.reasons, ElementsAre("out model missing"));
  // With the run cache, the same step is restorable from the cache.
  StepPlan cached = Plan("train");
  EXPECT_EQ(cached.status, StepStatus::kRestorable);
  EXPECT_TRUE(cached.reasons.empty());
  ASSERT_TRUE(cached.cached.has_value());
  EXPECT_EQ(cached.cached->outs, lock_.steps.at("train").outs);
  EXPECT_EQ(cached.cached->metrics, lock_.steps.at("train").metrics);

  Write("metrics.json", "{\"acc\": 1}");
  StepPlan modified = Plan("train", no_run_cache);
  EXPECT_THAT(modified.reasons, ElementsAre("out model missing", "out metrics.json modified"));
}

TEST_F(PlannerTest, RunCacheEntryWithoutObjectsIsStale) {
  RunAll();
  fs::remove_all(ws_.root / "model");
  fs::remove_all(cache_->blobs().root() + "/objects");
  StepPlan plan = Plan("train");
  EXPECT_EQ(plan.status, StepStatus::kStale);
  EXPECT_THAT(plan.reasons, ElementsAre("out model missing"));
}

TEST_F(PlannerTest, AFreshCloneRestoresFromTheLock) {
  RunAll();
  // A clone has cairn.lock and (after `cairn data pull`) the objects, but no
  // run cache: the lock's outs are restorable.
  fs::remove_all(cache_->RunsDir());
  fs::remove_all(ws_.root / "model");
  StepPlan plan = Plan("train");
  EXPECT_EQ(plan.status, StepStatus::kRestorable);
  ASSERT_TRUE(plan.cached.has_value());
  EXPECT_EQ(plan.cached->outs, lock_.steps.at("train").outs);
  EXPECT_EQ(plan.cached->metrics, lock_.steps.at("train").metrics);
  // Not when the fingerprint moved.
  Write("params.yaml", "train:\n  lr: 0.5\n  depth: 6\n");
  EXPECT_THAT(Plan("train").reasons, ElementsAre("param train.lr 0.1 -> 0.5", "out model missing"));
}

TEST_F(PlannerTest, DownstreamOfRestorableUsesTheCachedOuts) {
  RunAll();
  fs::remove_all(ws_.root / "data/prepared");
  auto plans = PlanAll();
  ASSERT_EQ(plans.size(), 4u);
  EXPECT_EQ(plans[0].status, StepStatus::kRestorable);
  // train reads data/prepared (the whole out), evaluate a file inside it: both
  // are up to date once prepare is restored.
  EXPECT_EQ(plans[1].status, StepStatus::kUpToDate) << ::testing::PrintToString(plans[1].reasons);
  EXPECT_EQ(plans[2].status, StepStatus::kUpToDate) << ::testing::PrintToString(plans[2].reasons);
  EXPECT_EQ(plans[2].deps[1].digest, lock_.steps.at("evaluate@small").deps[1].digest);
}

TEST_F(PlannerTest, ADepFolderHoldingRestorableOuts) {
  // `report` reads the folder eval/, which both evaluate steps write into.
  WriteSpec(std::string(kSpec) +
            "  report:\n    cmd: python report.py\n    deps: [eval]\n    outs: [report.txt]\n");
  RunAll();
  fs::remove_all(ws_.root / "eval");
  auto plans = PlanAll();
  ASSERT_EQ(plans.size(), 5u);
  EXPECT_EQ(plans[2].status, StepStatus::kRestorable);
  EXPECT_EQ(plans[3].status, StepStatus::kRestorable);
  EXPECT_EQ(plans[4].step, "report");
  EXPECT_EQ(plans[4].status, StepStatus::kUpToDate) << ::testing::PrintToString(plans[4].reasons);
}

TEST_F(PlannerTest, MissingSourceDepIsNotFound) {
  fs::remove_all(ws_.root / "data/raw");
  Planner planner = MakePlanner();
  auto plan = planner.PlanStep("prepare");
  ASSERT_FALSE(plan.has_value());
  EXPECT_EQ(plan.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(plan.error().message(),
            "step 'prepare': dep data/raw does not exist (is it produced by a step, or tracked "
            "with cairn data add and not pulled?)");
  auto unknown = planner.PlanStep("nope");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code(), ErrorCode::kNotFound);
}

TEST_F(PlannerTest, DepOutsideTheRepository) {
  TempDir outside;
  WriteFile(outside.path() / "shared" / "labels.csv", "a\n");
  AgeFile(outside.path() / "shared" / "labels.csv");
  const std::string dep = (outside.path() / "shared").string();
  WriteSpec("steps:\n  s:\n    cmd: cat " + dep + "/labels.csv\n    deps: [" + dep +
            "]\n    outs: [o.txt]\n");
  StepPlan first = Plan("s");
  ASSERT_EQ(first.deps.size(), 1u);
  EXPECT_EQ(first.deps[0].path, dep);
  EXPECT_EQ(first.deps[0].kind, data::PointerKind::kDir);
  EXPECT_EQ(first.deps[0].files, std::optional<uint64_t>(1));
  Run("s");
  EXPECT_EQ(Plan("s").status, StepStatus::kUpToDate);
  WriteFile(outside.path() / "shared" / "labels.csv", "b\n");
  EXPECT_THAT(Plan("s").reasons, ElementsAre("dep " + dep + " changed"));
}

TEST_F(PlannerTest, NoOpPlanOf10kFilesHashesNothingTheSecondTime) {
  WriteSpec(
      "steps:\n"
      "  big:\n"
      "    cmd: wc -l data/big\n"
      "    deps: [data/big]\n"
      "    outs: [count.txt]\n");
  // Plain syscalls: 10k files through ofstream + chmod + utimes is slow here.
  struct timespec times[2];
  ::clock_gettime(CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= 10;  // outside the stat cache's racy window
  times[1] = times[0];
  for (int d = 0; d < 100; ++d)
    fs::create_directories(ws_.root / "data/big" / ("d" + std::to_string(d)));
  for (int i = 0; i < 10000; ++i) {
    std::string p =
        (ws_.root / "data/big" / ("d" + std::to_string(i % 100)) / (std::to_string(i) + ".txt"))
            .string();
    std::string row = "row " + std::to_string(i) + "\n";
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << p;
    ASSERT_EQ(::write(fd, row.data(), row.size()), static_cast<ssize_t>(row.size()));
    ASSERT_EQ(::futimens(fd, times), 0);
    ::close(fd);
  }
  {
    Planner first = MakePlanner();
    auto plan = first.PlanStep("big");
    ASSERT_TRUE(plan.has_value()) << plan.error().message();
    EXPECT_EQ(first.hash_stats().hashed, 10000u);
  }
  Run("big");
  Planner second = MakePlanner();
  auto steps = second.Select({});
  ASSERT_TRUE(steps.has_value());
  auto start = std::chrono::steady_clock::now();
  auto plans = second.PlanAll(*steps);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  ASSERT_TRUE(plans.has_value()) << plans.error().message();
  EXPECT_EQ((*plans)[0].status, StepStatus::kUpToDate);
  EXPECT_EQ(second.hash_stats().hashed, 0u);
  EXPECT_EQ(second.hash_stats().from_cache, 10001u);  // the dep's files and the out
  std::cout << "no-op plan of 10k files: " << ms << " ms\n";
}

}  // namespace
}  // namespace cairn::pipeline
