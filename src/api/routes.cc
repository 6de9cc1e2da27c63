// The route table (see routes.h).

#include "api/routes.h"

#include <string>

#include "api/mlflow_handlers.h"
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
    {Method::kPost, "logged-models/search", mlflow::SearchLoggedModels},
};

constexpr const char* kMlflowPrefixes[] = {"/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"};

http::Handler Bind(tracking::TrackingService& service, Handler h) {
  return [&service, h](http::Request& req) -> http::Response {
    Result<std::string> body = h(service, req);
    if (!body) return http::ErrorResponse(body.error());
    return http::Response::Json(200, std::move(*body));
  };
}

}  // namespace

const char* CairnVersion() { return CAIRN_VERSION; }

void MountMlflowTrackingRoutes(http::Router& router, tracking::TrackingService& service,
                               blob::ArtifactRepository* artifacts) {
  for (const char* prefix : kMlflowPrefixes) {
    for (const Endpoint& e : kMlflowEndpoints) {
      router.Add(e.method, std::string(prefix) + e.path, Bind(service, e.handler));
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

void MountNativeRoutes(http::Router& router, tracking::TrackingService& service) {
  router.Add(Method::kGet, "/api/v1/health", Bind(service, native::Health));
  router.Add(http::Route{Method::kGet, "/api/v1/experiments", /*prefix=*/true,
                         http::BodyMode::kBuffer, Bind(service, native::ExperimentSubresource)});
}

}  // namespace cairn::api
