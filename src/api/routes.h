#pragma once
// The route table: every tracking endpoint Cairn serves, in one place
// (routes.cc). Artifact routes are mounted by MountArtifactRoutes
// (artifact_handlers.h).
//
// MLflow tracking API, each under /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/,
// with the HTTP method the MLflow client uses (see mlflow's service.proto):
//   GET  experiments/get, experiments/get-by-name, experiments/search,
//        runs/get, metrics/get-history, metrics/get-history-bulk-interval
//   POST experiments/{create,search,update,delete,restore,set-experiment-tag,
//        delete-experiment-tag}, runs/{create,update,delete,restore,log-metric,
//        log-parameter,set-tag,delete-tag,log-batch,log-model,log-inputs,search}
//   GET  artifacts/list (a run's artifacts, through the server)
//   MLflow 3 logged models: POST logged-models, POST logged-models/search,
//        GET|PATCH|DELETE logged-models/{id}, PATCH logged-models/{id}/tags,
//        DELETE logged-models/{id}/tags/{key}, POST logged-models/{id}/params,
//        POST runs/outputs (see mlflow_handlers.h)
// Plus /health (text "OK"), /version (text), /api/v1/health and
// GET /api/v1/experiments/{id}/runs.
//
// Monitoring (MountMonitorRoutes, monitor_handlers.h): POST|GET
// /api/v1/monitors, GET|DELETE /api/v1/monitors/{name}, POST
// /api/v1/monitors/{name}/run, GET /api/v1/monitors/{name}/{windows,results,alerts},
// POST /api/v1/labels/{model}, POST /api/v1/drift, GET /metrics (Prometheus).
//
// The service (and the artifact repository, when given) must outlive the router.

#include "blob/artifact_repository.h"
#include "http/server.h"
#include "registry/registry_service.h"
#include "tracking/tracking_service.h"

namespace cairn::api {

// `artifacts`: the artifact proxy's repository, for artifacts/list of
// mlflow-artifacts:/ runs; null when the server does not serve artifacts.
void MountMlflowTrackingRoutes(http::Router& router, tracking::TrackingService& service,
                               blob::ArtifactRepository* artifacts);
void MountHealthRoutes(http::Router& router);
// Native /api/v1 tracking routes (native_v1_handlers.h), including the web
// UI's: experiments/{id}/{runs,columns}, runs/get, series, runs/{id}/
// {series,series.csv,artifact}, pipeline-runs. `artifacts` as above.
void MountNativeRoutes(http::Router& router, tracking::TrackingService& service,
                       blob::ArtifactRepository* artifacts = nullptr);

// MLflow model registry API (mlflow_registry_handlers.h), each under
// /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/, with the methods of MLflow's
// model_registry.proto (which the stock client uses):
//   POST   registered-models/{create,rename,set-tag,alias,get-latest-versions}
//   GET    registered-models/{get,search,alias,get-latest-versions}
//   PATCH  registered-models/update;  DELETE registered-models/{delete,delete-tag,alias}
//   POST   model-versions/{create,set-tag,transition-stage}
//   GET    model-versions/{get,search,get-download-uri}
//   PATCH  model-versions/update;  DELETE model-versions/{delete,delete-tag}
// The service must outlive the router.
void MountMlflowRegistryRoutes(http::Router& router, registry::RegistryService& service);
// Native registry API under /api/v1 (native_registry_handlers.h): audit,
// models/{name}/..., approvals, webhooks, datasets/{digest}/model-versions.
void MountNativeRegistryRoutes(http::Router& router, registry::RegistryService& service);

// The version string /version answers with.
const char* CairnVersion();

}  // namespace cairn::api
