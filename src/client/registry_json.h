#pragma once
// Model registry JSON <-> cairn::store registry types, for the client side.
//
// Two families of shapes (see docs/registry.md):
//   - MLflow's registry objects (/api/2.0/mlflow/registered-models/*,
//     /model-versions/*): `version` as a string, `creation_timestamp`,
//     `last_updated_timestamp`, tags as [{key, value}], registered model
//     aliases as [{alias, version}], version aliases as ["name", ...]; plus
//     Cairn's additions `storage_location`, `signature` (an object) on
//     versions and `protected_targets` on registered models.
//   - Cairn's native /api/v1 objects, whose field names are the struct fields
//     of store/registry_types.h (audit entries, approval requests, webhooks,
//     deliveries, change outcomes, lineage).
//
// Parsing is lenient as in mlflow_json.h: integers may be numbers or decimal
// strings, absent or null fields keep their defaults, unknown fields are
// ignored. A value of the wrong type is kInternal ("unexpected response from
// the server: ..."). An audit entry's `before`/`after` and a version's
// `signature` may arrive as JSON objects or as strings holding JSON; both
// become the compact JSON text of the struct field.
//
// Rendering produces the same shapes with a stable key order (the CLI's
// --json output). Rendered objects parse back to equal values.
//
// Pure functions; thread-safe.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/registry_types.h"
#include "store/types.h"

namespace cairn::client {

// A registered model as MLflow returns it: the model and, from get/search,
// its latest version per stage (`latest_versions`).
struct RegisteredModelDetails {
  store::RegisteredModel model;
  std::vector<store::ModelVersion> latest_versions;
};

// The answer of a change that may need an approval (native set-alias,
// stage transition, rollback, approve/reject). `outcome` is the server's word:
// "applied" (model_version holds the new state), "pending" (approval holds
// the request), or another status such as "rejected".
struct ChangeOutcome {
  std::string outcome;
  std::optional<store::ModelVersion> model_version;
  std::optional<store::ApprovalRequest> approval;
  bool pending() const { return outcome == "pending"; }
};

// GET /api/v1/models/{name}/versions/{v}/lineage.
struct VersionLineage {
  store::ModelVersion model_version;
  std::optional<store::Run> run;        // absent when the version has no run
  std::vector<store::Run> parent_runs;  // nearest first
  std::vector<store::ModelVersion> siblings;
};

// ---- MLflow shapes
Result<store::RegisteredModel> ParseRegisteredModel(const nlohmann::json& j);
Result<RegisteredModelDetails> ParseRegisteredModelDetails(const nlohmann::json& j);
Result<store::ModelVersion> ParseModelVersion(const nlohmann::json& j);

nlohmann::json RegisteredModelJson(const store::RegisteredModel& m,
                                   const std::vector<store::ModelVersion>& latest_versions = {});
nlohmann::json ModelVersionJson(const store::ModelVersion& v);

// ---- native shapes
Result<store::AuditEntry> ParseAuditEntry(const nlohmann::json& j);
Result<store::ApprovalRequest> ParseApprovalRequest(const nlohmann::json& j);
Result<store::Webhook> ParseWebhook(const nlohmann::json& j);
Result<store::WebhookDelivery> ParseWebhookDelivery(const nlohmann::json& j);
Result<ChangeOutcome> ParseChangeOutcome(const nlohmann::json& j);
Result<VersionLineage> ParseLineage(const nlohmann::json& j);

// `before`/`after` render as JSON objects when they hold valid JSON, else as
// strings ("" when empty).
nlohmann::json AuditEntryJson(const store::AuditEntry& e);
nlohmann::json ApprovalRequestJson(const store::ApprovalRequest& a);
// Never includes the secret.
nlohmann::json WebhookJson(const store::Webhook& w);
nlohmann::json WebhookDeliveryJson(const store::WebhookDelivery& d);
nlohmann::json ChangeOutcomeJson(const ChangeOutcome& o);
nlohmann::json LineageJson(const VersionLineage& l);

}  // namespace cairn::client
