#pragma once
// MLflow model registry REST handlers (/api/2.0/mlflow/registered-models/...,
// /model-versions/..., and the same under /ajax-api/2.0/mlflow/). Each handler
// reads the request's fields (query string for GET, JSON body otherwise, see
// request_fields.h), makes one RegistryService call with the request's actor
// (ActorOf: X-Cairn-User, else "anonymous") and renders MLflow's response
// body (registry_json.h): {"registered_model": {...}}, {"model_version":
// {...}}, {"registered_models": [...], "next_page_token"?},
// {"model_versions": [...], "next_page_token"?}, {"artifact_uri": "..."}, and
// {} for deletes, tags and set-alias. No business rule lives here.
//
// Request checks done here, with MLflow's messages: a required field that is
// absent or "" is kInvalidArgument "Missing value for required parameter
// 'name'. See the API docs ..."; a version that is not an integer is
// kInvalidArgument "Parameter 'version' must be an integer, got 'abc'.".
// A set-alias or transition-stage that the service turns into a pending
// approval request is kFailedPrecondition (INVALID_STATE) naming the request
// (registry_json.h PendingApprovalMessage), so stock clients see an error
// rather than a silent no-op. Other errors come from the service.
//
// Thread-safe: handlers are stateless; the service is thread-safe.

#include <string>

#include "core/error.h"
#include "http/server.h"
#include "registry/registry_service.h"

namespace cairn::api::mlflow_registry {

using JsonHandler = Result<std::string> (*)(registry::RegistryService&, const http::Request&);

// registered-models/
Result<std::string> CreateRegisteredModel(registry::RegistryService& s, const http::Request& req);
Result<std::string> GetRegisteredModel(registry::RegistryService& s, const http::Request& req);
Result<std::string> RenameRegisteredModel(registry::RegistryService& s, const http::Request& req);
Result<std::string> UpdateRegisteredModel(registry::RegistryService& s, const http::Request& req);
Result<std::string> DeleteRegisteredModel(registry::RegistryService& s, const http::Request& req);
Result<std::string> SearchRegisteredModels(registry::RegistryService& s, const http::Request& req);
Result<std::string> SetRegisteredModelTag(registry::RegistryService& s, const http::Request& req);
Result<std::string> DeleteRegisteredModelTag(registry::RegistryService& s,
                                             const http::Request& req);
Result<std::string> GetLatestVersions(registry::RegistryService& s, const http::Request& req);
// registered-models/alias: POST sets, DELETE deletes, GET gets the version.
Result<std::string> SetAlias(registry::RegistryService& s, const http::Request& req);
Result<std::string> DeleteAlias(registry::RegistryService& s, const http::Request& req);
Result<std::string> GetVersionByAlias(registry::RegistryService& s, const http::Request& req);

// model-versions/
Result<std::string> CreateModelVersion(registry::RegistryService& s, const http::Request& req);
Result<std::string> GetModelVersion(registry::RegistryService& s, const http::Request& req);
Result<std::string> UpdateModelVersion(registry::RegistryService& s, const http::Request& req);
Result<std::string> DeleteModelVersion(registry::RegistryService& s, const http::Request& req);
Result<std::string> SearchModelVersions(registry::RegistryService& s, const http::Request& req);
Result<std::string> SetModelVersionTag(registry::RegistryService& s, const http::Request& req);
Result<std::string> DeleteModelVersionTag(registry::RegistryService& s, const http::Request& req);
Result<std::string> GetDownloadUri(registry::RegistryService& s, const http::Request& req);
Result<std::string> TransitionStage(registry::RegistryService& s, const http::Request& req);

}  // namespace cairn::api::mlflow_registry
