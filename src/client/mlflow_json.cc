#include "client/mlflow_json.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace cairn::client {
namespace {

using nlohmann::json;

std::unexpected<Error> Unexpected(std::string what) {
  return Internal("unexpected response from the server: " + what);
}

// Each Get* reads an optional field; absent or null leaves `out` alone.
Status GetString(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string()) return Unexpected(std::string("'") + key + "' is not a string");
  out = it->get<std::string>();
  return {};
}

Status GetInt64(const json& j, const char* key, int64_t& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_number_integer()) {
    out = it->get<int64_t>();
    return {};
  }
  if (it->is_number_float()) {
    out = static_cast<int64_t>(it->get<double>());
    return {};
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) {
      out = v;
      return {};
    }
  }
  return Unexpected(std::string("'") + key + "' is not an integer");
}

Status GetDouble(const json& j, const char* key, double& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_number()) {
    out = it->get<double>();
    return {};
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    if (s == "NaN" || s == "nan") {
      out = std::numeric_limits<double>::quiet_NaN();
      return {};
    }
    if (s == "Infinity" || s == "inf") {
      out = std::numeric_limits<double>::infinity();
      return {};
    }
    if (s == "-Infinity" || s == "-inf") {
      out = -std::numeric_limits<double>::infinity();
      return {};
    }
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) {
      out = v;
      return {};
    }
  }
  return Unexpected(std::string("'") + key + "' is not a number");
}

Result<std::vector<store::Tag>> ParseKeyValues(const json& j, const char* key) {
  std::vector<store::Tag> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  if (!it->is_array()) return Unexpected(std::string("'") + key + "' is not a list");
  for (const auto& kv : *it) {
    if (!kv.is_object())
      return Unexpected(std::string("an entry of '") + key + "' is not an object");
    store::Tag t;
    CAIRN_RETURN_IF_ERROR(GetString(kv, "key", t.key));
    CAIRN_RETURN_IF_ERROR(GetString(kv, "value", t.value));
    out.push_back(std::move(t));
  }
  return out;
}

template <typename T>
json KeyValuesJson(const std::vector<T>& items) {
  json arr = json::array();
  for (const auto& kv : items) arr.push_back(json{{"key", kv.key}, {"value", kv.value}});
  return arr;
}

}  // namespace

