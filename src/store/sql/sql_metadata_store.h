#pragma once
// The metadata store's domain logic, written once in SQL over the driver
// interface (store/sql/driver.h); SQLite and PostgreSQL differ only in their
// drivers and in the few dialect points of store/sql/dialect.h.
//
// Every operation is one transaction on one leased connection: writes on
// Database::Writer(), reads of several statements in a read-only snapshot on
// Database::Reader(). Error codes are those of store/metadata_store.h; the
// messages follow MLflow's wording where its clients show them to users.
//
// Thread safety: safe for concurrent use; all state lives in the Database.

#include <memory>

#include "core/clock.h"
#include "store/metadata_store.h"
#include "store/sql/driver.h"
#include "store/sql/sql_logged_model_store.h"
#include "store/sql/sql_monitor_store.h"
#include "store/sql/sql_pipeline_schedule_store.h"
#include "store/sql/sql_registry_store.h"

namespace cairn::store::sql {

class SqlMetadataStore final : public MetadataStore {
 public:
  // `clock` stamps the Default experiment and migration rows; it must
  // outlive the store.
  explicit SqlMetadataStore(std::unique_ptr<Database> db, const Clock& clock = SystemClock::Get());
  ~SqlMetadataStore() override;

  Result<int> Migrate() override;
  Result<int> SchemaVersion() override;

  Result<std::string> CreateExperiment(const NewExperiment& e) override;
  Result<Experiment> GetExperiment(const std::string& experiment_id) override;
  Result<Experiment> GetExperimentByName(const std::string& name) override;
  Result<ExperimentPage> SearchExperiments(const ExperimentQuery& q) override;
  Status RenameExperiment(const std::string& experiment_id, const std::string& new_name,
                          int64_t time) override;
  Status SetExperimentLifecycle(const std::string& experiment_id, const std::string& stage,
                                int64_t time) override;
  Status SetExperimentTag(const std::string& experiment_id, const Tag& tag) override;
  Status DeleteExperimentTag(const std::string& experiment_id, const std::string& key) override;

  Status CreateRun(const NewRun& r) override;
  Result<Run> GetRun(const std::string& run_id) override;
  Result<RunInfo> UpdateRun(const std::string& run_id, const RunUpdate& u) override;
  Status SetRunLifecycle(const std::string& run_id, const std::string& stage,
                         int64_t time) override;
  Status LogBatch(const std::string& run_id, const std::vector<Metric>& metrics,
                  const std::vector<Param>& params, const std::vector<Tag>& tags) override;
  Status DeleteRunTag(const std::string& run_id, const std::string& key) override;
  Result<std::vector<Metric>> GetMetricHistory(const std::string& run_id, const std::string& key,
                                               int64_t max_results, int64_t offset) override;
  Status LogInputs(const std::string& run_id, const std::vector<DatasetInput>& inputs) override;
  Result<RunPage> SearchRuns(const RunQuery& q) override;
  // CountRuns and GetExperimentColumns: sql_ui_queries.cc.
  Result<int64_t> CountRuns(const RunQuery& q) override;
  Result<ExperimentColumns> GetExperimentColumns(const std::string& experiment_id) override;
  LoggedModelStore& logged_models() override { return *logged_models_; }
  RegistryStore& registry() override { return *registry_; }
  MonitorStore& monitors() override { return *monitors_; }
  PipelineScheduleStore& pipeline_schedules() override { return *pipeline_schedules_; }

  // The driver underneath (tests and tools that need raw access).
  Database& database() { return *db_; }

 private:

  std::unique_ptr<Database> db_;
  const Clock& clock_;
  std::unique_ptr<SqlLoggedModelStore> logged_models_;  // over *db_
  std::unique_ptr<SqlRegistryStore> registry_;          // over *db_
  std::unique_ptr<SqlMonitorStore> monitors_;           // over *db_
  // Over *db_, like the three above.
  std::unique_ptr<SqlPipelineScheduleStore> pipeline_schedules_;
};

}  // namespace cairn::store::sql
