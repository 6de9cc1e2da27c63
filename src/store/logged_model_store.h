#pragma once
// MLflow 3 logged models: a model logged by a run (or on its own) as a
// first-class entity with an id ("m-" + 32 hex), its own artifact location
// (<experiment location>/models/<model_id>/artifacts), tags, params, and
// metrics logged with its model_id. The client's log_model creates one,
// uploads the files, then finalizes it; register_model("runs:/<run>/<path>")
// finds it by source run and name. Runs record the models they output
// (log-outputs) with the step.
//
// Thread safety: safe for concurrent use.
// Errors: kNotFound ("Logged model with ID 'm-...' not found."),
// kUnavailable, kInternal.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "store/types.h"

namespace cairn::store {

// MLflow 3's LoggedModel. status: "PENDING", "READY", "FAILED" (MLflow's
// LoggedModelStatus names without the prefix). model_id is "m-" + 32 hex.
struct LoggedModel {
  std::string model_id;
  std::string experiment_id;
  std::string name;
  std::string artifact_location;
  int64_t creation_time = 0;
  int64_t last_updated_time = 0;
  std::string status = "PENDING";
  std::string status_message;
  std::string lifecycle_stage = kActive;
  std::string model_type;
  std::string source_run_id;
  std::vector<Tag> tags;
  std::vector<Param> params;
  // Metrics logged with this model_id (latest per key and dataset).
  std::vector<Metric> metrics;
};

struct LoggedModelQuery {
  std::vector<std::string> experiment_ids;
  std::string source_run_id;  // empty: any
  std::string name;           // empty: any
  int64_t max_results = 100;
  int64_t offset = 0;  // order: creation_time DESC, model_id
};

struct LoggedModelPage {
  std::vector<LoggedModel> models;
  int64_t next_offset = -1;
};

struct LoggedModelOutput {
  std::string model_id;
  int64_t step = 0;
};

class LoggedModelStore {
 public:
  virtual ~LoggedModelStore() = default;

  // kNotFound when the experiment (or the source run, if given) does not exist.
  virtual Status CreateLoggedModel(const LoggedModel& m) = 0;
  virtual Result<LoggedModel> GetLoggedModel(const std::string& model_id) = 0;
  virtual Result<LoggedModel> FinalizeLoggedModel(const std::string& model_id,
                                                  const std::string& status,
                                                  const std::string& status_message,
                                                  int64_t time) = 0;
  // Soft delete (lifecycle_stage = deleted).
  virtual Status DeleteLoggedModel(const std::string& model_id, int64_t time) = 0;
  virtual Status SetLoggedModelTags(const std::string& model_id, const std::vector<Tag>& tags) = 0;
  virtual Status DeleteLoggedModelTag(const std::string& model_id, const std::string& key) = 0;
  virtual Status LogLoggedModelParams(const std::string& model_id,
                                      const std::vector<Param>& params) = 0;
  virtual Result<LoggedModelPage> SearchLoggedModels(const LoggedModelQuery& q) = 0;
  // Run outputs (MLflow 3 log-outputs): the models a run produced, with the
  // step at which each was logged.
  virtual Status LogRunOutputs(const std::string& run_id,
                               const std::vector<LoggedModelOutput>& outputs) = 0;
  virtual Result<std::vector<LoggedModelOutput>> GetRunOutputs(const std::string& run_id) = 0;
};

}  // namespace cairn::store
