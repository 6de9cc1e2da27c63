#pragma once
// Renders the model registry's entities as JSON: registered models and model
// versions exactly as MLflow's REST API does (proto field names of
// model_registry.proto; `version` as a string, timestamps as numbers,
// `aliases` as [{"alias","version"}] on registered models and ["a"] on
// versions, status as the enum name), plus Cairn's extras (`storage_location`
// and `signature`, an object, on versions; `protected_targets` on registered
// models); and the native /api/v1 entities (audit entries, approval requests,
// webhooks, deliveries, lineage, mutation outcomes) with the snake_case field
// names of store/registry_types.h.
//
// Optional string fields MLflow leaves unset when empty (user_id, run_id,
// run_link, status_message, model_id) are omitted when empty; repeated
// fields are always written, [] when empty (clients accept both).
// Stored JSON documents (audit before/after, delivery payloads, version
// signatures) are embedded as JSON values, not as strings holding JSON;
// an empty document is null (a signature is then omitted).
//
// Pure functions over a caller-owned JsonWriter; thread-compatible.

#include <string>
#include <string_view>
#include <vector>

#include "core/json_writer.h"
#include "registry/registry_service.h"
#include "store/registry_types.h"

namespace cairn::api {

// {name, version: "3", creation_timestamp, last_updated_timestamp, user_id?,
//  current_stage, description, source, run_id?, status, status_message?,
//  tags: [{key, value}], run_link?, aliases: ["a"], model_id?,
//  storage_location?, signature?}
void WriteModelVersion(JsonWriter& w, const store::ModelVersion& v);

// {name, creation_timestamp, last_updated_timestamp, user_id?, description,
//  latest_versions: [ModelVersion] (only when `latest_versions` is given),
//  tags: [{key, value}], aliases: [{alias, version: "3"}], protected_targets: []}
void WriteRegisteredModel(JsonWriter& w, const store::RegisteredModel& m,
                          const std::vector<store::ModelVersion>* latest_versions = nullptr);

// {"registered_model": {...}} / {"model_version": {...}}: MLflow's response bodies.
std::string RenderRegisteredModelResponse(
    const store::RegisteredModel& m,
    const std::vector<store::ModelVersion>* latest_versions = nullptr);
std::string RenderModelVersionResponse(const store::ModelVersion& v);
// {"model_versions": [...], "next_page_token" (only when not empty)}
std::string RenderModelVersionsResponse(const std::vector<store::ModelVersion>& versions,
                                        std::string_view next_page_token = {});

// {id, time, actor, action, entity_type, entity_id, model_name, before, after}
void WriteAuditEntry(JsonWriter& w, const store::AuditEntry& e);
// {id, model_name, kind, target, version: "3", archive_existing, status,
//  requested_by, requested_at, comment, decided_by, decided_at, decision_comment}
void WriteApprovalRequest(JsonWriter& w, const store::ApprovalRequest& a);
// {id, model_name, url, events, active, creation_time}: never the secret.
void WriteWebhook(JsonWriter& w, const store::Webhook& h);
// {id, webhook_id, event, payload, status, attempts, next_attempt_at,
//  last_http_status, last_error, created_at, delivered_at}
void WriteWebhookDelivery(JsonWriter& w, const store::WebhookDelivery& d);
// {"model_version": {...}, "run": {MLflow run} (absent when none),
//  "parent_runs": [...], "siblings": [...]}
void WriteLineage(JsonWriter& w, const registry::Lineage& l);
// A whole response: {"outcome": "applied", "model_version": {...}} (plus
// "approval" when the change applied an approved request),
// {"outcome": "pending", "approval": {...}} or, for a rejected request,
// {"outcome": "rejected", "approval": {...}}.
std::string RenderMutationOutcome(const registry::MutationOutcome& o);

// The INVALID_STATE message MLflow clients see when their change became a
// pending approval request instead, e.g. "Setting alias 'champion' of
// registered model 'fraud' to version 3 requires approval: request 7 is
// pending (approve with `cairn models approvals approve 7`)".
std::string PendingApprovalMessage(const store::ApprovalRequest& a);

}  // namespace cairn::api
