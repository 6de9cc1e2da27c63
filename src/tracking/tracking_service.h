#pragma once
// TrackingService: every business rule of experiment tracking, over a
// MetadataStore. The MLflow REST handlers and the CLI both call it, so both
// give the same answers and the same errors (MLflow's messages where MLflow
// has one).
//
// Rules kept here (not in the store, not in handlers):
//  - shapes and limits (tracking/validation.h), required fields
//    ("Missing value for required parameter 'run_id'. ...");
//  - experiments: non-empty unique names; the Default experiment is "0";
//    artifact location = the stored one, else <default_artifact_root>/<id>;
//    only active experiments are renamed, tagged or receive runs;
//  - runs: id = NewRunId(); name given, or taken from the mlflow.runName tag,
//    or generated ("adjective-noun-123"); tags mlflow.runName and mlflow.user
//    are set as MLflow does; artifact_uri = <experiment location>/<run_id>/artifacts,
//    fixed at creation; only active runs are written to;
//  - log-batch is atomic: everything is validated first, then one store call;
//  - search: MLflow's filter/order_by syntax (tracking/filter_parser.h),
//    max_results 1..50000 (default 1000), page tokens base64 {"offset": N}.
//
// Audit: experiment mutations (create, rename, delete, restore, tag set and
// delete) and run lifecycle changes (create, update, delete, restore) append
// a store::AuditEntry (action "experiment.create", "run.delete", ...;
// before/after JSON documents of the entity) with the given actor right
// after the change commits (docs/registry.md).
//
// Errors: kInvalidArgument (400 INVALID_PARAMETER_VALUE), kNotFound (404
// RESOURCE_DOES_NOT_EXIST), kAlreadyExists, kFailedPrecondition (INVALID_STATE);
// store errors (kUnavailable, kInternal) pass through.
//
// Thread safety: safe for concurrent use if the store is (it is). The
// service holds references to the store and clock; both must outlive it.

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/error.h"
#include "store/metadata_store.h"

