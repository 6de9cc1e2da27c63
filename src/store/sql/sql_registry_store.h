#pragma once
// The registry store (store/registry_store.h) written once in SQL over the
// driver interface, like SqlMetadataStore for tracking: SQLite and
// PostgreSQL differ only in their drivers and the dialect points.
//
// Tables: migration 2 (store/sql/registry_schema.h). Registered models have
// an integer id that every child table (versions, tags, aliases, alias
// history, protected targets, approvals, webhooks) references, so a rename
// is one UPDATE; deleting a model deletes its children (ON DELETE CASCADE)
// but never its audit entries, which name the model by text.
//
// Every mutation is one write transaction on Database::Writer() that also
// appends its audit entry and its webhook outbox rows. A mutation of a model
// first locks the model's row (SELECT ... FOR UPDATE on PostgreSQL; the
// SQLite writer is serialized already), so concurrent mutations of one
// model are serialized: version numbers are max-ever + 1 without gaps or
// duplicates, and each audit entry's `before` is the state it replaced.
// Reads of several statements run in one read-only snapshot.
//
// NewModelVersion::place runs inside the write transaction: it must not call
// back into the metadata store (on SQLite the writer connection is held).
// CreateModelVersion reads `event` only after place returns, so place may
// fill in the payload (which needs the version number).
//
// Paging: max_results <= 0 means no limit; a negative offset is
// kInvalidArgument. Times: mutations are stamped with Actor::time (the
// clock's time when it is 0).
//
// Ownership: borrows the Database (owned by SqlMetadataStore) and the clock;
// both must outlive it. Thread safety: safe for concurrent use.

#include "core/clock.h"
#include "store/registry_store.h"
#include "store/sql/driver.h"

namespace cairn::store::sql {

class SqlRegistryStore final : public RegistryStore {
 public:
  SqlRegistryStore(Database& db, const Clock& clock);
  ~SqlRegistryStore() override;

  Result<RegisteredModel> CreateRegisteredModel(const RegisteredModel& m,
                                                const Actor& actor) override;
  Result<RegisteredModel> GetRegisteredModel(const std::string& name) override;
  Result<RegisteredModel> RenameRegisteredModel(const std::string& name,
                                                const std::string& new_name,
                                                const Actor& actor) override;
  Result<RegisteredModel> UpdateRegisteredModel(const std::string& name,
                                                const std::string& description,
                                                const Actor& actor) override;
  Status DeleteRegisteredModel(const std::string& name, const Actor& actor) override;
  Result<RegisteredModelPage> SearchRegisteredModels(const RegistryQuery& q) override;
  Status SetRegisteredModelTag(const std::string& name, const Tag& tag,
                               const Actor& actor) override;
  Status DeleteRegisteredModelTag(const std::string& name, const std::string& key,
                                  const Actor& actor) override;
  Status SetProtectedTargets(const std::string& name, const std::vector<std::string>& targets,
                             const Actor& actor) override;
  Result<std::vector<std::vector<ModelVersion>>> GetLatestVersionsOf(
      const std::vector<std::string>& names) override;
  Result<std::vector<ModelVersion>> GetLatestVersions(
      const std::string& name, const std::vector<std::string>& stages) override;

  Result<ModelVersion> CreateModelVersion(const NewModelVersion& v, const Actor& actor,
                                          const Event& event) override;
  Result<ModelVersion> GetModelVersion(const std::string& name, int64_t version) override;
  Result<ModelVersion> UpdateModelVersion(const std::string& name, int64_t version,
                                          const ModelVersionUpdate& u, const Actor& actor) override;
  Status DeleteModelVersion(const std::string& name, int64_t version, const Actor& actor) override;
  Result<ModelVersionPage> SearchModelVersions(const RegistryQuery& q) override;
  Status SetModelVersionTag(const std::string& name, int64_t version, const Tag& tag,
                            const Actor& actor) override;
  Status DeleteModelVersionTag(const std::string& name, int64_t version, const std::string& key,
                               const Actor& actor) override;
  Result<ModelVersion> TransitionStage(const std::string& name, int64_t version,
                                       const std::string& stage, bool archive_existing,
                                       const Actor& actor, const Event& event) override;

  Status SetAlias(const std::string& name, const std::string& alias, int64_t version,
                  const Actor& actor, const Event& event) override;
  Status DeleteAlias(const std::string& name, const std::string& alias, const Actor& actor,
                     const Event& event) override;
  Result<ModelVersion> GetVersionByAlias(const std::string& name,
                                         const std::string& alias) override;
  Result<std::vector<AliasHistoryEntry>> GetAliasHistory(const std::string& name,
                                                         const std::string& alias) override;

  Status AppendAudit(const AuditEntry& entry) override;
  Result<AuditPage> SearchAudit(const AuditQuery& q) override;

  Result<ApprovalRequest> CreateApproval(const ApprovalRequest& r, const Actor& actor,
                                         const Event& event) override;
  Result<ApprovalRequest> GetApproval(int64_t id) override;
  Result<std::vector<ApprovalRequest>> ListApprovals(const std::string& model_name,
                                                     const std::string& status) override;
  Result<ApprovalRequest> DecideApproval(int64_t id, bool approve, const std::string& comment,
                                         const Actor& actor, const Event& event) override;

  Result<Webhook> CreateWebhook(const Webhook& w, const Actor& actor) override;
  Result<Webhook> GetWebhook(int64_t id) override;
  Result<std::vector<Webhook>> ListWebhooks(const std::string& model_name) override;
  Status DeleteWebhook(int64_t id, const Actor& actor) override;
  Result<std::vector<WebhookDelivery>> DueDeliveries(int64_t now, int limit) override;
  Status RecordDeliveryAttempt(const WebhookDelivery& d) override;
  Result<std::vector<WebhookDelivery>> ListDeliveries(int64_t webhook_id,
                                                      int64_t max_results) override;

  Result<std::vector<ModelVersion>> VersionsFromRun(const std::string& run_id) override;
  Result<std::vector<ModelVersion>> VersionsUsingDataset(const std::string& digest,
                                                         const std::string& name) override;

 private:
  // Actor::time, or the clock's time when it is 0.
  int64_t TimeOf(const Actor& actor) const;

  Database& db_;
  const Clock& clock_;
};

}  // namespace cairn::store::sql
