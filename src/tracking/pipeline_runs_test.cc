#include "tracking/pipeline_runs.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cairn::tracking {
namespace {

PipelineStep Step(std::string name, std::vector<std::string> deps, std::vector<std::string> outs) {
  PipelineStep s;
  s.name = std::move(name);
  for (auto& d : deps) s.deps.push_back({std::move(d), "sha256:0"});
  for (auto& o : outs) s.outs.push_back({std::move(o), "sha256:1"});
  return s;
}

TEST(PipelineEdgesTest, DepEqualToAnOutMakesAnEdge) {
  std::vector<PipelineStep> steps = {
      Step("prepare", {"data/raw.csv"}, {"data/clean.csv"}),
      Step("train", {"data/clean.csv", "params.yaml"}, {"model.bin"}),
      Step("evaluate", {"model.bin", "data/clean.csv"}, {"metrics.json"}),
  };
  EXPECT_EQ(PipelineEdges(steps),
            (std::vector<PipelineEdge>{
                {"prepare", "train"}, {"prepare", "evaluate"}, {"train", "evaluate"}}));
}

TEST(PipelineEdgesTest, DepInsideAnOutFolderMakesAnEdge) {
  std::vector<PipelineStep> steps = {
      Step("featurize", {}, {"features"}),
      Step("train", {"features/train/part-0.parquet"}, {"model"}),
  };
  EXPECT_EQ(PipelineEdges(steps), (std::vector<PipelineEdge>{{"featurize", "train"}}));
}

TEST(PipelineEdgesTest, PrefixWithoutSlashIsNoEdge) {
  // "features2" is not inside "features"; "feat" is not inside "features".
  std::vector<PipelineStep> steps = {
      Step("a", {}, {"features"}),
      Step("b", {"features2/x"}, {}),
      Step("c", {"feat"}, {}),
  };
  EXPECT_TRUE(PipelineEdges(steps).empty());
}

TEST(PipelineEdgesTest, OutFolderInsideADepIsNoEdgeAndNoSelfEdges) {
  // b depends on the folder "data"; a writes "data/x" inside it: the rule
  // is "a dep inside an out", not the reverse. A step reading its own out
  // (a checkpoint) is no edge.
  std::vector<PipelineStep> steps = {
      Step("a", {}, {"data/x"}),
      Step("b", {"data"}, {}),
      Step("c", {"ckpt/last"}, {"ckpt"}),
  };
  EXPECT_TRUE(PipelineEdges(steps).empty());
}

TEST(PipelineEdgesTest, EachEdgeOnceInStepOrder) {
  std::vector<PipelineStep> steps = {
      Step("b", {"x", "x/y", "z"}, {}),
      Step("a", {}, {"x", "z"}),
  };
  EXPECT_EQ(PipelineEdges(steps), (std::vector<PipelineEdge>{{"a", "b"}}));
}

TEST(PipelineStepFromRunTest, ReadsTheRunnersTags) {
  store::Run run;
  run.info.run_id = "r1";
  run.info.run_name = "train";
  run.info.status = "FAILED";
  run.info.start_time = 10;
  run.info.end_time = 20;
  run.info.artifact_uri = "mlflow-artifacts:/1/r1/artifacts";
  run.tags = {{"cairn.attempts", "3"},
              {"cairn.cached", "false"},
              {"cairn.dep.data/clean.csv", "sha256:aa"},
              {"cairn.dep.params.yaml", "sha256:bb"},
              {"cairn.error", "exit status 1"},
              {"cairn.executor", "slurm"},
              {"cairn.out.model.bin", "sha256:cc"},
              {"cairn.pipeline", "repo"},
              {"cairn.step", "train"},
              {"mlflow.parentRunId", "p1"}};
  PipelineStep s = PipelineStepFromRun(run);
  EXPECT_EQ(s.name, "train");
  EXPECT_EQ(s.run_id, "r1");
  EXPECT_EQ(s.status, "FAILED");
  EXPECT_FALSE(s.cached);
  EXPECT_EQ(s.executor, "slurm");
  EXPECT_EQ(s.attempts, 3);
  EXPECT_EQ(s.start_time, 10);
  EXPECT_EQ(s.end_time, 20);
  EXPECT_EQ(s.error, "exit status 1");
  EXPECT_EQ(s.artifact_uri, "mlflow-artifacts:/1/r1/artifacts");
  EXPECT_EQ(s.deps, (std::vector<PipelinePath>{{"data/clean.csv", "sha256:aa"},
                                               {"params.yaml", "sha256:bb"}}));
  EXPECT_EQ(s.outs, (std::vector<PipelinePath>{{"model.bin", "sha256:cc"}}));

  run.tags = {{"cairn.step", "x"}, {"cairn.cached", "true"}, {"cairn.attempts", "x1"}};
  s = PipelineStepFromRun(run);
  EXPECT_TRUE(s.cached);
  EXPECT_FALSE(s.attempts.has_value());
  EXPECT_TRUE(s.error.empty());
}

}  // namespace
}  // namespace cairn::tracking
