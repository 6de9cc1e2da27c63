#pragma once
// The registry part of the metadata store: registered models, model
// versions, aliases (with their history, for rollback), legacy stages, the
// append-only audit log, approval requests, webhook subscriptions and their
// delivery outbox, and lineage lookups. (MLflow 3 logged models: store/logged_model_store.h.) Only this
// layer writes SQL; rules (name syntax, reserved aliases, who may approve)
// are the registry service's job (registry/registry_service.h).
//
// Every mutation is one transaction that also appends the audit entry it
// describes (built by the store from the rows before and after, as JSON,
// with the given Actor) and, when `event.name` is set, one webhook delivery
// per active subscription matching the event and model. So the audit log and
// the outbox never disagree with the data. Mutations of experiments and runs
// are audited by the tracking service through AppendAudit.
//
// Thread safety: safe for concurrent use. Two concurrent SetAlias calls on
// the same alias both succeed, serialized; the last one wins; both are
// audited with their own before/after.
//
// Errors: kNotFound (unknown model, version, alias, approval, webhook,
// logged model; the message names it as MLflow does: "Registered Model with
// name=fraud not found", "Model Version (name=fraud, version=9) not found"),
// kAlreadyExists ("Registered Model (name=fraud) already exists."),
// kFailedPrecondition (deciding an approval that is not pending),
// kUnavailable, kInternal.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/registry_types.h"

namespace cairn::store {

struct NewModelVersion {
  std::string name;
  std::string source;
  std::string run_id;
  std::string run_link;
  std::string description;
  std::string model_id;
  std::string signature_json;
  std::vector<Tag> tags;
  std::string status = "READY";
  // Called inside the transaction with the version number assigned, before
  // commit; returns the storage location (the registry copy). An error rolls
  // the whole creation back. May be empty: storage_location = source.
  std::function<Result<std::string>(int64_t version)> place;
};

struct ModelVersionUpdate {
  std::optional<std::string> description;
  std::optional<std::string> status;
  std::optional<std::string> status_message;
};

// One past value of an alias, newest first (for rollback and `cairn models
// audit`). version 0 means the alias did not exist (was deleted).
struct AliasHistoryEntry {
  int64_t version = 0;
  int64_t time = 0;
  std::string actor;
};

class RegistryStore {
 public:
  virtual ~RegistryStore() = default;

  // -------------------------------------------------------- registered models
  virtual Result<RegisteredModel> CreateRegisteredModel(const RegisteredModel& m,
                                                        const Actor& actor) = 0;
  virtual Result<RegisteredModel> GetRegisteredModel(const std::string& name) = 0;
  // Renames the model; its versions, aliases, approvals and webhooks follow.
  virtual Result<RegisteredModel> RenameRegisteredModel(const std::string& name,
                                                        const std::string& new_name,
                                                        const Actor& actor) = 0;
  virtual Result<RegisteredModel> UpdateRegisteredModel(const std::string& name,
                                                        const std::string& description,
                                                        const Actor& actor) = 0;
  // Deletes the model with its versions, tags and aliases (audited; the
  // registry copies of the files are the service's to remove).
  virtual Status DeleteRegisteredModel(const std::string& name, const Actor& actor) = 0;
  virtual Result<RegisteredModelPage> SearchRegisteredModels(const RegistryQuery& q) = 0;
  virtual Status SetRegisteredModelTag(const std::string& name, const Tag& tag,
                                       const Actor& actor) = 0;
  virtual Status DeleteRegisteredModelTag(const std::string& name, const std::string& key,
                                          const Actor& actor) = 0;
  virtual Status SetProtectedTargets(const std::string& name,
                                     const std::vector<std::string>& targets,
                                     const Actor& actor) = 0;
  // The newest version in each stage (MLflow's latest_versions); `stages`
  // empty: every stage that has a version.
  virtual Result<std::vector<ModelVersion>> GetLatestVersions(
      const std::string& name, const std::vector<std::string>& stages) = 0;
  // GetLatestVersions(name, {}) of many models at once (one query per 200
  // names, for a page of search results): out[i] belongs to names[i]; an
  // unknown name gets an empty list.
  virtual Result<std::vector<std::vector<ModelVersion>>> GetLatestVersionsOf(
      const std::vector<std::string>& names) = 0;

