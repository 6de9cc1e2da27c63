// The route table (see routes.h).

#include "api/routes.h"

#include <string>

#include "api/mlflow_handlers.h"
#include "api/mlflow_registry_handlers.h"
#include "api/native_registry_handlers.h"
#include "api/native_v1_handlers.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "0.0.0"
#endif

namespace cairn::api {
namespace {

using http::Method;
using Handler = Result<std::string> (*)(tracking::TrackingService&, const http::Request&);

struct Endpoint {
  Method method;
  const char* path;  // after the /mlflow/ prefix
  Handler handler;
  bool prefix = false;  // also matches path + "/..." (see http::Route)
};

// Every MLflow tracking endpoint, with the method the stock client uses.
constexpr Endpoint kMlflowEndpoints[] = {
    {Method::kPost, "experiments/create", mlflow::CreateExperiment},
    {Method::kGet, "experiments/get", mlflow::GetExperiment},
    {Method::kGet, "experiments/get-by-name", mlflow::GetExperimentByName},
    {Method::kPost, "experiments/search", mlflow::SearchExperiments},
    {Method::kGet, "experiments/search", mlflow::SearchExperiments},
    {Method::kPost, "experiments/update", mlflow::UpdateExperiment},
    {Method::kPost, "experiments/delete", mlflow::DeleteExperiment},
    {Method::kPost, "experiments/restore", mlflow::RestoreExperiment},
    {Method::kPost, "experiments/set-experiment-tag", mlflow::SetExperimentTag},
    {Method::kPost, "experiments/delete-experiment-tag", mlflow::DeleteExperimentTag},
    {Method::kPost, "runs/create", mlflow::CreateRun},
    {Method::kGet, "runs/get", mlflow::GetRun},
    {Method::kPost, "runs/update", mlflow::UpdateRun},
    {Method::kPost, "runs/delete", mlflow::DeleteRun},
    {Method::kPost, "runs/restore", mlflow::RestoreRun},
    {Method::kPost, "runs/log-metric", mlflow::LogMetric},
    {Method::kPost, "runs/log-parameter", mlflow::LogParam},
    {Method::kPost, "runs/set-tag", mlflow::SetTag},
    {Method::kPost, "runs/delete-tag", mlflow::DeleteTag},
    {Method::kPost, "runs/log-batch", mlflow::LogBatch},
    {Method::kPost, "runs/log-model", mlflow::LogModel},
    {Method::kPost, "runs/log-inputs", mlflow::LogInputs},
    {Method::kPost, "runs/search", mlflow::SearchRuns},
    {Method::kGet, "metrics/get-history", mlflow::GetMetricHistory},
    {Method::kGet, "metrics/get-history-bulk-interval", mlflow::GetMetricHistoryBulkInterval},
    {Method::kPost, "runs/outputs", mlflow::LogOutputs},
    {Method::kPost, "logged-models", mlflow::CreateLoggedModel},
    {Method::kPost, "logged-models/search", mlflow::SearchLoggedModels},
    {Method::kGet, "logged-models", mlflow::LoggedModelSubresource, true},
    {Method::kPatch, "logged-models", mlflow::LoggedModelSubresource, true},
    {Method::kDelete, "logged-models", mlflow::LoggedModelSubresource, true},
    {Method::kPost, "logged-models", mlflow::LoggedModelSubresource, true},
};

constexpr const char* kMlflowPrefixes[] = {"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"};

http::Handler Bind(tracking::TrackingService& service, Handler h) {
  return [&service, h](http::Request& req) -> http::Response {
    Result<std::string> body = h(service, req);
    if (!body) return http::ErrorResponse(body.error());
    return http::Response::Json(200, std::move(*body));
  };
}

// ------------------------------------------------------------------ registry

using RegistryHandler = Result<std::string> (*)(registry::RegistryService&, const http::Request&);

struct RegistryEndpoint {
  Method method;
  const char* path;  // after the /mlflow/ prefix
  RegistryHandler handler;
};

// Every MLflow model registry endpoint, with the method of model_registry.proto.
constexpr RegistryEndpoint kMlflowRegistryEndpoints[] = {
    {Method::kPost, "registered-models/create", mlflow_registry::CreateRegisteredModel},
    {Method::kGet, "registered-models/get", mlflow_registry::GetRegisteredModel},
    {Method::kPost, "registered-models/rename", mlflow_registry::RenameRegisteredModel},
    {Method::kPatch, "registered-models/update", mlflow_registry::UpdateRegisteredModel},
    {Method::kDelete, "registered-models/delete", mlflow_registry::DeleteRegisteredModel},
    {Method::kGet, "registered-models/search", mlflow_registry::SearchRegisteredModels},
    {Method::kPost, "registered-models/set-tag", mlflow_registry::SetRegisteredModelTag},
    {Method::kDelete, "registered-models/delete-tag", mlflow_registry::DeleteRegisteredModelTag},
    {Method::kPost, "registered-models/alias", mlflow_registry::SetAlias},
    {Method::kDelete, "registered-models/alias", mlflow_registry::DeleteAlias},
    {Method::kGet, "registered-models/alias", mlflow_registry::GetVersionByAlias},
    {Method::kPost, "registered-models/get-latest-versions", mlflow_registry::GetLatestVersions},
    {Method::kGet, "registered-models/get-latest-versions", mlflow_registry::GetLatestVersions},
    {Method::kPost, "model-versions/create", mlflow_registry::CreateModelVersion},
    {Method::kGet, "model-versions/get", mlflow_registry::GetModelVersion},
    {Method::kPatch, "model-versions/update", mlflow_registry::UpdateModelVersion},
    {Method::kDelete, "model-versions/delete", mlflow_registry::DeleteModelVersion},
    {Method::kGet, "model-versions/search", mlflow_registry::SearchModelVersions},
    {Method::kPost, "model-versions/set-tag", mlflow_registry::SetModelVersionTag},
    {Method::kDelete, "model-versions/delete-tag", mlflow_registry::DeleteModelVersionTag},
    {Method::kGet, "model-versions/get-download-uri", mlflow_registry::GetDownloadUri},
    {Method::kPost, "model-versions/transition-stage", mlflow_registry::TransitionStage},
};

http::Handler BindRegistry(registry::RegistryService& service, RegistryHandler h) {
  return [&service, h](http::Request& req) -> http::Response {
    Result<std::string> body = h(service, req);
    if (!body) return http::ErrorResponse(body.error());
    return http::Response::Json(200, std::move(*body));
  };
}

void AddPrefixRoute(http::Router& router, Method m, const char* path, http::Handler h) {
  router.Add(http::Route{m, path, /*prefix=*/true, http::BodyMode::kBuffer, std::move(h)});
}

}  // namespace

const char* CairnVersion() { return CAIRN_VERSION; }

void MountMlflowTrackingRoutes(http::Router& router, tracking::TrackingService& service,
                               blob::ArtifactRepository* artifacts) {
  for (const char* prefix : kMlflowPrefixes) {
    for (const Endpoint& e : kMlflowEndpoints) {
      router.Add(http::Route{e.method, std::string(prefix) + e.path, e.prefix,
                             http::BodyMode::kBuffer, Bind(service, e.handler)});
    }
    // The one endpoint that needs the artifact repository as well.
    router.Add(Method::kGet, std::string(prefix) + "artifacts/list",
               [&service, artifacts](http::Request& req) -> http::Response {
                 Result<std::string> body = mlflow::ListRunArtifacts(service, artifacts, req);
                 if (!body) return http::ErrorResponse(body.error());
                 return http::Response::Json(200, std::move(*body));
               });
  }
}

void MountHealthRoutes(http::Router& router) {
  router.Add(Method::kGet, "/health",
             [](http::Request&) { return http::Response::Text(200, "OK"); });
  router.Add(Method::kGet, "/version",
             [](http::Request&) { return http::Response::Text(200, CairnVersion()); });
}

void MountNativeRoutes(http::Router& router, tracking::TrackingService& service,
                       blob::ArtifactRepository* artifacts) {
  router.Add(Method::kGet, "/api/v1/health", Bind(service, native::Health));
  router.Add(http::Route{Method::kGet, "/api/v1/experiments", /*prefix=*/true,
                         http::BodyMode::kBuffer, Bind(service, native::ExperimentSubresource)});
  // The web UI's endpoints (docs/ui.md).
  router.Add(Method::kPost, "/api/v1/runs/get", Bind(service, native::GetRuns));
  router.Add(Method::kPost, "/api/v1/series", Bind(service, native::GetSeriesBatch));
  AddPrefixRoute(router, Method::kGet, "/api/v1/runs", [&service, artifacts](http::Request& req) {
    return native::RunSubresource(service, artifacts, req);
  });
  router.Add(Method::kGet, "/api/v1/pipeline-runs", Bind(service, native::ListPipelineRuns));
  AddPrefixRoute(router, Method::kGet, "/api/v1/pipeline-runs",
                 [&service, artifacts](http::Request& req) -> http::Response {
                   Result<std::string> body = native::GetPipelineRun(service, artifacts, req);
                   if (!body) return http::ErrorResponse(body.error());
                   return http::Response::Json(200, std::move(*body));
                 });
}

void MountMlflowRegistryRoutes(http::Router& router, registry::RegistryService& service) {
  for (const char* prefix : kMlflowPrefixes) {
    for (const RegistryEndpoint& e : kMlflowRegistryEndpoints) {
      router.Add(e.method, std::string(prefix) + e.path, BindRegistry(service, e.handler));
    }
  }
}

void MountNativeRegistryRoutes(http::Router& router, registry::RegistryService& service) {
  namespace nr = native_registry;
  router.Add(Method::kGet, "/api/v1/audit", BindRegistry(service, nr::SearchAudit));
  for (Method m : {Method::kGet, Method::kPost, Method::kPut}) {
    AddPrefixRoute(router, m, "/api/v1/models", BindRegistry(service, nr::ModelSubresource));
  }
  router.Add(Method::kGet, "/api/v1/approvals", BindRegistry(service, nr::ListApprovals));
  AddPrefixRoute(router, Method::kPost, "/api/v1/approvals",
                 BindRegistry(service, nr::DecideApproval));
  router.Add(Method::kPost, "/api/v1/webhooks", BindRegistry(service, nr::CreateWebhook));
  router.Add(Method::kGet, "/api/v1/webhooks", BindRegistry(service, nr::ListWebhooks));
  for (Method m : {Method::kGet, Method::kDelete}) {
    AddPrefixRoute(router, m, "/api/v1/webhooks", BindRegistry(service, nr::WebhookSubresource));
  }
  AddPrefixRoute(router, Method::kGet, "/api/v1/datasets",
                 BindRegistry(service, nr::DatasetSubresource));
}

}  // namespace cairn::api
