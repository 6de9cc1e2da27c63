#pragma once
// Renders tracking entities as MLflow's REST API does (protobuf JSON with the
// proto field names; int64 as JSON numbers; NaN/Infinity as strings). Empty
// lists are written as [] (protobuf would omit them; clients accept both).
// Pure functions over a caller-owned JsonWriter; thread-compatible.

#include "core/json_writer.h"
#include "store/types.h"
#include "tracking/tracking_service.h"

namespace cairn::api {

// {"key","value","timestamp","step"}
void WriteMetric(JsonWriter& w, const store::Metric& m);
// {"key","value","timestamp","step","run_id"}
void WriteMetricWithRunId(JsonWriter& w, const tracking::MetricWithRunId& m);
// {"key","value"}
void WriteKeyValue(JsonWriter& w, const std::string& key, const std::string& value);
// {run_id, run_uuid, run_name, experiment_id, user_id, status, start_time,
//  end_time (only when set), artifact_uri, lifecycle_stage}
void WriteRunInfo(JsonWriter& w, const store::RunInfo& info);
// {"info": ..., "data": {"metrics","params","tags"}, "inputs": {"dataset_inputs"}}
void WriteRun(JsonWriter& w, const store::Run& run);
// {experiment_id, name, artifact_location, lifecycle_stage, last_update_time,
//  creation_time, tags}
void WriteExperiment(JsonWriter& w, const store::Experiment& e);

}  // namespace cairn::api
