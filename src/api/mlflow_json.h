#pragma once
// Renders tracking entities as MLflow's REST API does (protobuf JSON with the
// proto field names; int64 as JSON numbers; NaN/Infinity as strings). Empty
// lists are written as [] (protobuf would omit them; clients accept both).
// Pure functions over a caller-owned JsonWriter; thread-compatible.

#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.h"
#include "store/logged_model_store.h"
#include "store/types.h"
#include "tracking/tracking_service.h"

namespace cairn::api {

// {"key","value","timestamp","step"}
void WriteMetric(JsonWriter& w, const store::Metric& m);
// {"key","value","timestamp","step","run_id"}
void WriteMetricWithRunId(JsonWriter& w, const tracking::MetricWithRunId& m);
// {"key","value"}
void WriteKeyValue(JsonWriter& w, const std::string& key, const std::string& value);
// "<field>": [{"key","value"}, ...] for tags or params (items with key, value).
template <typename KV>
void WriteKeyValues(JsonWriter& w, std::string_view field, const std::vector<KV>& items) {
  w.Key(field).BeginArray();
  for (const KV& kv : items) WriteKeyValue(w, kv.key, kv.value);
  w.EndArray();
}
// {run_id, run_uuid, run_name, experiment_id, user_id, status, start_time,
//  end_time (only when set), artifact_uri, lifecycle_stage}
void WriteRunInfo(JsonWriter& w, const store::RunInfo& info);
// {"info": ..., "data": {"metrics","params","tags"}, "inputs": {"dataset_inputs"}},
// plus MLflow 3's "outputs": {"model_outputs": [{"model_id","step"}]} when
// `outputs` is given and not empty.
void WriteRun(JsonWriter& w, const store::Run& run,
              const std::vector<store::LoggedModelOutput>* outputs = nullptr);
// MLflow 3's LoggedModel: {"info": {model_id, experiment_id, name,
// creation_timestamp_ms, last_updated_timestamp_ms, artifact_uri, status
// (LOGGED_MODEL_PENDING | LOGGED_MODEL_READY | LOGGED_MODEL_UPLOAD_FAILED),
// model_type, source_run_id, status_message (when set), tags (when any)},
// "data": {params (when any), metrics (when any; each with model_id, run_id,
// and dataset_name/dataset_digest when set)}}, as MLflow's server writes it.
void WriteLoggedModel(JsonWriter& w, const store::LoggedModel& m);
// "READY" -> "LOGGED_MODEL_READY", "FAILED" -> "LOGGED_MODEL_UPLOAD_FAILED", ...
std::string_view LoggedModelStatusName(std::string_view status);
// {experiment_id, name, artifact_location, lifecycle_stage, last_update_time,
//  creation_time, tags}
void WriteExperiment(JsonWriter& w, const store::Experiment& e);

}  // namespace cairn::api