namespace cairn::tracking {

inline constexpr std::string_view kDefaultExperimentId = "0";
inline constexpr std::string_view kRunNameTag = "mlflow.runName";
inline constexpr std::string_view kUserTag = "mlflow.user";
inline constexpr std::string_view kLoggedModelsTag = "mlflow.log-model.history";
// get-history-bulk-interval: at most this many run ids, and samples per run.
inline constexpr size_t kMaxRunsPerBulkHistory = 100;
inline constexpr int64_t kMaxSamplesPerRun = 2500;

struct CreateExperimentRequest {
  std::string name;
  std::string artifact_location;  // empty: derived from the default root
  std::vector<store::Tag> tags;
};

struct SearchExperimentsRequest {
  std::string filter;
  std::vector<std::string> order_by;
  store::ViewType view = store::ViewType::kActiveOnly;
  std::optional<int64_t> max_results;  // default 1000
  std::string page_token;
};

struct ExperimentsPage {
  std::vector<store::Experiment> experiments;  // artifact_location filled in
  std::string next_page_token;                 // empty on the last page
};

struct CreateRunRequest {
  std::string experiment_id;          // empty: "0"
  std::string run_name;               // empty: from the mlflow.runName tag, else generated
  std::string user_id;                // empty: from the mlflow.user tag, if any
  std::optional<int64_t> start_time;  // default: now
  std::vector<store::Tag> tags;
};

struct UpdateRunRequest {
  std::string run_id;
  std::optional<std::string> status;  // RUNNING SCHEDULED FINISHED FAILED KILLED
  std::optional<int64_t> end_time;
  std::optional<std::string> run_name;  // empty string: unchanged (as MLflow)
};

struct SearchRunsRequest {
  std::vector<std::string> experiment_ids;
  std::string filter;
  std::vector<std::string> order_by;
  store::ViewType view = store::ViewType::kActiveOnly;
  std::optional<int64_t> max_results;  // default 1000
  std::string page_token;
  // The native runs page (docs/ui.md): only these keys in each run's data;
  // start at this row (not with page_token); also count the matching runs.
  std::optional<store::RunColumns> columns;
  std::optional<int64_t> offset;
  bool count_total = false;
};

struct RunsPage {
  std::vector<store::Run> runs;
  std::string next_page_token;   // empty on the last page
  std::optional<int64_t> total;  // with count_total
};

struct MetricHistoryRequest {
  std::string run_id;
  std::string metric_key;
  std::optional<int64_t> max_results;  // absent: the whole history, no paging
  std::string page_token;
};

struct MetricHistoryPage {
  std::vector<store::Metric> metrics;  // ordered by step, timestamp
  std::string next_page_token;
};

struct BulkIntervalRequest {
  std::vector<std::string> run_ids;  // 1..100
  std::string metric_key;
  std::optional<int64_t> start_step;  // both or neither
  std::optional<int64_t> end_step;
  std::optional<int64_t> max_results;  // samples per run, 1..2500 (default 2500)
};

struct MetricWithRunId {
  std::string run_id;
  store::Metric metric;
};

// ---------------------------------------------------------- logged models

// search-logged-models default page size (MLflow's).
inline constexpr int64_t kLoggedModelsMaxResultsDefault = 100;

struct CreateLoggedModelRequest {
  std::string experiment_id;  // required; the experiment must be active
  std::string name;           // empty: generated ("adjective-noun-123")
  std::string model_type;
  std::string source_run_id;  // empty: none; else the run must exist
  std::vector<store::Tag> tags;
  std::vector<store::Param> params;
};

// One order_by entry of search-logged-models: field_name is an attribute
// (creation_timestamp, last_updated_timestamp, name, model_id, status,
// model_type, source_run_id; the "_ms"/"_time" spellings too) or
// "metrics.<key>". dataset_name/dataset_digest are not supported (an error).
struct LoggedModelOrderBy {
  std::string field_name;
  bool ascending = true;
  std::string dataset_name;
  std::string dataset_digest;
};

// filter: MLflow's logged-model filter, comparisons joined by AND over
// attributes (name, model_id, source_run_id, status, model_type with
// = != LIKE ILIKE IN NOT IN; creation_timestamp, last_updated_timestamp with
// = != < <= > >=), tags.<k> / params.<k> (string ops) and metrics.<k>
// (numeric ops). status takes READY, PENDING, FAILED (or the LOGGED_MODEL_*
// wire names). `datasets` (metric filters scoped to a dataset) are not
// supported: an error when non-empty.
struct SearchLoggedModelsRequest {
  std::vector<std::string> experiment_ids;  // required, at least one
  std::string filter;
  std::vector<LoggedModelOrderBy> order_by;
  std::vector<std::string> datasets;   // dataset names
  std::optional<int64_t> max_results;  // default 100
  std::string page_token;
};

struct LoggedModelsPage {
  std::vector<store::LoggedModel> models;
  std::string next_page_token;  // empty on the last page
};

struct TrackingOptions {
  // Source of random 64-bit values (run names). Default: an OS-seeded generator.
  std::function<uint64_t()> random;
};

class TrackingService {
 public:
  TrackingService(store::MetadataStore& store, const Clock& clock,
                  std::string default_artifact_root, TrackingOptions options = {});

  // ------------------------------------------------------------ experiments
  // Returns the new experiment id.
  Result<std::string> CreateExperiment(const CreateExperimentRequest& r,
                                       const std::string& actor = "anonymous");
  Result<store::Experiment> GetExperiment(const std::string& experiment_id);
  Result<store::Experiment> GetExperimentByName(const std::string& name);
  Result<ExperimentsPage> SearchExperiments(const SearchExperimentsRequest& r);
  Status RenameExperiment(const std::string& experiment_id, const std::string& new_name,
                          const std::string& actor = "anonymous");
  // Deletes (soft) the experiment and all its runs; restores them.
  Status DeleteExperiment(const std::string& experiment_id, const std::string& actor = "anonymous");
  Status RestoreExperiment(const std::string& experiment_id,
                           const std::string& actor = "anonymous");
  Status SetExperimentTag(const std::string& experiment_id, const store::Tag& tag,
                          const std::string& actor = "anonymous");
  Status DeleteExperimentTag(const std::string& experiment_id, const std::string& key,
                             const std::string& actor = "anonymous");

