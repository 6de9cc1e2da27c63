#pragma once
// Cairn's native registry REST API under /api/v1 (docs/registry.md): audit
// log, aliases with rollback, stages, protected targets, approvals, webhooks
// and their deliveries, lineage, and the versions that used a data set.
// Each handler parses one request into one RegistryService call (mutations
// with ActorOf(req): X-Cairn-User, else "anonymous") and renders JSON with
// registry_json.h; it holds no business rule.
//
//   GET    /api/v1/models/{name}/audit?max_results=&page_token=&actor=&since=&until=
//   GET    /api/v1/audit?entity_type=&entity_id=&model=&actor=&since=&until=
//          &max_results=&page_token=
//          -> {"entries": [AuditEntry], "next_page_token"?}   (newest first)
//   POST   /api/v1/models/{name}/aliases/{alias}/rollback        -> outcome
//   POST   /api/v1/models/{name}/aliases/{alias}  {"version": "3", "comment": ""} -> outcome
//   POST   /api/v1/models/{name}/versions/{v}/stage
//          {"stage": "Production", "archive_existing_versions": true, "comment": ""} -> outcome
//   PUT    /api/v1/models/{name}/protected-targets  {"targets": [...]} -> {"registered_model"}
//   GET    /api/v1/models/{name}/versions/{v}/lineage
//          -> {"model_version", "run"?, "parent_runs", "siblings"}
//   GET    /api/v1/approvals?model=&status=            -> {"approvals": [...]}
//   POST   /api/v1/approvals/{id}/approve|reject  {"comment": ""} -> outcome
//   POST   /api/v1/webhooks {"model": "", "url", "events": [], "secret"} -> {"webhook"}
//   GET    /api/v1/webhooks?model=                     -> {"webhooks": [...]}
//   DELETE /api/v1/webhooks/{id}                        -> {}
//   GET    /api/v1/webhooks/{id}/deliveries?max_results= (default 100) -> {"deliveries": [...]}
//   GET    /api/v1/datasets/{digest}/model-versions?name= -> {"model_versions": [...]}
//
// An outcome is {"outcome": "applied"|"pending"|"rejected", "model_version"?,
// "approval"?} (registry_json.h RenderMutationOutcome). Versions in bodies
// may be strings ("3") or numbers. Audit page tokens are opaque to clients
// (the offset of the next page). Errors are {"error_code", "message"} with
// the status of core/error.h: a malformed number or body is
// kInvalidArgument / kBadRequest, a path that names no endpoint
// kEndpointNotFound; the rest come from the service.
//
// The path handlers are mounted as prefix routes and dispatch on
// Request::route_suffix, matching from the end of the path.
// Thread-safe (stateless; the service is thread-safe).

#include <string>

#include "core/error.h"
#include "http/server.h"
#include "registry/registry_service.h"

namespace cairn::api::native_registry {

// GET /api/v1/audit
Result<std::string> SearchAudit(registry::RegistryService& s, const http::Request& req);
// Prefix /api/v1/models: audit, lineage (GET); rollback, alias, stage (POST);
// protected-targets (PUT).
Result<std::string> ModelSubresource(registry::RegistryService& s, const http::Request& req);
// GET /api/v1/approvals
Result<std::string> ListApprovals(registry::RegistryService& s, const http::Request& req);
// Prefix POST /api/v1/approvals: {id}/approve, {id}/reject
Result<std::string> DecideApproval(registry::RegistryService& s, const http::Request& req);
// POST and GET /api/v1/webhooks
Result<std::string> CreateWebhook(registry::RegistryService& s, const http::Request& req);
Result<std::string> ListWebhooks(registry::RegistryService& s, const http::Request& req);
// Prefix /api/v1/webhooks: DELETE {id}; GET {id}/deliveries
Result<std::string> WebhookSubresource(registry::RegistryService& s, const http::Request& req);
// Prefix GET /api/v1/datasets: {digest}/model-versions
Result<std::string> DatasetSubresource(registry::RegistryService& s, const http::Request& req);

}  // namespace cairn::api::native_registry
