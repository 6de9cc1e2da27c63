#pragma once
// MLflow REST JSON <-> cairn::store domain types, for the client side.
//
// Parsing is lenient the way protobuf's JSON mapping is: int64 fields may be
// numbers or decimal strings; metric values may be numbers or the strings
// "NaN", "Infinity", "-Infinity"; absent fields keep their defaults; the
// legacy "run_uuid" is accepted when "run_id" is absent. A value of the wrong
// type is kInternal ("unexpected response from the server: ...").
//
// Rendering produces MLflow's shapes (what `GET runs/get` returns inside
// "run", and so on) with stable key order, so the CLI's --json output is the
// server's objects. Non-finite doubles render as "NaN"/"Infinity"/"-Infinity".
//
// Pure functions; thread-safe. nlohmann::json is part of this header's
// interface (the CLI builds its --json documents with it).

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "store/types.h"

namespace cairn::client {

// A file or folder under a run's artifact root, as MLflow's list-artifacts
// returns it: `path` relative to the artifact root, `file_size` -1 for folders.
struct FileInfo {
  std::string path;
  bool is_dir = false;
  int64_t file_size = -1;
  bool operator==(const FileInfo&) const = default;
};

Result<store::Experiment> ParseExperiment(const nlohmann::json& j);
Result<store::RunInfo> ParseRunInfo(const nlohmann::json& j);
Result<store::Run> ParseRun(const nlohmann::json& j);
Result<store::Metric> ParseMetric(const nlohmann::json& j);

nlohmann::json ExperimentJson(const store::Experiment& e);
nlohmann::json RunInfoJson(const store::RunInfo& info);
nlohmann::json RunJson(const store::Run& run);
nlohmann::json MetricJson(const store::Metric& m);
nlohmann::json FileInfoJson(const FileInfo& f);
// A double as MLflow sends it: a number, or "NaN" / "Infinity" / "-Infinity".
nlohmann::json DoubleJson(double v);

// "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL".
std::string_view ViewTypeName(store::ViewType v);
// Case-insensitive: active_only/active, deleted_only/deleted, all.
Result<store::ViewType> ParseViewType(std::string_view s);

}  // namespace cairn::client
