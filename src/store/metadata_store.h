#pragma once
// The metadata store: every durable fact about experiments and runs. Only
// this layer writes SQL. Services call domain operations; each operation is
// one transaction (all or nothing).
//
// Thread safety: implementations are safe for concurrent use from any number
// of threads (they own a connection pool).
//
// Errors: kNotFound for unknown ids, kAlreadyExists for name clashes,
// kInvalidArgument for rule violations only the store can see (changing a
// param's value), kUnavailable when the database cannot be reached (the
// caller may retry), kInternal for anything else. Validation of shapes and
// limits is the service's job and is not repeated here.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/logged_model_store.h"
#include "store/monitor_store.h"
#include "store/pipeline_schedule_store.h"
#include "store/query.h"
#include "store/registry_store.h"
#include "store/types.h"

namespace cairn::store {

struct NewExperiment {
  std::string name;
  std::string artifact_location;  // may be empty
  std::vector<Tag> tags;
  int64_t creation_time = 0;
};

struct NewRun {
  std::string run_id;  // chosen by the caller (32 hex)
  std::string experiment_id;
  std::string run_name;
  std::string user_id;
  int64_t start_time = 0;
  std::string artifact_uri;
  std::vector<Tag> tags;
};

struct RunUpdate {
  std::optional<std::string> status;
  std::optional<int64_t> end_time;
  std::optional<std::string> run_name;  // also written to tag mlflow.runName
};

// The distinct keys an experiment's runs use (GET .../columns), each list
// sorted by bytes.
struct ExperimentColumns {
  std::vector<std::string> params;
  std::vector<std::string> metrics;
  std::vector<std::string> tags;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // Schema. Applies every pending numbered migration in one transaction per
  // migration; returns the schema version after. Idempotent.
  virtual Result<int> Migrate() = 0;
  virtual Result<int> SchemaVersion() = 0;

  // Experiments. Names are unique across active and deleted experiments.
  // Experiment "0" ("Default") exists after Migrate().
  virtual Result<std::string> CreateExperiment(const NewExperiment& e) = 0;
  virtual Result<Experiment> GetExperiment(const std::string& experiment_id) = 0;
  virtual Result<Experiment> GetExperimentByName(const std::string& name) = 0;
  virtual Result<ExperimentPage> SearchExperiments(const ExperimentQuery& q) = 0;
  virtual Status RenameExperiment(const std::string& experiment_id, const std::string& new_name,
                                  int64_t time) = 0;
  // Sets the lifecycle stage of the experiment and of all its runs.
  virtual Status SetExperimentLifecycle(const std::string& experiment_id,
                                        const std::string& stage, int64_t time) = 0;
  virtual Status SetExperimentTag(const std::string& experiment_id, const Tag& tag) = 0;
  virtual Status DeleteExperimentTag(const std::string& experiment_id, const std::string& key) = 0;

  // Runs. CreateRun fails with kNotFound when the experiment does not exist.
  virtual Status CreateRun(const NewRun& r) = 0;
  virtual Result<Run> GetRun(const std::string& run_id) = 0;
  virtual Result<RunInfo> UpdateRun(const std::string& run_id, const RunUpdate& u) = 0;
  virtual Status SetRunLifecycle(const std::string& run_id, const std::string& stage,
                                 int64_t time) = 0;
  // Atomic: either every metric, param and tag is written, or none. A param
  // already logged with a different value is kInvalidArgument naming key,
  // old and new value; the same value again is accepted. Tags overwrite.
  // Updates the latest-value row of each metric key it touches.
  virtual Status LogBatch(const std::string& run_id, const std::vector<Metric>& metrics,
                          const std::vector<Param>& params, const std::vector<Tag>& tags) = 0;
  virtual Status DeleteRunTag(const std::string& run_id, const std::string& key) = 0;
  // Every value of one metric, ordered by step, timestamp. kNotFound for an
  // unknown run; an empty list for a key never logged.
  virtual Result<std::vector<Metric>> GetMetricHistory(const std::string& run_id,
                                                       const std::string& key,
                                                       int64_t max_results, int64_t offset) = 0;
  // Dataset inputs; a dataset (experiment, name, digest) is stored once.
  virtual Status LogInputs(const std::string& run_id, const std::vector<DatasetInput>& inputs) = 0;
  virtual Result<RunPage> SearchRuns(const RunQuery& q) = 0;
  // The number of runs `q` matches (its experiments, filter and view; order,
  // paging and columns are ignored). Same errors as SearchRuns.
  virtual Result<int64_t> CountRuns(const RunQuery& q) = 0;
  // The keys of params, metrics and tags ever logged to the experiment's
  // runs (deleted runs and deleted tags included: keys are not forgotten).
  // kNotFound for an unknown experiment.
  virtual Result<ExperimentColumns> GetExperimentColumns(const std::string& experiment_id) = 0;

  // MLflow 3 logged models and run outputs, in the same database. Owned by
  // the metadata store; valid as long as it is.
  virtual LoggedModelStore& logged_models() = 0;

  // The model registry, audit log, approvals and webhooks, in the same
  // database. Owned by the metadata store; valid as long as it is.
  virtual RegistryStore& registry() = 0;

  // Monitors, their windows, results, predictions, labels and alerts
  // (docs/monitoring.md), in the same database. Owned by the metadata store;
  // valid as long as it is.
  virtual MonitorStore& monitors() = 0;

  // Pipeline schedules and their runs (docs/pipelines.md, "Schedules"), in
  // the same database. Owned by the metadata store; valid as long as it is.
  virtual PipelineScheduleStore& pipeline_schedules() = 0;
};

// Opens the store named by `uri`: "sqlite:///abs/path.db" (created with its
// folder if missing; "sqlite:///:memory:" for tests) or
// "postgresql://user[:pw]@host:port/db". Does not migrate; call Migrate().
// kInvalidArgument for an unknown scheme, kUnavailable when PostgreSQL cannot
// be reached (the message names host and port).
Result<std::unique_ptr<MetadataStore>> OpenMetadataStore(const std::string& uri);

}  // namespace cairn::store
