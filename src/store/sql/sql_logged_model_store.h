#pragma once
// LoggedModelStore over the SQL driver (store/sql/driver.h): one
// implementation for SQLite and PostgreSQL. Tables: migration 3
// (store/sql/logged_model_schema.h). Every operation is one transaction on
// one leased connection; error codes are those of store/logged_model_store.h,
// messages MLflow's wording.
//
// Ownership: borrows the Database and the Clock; both must outlive it (the
// SqlMetadataStore owns both this store and the Database).
// Thread safety: safe for concurrent use; all state lives in the Database.

#include "core/clock.h"
#include "store/logged_model_store.h"
#include "store/sql/driver.h"

namespace cairn::store::sql {

class SqlLoggedModelStore final : public LoggedModelStore {
 public:
  SqlLoggedModelStore(Database& db, const Clock& clock);

  Status CreateLoggedModel(const LoggedModel& m) override;
  Result<LoggedModel> GetLoggedModel(const std::string& model_id) override;
  Result<LoggedModel> FinalizeLoggedModel(const std::string& model_id, const std::string& status,
                                          const std::string& status_message, int64_t time) override;
  Status DeleteLoggedModel(const std::string& model_id, int64_t time) override;
  Status SetLoggedModelTags(const std::string& model_id, const std::vector<Tag>& tags) override;
  Status DeleteLoggedModelTag(const std::string& model_id, const std::string& key) override;
  Status LogLoggedModelParams(const std::string& model_id,
                              const std::vector<Param>& params) override;
  Status LogLoggedModelMetrics(const std::vector<LoggedModelMetric>& metrics) override;
  Result<LoggedModelPage> SearchLoggedModels(const LoggedModelQuery& q) override;
  Status LogRunOutputs(const std::string& run_id,
                       const std::vector<LoggedModelOutput>& outputs) override;
  Result<std::vector<LoggedModelOutput>> GetRunOutputs(const std::string& run_id) override;

 private:

  Database& db_;
  const Clock& clock_;  // stamps a model created with creation_time 0
};

}  // namespace cairn::store::sql