json DoubleJson(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

Result<store::Experiment> ParseExperiment(const json& j) {
  if (!j.is_object()) return Unexpected("experiment is not an object");
  store::Experiment e;
  CAIRN_RETURN_IF_ERROR(GetString(j, "experiment_id", e.experiment_id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "name", e.name));
  CAIRN_RETURN_IF_ERROR(GetString(j, "artifact_location", e.artifact_location));
  CAIRN_RETURN_IF_ERROR(GetString(j, "lifecycle_stage", e.lifecycle_stage));
  CAIRN_RETURN_IF_ERROR(GetInt64(j, "creation_time", e.creation_time));
  CAIRN_RETURN_IF_ERROR(GetInt64(j, "last_update_time", e.last_update_time));
  CAIRN_ASSIGN_OR_RETURN(e.tags, ParseKeyValues(j, "tags"));
  return e;
}

Result<store::RunInfo> ParseRunInfo(const json& j) {
  if (!j.is_object()) return Unexpected("run info is not an object");
  store::RunInfo info;
  CAIRN_RETURN_IF_ERROR(GetString(j, "run_uuid", info.run_id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "run_id", info.run_id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "experiment_id", info.experiment_id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "run_name", info.run_name));
  CAIRN_RETURN_IF_ERROR(GetString(j, "user_id", info.user_id));
  CAIRN_RETURN_IF_ERROR(GetString(j, "status", info.status));
  CAIRN_RETURN_IF_ERROR(GetInt64(j, "start_time", info.start_time));
  if (auto it = j.find("end_time"); it != j.end() && !it->is_null()) {
    int64_t end = 0;
    CAIRN_RETURN_IF_ERROR(GetInt64(j, "end_time", end));
    info.end_time = end;
  }
  CAIRN_RETURN_IF_ERROR(GetString(j, "artifact_uri", info.artifact_uri));
  CAIRN_RETURN_IF_ERROR(GetString(j, "lifecycle_stage", info.lifecycle_stage));
  return info;
}

Result<store::Metric> ParseMetric(const json& j) {
  if (!j.is_object()) return Unexpected("metric is not an object");
  store::Metric m;
  CAIRN_RETURN_IF_ERROR(GetString(j, "key", m.key));
  CAIRN_RETURN_IF_ERROR(GetDouble(j, "value", m.value));
  CAIRN_RETURN_IF_ERROR(GetInt64(j, "timestamp", m.timestamp));
  CAIRN_RETURN_IF_ERROR(GetInt64(j, "step", m.step));
  return m;
}

Result<store::Run> ParseRun(const json& j) {
  if (!j.is_object()) return Unexpected("run is not an object");
  store::Run run;
  if (auto it = j.find("info"); it != j.end()) {
    CAIRN_ASSIGN_OR_RETURN(run.info, ParseRunInfo(*it));
  }
  if (auto data = j.find("data"); data != j.end() && data->is_object()) {
    if (auto ms = data->find("metrics"); ms != data->end() && ms->is_array()) {
      for (const auto& m : *ms) {
        CAIRN_ASSIGN_OR_RETURN(auto metric, ParseMetric(m));
        run.metrics.push_back(std::move(metric));
      }
    }
    CAIRN_ASSIGN_OR_RETURN(auto params, ParseKeyValues(*data, "params"));
    for (auto& p : params) run.params.push_back({std::move(p.key), std::move(p.value)});
    CAIRN_ASSIGN_OR_RETURN(run.tags, ParseKeyValues(*data, "tags"));
  }
  if (auto inputs = j.find("inputs"); inputs != j.end() && inputs->is_object()) {
    if (auto dis = inputs->find("dataset_inputs"); dis != inputs->end() && dis->is_array()) {
      for (const auto& di : *dis) {
        if (!di.is_object()) return Unexpected("a dataset input is not an object");
        store::DatasetInput input;
        CAIRN_ASSIGN_OR_RETURN(input.tags, ParseKeyValues(di, "tags"));
        if (auto ds = di.find("dataset"); ds != di.end() && ds->is_object()) {
          CAIRN_RETURN_IF_ERROR(GetString(*ds, "name", input.dataset.name));
          CAIRN_RETURN_IF_ERROR(GetString(*ds, "digest", input.dataset.digest));
          CAIRN_RETURN_IF_ERROR(GetString(*ds, "source_type", input.dataset.source_type));
          CAIRN_RETURN_IF_ERROR(GetString(*ds, "source", input.dataset.source));
          CAIRN_RETURN_IF_ERROR(GetString(*ds, "schema", input.dataset.schema));
          CAIRN_RETURN_IF_ERROR(GetString(*ds, "profile", input.dataset.profile));
        }
        run.inputs.push_back(std::move(input));
      }
    }
  }
  return run;
}

json ExperimentJson(const store::Experiment& e) {
  json j = json::object();
  j["experiment_id"] = e.experiment_id;
  j["name"] = e.name;
  j["artifact_location"] = e.artifact_location;
  j["lifecycle_stage"] = e.lifecycle_stage;
  j["last_update_time"] = e.last_update_time;
  j["creation_time"] = e.creation_time;
  j["tags"] = KeyValuesJson(e.tags);
  return j;
}

json RunInfoJson(const store::RunInfo& info) {
  json j = json::object();
  j["run_id"] = info.run_id;
  j["run_uuid"] = info.run_id;
  j["run_name"] = info.run_name;
  j["experiment_id"] = info.experiment_id;
  j["user_id"] = info.user_id;
  j["status"] = info.status;
  j["start_time"] = info.start_time;
  if (info.end_time) j["end_time"] = *info.end_time;
  j["artifact_uri"] = info.artifact_uri;
  j["lifecycle_stage"] = info.lifecycle_stage;
  return j;
}

json MetricJson(const store::Metric& m) {
  return json{
      {"key", m.key}, {"value", DoubleJson(m.value)}, {"timestamp", m.timestamp}, {"step", m.step}};
}

json RunJson(const store::Run& run) {
  json metrics = json::array();
  for (const auto& m : run.metrics) metrics.push_back(MetricJson(m));
  json data = json::object();
  data["metrics"] = std::move(metrics);
  data["params"] = KeyValuesJson(run.params);
  data["tags"] = KeyValuesJson(run.tags);
  json inputs = json::array();
  for (const auto& di : run.inputs) {
    json ds = json::object();
    ds["name"] = di.dataset.name;
    ds["digest"] = di.dataset.digest;
    ds["source_type"] = di.dataset.source_type;
    ds["source"] = di.dataset.source;
    if (!di.dataset.schema.empty()) ds["schema"] = di.dataset.schema;
    if (!di.dataset.profile.empty()) ds["profile"] = di.dataset.profile;
    inputs.push_back(json{{"tags", KeyValuesJson(di.tags)}, {"dataset", std::move(ds)}});
  }
  json j = json::object();
  j["info"] = RunInfoJson(run.info);
  j["data"] = std::move(data);
  j["inputs"] = json{{"dataset_inputs", std::move(inputs)}};
  return j;
}

json FileInfoJson(const FileInfo& f) {
  json j = json::object();
  j["path"] = f.path;
  j["is_dir"] = f.is_dir;
  if (!f.is_dir && f.file_size >= 0) j["file_size"] = f.file_size;
  return j;
}

std::string_view ViewTypeName(store::ViewType v) {
  switch (v) {
    case store::ViewType::kActiveOnly:
      return "ACTIVE_ONLY";
    case store::ViewType::kDeletedOnly:
      return "DELETED_ONLY";
    case store::ViewType::kAll:
      return "ALL";
  }
  return "ACTIVE_ONLY";
}

Result<store::ViewType> ParseViewType(std::string_view s) {
  std::string lower;
  for (char c : s) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "active_only" || lower == "active") return store::ViewType::kActiveOnly;
  if (lower == "deleted_only" || lower == "deleted") return store::ViewType::kDeletedOnly;
  if (lower == "all") return store::ViewType::kAll;
  return InvalidArgument("unknown view type '" + std::string(s) +
                         "' (expected active_only, deleted_only or all)");
}

}  // namespace cairn::client
