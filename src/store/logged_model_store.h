#pragma once
// MLflow 3 logged models: a model logged by a run (or on its own) as a
// first-class entity with an id ("m-" + 32 hex), its own artifact location
// (<experiment location>/models/<model_id>/artifacts), tags, params, and
// metrics logged with its model_id. The client's log_model creates one,
// uploads the files, then finalizes it; register_model("runs:/<run>/<path>")
// finds it by source run and name. Runs record the models they output
// (log-outputs) with the step.
//
// Rules (ids, names, which experiment may receive a model, filter syntax)
// are the tracking service's; the store keeps rows and checks only what it
// must see inside its transaction (the experiment and source run exist, the
// model exists).
//
// Thread safety: safe for concurrent use.
// Errors: kNotFound ("Logged model with ID 'm-...' not found.", an unknown
// experiment or source run, "No tag with key 'k' found for model with ID
// 'm-...'."), kAlreadyExists (a model id used twice), kInvalidArgument (a
// query the backend cannot run), kUnavailable, kInternal.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "store/query.h"
#include "store/types.h"

namespace cairn::store {

// One metric value logged with a model_id (log-batch / log-metric of a run
// with "model_id" set). dataset_name/dataset_digest are empty when absent.
struct LoggedModelMetric {
  std::string model_id;
  std::string key;
  double value = 0;  // may be NaN or +-inf
  int64_t timestamp = 0;
  int64_t step = 0;
  std::string run_id;
  std::string dataset_name;
  std::string dataset_digest;
};

// MLflow 3's LoggedModel. status: "PENDING", "READY", "FAILED" (the names
// of MLflow's LoggedModelStatus entity; on the wire LOGGED_MODEL_PENDING,
// LOGGED_MODEL_READY, LOGGED_MODEL_UPLOAD_FAILED). model_id is "m-" + 32 hex.
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
  std::vector<Tag> tags;      // sorted by key
  std::vector<Param> params;  // sorted by key
  // Every value logged with this model_id, ordered by key, step, timestamp.
  std::vector<LoggedModelMetric> metrics;
};

// Search. `filter` is ANDed; supported (anything else is kInvalidArgument):
//  - kAttribute keys "name", "model_id", "source_run_id", "status",
//    "model_type" with = != LIKE ILIKE IN NOT IN (string operands), and
//    "creation_time", "last_updated_time" with = != < <= > >= (int64);
//  - kTag / kParam `key` with = != LIKE ILIKE IN NOT IN: the model has the
//    key and its value compares;
//  - kMetric `key` with = != < <= > >= (double): some value logged for the
//    key compares (NaN never matches).
// `order_by`: kAttribute "name", "model_id", "creation_time",
// "last_updated_time", "status", "model_type", "source_run_id", or kMetric
// `key` (the latest value by timestamp, step); NULLs last. Ties: then
// creation_time DESC, model_id ASC. Deleted models are never returned.
struct LoggedModelQuery {
  std::vector<std::string> experiment_ids;  // empty: nothing matches
  std::vector<Comparison> filter;
  std::vector<OrderBy> order_by;
  int64_t max_results = 100;
  int64_t offset = 0;
};

struct LoggedModelPage {
  std::vector<LoggedModel> models;
  int64_t next_offset = -1;  // -1 on the last page
};

struct LoggedModelOutput {
  std::string model_id;
  int64_t step = 0;
  bool operator==(const LoggedModelOutput&) const = default;
};

class LoggedModelStore {
 public:
  virtual ~LoggedModelStore() = default;

  // kNotFound when the experiment (or the source run, if given) does not
  // exist. Writes the model with its tags and params.
  virtual Status CreateLoggedModel(const LoggedModel& m) = 0;
  // Also returns deleted models (lifecycle_stage says so).
  virtual Result<LoggedModel> GetLoggedModel(const std::string& model_id) = 0;
  virtual Result<LoggedModel> FinalizeLoggedModel(const std::string& model_id,
                                                  const std::string& status,
                                                  const std::string& status_message,
                                                  int64_t time) = 0;
  // Soft delete (lifecycle_stage = deleted).
  virtual Status DeleteLoggedModel(const std::string& model_id, int64_t time) = 0;
  // Upserts; a key given twice keeps the last value.
  virtual Status SetLoggedModelTags(const std::string& model_id, const std::vector<Tag>& tags) = 0;
  virtual Status DeleteLoggedModelTag(const std::string& model_id, const std::string& key) = 0;
  // Upserts (a key logged again takes the new value).
  virtual Status LogLoggedModelParams(const std::string& model_id,
                                      const std::vector<Param>& params) = 0;
  // Appends metric values to their models (kNotFound names the first
  // unknown model). An identical (model, key, timestamp, step, run) row is
  // a retry and is kept once.
  virtual Status LogLoggedModelMetrics(const std::vector<LoggedModelMetric>& metrics) = 0;
  virtual Result<LoggedModelPage> SearchLoggedModels(const LoggedModelQuery& q) = 0;
  // Run outputs (MLflow 3 log-outputs): the models a run produced, with the
  // step at which each was logged. The same (model, step) twice is kept once.
  // kNotFound for an unknown run.
  virtual Status LogRunOutputs(const std::string& run_id,
                               const std::vector<LoggedModelOutput>& outputs) = 0;
  // In the order logged. An unknown run has none.
  virtual Result<std::vector<LoggedModelOutput>> GetRunOutputs(const std::string& run_id) = 0;
};

}  // namespace cairn::store
