#include "api/mlflow_json.h"

namespace cairn::api {

void WriteMetric(JsonWriter& w, const store::Metric& m) {
  w.BeginObject();
  w.Field("key", m.key);
  w.Key("value").Double(m.value);
  w.Field("timestamp", m.timestamp);
  w.Field("step", m.step);
  w.EndObject();
}

void WriteMetricWithRunId(JsonWriter& w, const tracking::MetricWithRunId& m) {
  w.BeginObject();
  w.Field("key", m.metric.key);
  w.Key("value").Double(m.metric.value);
  w.Field("timestamp", m.metric.timestamp);
  w.Field("step", m.metric.step);
  w.Field("run_id", m.run_id);
  w.EndObject();
}

void WriteKeyValue(JsonWriter& w, const std::string& key, const std::string& value) {
  w.BeginObject();
  w.Field("key", key);
  w.Field("value", value);
  w.EndObject();
}

void WriteRunInfo(JsonWriter& w, const store::RunInfo& info) {
  w.BeginObject();
  w.Field("run_id", info.run_id);
  w.Field("run_uuid", info.run_id);
  w.Field("run_name", info.run_name);
  w.Field("experiment_id", info.experiment_id);
  w.Field("user_id", info.user_id);
  w.Field("status", info.status);
  w.Field("start_time", info.start_time);
  if (info.end_time) w.Field("end_time", *info.end_time);
  w.Field("artifact_uri", info.artifact_uri);
  w.Field("lifecycle_stage", info.lifecycle_stage);
  w.EndObject();
}

void WriteRun(JsonWriter& w, const store::Run& run) {
  w.BeginObject();
  w.Key("info");
  WriteRunInfo(w, run.info);
  w.Key("data").BeginObject();
  w.Key("metrics").BeginArray();
  for (const store::Metric& m : run.metrics) WriteMetric(w, m);
  w.EndArray();
  w.Key("params").BeginArray();
  for (const store::Param& p : run.params) WriteKeyValue(w, p.key, p.value);
  w.EndArray();
  w.Key("tags").BeginArray();
  for (const store::Tag& t : run.tags) WriteKeyValue(w, t.key, t.value);
  w.EndArray();
  w.EndObject();
  w.Key("inputs").BeginObject();
  w.Key("dataset_inputs").BeginArray();
  for (const store::DatasetInput& in : run.inputs) {
    w.BeginObject();
    w.Key("tags").BeginArray();
    for (const store::Tag& t : in.tags) WriteKeyValue(w, t.key, t.value);
    w.EndArray();
    w.Key("dataset").BeginObject();
    w.Field("name", in.dataset.name);
    w.Field("digest", in.dataset.digest);
    w.Field("source_type", in.dataset.source_type);
    w.Field("source", in.dataset.source);
    if (!in.dataset.schema.empty()) w.Field("schema", in.dataset.schema);
    if (!in.dataset.profile.empty()) w.Field("profile", in.dataset.profile);
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndObject();
}

void WriteExperiment(JsonWriter& w, const store::Experiment& e) {
  w.BeginObject();
  w.Field("experiment_id", e.experiment_id);
  w.Field("name", e.name);
  w.Field("artifact_location", e.artifact_location);
  w.Field("lifecycle_stage", e.lifecycle_stage);
  w.Field("last_update_time", e.last_update_time);
  w.Field("creation_time", e.creation_time);
  w.Key("tags").BeginArray();
  for (const store::Tag& t : e.tags) WriteKeyValue(w, t.key, t.value);
  w.EndArray();
  w.EndObject();
}

}  // namespace cairn::api
