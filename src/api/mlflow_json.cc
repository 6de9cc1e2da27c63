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

void WriteRun(JsonWriter& w, const store::Run& run,
              const std::vector<store::LoggedModelOutput>* outputs) {
  w.BeginObject();
  w.Key("info");
  WriteRunInfo(w, run.info);
  w.Key("data").BeginObject();
  w.Key("metrics").BeginArray();
  for (const store::Metric& m : run.metrics) WriteMetric(w, m);
  w.EndArray();
  WriteKeyValues(w, "params", run.params);
  WriteKeyValues(w, "tags", run.tags);
  w.EndObject();
  w.Key("inputs").BeginObject();
  w.Key("dataset_inputs").BeginArray();
  for (const store::DatasetInput& in : run.inputs) {
    w.BeginObject();
    WriteKeyValues(w, "tags", in.tags);
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
  if (outputs != nullptr && !outputs->empty()) {
    w.Key("outputs").BeginObject();
    w.Key("model_outputs").BeginArray();
    for (const store::LoggedModelOutput& o : *outputs) {
      w.BeginObject();
      w.Field("model_id", o.model_id);
      w.Field("step", o.step);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndObject();
}

std::string_view LoggedModelStatusName(std::string_view status) {
  if (status == "PENDING") return "LOGGED_MODEL_PENDING";
  if (status == "READY") return "LOGGED_MODEL_READY";
  if (status == "FAILED") return "LOGGED_MODEL_UPLOAD_FAILED";
  return "LOGGED_MODEL_STATUS_UNSPECIFIED";
}

void WriteLoggedModel(JsonWriter& w, const store::LoggedModel& m) {
  w.BeginObject();
  w.Key("info").BeginObject();
  w.Field("model_id", m.model_id);
  w.Field("experiment_id", m.experiment_id);
  w.Field("name", m.name);
  w.Field("creation_timestamp_ms", m.creation_time);
  w.Field("last_updated_timestamp_ms", m.last_updated_time);
  w.Field("artifact_uri", m.artifact_location);
  w.Field("status", LoggedModelStatusName(m.status));
  w.Field("model_type", m.model_type);
  w.Field("source_run_id", m.source_run_id);
  if (!m.status_message.empty()) w.Field("status_message", m.status_message);
  if (!m.tags.empty()) WriteKeyValues(w, "tags", m.tags);
  w.EndObject();
  w.Key("data").BeginObject();
  if (!m.params.empty()) WriteKeyValues(w, "params", m.params);
  if (!m.metrics.empty()) {
    w.Key("metrics").BeginArray();
    for (const store::LoggedModelMetric& x : m.metrics) {
      w.BeginObject();
      w.Field("key", x.key);
      w.Key("value").Double(x.value);
      w.Field("timestamp", x.timestamp);
      w.Field("step", x.step);
      if (!x.dataset_name.empty()) w.Field("dataset_name", x.dataset_name);
      if (!x.dataset_digest.empty()) w.Field("dataset_digest", x.dataset_digest);
      w.Field("model_id", x.model_id);
      if (!x.run_id.empty()) w.Field("run_id", x.run_id);
      w.EndObject();
    }
    w.EndArray();
  }
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
  WriteKeyValues(w, "tags", e.tags);
  w.EndObject();
}

}  // namespace cairn::api