  // ---------------------------------------------------------- model versions
  // Assigns the next version number (max ever + 1) atomically; kNotFound
  // when the registered model does not exist. Emits `event`.
  virtual Result<ModelVersion> CreateModelVersion(const NewModelVersion& v, const Actor& actor,
                                                  const Event& event) = 0;
  virtual Result<ModelVersion> GetModelVersion(const std::string& name, int64_t version) = 0;
  virtual Result<ModelVersion> UpdateModelVersion(const std::string& name, int64_t version,
                                                  const ModelVersionUpdate& u,
                                                  const Actor& actor) = 0;
  // Also deletes the version's aliases.
  virtual Status DeleteModelVersion(const std::string& name, int64_t version,
                                    const Actor& actor) = 0;
  virtual Result<ModelVersionPage> SearchModelVersions(const RegistryQuery& q) = 0;
  virtual Status SetModelVersionTag(const std::string& name, int64_t version, const Tag& tag,
                                    const Actor& actor) = 0;
  virtual Status DeleteModelVersionTag(const std::string& name, int64_t version,
                                       const std::string& key, const Actor& actor) = 0;
  // Moves the version to `stage`; with archive_existing, every other version
  // in that stage moves to Archived (each audited). Emits `event`.
  virtual Result<ModelVersion> TransitionStage(const std::string& name, int64_t version,
                                               const std::string& stage, bool archive_existing,
                                               const Actor& actor, const Event& event) = 0;

  // ----------------------------------------------------------------- aliases
  // Points the alias at the version (moving it if it pointed elsewhere);
  // kNotFound when the version does not exist. Records alias history.
  virtual Status SetAlias(const std::string& name, const std::string& alias, int64_t version,
                          const Actor& actor, const Event& event) = 0;
  // kNotFound when the alias does not exist.
  virtual Status DeleteAlias(const std::string& name, const std::string& alias,
                             const Actor& actor, const Event& event) = 0;
  virtual Result<ModelVersion> GetVersionByAlias(const std::string& name,
                                                 const std::string& alias) = 0;
  virtual Result<std::vector<AliasHistoryEntry>> GetAliasHistory(const std::string& name,
                                                                 const std::string& alias) = 0;

  // ------------------------------------------------------------------- audit
  // For mutations made outside this interface (experiments, runs).
  virtual Status AppendAudit(const AuditEntry& entry) = 0;
  virtual Result<AuditPage> SearchAudit(const AuditQuery& q) = 0;

  // --------------------------------------------------------------- approvals
  // Records a pending request; emits `event` (approval.requested).
  virtual Result<ApprovalRequest> CreateApproval(const ApprovalRequest& r, const Actor& actor,
                                                 const Event& event) = 0;
  virtual Result<ApprovalRequest> GetApproval(int64_t id) = 0;
  // model_name / status empty: any. Newest first.
  virtual Result<std::vector<ApprovalRequest>> ListApprovals(const std::string& model_name,
                                                             const std::string& status) = 0;
  // Marks a pending request approved or rejected (kFailedPrecondition if it
  // is no longer pending); emits `event` (approval.decided). Applying an
  // approved change is the service's next call (SetAlias/TransitionStage).
  virtual Result<ApprovalRequest> DecideApproval(int64_t id, bool approve,
                                                 const std::string& comment,
                                                 const Actor& actor, const Event& event) = 0;

  // ---------------------------------------------------------------- webhooks
  virtual Result<Webhook> CreateWebhook(const Webhook& w, const Actor& actor) = 0;
  virtual Result<Webhook> GetWebhook(int64_t id) = 0;
  virtual Result<std::vector<Webhook>> ListWebhooks(const std::string& model_name) = 0;
  virtual Status DeleteWebhook(int64_t id, const Actor& actor) = 0;
  // Pending deliveries due at `now`, oldest first, at most `limit`.
  virtual Result<std::vector<WebhookDelivery>> DueDeliveries(int64_t now, int limit) = 0;
  // Records an attempt's outcome (status, attempts, next_attempt_at,
  // last_http_status, last_error, delivered_at) of delivery `d.id`.
  virtual Status RecordDeliveryAttempt(const WebhookDelivery& d) = 0;
  virtual Result<std::vector<WebhookDelivery>> ListDeliveries(int64_t webhook_id,
                                                              int64_t max_results) = 0;

  // ----------------------------------------------------------------- lineage
  // Versions whose run_id is `run_id` (any model), newest first.
  virtual Result<std::vector<ModelVersion>> VersionsFromRun(const std::string& run_id) = 0;
  // Versions whose run logged a dataset input with this digest (and name,
  // when not empty).
  virtual Result<std::vector<ModelVersion>> VersionsUsingDataset(const std::string& digest,
                                                                 const std::string& name) = 0;
};

}  // namespace cairn::store
