#pragma once
// Domain types of the metadata store: what tracking rows mean, not how they
// are stored. Plain values; copyable; no behaviour.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cairn::store {

inline constexpr const char* kActive = "active";
inline constexpr const char* kDeleted = "deleted";

struct Tag {
  std::string key;
  std::string value;
  bool operator==(const Tag&) const = default;
};

struct Param {
  std::string key;
  std::string value;
  bool operator==(const Param&) const = default;
};

struct Metric {
  std::string key;
  double value = 0;  // may be NaN or +-inf; backends must round-trip them
  int64_t timestamp = 0;  // ms since epoch
  int64_t step = 0;
};

struct Experiment {
  std::string experiment_id;  // decimal integer as text, "0" is Default
  std::string name;
  std::string artifact_location;  // as stored; may be empty (service derives the default)
  std::string lifecycle_stage = kActive;
  int64_t creation_time = 0;
  int64_t last_update_time = 0;
  std::vector<Tag> tags;
};

// Run status names are MLflow's: RUNNING, SCHEDULED, FINISHED, FAILED, KILLED.
struct RunInfo {
  std::string run_id;
  std::string experiment_id;
  std::string run_name;
  std::string user_id;
  std::string status = "RUNNING";
  int64_t start_time = 0;
  std::optional<int64_t> end_time;
  std::string artifact_uri;
  std::string lifecycle_stage = kActive;
};

struct Dataset {
  std::string name;
  std::string digest;
  std::string source_type;
  std::string source;
  std::string schema;   // may be empty
  std::string profile;  // may be empty
};

struct DatasetInput {
  std::vector<Tag> tags;  // e.g. mlflow.data.context=training
  Dataset dataset;
};

struct Run {
  RunInfo info;
  std::vector<Metric> metrics;  // latest value per key (by step, then timestamp, then value)
  std::vector<Param> params;
  std::vector<Tag> tags;
  std::vector<DatasetInput> inputs;
};

enum class ViewType { kActiveOnly, kDeletedOnly, kAll };

}  // namespace cairn::store