  // ------------------------------------------------------------------- runs
  Result<store::Run> CreateRun(const CreateRunRequest& r, const std::string& actor = "anonymous");
  Result<store::Run> GetRun(const std::string& run_id);
  Result<store::RunInfo> UpdateRun(const UpdateRunRequest& r,
                                   const std::string& actor = "anonymous");
  Status DeleteRun(const std::string& run_id, const std::string& actor = "anonymous");
  Status RestoreRun(const std::string& run_id, const std::string& actor = "anonymous");
  Status SetTag(const std::string& run_id, const store::Tag& tag);
  Status DeleteTag(const std::string& run_id, const std::string& key);
  Status LogMetric(const std::string& run_id, const store::Metric& metric);
  Status LogParam(const std::string& run_id, const store::Param& param);
  Status LogBatch(const std::string& run_id, const std::vector<store::Metric>& metrics,
                  const std::vector<store::Param>& params, const std::vector<store::Tag>& tags);
  Status LogInputs(const std::string& run_id, const std::vector<store::DatasetInput>& inputs);
  // Appends the model's summary (run_id, artifact_path, utc_time_created,
  // model_uuid, flavors without their "config") to the JSON list in the
  // run's mlflow.log-model.history tag.
  Status LogModel(const std::string& run_id, const std::string& model_json);
  Result<MetricHistoryPage> GetMetricHistory(const MetricHistoryRequest& r);
  // Up to max_results points per run, evenly sampled over the (step-ranged)
  // history, always keeping the first and last; runs in the order given.
  Result<std::vector<MetricWithRunId>> GetMetricHistoryBulkInterval(const BulkIntervalRequest& r);
  Result<RunsPage> SearchRuns(const SearchRunsRequest& r);
  // The distinct param, metric and tag keys of an experiment's runs.
  // kNotFound for an unknown experiment.
  Result<store::ExperimentColumns> GetExperimentColumns(const std::string& experiment_id);
  // The store underneath, for read-only views built on it (pipeline runs).
  store::MetadataStore& store() { return store_; }

  // MLflow 3 run outputs: the models the run produced (run must be active).
  Status LogOutputs(const std::string& run_id,
                    const std::vector<store::LoggedModelOutput>& outputs);
  // In the order logged; kNotFound for an unknown run.
  Result<std::vector<store::LoggedModelOutput>> GetRunOutputs(const std::string& run_id);
  // log-batch / log-metric values sent with a model_id: validated like run
  // metrics, every model must exist (kNotFound otherwise, checked before the
  // run's batch is written), then the run batch, then the model values.
  Status LogBatchWithModelMetrics(const std::string& run_id,
                                  const std::vector<store::Metric>& metrics,
                                  const std::vector<store::Param>& params,
                                  const std::vector<store::Tag>& tags,
                                  const std::vector<store::LoggedModelMetric>& model_metrics);

  // ---------------------------------------------------------- logged models
  // model_id = "m-" + 32 hex; artifact_location =
  // <experiment artifact location>/models/<model_id>/artifacts; status PENDING.
  Result<store::LoggedModel> CreateLoggedModel(const CreateLoggedModelRequest& r);
  // kNotFound for an unknown model, and for a deleted one unless allow_deleted.
  Result<store::LoggedModel> GetLoggedModel(const std::string& model_id,
                                            bool allow_deleted = false);
  // status: "PENDING", "READY" or "FAILED".
  Result<store::LoggedModel> FinalizeLoggedModel(const std::string& model_id,
                                                 const std::string& status);
  Status DeleteLoggedModel(const std::string& model_id);
  Status SetLoggedModelTags(const std::string& model_id, const std::vector<store::Tag>& tags);
  Status DeleteLoggedModelTag(const std::string& model_id, const std::string& key);
  Status LogLoggedModelParams(const std::string& model_id, const std::vector<store::Param>& params);
  Result<LoggedModelsPage> SearchLoggedModels(const SearchLoggedModelsRequest& r);

  // The experiment's artifact location: stored, else <default root>/<id>.
  std::string ArtifactLocationFor(const store::Experiment& e) const;
  const std::string& default_artifact_root() const { return default_artifact_root_; }

 private:
  Result<store::Experiment> GetExperimentChecked(const std::string& experiment_id);
  Result<store::Run> GetActiveRun(const std::string& run_id);
  Result<int64_t> CheckMaxResults(std::optional<int64_t> max_results) const;
  std::string NewRunName();
  // Appends one audit entry (store.registry().AppendAudit) for a tracking
  // mutation that has committed. A failure to append is logged, not
  // returned: the change itself is durable and a retry by the client would
  // repeat it.
  void Audit(const std::string& actor, std::string action, std::string entity_type,
             std::string entity_id, std::string before, std::string after);
  // The entity as the audit log records it ("" when it cannot be read).
  std::string ExperimentDocument(const std::string& experiment_id);
  std::string RunDocument(const std::string& run_id);

  store::MetadataStore& store_;
  const Clock& clock_;
  std::string default_artifact_root_;
  std::function<uint64_t()> random_;
  std::mutex random_mu_;  // guards the default generator behind random_
};

// Joins URI path segments with single slashes: ("mlflow-artifacts:/", "1")
// -> "mlflow-artifacts:/1"; ("s3://b/x/", "1") -> "s3://b/x/1".
std::string AppendUriPath(std::string_view base, std::string_view segment);

}  // namespace cairn::tracking
