#pragma once
// Domain types of the model registry, the audit log, approvals and
// webhooks: what the rows mean, not how they are stored. Plain values; copyable; no behaviour. Times are ms since the epoch.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/types.h"

namespace cairn::store {

// MLflow's legacy stages, spelled as MLflow stores and returns them.
inline constexpr const char* kStageNone = "None";
inline constexpr const char* kStageStaging = "Staging";
inline constexpr const char* kStageProduction = "Production";
inline constexpr const char* kStageArchived = "Archived";

struct ModelAlias {
  std::string alias;
  int64_t version = 0;
  bool operator==(const ModelAlias&) const = default;
};

struct RegisteredModel {
  std::string name;
  int64_t creation_time = 0;
  int64_t last_updated_time = 0;
  std::string user_id;
  std::string description;
  std::vector<Tag> tags;           // sorted by key
  std::vector<ModelAlias> aliases;  // sorted by alias
  // Aliases and stages whose changes need an approval by another user
  // (e.g. "champion", "Production"). Empty: none.
  std::vector<std::string> protected_targets;  // sorted
};

// MLflow's ModelVersionStatus names: PENDING_REGISTRATION, FAILED_REGISTRATION, READY.
struct ModelVersion {
  std::string name;
  int64_t version = 0;  // 1, 2, ... per registered model, never reused
  int64_t creation_time = 0;
  int64_t last_updated_time = 0;
  std::string user_id;
  std::string current_stage = kStageNone;
  std::string description;
  std::string source;            // as the client gave it
  std::string run_id;            // may be empty
  std::string run_link;          // may be empty
  std::string status = "READY";
  std::string status_message;
  std::string model_id;          // MLflow 3 logged model id; may be empty
  // Where the version's files live: the registry's own immutable copy
  // (e.g. "mlflow-artifacts:/_registry/7/versions/3") or, for a source Cairn
  // cannot copy, the source itself. get-download-uri returns it.
  std::string storage_location;
  std::string signature_json;    // the MLmodel signature as JSON; may be empty
  std::vector<Tag> tags;         // sorted by key
  std::vector<std::string> aliases;  // sorted
};

// Search filters of the registry: a conjunction of comparisons on one of
// the fields below. `key` names a tag for kTag.
struct RegistryComparison {
  enum class Field { kName, kRunId, kSource, kVersion, kTag, kModelId, kStage };
  enum class Op { kEq, kNe, kLike, kILike, kIn, kNotIn, kGt, kGe, kLt, kLe };
  Field field = Field::kName;
  Op op = Op::kEq;
  std::string key;                  // tag key for kTag
  std::vector<std::string> values;  // one, or the list for IN / NOT IN
};

struct RegistryOrderBy {
  enum class Field { kName, kVersion, kCreationTime, kLastUpdatedTime };
  Field field = Field::kName;
  bool ascending = true;
};

// Registered models: default order name ASC. Versions: default order
// name ASC, version DESC. Ties always broken by name ASC, version DESC.
struct RegistryQuery {
  std::vector<RegistryComparison> filter;
  std::vector<RegistryOrderBy> order_by;
  int64_t max_results = 100;
  int64_t offset = 0;
};

struct RegisteredModelPage {
  std::vector<RegisteredModel> models;
  int64_t next_offset = -1;  // -1 on the last page
};

struct ModelVersionPage {
  std::vector<ModelVersion> versions;
  int64_t next_offset = -1;
};

// ------------------------------------------------------------------ audit

// Who and when, given with every mutation so the store records it in the
// same transaction.
struct Actor {
  std::string user = "anonymous";
  int64_t time = 0;
};

// One append-only record. `entity_type` is one of "experiment", "run",
// "registered_model", "model_version", "alias", "approval", "webhook";
// `entity_id` names it ("fraud", "fraud/3", "fraud@champion", a run id, an
// experiment id, an approval id). `action` is "<entity_type>.<verb>", e.g.
// "alias.set", "model_version.transition_stage", "run.delete". `before` and
// `after` are JSON documents of the entity ("" when it did not exist).
// `model_name` is the registered model concerned ("" for tracking entities)
// so `cairn models audit fraud` finds every entry about the model.
struct AuditEntry {
  int64_t id = 0;  // assigned by the store, increasing
  int64_t time = 0;
  std::string actor;
  std::string action;
  std::string entity_type;
  std::string entity_id;
  std::string model_name;
  std::string before;
  std::string after;
};

struct AuditQuery {
  std::string entity_type;  // empty: any
  std::string entity_id;    // empty: any
  std::string model_name;   // empty: any
  std::string actor;        // empty: any
  std::optional<int64_t> since;  // time >= since
  std::optional<int64_t> until;  // time < until
  int64_t max_results = 100;
  int64_t offset = 0;  // newest first (id DESC)
};

struct AuditPage {
  std::vector<AuditEntry> entries;
  int64_t next_offset = -1;
};

// -------------------------------------------------------------- approvals

// A requested change of a protected alias or stage. kind "alias": target is
// the alias and version the version it should point at; kind "stage":
// target is the stage and version the version to move (archive_existing as
// asked). status: "pending", "approved", "rejected".
struct ApprovalRequest {
  int64_t id = 0;
  std::string model_name;
  std::string kind;  // "alias" | "stage"
  std::string target;
  int64_t version = 0;
  bool archive_existing = false;
  std::string status = "pending";
  std::string requested_by;
  int64_t requested_at = 0;
  std::string comment;       // the requester's
  std::string decided_by;    // empty while pending
  int64_t decided_at = 0;
  std::string decision_comment;
};

// -------------------------------------------------------------- webhooks

// A subscription. model_name empty: every model. events: any of
// "model_version.created", "alias.set", "alias.deleted",
// "model_version.stage_transitioned", "approval.requested",
// "approval.decided"; empty means all.
struct Webhook {
  int64_t id = 0;
  std::string model_name;
  std::string url;
  std::vector<std::string> events;
  std::string secret;  // HMAC-SHA256 key; never returned by the API
  bool active = true;
  int64_t creation_time = 0;
};

// One event to one webhook (the outbox row). Created in the transaction of
// the mutation that caused it, so an event is never lost or sent for a
// change that rolled back. status: "pending" (due at next_attempt_at),
// "delivered", "failed" (gave up after the last attempt).
struct WebhookDelivery {
  int64_t id = 0;
  int64_t webhook_id = 0;
  std::string event;
  std::string payload;  // the JSON body sent
  std::string status = "pending";
  int attempts = 0;
  int64_t next_attempt_at = 0;
  int last_http_status = 0;  // 0: no response (connection failed, timeout)
  std::string last_error;
  int64_t created_at = 0;
  int64_t delivered_at = 0;
};

// What a mutation emits besides its own rows: the audit record and the
// webhook event (if any). The store writes the audit entry and one delivery
// per matching active webhook in the mutation's transaction.
struct Event {
  std::string name;     // webhook event name; empty: audit only
  std::string payload;  // JSON body for webhooks
};

}  // namespace cairn::store
