// `cairn pipeline status|dag`: runs the built binary (CAIRN_BINARY) in
// temporary git repositories, as a user would, and asserts on what it prints
// and its exit code. What a `cairn repro` would leave behind (outs in the
// cache, the run cache, cairn.lock) is made in-process with the planner and
// the cache, as the runner does, so these tests depend only on status and dag.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/cache.h"
#include "data/config.h"
#include "data/workspace.h"
#include "pipeline/dag.h"
#include "pipeline/lock.h"
#include "pipeline/plan.h"
#include "pipeline/spec.h"
#include "support/subprocess.h"
#include "support/temp_files.h"

namespace cairn::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Outcome = test::CommandOutcome;

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
    "  evaluate:\n"
    "    foreach: [small, large]\n"
    "    cmd: python evaluate.py --split ${item}\n"
    "    deps: [model]\n"
    "    outs: [eval/${item}.json]\n";

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

class PipelineCliTest : public testing::Test {
 protected:
  void SetUp() override {
    tmp_ = test::MakeTempDir("cairn-pipeline-cli");
    repo_ = tmp_ + "/repo";
    out_dir_ = tmp_ + "/out";
    fs::create_directories(repo_);
    fs::create_directories(out_dir_);
    Outcome git = Shell("git init -q && git config user.name t && git config user.email t@e");
    ASSERT_EQ(git.exit_code, 0) << git.err;
    WriteFile(repo_ + "/params.yaml", "train:\n  lr: 0.1\n  depth: 6\n");
    WriteFile(repo_ + "/data/raw/a.csv", "x\n1\n");
    WriteFile(repo_ + "/prepare.py", "print(1)\n");
    WriteFile(repo_ + "/train.py", "print(2)\n");
    WriteFile(repo_ + "/cairn.yaml", kSpec);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  Outcome Shell(const std::string& script, const std::string& cwd = "") {
    return test::RunCommand("/bin/sh", {"-c", "cd \"$0\" && " + script, cwd.empty() ? repo_ : cwd},
                            out_dir_);
  }

  // `cairn args...` run from `cwd` (default: the repository root).
  Outcome Cairn(const std::vector<std::string>& args, const std::string& cwd = "") {
    // sh -c '...' sh DIR BINARY ARGS...: "shift" drops DIR, leaving BINARY ARGS.
    std::vector<std::string> argv = {"-c", "cd \"$1\" && shift && exec \"$@\"", "sh",
                                     cwd.empty() ? repo_ : cwd, CAIRN_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::RunCliCommand("/bin/sh", argv, out_dir_);
  }

  // What `cairn repro` leaves after running every step: outs committed to the
  // cache, the run cache, cairn.lock.
  void SimulateRepro() {
    auto ws = data::InitWorkspace(repo_);
    ASSERT_TRUE(ws.has_value()) << ws.error().message();
    auto cache = data::Cache::Open(*ws, data::DataConfig{});
    ASSERT_TRUE(cache.has_value()) << cache.error().message();
    auto spec = pipeline::ParsePipelineSpec(kSpec, "cairn.yaml");
    ASSERT_TRUE(spec.has_value());
    auto dag = pipeline::Dag::Build(std::move(*spec));
    ASSERT_TRUE(dag.has_value());
    pipeline::LockFile lock;
    for (const std::string& name : dag->TopologicalOrder()) {
      pipeline::Planner planner(**cache, *dag, lock, {});
      auto plan = planner.PlanStep(name);
      ASSERT_TRUE(plan.has_value()) << plan.error().message();
      const pipeline::Step* step = dag->spec().Find(name);
      pipeline::LockedStep locked{plan->fingerprint, step->cmd, plan->params, plan->deps, {}, {}};
      auto produce = [&](const std::string& path, std::vector<pipeline::LockedPath>& into) {
        if (path.find('.') == std::string::npos) {
          WriteFile(repo_ + "/" + path + "/part.bin", name + " " + plan->fingerprint);
        } else {
          WriteFile(repo_ + "/" + path, name + " " + plan->fingerprint);
        }
        auto pointer = (*cache)->Commit(path, data::LinkMode::kCopy);
        ASSERT_TRUE(pointer.has_value()) << pointer.error().message();
        into.push_back(pipeline::FromPointer(path, *pointer));
      };
      for (const auto& out : step->outs) produce(out.path, locked.outs);
      for (const auto& m : step->metrics) produce(m.path, locked.metrics);
      pipeline::RunCacheEntry entry{name, 1, locked.outs, locked.metrics};
      ASSERT_TRUE(planner.run_cache().Record(plan->fingerprint, entry).has_value());
      lock.steps[name] = locked;
    }
    ASSERT_TRUE(pipeline::WriteLockFile(repo_ + "/cairn.lock", lock).has_value());
  }

  std::string tmp_, repo_, out_dir_;
};

TEST_F(PipelineCliTest, DagAsTextAndJson) {
  Outcome text = Cairn({"pipeline", "dag"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out,
            "layer 0\n"
            "  prepare\n"
            "layer 1\n"
            "  train <- prepare\n"
            "layer 2\n"
            "  evaluate@small <- train\n"
            "  evaluate@large <- train\n");
  Outcome js = Cairn({"pipeline", "dag", "--json"});
  ASSERT_EQ(js.exit_code, 0) << js.err;
  json doc = json::parse(js.out);
  ASSERT_EQ(doc["steps"].size(), 4u);
  EXPECT_EQ(doc["steps"][1], json::parse(R"({"name":"train","parents":["prepare"],
      "deps":["data/prepared","train.py"],"outs":["model"],"metrics":["metrics.json"]})"));
  EXPECT_EQ(doc["steps"][3]["name"], "evaluate@large");
  EXPECT_EQ(doc["steps"][3]["outs"], json::array({"eval/large.json"}));
  EXPECT_EQ(doc["steps"][0]["parents"], json::array());
}

TEST_F(PipelineCliTest, StatusOfANewRepository) {
  Outcome o = Cairn({"pipeline", "status"});
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out,
            "prepare         stale: never run\n"
            "train           stale: never run; upstream 'prepare' will run\n"
            "evaluate@small  stale: never run; upstream 'train' will run\n"
            "evaluate@large  stale: never run; upstream 'train' will run\n"
            "4 steps: 0 up to date, 0 cached, 4 stale\n");
  Outcome code = Cairn({"pipeline", "status", "--exit-code"});
  EXPECT_EQ(code.exit_code, 1);
  EXPECT_EQ(code.out, o.out);
  // Status is a reader: no lock file, nothing run.
  EXPECT_FALSE(fs::exists(repo_ + "/cairn.lock"));
  EXPECT_FALSE(fs::exists(repo_ + "/model"));
}

TEST_F(PipelineCliTest, StatusAfterARunAndAParamChange) {
  SimulateRepro();
  Outcome clean = Cairn({"pipeline", "status", "--exit-code"});
  ASSERT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(clean.out,
            "prepare         up to date\n"
            "train           up to date\n"
            "evaluate@small  up to date\n"
            "evaluate@large  up to date\n"
            "4 steps: 4 up to date, 0 cached, 0 stale\n");

  WriteFile(repo_ + "/params.yaml", "train:\n  lr: 0.2\n  depth: 6\n");
  Outcome changed = Cairn({"pipeline", "status"});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_EQ(changed.out,
            "prepare         up to date\n"
            "train           stale: param train.lr 0.1 -> 0.2\n"
            "evaluate@small  stale: upstream 'train' will run\n"
            "evaluate@large  stale: upstream 'train' will run\n"
            "4 steps: 1 up to date, 0 cached, 3 stale\n");
  EXPECT_EQ(Cairn({"pipeline", "status", "--exit-code"}).exit_code, 1);

  Outcome js = Cairn({"pipeline", "status", "--json", "train"});
  ASSERT_EQ(js.exit_code, 0) << js.err;
  json doc = json::parse(js.out);
  ASSERT_EQ(doc["steps"].size(), 2u);
  EXPECT_EQ(doc["steps"][0]["name"], "prepare");
  EXPECT_EQ(doc["steps"][0]["status"], "up_to_date");
  EXPECT_EQ(doc["steps"][0]["fingerprint"].get<std::string>().size(), 64u);
  EXPECT_EQ(doc["steps"][1]["status"], "stale");
  EXPECT_EQ(doc["steps"][1]["reasons"], json::array({"param train.lr 0.1 -> 0.2"}));
  EXPECT_EQ(doc["summary"], json::parse(R"({"up_to_date":1,"cached":0,"stale":1})"));
}

TEST_F(PipelineCliTest, RemovedOutIsCachedOrMissing) {
  SimulateRepro();
  fs::remove_all(repo_ + "/model");
  Outcome cached = Cairn({"pipeline", "status", "evaluate"});
  ASSERT_EQ(cached.exit_code, 0) << cached.err;
  EXPECT_EQ(cached.out,
            "prepare         up to date\n"
            "train           cached\n"
            "evaluate@small  up to date\n"
            "evaluate@large  up to date\n"
            "4 steps: 3 up to date, 1 cached, 0 stale\n");
  Outcome missing = Cairn({"pipeline", "status", "--no-run-cache", "evaluate@small"});
  ASSERT_EQ(missing.exit_code, 0) << missing.err;
  EXPECT_EQ(missing.out,
            "prepare         up to date\n"
            "train           stale: out model missing\n"
            "evaluate@small  stale: upstream 'train' will run\n"
            "3 steps: 1 up to date, 0 cached, 2 stale\n");
}

TEST_F(PipelineCliTest, RunsFromASubfolder) {
  fs::create_directories(repo_ + "/src/deep");
  Outcome o = Cairn({"pipeline", "status", "prepare"}, repo_ + "/src/deep");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(o.out, "prepare  stale: never run\n1 step: 0 up to date, 0 cached, 1 stale\n");
}

TEST_F(PipelineCliTest, ErrorsAndUsage) {
  Outcome unknown = Cairn({"pipeline", "status", "trian"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err,
            "error: RESOURCE_DOES_NOT_EXIST: unknown step 'trian' (steps: prepare, train, "
            "evaluate@small, evaluate@large)\n");
  EXPECT_EQ(unknown.out, "");

  fs::remove_all(repo_ + "/data/raw");
  Outcome dep = Cairn({"pipeline", "status"});
  EXPECT_EQ(dep.exit_code, 1);
  EXPECT_EQ(dep.err,
            "error: RESOURCE_DOES_NOT_EXIST: step 'prepare': dep data/raw does not exist (is it "
            "produced by a step, or tracked with cairn data add and not pulled?)\n");

  WriteFile(repo_ + "/params.yaml", "train:\n  depth: 6\n");
  WriteFile(repo_ + "/data/raw/a.csv", "x\n1\n");
  Outcome param = Cairn({"pipeline", "status", "train"});
  EXPECT_EQ(param.exit_code, 1);
  EXPECT_EQ(param.err,
            "error: INVALID_PARAMETER_VALUE: params.yaml has no key 'train.lr' (step 'train'; keys "
            "under 'train': depth)\n");

  WriteFile(repo_ + "/cairn.yaml", "steps:\n  train:\n    cmd: x\n    retries: two\n");
  Outcome spec = Cairn({"pipeline", "dag"});
  EXPECT_EQ(spec.exit_code, 1);
  EXPECT_TRUE(spec.err.starts_with("error: INVALID_PARAMETER_VALUE: cairn.yaml:4:")) << spec.err;
  EXPECT_NE(spec.err.find("step 'train'"), std::string::npos) << spec.err;
  fs::create_directories(repo_ + "/sub");
  Outcome from_sub = Cairn({"pipeline", "status"}, repo_ + "/sub");
  EXPECT_EQ(from_sub.exit_code, 1);
  EXPECT_TRUE(from_sub.err.starts_with("error: INVALID_PARAMETER_VALUE: ../cairn.yaml:4:"))
      << from_sub.err;

  fs::remove(repo_ + "/cairn.yaml");
  Outcome none = Cairn({"pipeline", "dag"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no cairn.yaml at the repository root"), std::string::npos) << none.err;

  EXPECT_EQ(Cairn({"pipeline", "status", "--bogus"}).exit_code, 2);
  EXPECT_EQ(Cairn({"pipeline", "dag", "extra"}).exit_code, 2);
}

TEST_F(PipelineCliTest, BadLockFileIsReported) {
  WriteFile(repo_ + "/cairn.lock", "version: 1\nsteps:\n  train:\n    cmd: x\n");
  Outcome o = Cairn({"pipeline", "status"});
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.err.find("cairn.lock:3: step 'train': missing key 'fingerprint'"), std::string::npos)
      << o.err;
}

}  // namespace
}  // namespace cairn::cli
