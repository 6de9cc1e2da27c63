#include "client/mlflow_json.h"

#include <gtest/gtest.h>

#include <cmath>

namespace cairn::client {
namespace {

using nlohmann::json;

TEST(ClientMlflowJsonTest, ParsesRunWithStringInt64sAndNonFiniteMetrics) {
  json j = json::parse(R"({
    "info": {"run_uuid": "old", "run_id": "abc123", "experiment_id": "7", "run_name": "r1",
             "user_id": "ana", "status": "FINISHED", "start_time": "1700000000000",
             "end_time": 1700000000500, "artifact_uri": "mlflow-artifacts:/7/abc123/artifacts",
             "lifecycle_stage": "active"},
    "data": {"metrics": [{"key": "loss", "value": "NaN", "timestamp": 5, "step": "3"},
                         {"key": "auc", "value": 0.5, "timestamp": 6, "step": 0},
                         {"key": "up", "value": "-Infinity", "timestamp": 6, "step": 0}],
             "params": [{"key": "lr", "value": "0.1"}],
             "tags": [{"key": "mlflow.runName", "value": "r1"}]},
    "inputs": {"dataset_inputs": [{"tags": [{"key": "mlflow.data.context", "value": "train"}],
               "dataset": {"name": "d", "digest": "ff", "source_type": "local", "source": "{}"}}]}
  })");
  auto run = ParseRun(j);
  ASSERT_TRUE(run) << run.error().ToString();
  EXPECT_EQ(run->info.run_id, "abc123");  // run_id wins over the legacy run_uuid
  EXPECT_EQ(run->info.experiment_id, "7");
  EXPECT_EQ(run->info.status, "FINISHED");
  EXPECT_EQ(run->info.start_time, 1700000000000);
  ASSERT_TRUE(run->info.end_time.has_value());
  EXPECT_EQ(*run->info.end_time, 1700000000500);
  ASSERT_EQ(run->metrics.size(), 3u);
  EXPECT_TRUE(std::isnan(run->metrics[0].value));
  EXPECT_EQ(run->metrics[0].step, 3);
  EXPECT_DOUBLE_EQ(run->metrics[1].value, 0.5);
  EXPECT_TRUE(std::isinf(run->metrics[2].value) && run->metrics[2].value < 0);
  ASSERT_EQ(run->params.size(), 1u);
  EXPECT_EQ(run->params[0].key, "lr");
  EXPECT_EQ(run->params[0].value, "0.1");
  ASSERT_EQ(run->inputs.size(), 1u);
  EXPECT_EQ(run->inputs[0].dataset.digest, "ff");
  EXPECT_EQ(run->inputs[0].tags[0].value, "train");
}

TEST(ClientMlflowJsonTest, RunWithoutEndTimeHasNone) {
  auto info = ParseRunInfo(json::parse(R"({"run_id": "a", "start_time": 1})"));
  ASSERT_TRUE(info);
  EXPECT_FALSE(info->end_time.has_value());
  EXPECT_EQ(info->status, "RUNNING");  // default kept
}

TEST(ClientMlflowJsonTest, WrongTypesAreInternalErrorsNamingTheField) {
  auto r = ParseExperiment(json::parse(R"({"experiment_id": 5})"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInternal);
  EXPECT_NE(r.error().message().find("experiment_id"), std::string::npos);

  auto m = ParseMetric(json::parse(R"({"key": "a", "value": "lots"})"));
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("value"), std::string::npos);

  EXPECT_FALSE(ParseRun(json::parse("[1,2]")));
}

TEST(ClientMlflowJsonTest, RenderThenParseRoundTrips) {
  store::Run run;
  run.info.run_id = "r";
  run.info.experiment_id = "1";
  run.info.run_name = "name";
  run.info.status = "KILLED";
  run.info.start_time = 10;
  run.info.end_time = 20;
  run.info.artifact_uri = "file:///tmp/x";
  run.metrics = {{"m", std::numeric_limits<double>::infinity(), 3, 4}, {"n", 1.25, 5, 6}};
  run.params = {{"p", "v"}};
  run.tags = {{"t", "u"}};
  json j = RunJson(run);
  EXPECT_EQ(j["data"]["metrics"][0]["value"], "Infinity");
  EXPECT_EQ(j["info"]["run_uuid"], "r");
  auto back = ParseRun(json::parse(j.dump()));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->info.run_name, "name");
  EXPECT_EQ(back->info.end_time, std::optional<int64_t>(20));
  ASSERT_EQ(back->metrics.size(), 2u);
  EXPECT_TRUE(std::isinf(back->metrics[0].value));
  EXPECT_EQ(back->metrics[1].step, 6);
  EXPECT_EQ(back->params, run.params);
  EXPECT_EQ(back->tags, run.tags);

  store::Experiment e;
  e.experiment_id = "3";
  e.name = "exp";
  e.artifact_location = "mlflow-artifacts:/3";
  e.creation_time = 11;
  e.last_update_time = 12;
  e.tags = {{"k", "v"}};
  auto eb = ParseExperiment(ExperimentJson(e));
  ASSERT_TRUE(eb);
  EXPECT_EQ(eb->name, "exp");
  EXPECT_EQ(eb->creation_time, 11);
  EXPECT_EQ(eb->last_update_time, 12);
  EXPECT_EQ(eb->tags, e.tags);
}

TEST(ClientMlflowJsonTest, FileInfoOmitsSizeForFolders) {
  EXPECT_EQ(FileInfoJson({"a/b", true, -1}).dump(), R"({"is_dir":true,"path":"a/b"})");
  EXPECT_EQ(FileInfoJson({"a/c", false, 12}).dump(),
            R"({"file_size":12,"is_dir":false,"path":"a/c"})");
}

TEST(ClientMlflowJsonTest, ViewTypes) {
  EXPECT_EQ(ViewTypeName(store::ViewType::kDeletedOnly), "DELETED_ONLY");
  EXPECT_EQ(*ParseViewType("ALL"), store::ViewType::kAll);
  EXPECT_EQ(*ParseViewType("deleted"), store::ViewType::kDeletedOnly);
  EXPECT_EQ(*ParseViewType("Active_Only"), store::ViewType::kActiveOnly);
  auto bad = ParseViewType("some");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cairn::client
