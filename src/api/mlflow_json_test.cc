#include "api/mlflow_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cairn::api {
namespace {

TEST(MlflowJsonTest, RunShape) {
  store::Run run;
  run.info = {
      "abc",   "1", "brisk-fox-1", "ann", "FINISHED", 10, 20, "mlflow-artifacts:/1/abc/artifacts",
      "active"};
  run.metrics = {{"loss", 0.5, 11, 1},
                 {"nan", std::nan(""), 12, 0},
                 {"inf", std::numeric_limits<double>::infinity(), 12, 0},
                 {"one", 1, 12, 0}};
  run.params = {{"lr", "0.1"}};
  run.tags = {{"mlflow.runName", "brisk-fox-1"}};
  store::DatasetInput in;
  in.tags = {{"mlflow.data.context", "train"}};
  in.dataset = {"iris", "d1", "local", "/x.csv", "", ""};
  run.inputs = {in};
  JsonWriter w;
  WriteRun(w, run);
  EXPECT_EQ(
      w.str(),
      R"({"info":{"run_id":"abc","run_uuid":"abc","run_name":"brisk-fox-1","experiment_id":"1",)"
      R"("user_id":"ann","status":"FINISHED","start_time":10,"end_time":20,)"
      R"("artifact_uri":"mlflow-artifacts:/1/abc/artifacts","lifecycle_stage":"active"},)"
      R"("data":{"metrics":[{"key":"loss","value":0.5,"timestamp":11,"step":1},)"
      R"({"key":"nan","value":"NaN","timestamp":12,"step":0},)"
      R"({"key":"inf","value":"Infinity","timestamp":12,"step":0},)"
      R"({"key":"one","value":1.0,"timestamp":12,"step":0}],)"
      R"("params":[{"key":"lr","value":"0.1"}],"tags":[{"key":"mlflow.runName","value":"brisk-fox-1"}]},)"
      R"("inputs":{"dataset_inputs":[{"tags":[{"key":"mlflow.data.context","value":"train"}],)"
      R"("dataset":{"name":"iris","digest":"d1","source_type":"local","source":"/x.csv"}}]}})");
}

TEST(MlflowJsonTest, EndTimeOmittedWhenUnset) {
  store::RunInfo info;
  info.run_id = "r";
  JsonWriter w;
  WriteRunInfo(w, info);
  EXPECT_EQ(w.str().find("end_time"), std::string::npos);
  EXPECT_NE(w.str().find(R"("status":"RUNNING")"), std::string::npos);
}

TEST(MlflowJsonTest, ExperimentShape) {
  store::Experiment e;
  e.experiment_id = "3";
  e.name = "proj \"x\"";
  e.artifact_location = "mlflow-artifacts:/3";
  e.creation_time = 5;
  e.last_update_time = 6;
  e.tags = {{"k", "v"}};
  JsonWriter w;
  WriteExperiment(w, e);
  EXPECT_EQ(w.str(),
            R"({"experiment_id":"3","name":"proj \"x\"","artifact_location":"mlflow-artifacts:/3",)"
            R"("lifecycle_stage":"active","last_update_time":6,"creation_time":5,)"
            R"("tags":[{"key":"k","value":"v"}]})");
}

}  // namespace
}  // namespace cairn::api
